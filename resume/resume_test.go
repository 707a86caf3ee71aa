package resume

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func testKey(t *testing.T) Key {
	t.Helper()
	return Key{
		Direction: Upload,
		API:       APIv2,
		Endpoint:  "127.0.0.1:8080",
		LocalPath: filepath.Join(t.TempDir(), "disk.img"),
		ChunkSize: 4 << 20,
	}
}

func testCheckpoint(t *testing.T, total int) *Checkpoint {
	t.Helper()
	c := New(testKey(t), total)
	c.FileSize = int64(total) * c.Key.ChunkSize
	c.ModTime = time.Date(2026, 11, 25, 1, 2, 3, 456789012, time.UTC)
	c.FirstHash, c.LastHash = 0xdeadbeefcafef00d, 1
	c.Extra["resumable_identifier"] = "abc-123"
	c.Extra["drive"] = "b4e5ee8a-0d5c-4c36-a58a-1d9e84e7c0a3"
	return c
}

func TestKeyID(t *testing.T) {
	k := testKey(t)
	id := k.ID()
	if !ValidID(id) {
		t.Fatalf("ID %q is not valid", id)
	}
	same := k
	same.Drive, same.ChunkSize = "some-drive", 1
	if same.ID() != id {
		t.Error("an upload's ID depends on Drive or ChunkSize")
	}
	for name, mut := range map[string]func(*Key){
		"direction": func(k *Key) { k.Direction = Download; k.Drive = "d" },
		"api":       func(k *Key) { k.API = APIv1 },
		"endpoint":  func(k *Key) { k.Endpoint = "127.0.0.1:8081" },
		"path":      func(k *Key) { k.LocalPath += "2" },
	} {
		k2 := k
		mut(&k2)
		if k2.ID() == id {
			t.Errorf("changing %s keeps the ID", name)
		}
	}
	d1 := Key{Direction: Download, API: APIv2, Endpoint: "h", LocalPath: "/x", Drive: "a", ChunkSize: 1}
	d2 := d1
	d2.Drive = "b"
	if d1.ID() == d2.ID() {
		t.Error("a download's ID ignores Drive")
	}
	// Field boundaries matter: moving a character between fields is another key.
	a := Key{Direction: Upload, API: APIv2, Endpoint: "ab", LocalPath: "/c"}
	b := Key{Direction: Upload, API: APIv2, Endpoint: "a", LocalPath: "b/c"}
	if a.ID() == b.ID() {
		t.Error("ID does not separate fields")
	}
}

func TestKeyValidate(t *testing.T) {
	good := testKey(t)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Key){
		"direction":          func(k *Key) { k.Direction = "sideways" },
		"api":                func(k *Key) { k.API = "v3" },
		"empty endpoint":     func(k *Key) { k.Endpoint = "" },
		"url endpoint":       func(k *Key) { k.Endpoint = "https://host/" },
		"credentials":        func(k *Key) { k.Endpoint = "user:pass@host" },
		"query":              func(k *Key) { k.Endpoint = "host?sig=1" },
		"relative path":      func(k *Key) { k.LocalPath = "disk.img" },
		"unclean path":       func(k *Key) { k.LocalPath = "/a/../b" },
		"download, no drive": func(k *Key) { k.Direction = Download },
		"chunk size":         func(k *Key) { k.ChunkSize = 0 },
	} {
		k := good
		mut(&k)
		if err := k.Validate(); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%s: Validate = %v, want ErrInvalidKey", name, err)
		}
	}
}

