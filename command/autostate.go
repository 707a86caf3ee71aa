package command

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"

	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/transfer"
)

// autoStateFile, in the state folder beside the checkpoints, keeps what
// `-c auto` learnt per kind of transfer, so the next run starts there
// instead of climbing from 4 again: a nightly job's transfer is short next
// to the seconds the climb takes on a link of slow connections.
const autoStateFile = "auto-concurrency.json"

// autoRecord is what one kind of transfer learnt.
type autoRecord struct {
	// Concurrency is the fewest chunks in flight that reached the best
	// rate in the last run.
	Concurrency int `json:"concurrency"`
	// Refused is true once any run had a request retried: the server's
	// limit may lie near, so later runs go above the start one at a time.
	// It stays true.
	Refused bool `json:"refused,omitempty"`
}

// autoMemory is the record of one run's kind of transfer, saved as the
// run's gate changes. Processes running at once may overwrite each other's
// records: the last to change wins, which is as good a start as any.
type autoMemory struct {
	mu   sync.Mutex
	path string
	key  string
	rec  autoRecord
	err  error // the first save error; the memory then stops saving
}

// autoMemoryKey names a kind of transfer: the command, API, chunk size and
// endpoint host (never a URL's user information or path).
func autoMemoryKey(command, api string, chunk int64, endpoint string) string {
	host := "default"
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		host = u.Host
	}
	return fmt.Sprintf("%s %s chunk=%d %s", command, api, chunk, host)
}

// openAutoMemory reads the record of key from the state folder dir; a
// missing or unreadable file is an empty memory (it is only a hint).
func openAutoMemory(dir, key string) *autoMemory {
	m := &autoMemory{path: filepath.Join(dir, autoStateFile), key: key}
	if all, err := m.load(); err == nil {
		m.rec = all[key]
	}
	return m
}

func (m *autoMemory) load() (map[string]autoRecord, error) {
	data, err := os.ReadFile(m.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]autoRecord{}, nil
	}
	if err != nil {
		return nil, err
	}
	all := map[string]autoRecord{}
	if err := json.Unmarshal(data, &all); err != nil {
		// A damaged hint is replaced, not fatal.
		return map[string]autoRecord{}, nil
	}
	return all, nil
}

// start is where the run's -c auto begins.
func (m *autoMemory) start() transfer.AutoStart {
	m.mu.Lock()
	defer m.mu.Unlock()
	return transfer.AutoStart{Concurrency: m.rec.Concurrency, Refused: m.rec.Refused}
}

// concurrency records the value that reached the best rate.
func (m *autoMemory) concurrency(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rec.Concurrency != n {
		m.rec.Concurrency = n
		m.saveLocked()
	}
}

// retried records that a request was retried.
func (m *autoMemory) retried(transfer.RetryEvent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.rec.Refused {
		m.rec.Refused = true
		m.saveLocked()
	}
}

// saveLocked writes the record into the file, whole (temporary file and
// rename), 0600 in a 0700 folder like the checkpoints.
func (m *autoMemory) saveLocked() {
	if m.err != nil {
		return
	}
	all, err := m.load()
	if err == nil {
		all[m.key] = m.rec
		err = writeFileAtomic(m.path, all)
	}
	m.err = err
}

func writeFileAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(data, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// rememberAuto makes o's -c auto start from what the last run of the same
// kind found best, and record what this one finds. Without a state folder it does
// nothing: the memory is only a hint.
func rememberAuto(o *transfer.Options, command, api string, chunk int64, endpoint string) {
	dir, err := resume.DefaultDir()
	if err != nil {
		return
	}
	m := openAutoMemory(dir, autoMemoryKey(command, api, chunk, endpoint))
	o.AutoStart = m.start()
	// Saved as it changes, not at the end, so an interrupted run teaches
	// too; the gate calls this under its lock, but it changes a few times a
	// run and the file is a few hundred bytes.
	o.OnBestConcurrency = m.concurrency
	onRetry := o.OnRetry
	o.OnRetry = func(e transfer.RetryEvent) {
		m.retried(e)
		if onRetry != nil {
			onRetry(e)
		}
	}
}
