package emulator

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/drivecp/drivecp/internal/atomicfile"
)

// WriteJSON writes v to path so that a killed emulator leaves either the
// old or the new file, never a torn one.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	// Atomic replacement survives a killed emulator, which is what tests
	// and restarts need. No fsync: metadata is saved after every chunk of
	// a chunked upload, and the emulator must not be what the benchmarks
	// measure; a power loss is not a case this test double serves.
	if err := atomicfile.Write(path, b, atomicfile.Options{NoSync: true}); err != nil {
		return fmt.Errorf("emulator: save %s: %w", filepath.Base(path), err)
	}
	return nil
}

// LoadJSONDir reads every `<id>.json` record of dir into a new T and hands
// it to keep with its id (the file name without `.json`). Hidden files,
// such as WriteJSON's temporaries, are skipped.
func LoadJSONDir[T any](dir string, keep func(id string, rec *T)) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("emulator: %w", err)
		}
		r := new(T)
		if err := json.Unmarshal(b, r); err != nil {
			return fmt.Errorf("emulator: %s: %w", filepath.Join(dir, name), err)
		}
		keep(strings.TrimSuffix(name, ".json"), r)
	}
	return nil
}

// CreateSparse creates path as an empty file of size bytes, which costs no
// disk space whatever the size.
func CreateSparse(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
