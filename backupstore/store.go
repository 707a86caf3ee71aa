package backupstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"

	"github.com/drivecp/drivecp/internal/atomicfile"
	"github.com/drivecp/drivecp/internal/filelock"
)

// DefaultChunkSize is the chunk size of a new store: the same 4 MiB as
// the transfer engine's chunks.
const DefaultChunkSize = 4 << 20

// Format is the version of the store layout this package writes and the
// only one it opens.
const Format = 1

// Names inside the store folder.
const (
	configFile = "store.json"
	lockFile   = "lock"
	chunksDir  = "chunks"
	backupsDir = "backups"
	// tempPrefix starts the name of every temporary file of the store;
	// Prune removes them, since no writer runs beside it.
	tempPrefix = ".tmp-"
)

// lockPoll is how often Open retries while a prune holds the store.
const lockPoll = 50 * time.Millisecond

// Errors of the store. They are matched with errors.Is.
var (
	// ErrNotStore reports a folder that is not a backup store.
	ErrNotStore = errors.New("not a drivecp backup store")
	// ErrBusy reports that Prune could not get the store to itself.
	ErrBusy = errors.New("the backup store is in use by another drivecp (a backup, restore or verify)")
	// ErrNotFound reports a backup or chunk the store does not hold.
	ErrNotFound = errors.New("not in the backup store")
	// ErrCorrupt reports a chunk whose content does not match its name,
	// or a restored image whose SHA-256 is not the manifest's.
	ErrCorrupt = errors.New("corrupt")
)

// config is DIR/store.json.
type config struct {
	Format    int       `json:"format"`
	ChunkSize int64     `json:"chunk_size"`
	Created   time.Time `json:"created"`
}

// Store is an open backup store. It holds the store lock shared until
// Close. Its methods are safe for concurrent use.
type Store struct {
	dir       string
	chunkSize int64
	lock      *os.File
	enc       *zstd.Encoder
	dec       *zstd.Decoder

	mu    sync.Mutex
	dirty map[string]bool // chunk folders with entries not yet synced
}

// Create opens the store in dir, making it (folder mode 0700) when dir does
// not exist or is empty.
func Create(ctx context.Context, dir string) (*Store, error) {
	return create(ctx, dir, DefaultChunkSize)
}

// create is Create with a chunk size (tests use small ones).
func create(ctx context.Context, dir string, chunkSize int64) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, configFile)); errors.Is(err, fs.ErrNotExist) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		if len(entries) > 0 {
			return nil, fmt.Errorf("%s: %w (the folder is not empty and has no %s)", dir, ErrNotStore, configFile)
		}
		for _, sub := range []string{chunksDir, backupsDir} {
			if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
				return nil, err
			}
		}
		data, _ := json.MarshalIndent(config{Format: Format, ChunkSize: chunkSize, Created: time.Now().UTC()}, "", " ")
		// The config goes last: a folder with it is a whole store.
		if err := atomicfile.Write(filepath.Join(dir, configFile), append(data, '\n'), atomicfile.Options{}); err != nil {
			return nil, err
		}
	}
	return Open(ctx, dir)
}

// Open opens the existing store in dir, waiting while a prune holds it.
func Open(ctx context.Context, dir string) (*Store, error) {
	data, err := os.ReadFile(filepath.Join(dir, configFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w (no %s)", dir, ErrNotStore, configFile)
	}
	if err != nil {
		return nil, err
	}
	var cfg config
	if err := json.Unmarshal(data, &cfg); err != nil || cfg.Format != Format || cfg.ChunkSize <= 0 {
		return nil, fmt.Errorf("%s: %w (%s is not a format %d store config)", dir, ErrNotStore, configFile, Format)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := lockShared(ctx, lock); err != nil {
		lock.Close()
		return nil, err
	}
	// EncodeAll runs one encoding per encoder of the pool at once: as many
	// as Backup has workers.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(max(1, runtime.GOMAXPROCS(0))))
	if err != nil {
		lock.Close()
		return nil, err
	}
	// A chunk never decodes to more than the chunk size: a bound on memory
	// against a damaged or hostile file.
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(uint64(cfg.ChunkSize)+1))
	if err != nil {
		lock.Close()
		return nil, err
	}
	return &Store{dir: dir, chunkSize: cfg.ChunkSize, lock: lock, enc: enc, dec: dec, dirty: map[string]bool{}}, nil
}

// lockShared takes the store lock shared, polling while an exclusive
// holder (a prune) has it.
func lockShared(ctx context.Context, f *os.File) error {
	for {
		err := filelock.Flock(f, unix.LOCK_SH|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("lock the backup store: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for a prune of the backup store: %w", ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}

// Close releases the store lock.
func (s *Store) Close() error {
	s.dec.Close()
	return s.lock.Close()
}

// Dir returns the store's folder.
func (s *Store) Dir() string { return s.dir }

// ChunkSize returns the chunk size of the store.
func (s *Store) ChunkSize() int64 { return s.chunkSize }

// Usage is what the store holds on disk.
type Usage struct {
	Chunks int   `json:"chunks"`
	Bytes  int64 `json:"bytes"` // chunk files, compressed
}

// Usage counts the chunk files and their bytes.
func (s *Store) Usage(ctx context.Context) (Usage, error) {
	var u Usage
	err := s.walkChunks(ctx, func(path string, h Hash, size int64) error {
		u.Chunks++
		u.Bytes += size
		return nil
	}, nil)
	return u, err
}

// walkChunks calls fn for every chunk file and temp (when not nil) for
// every temporary file under chunks/. Other files are skipped.
func (s *Store) walkChunks(ctx context.Context, fn func(path string, h Hash, size int64) error, temp func(path string) error) error {
	root := filepath.Join(s.dir, chunksDir)
	subs, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if !sub.IsDir() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		dir := filepath.Join(root, sub.Name())
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			if h, err := ParseHash(e.Name()); err == nil && e.Type().IsRegular() && !h.IsZeroChunk() {
				info, err := e.Info()
				if err != nil {
					return err
				}
				if err := fn(path, h, info.Size()); err != nil {
					return err
				}
			} else if temp != nil && len(e.Name()) > len(tempPrefix) && e.Name()[:len(tempPrefix)] == tempPrefix {
				if err := temp(path); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