func TestEndpointHost(t *testing.T) {
	for in, want := range map[string]string{
		"https://zrh.cloudsigma.com/api/2.0/":        "zrh.cloudsigma.com",
		"http://user:secret@127.0.0.1:8080/x?sig=ab": "127.0.0.1:8080",
		"http://[::1]:9/":                            "[::1]:9",
	} {
		got, err := EndpointHost(in)
		if err != nil || got != want {
			t.Errorf("EndpointHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := EndpointHost("no-scheme"); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("EndpointHost without a host: %v", err)
	}
}

func TestMarkDone(t *testing.T) {
	c := New(testKey(t), 130)
	if c.DoneCount() != 0 || c.Complete() {
		t.Fatal("new checkpoint is not empty")
	}
	for _, i := range []int{0, 63, 64, 129} {
		c.MarkDone(i, uint64(i)*7)
	}
	c.MarkDone(0, 0) // marking again overwrites the hash, counts once
	if c.DoneCount() != 4 {
		t.Fatalf("DoneCount = %d, want 4", c.DoneCount())
	}
	for i := -1; i <= 131; i++ {
		h, ok := c.IsDone(i)
		want := i == 0 || i == 63 || i == 64 || i == 129
		if ok != want || (ok && i != 0 && h != uint64(i)*7) {
			t.Errorf("IsDone(%d) = %x, %v", i, h, ok)
		}
	}
	for i := range 130 {
		c.MarkDone(i, 1)
	}
	if !c.Complete() {
		t.Fatal("not complete after marking every chunk")
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	s := &Store{Dir: filepath.Join(t.TempDir(), "state", "drivecp")}
	for _, total := range []int{0, 1, 64, 1000} {
		c := testCheckpoint(t, total)
		for i := 0; i < total; i += 3 {
			c.MarkDone(i, uint64(i)<<40|uint64(i))
		}
		if err := s.Save(c); err != nil {
			t.Fatal(err)
		}
		got, err := s.Load(c.ID())
		if err != nil {
			t.Fatal(err)
		}
		if got.Key != c.Key || got.FileSize != c.FileSize || !got.ModTime.Equal(c.ModTime) ||
			got.FirstHash != c.FirstHash || got.LastHash != c.LastHash || got.Total != c.Total ||
			got.Version != Version || !got.Created.Equal(c.Created) || !got.Updated.Equal(c.Updated) {
			t.Fatalf("round trip changed the checkpoint:\n got %+v\nwant %+v", got, c)
		}
		if got.DoneCount() != c.DoneCount() || len(got.Extra) != 2 || got.Extra["drive"] != c.Extra["drive"] {
			t.Fatalf("round trip lost done chunks or extras: %+v", got)
		}
		for i := range total {
			h1, ok1 := c.IsDone(i)
			h2, ok2 := got.IsDone(i)
			if h1 != h2 || ok1 != ok2 {
				t.Fatalf("chunk %d: %x %v, want %x %v", i, h2, ok2, h1, ok1)
			}
		}
	}
	assertModes(t, s.Dir)
}

// assertModes checks the directory is 0700, every file 0600, and no
// temporary file was left behind.
func assertModes(t *testing.T, dir string) {
	t.Helper()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", fi.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), tempInfix) {
			t.Errorf("temporary file %s left behind", e.Name())
		}
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", e.Name(), fi.Mode().Perm())
		}
	}
}

func TestSaveOverwritesAtomically(t *testing.T) {
	s := &Store{Dir: filepath.Join(t.TempDir(), "d")}
	c := testCheckpoint(t, 10)
	for i := range 10 {
		c.MarkDone(i, uint64(i))
		if err := s.Save(c); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(s.Dir)
	if len(entries) != 2 || entries[0].Name() != c.ID()+checkpointExt || entries[1].Name() != c.ID()+journalExt {
		t.Fatalf("%v in the store after repeated saves, want the snapshot and its journal", entries)
	}
	got, err := s.Load(c.ID())
	if err != nil || got.DoneCount() != 10 {
		t.Fatalf("Load after saves: %v, %v", got, err)
	}
	// A save that fails validation leaves the previous file alone.
	c.Extra["url"] = "https://direct.example/dl?Signature=x"
	if err := s.Save(c); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("saving a signed URL: %v, want ErrInvalidKey", err)
	}
	if _, err := s.Load(c.ID()); err != nil {
		t.Fatalf("previous checkpoint damaged: %v", err)
	}
	assertModes(t, s.Dir)
}

func TestSaveRefusesSecrets(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	for _, v := range []string{"https://u:p@host/x", "http://h/download?token=abc"} {
		c := testCheckpoint(t, 1)
		c.Extra["x"] = v
		if err := s.Save(c); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Save with extra %q: %v, want ErrInvalidKey", v, err)
		}
	}
	c := testCheckpoint(t, 1)
	c.Key.Endpoint = "admin:hunter2@127.0.0.1"
	if err := s.Save(c); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Save with credentials in the endpoint: %v", err)
	}
	if entries, _ := os.ReadDir(s.Dir); len(entries) != 0 {
		t.Errorf("refused saves left %d files", len(entries))
	}
}

func saved(t *testing.T) (*Store, *Checkpoint, string, []byte) {
	t.Helper()
	s := &Store{Dir: t.TempDir()}
	c := testCheckpoint(t, 100)
	for i := range 50 {
		c.MarkDone(i, uint64(i))
	}
	if err := s.Save(c); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(s.Dir, c.ID()+checkpointExt)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return s, c, p, data
}

func TestLoadCorrupt(t *testing.T) {
	s, c, p, data := saved(t)
	cases := map[string][]byte{
		"empty":          nil,
		"header only":    data[:bytes.IndexByte(data, '\n')+1],
		"half":           data[:len(data)/2],
		"one byte short": data[:len(data)-1],
		"extra byte":     append(bytes.Clone(data), ' '),
		"garbage":        []byte("hello world\n{}"),
		"plain json":     []byte(`{"version":1}`),
	}
	// A flipped bit anywhere in the body, including places where the JSON
	// would still parse (inside a hash string or a timestamp).
	body := bytes.IndexByte(data, '\n') + 1
	for _, at := range []int{body, body + 50, len(data) / 2, len(data) - 3} {
		d := bytes.Clone(data)
		d[at] ^= 0x01
		cases[fmt.Sprintf("flip at %d", at)] = d
	}
	for name, d := range cases {
		if err := os.WriteFile(p, d, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Load(c.ID()); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Load = %v, want ErrCorrupt", name, err)
		}
	}
}

func TestLoadVersion(t *testing.T) {
	s, c, p, data := saved(t)
	for _, v := range []string{"v0", "v1", "v17"} {
		d := bytes.Replace(data, []byte(magic+" v2 "), []byte(magic+" "+v+" "), 1)
		if err := os.WriteFile(p, d, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := s.Load(c.ID())
		if !errors.Is(err, ErrVersion) || errors.Is(err, ErrCorrupt) {
			t.Errorf("version %s: Load = %v, want ErrVersion only", v, err)
		}
	}
}

func TestLoadMissingAndBadID(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	if _, err := s.Load("0123456789abcdef"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v, want fs.ErrNotExist", err)
	}
	for _, id := range []string{"", "../../etc/passwd", "0123456789ABCDEF", "0123"} {
		if _, err := s.Load(id); !errors.Is(err, ErrBadID) {
			t.Errorf("Load(%q) = %v, want ErrBadID", id, err)
		}
		if err := s.Remove(id); !errors.Is(err, ErrBadID) {
			t.Errorf("Remove(%q) = %v, want ErrBadID", id, err)
		}
	}
	// A valid file saved under another transfer's name is not that transfer.
	_, c, p, data := saved(t)
	other := filepath.Join(filepath.Dir(p), "0000000000000000"+checkpointExt)
	if err := os.WriteFile(other, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (&Store{Dir: filepath.Dir(p)}).Load("0000000000000000"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("renamed checkpoint of %s: %v, want ErrCorrupt", c.ID(), err)
	}
}

func TestRemoveAndList(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	if cs, err := (&Store{Dir: filepath.Join(s.Dir, "nope")}).List(); err != nil || len(cs) != 0 {
		t.Fatalf("List of a missing dir = %v, %v", cs, err)
	}
	var ids []string
	for i := range 3 {
		c := testCheckpoint(t, 5)
		c.Key.LocalPath += strconv.Itoa(i)
		if err := s.Save(c); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID())
	}
	// One corrupt file, one temporary file from a crashed save, a stranger.
	bad := "ffffffffffffffff"
	os.WriteFile(filepath.Join(s.Dir, bad+checkpointExt), []byte("junk"), 0o600)
	os.WriteFile(filepath.Join(s.Dir, ids[0]+tempInfix+"123"), []byte("partial"), 0o600)
	os.WriteFile(filepath.Join(s.Dir, "README"), []byte("hi"), 0o600)

	cs, err := s.List()
	if len(cs) != 3 {
		t.Fatalf("List returned %d checkpoints, want 3", len(cs))
	}
	var le *LoadError
	if !errors.As(err, &le) || le.ID != bad || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("List error = %v, want a LoadError for %s wrapping ErrCorrupt", err, bad)
	}
	for i := 1; i < len(cs); i++ {
		if cs[i].Updated.After(cs[i-1].Updated) {
			t.Error("List is not sorted newest first")
		}
	}

	if got, err := s.Resolve(ids[1][:10]); err != nil || got != ids[1] {
		t.Errorf("Resolve(prefix) = %q, %v", got, err)
	}
	if _, err := s.Resolve("../x"); !errors.Is(err, ErrBadID) {
		t.Errorf("Resolve(../x) = %v", err)
	}

	if err := s.Remove(ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ids[1]); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("second Remove = %v, want fs.ErrNotExist", err)
	}
	if _, err := s.Resolve(ids[1]); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Resolve of a removed checkpoint = %v", err)
	}
	cs, _ = s.List()
	if len(cs) != 2 {
		t.Errorf("List after Remove has %d, want 2", len(cs))
	}
}

func TestFind(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	k := testKey(t)
	if _, err := s.Find(k, 10); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Find before Save: %v", err)
	}
	c := New(k, 10)
	c.Key.Drive = "drive-created-on-first-run"
	if err := s.Save(c); err != nil {
		t.Fatal(err)
	}
	// The second run of an upload does not know the drive yet: found.
	if got, err := s.Find(k, 10); err != nil || got.Key.Drive != c.Key.Drive {
		t.Fatalf("Find = %v, %v", got, err)
	}
	other := k
	other.Drive = "another-drive"
	if _, err := s.Find(other, 10); !errors.Is(err, ErrChanged) {
		t.Errorf("Find into another drive: %v, want ErrChanged", err)
	}
	other = k
	other.ChunkSize *= 2
	if _, err := s.Find(other, 10); !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "--restart") {
		t.Errorf("Find with another chunk size: %v, want ErrChanged suggesting --restart", err)
	}
	if _, err := s.Find(k, 11); !errors.Is(err, ErrChanged) {
		t.Errorf("Find with another plan: %v, want ErrChanged", err)
	}
	dl := Key{Direction: Download, API: APIv2, Endpoint: "h", LocalPath: "/x", ChunkSize: 1}
	if _, err := s.Find(dl, 1); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Find of a download without a drive: %v, want ErrInvalidKey", err)
	}
}

func TestSourceCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk.img")
	data := bytes.Repeat([]byte("0123456789"), 1000)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	fingerprint := func() Source {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		src, err := SourceOf(f, 4096)
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	c := New(testKey(t), 3)
	src := fingerprint()
	c.SetSource(src)
	if err := c.CheckSource(fingerprint()); err != nil {
		t.Fatalf("unchanged source: %v", err)
	}
	mtime := src.ModTime
	for name, change := range map[string]func(){
		"last chunk": func() { data[len(data)-1] = 'x' },
		"first byte": func() { data[0] = 'x' },
		"size":       func() { data = append(data, 'x') },
	} {
		orig := bytes.Clone(data)
		change()
		os.WriteFile(path, data, 0o600)
		os.Chtimes(path, mtime, mtime) // a copy that kept the timestamp
		if err := c.CheckSource(fingerprint()); !errors.Is(err, ErrChanged) {
			t.Errorf("%s changed: %v, want ErrChanged", name, err)
		}
		data = orig
		os.WriteFile(path, data, 0o600)
		os.Chtimes(path, mtime, mtime)
	}
	if err := c.CheckSource(fingerprint()); err != nil {
		t.Fatalf("restored source: %v", err)
	}
	later := mtime.Add(time.Second)
	os.Chtimes(path, later, later)
	if err := c.CheckSource(fingerprint()); !errors.Is(err, ErrChanged) {
		t.Errorf("touched source: %v, want ErrChanged", err)
	}
	if err := c.CheckDrive(c.FileSize + 1); !errors.Is(err, ErrChanged) {
		t.Errorf("CheckDrive: %v", err)
	}
}

func TestLock(t *testing.T) {
	s := &Store{Dir: filepath.Join(t.TempDir(), "new")}
	id := testKey(t).ID()
	unlock, err := s.Lock(id)
	if err != nil {
		t.Fatal(err)
	}
	assertModes(t, s.Dir)
	if _, err := s.Lock(id); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock = %v, want ErrLocked", err)
	}
	other, err := s.Lock("0000000000000000")
	if err != nil {
		t.Fatalf("Lock of another transfer: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Fatalf("second unlock: %v", err)
	}
	unlock2, err := s.Lock(id)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	unlock2()
	other()
	if entries, _ := os.ReadDir(s.Dir); len(entries) != 0 {
		t.Errorf("lock files left behind: %v", entries)
	}
	if _, err := s.Lock("nope"); !errors.Is(err, ErrBadID) {
		t.Errorf("Lock(bad id) = %v", err)
	}
}

// TestLockContended hammers one lock: at no moment may two holders exist,
// even though holders remove the lock file on unlock.
func TestLockContended(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	id := testKey(t).ID()
	var holders, maxHolders, acquired atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				unlock, err := s.Lock(id)
				if errors.Is(err, ErrLocked) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				acquired.Add(1)
				n := holders.Add(1)
				for {
					m := maxHolders.Load()
					if n <= m || maxHolders.CompareAndSwap(m, n) {
						break
					}
				}
				holders.Add(-1)
				if err := unlock(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if maxHolders.Load() != 1 || acquired.Load() == 0 {
		t.Fatalf("max simultaneous holders %d, acquisitions %d", maxHolders.Load(), acquired.Load())
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/state")
	if d, err := DefaultDir(); err != nil || d != "/state/drivecp" {
		t.Errorf("with XDG_STATE_HOME: %q, %v", d, err)
	}
	t.Setenv("XDG_STATE_HOME", "relative")
	t.Setenv("HOME", "/home/u")
	if d, err := DefaultDir(); err != nil || d != "/home/u/.local/state/drivecp" {
		t.Errorf("fallback: %q, %v", d, err)
	}
}

func TestSaveNoSync(t *testing.T) {
	s := &Store{Dir: filepath.Join(t.TempDir(), "state")}
	c := testCheckpoint(t, 100)
	c.MarkDone(42, 0xfeed)
	if err := s.SaveNoSync(c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(c.ID())
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := got.IsDone(42); !ok || h != 0xfeed || !got.Updated.Equal(c.Updated) {
		t.Fatalf("after SaveNoSync: chunk 42 %x %v, updated %v vs %v", h, ok, got.Updated, c.Updated)
	}
	// The same refusals as Save.
	c.Extra["u"] = "https://user:pw@host/"
	if err := s.SaveNoSync(c); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("SaveNoSync with credentials: %v", err)
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(s.Dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), tempInfix) {
			t.Errorf("temporary file %s left", e.Name())
		}
	}
}

// TestEncodeMatchesJSON checks the hand-assembled body against
// encoding/json's rendering of the same fields, so files stay readable by
// any JSON reader and by earlier releases of this format version.
func TestEncodeMatchesJSON(t *testing.T) {
	c := testCheckpoint(t, 130)
	c.MarkDone(0, 1)
	c.MarkDone(129, 0xffffffffffffffff)
	c.Extra["quote"] = "a \"b\" \\ c\n"
	data, err := encode(c)
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := bytes.Cut(data, []byte{'\n'})
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	ref := map[string]any{}
	b, _ := json.Marshal(map[string]any{
		"version": Version, "key": fileKey(c.Key), "file_size": c.FileSize, "mod_time": c.ModTime,
		"first_hash": fmt.Sprintf("%016x", c.FirstHash), "last_hash": fmt.Sprintf("%016x", c.LastHash),
		"total": c.Total, "done_count": 2, "extra": c.Extra, "created": c.Created, "updated": c.Updated,
		"journal_gen": 0,
		"done":        hashesBase64(c.Done),
		"hashed":      hashesBase64(c.hashed),
		"hashes":      hashesBase64([]uint64{1, 0xffffffffffffffff}),
	})
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ref) {
		t.Fatalf("encoded body\n%s\nwant the fields of\n%s", body, b)
	}
	back, err := decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("round trip: %+v, want %+v", back, c)
	}
}

func hashesBase64(ws []uint64) string {
	var raw []byte
	for _, w := range ws {
		raw = binary.LittleEndian.AppendUint64(raw, w)
	}
	return base64.StdEncoding.EncodeToString(raw)
}
