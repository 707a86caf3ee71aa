package emulator

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestExportLineEval: a shell that evaluates the line gets back exactly the
// values, whatever they hold; plain values are left unquoted, so the line
// also reads as plain NAME=value pairs.
func TestExportLineEval(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	vars := []Var{
		{"A", "http://127.0.0.1:8421/"},
		{"B", "it's a \"secret\" $HOME `id` \\ \n end"},
		{"C", ""},
		{"D", "user@example.com"},
	}
	line := ExportLine(vars...)
	if !strings.HasSuffix(line, "\n") || strings.Count(line, "\n") != 2 { // B holds a newline
		t.Fatalf("line %q", line)
	}
	if !strings.HasPrefix(line, "export A=http://127.0.0.1:8421/ B='") || !strings.HasSuffix(line, " C='' D=user@example.com\n") {
		t.Errorf("quoting: %q", line)
	}
	out, err := exec.Command(sh, "-c", line+`printf '%s\0%s\0%s\0%s' "$A" "$B" "$C" "$D"`).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(string(out), "\x00")
	for i, v := range vars {
		if got[i] != v.Value {
			t.Errorf("%s: got %q, want %q", v.Name, got[i], v.Value)
		}
	}
}

// TestServeFaultsAndShaping wraps a plain handler: no faults serve it,
// FailRate 1 answers every request with overloaded, ResetRate 1 drops every
// connection, and Latency delays the answer.
func TestServeFaultsAndShaping(t *testing.T) {
	var served atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		_, _ = io.WriteString(w, "hello")
	})
	overloaded := func(w http.ResponseWriter, r *http.Request) { http.Error(w, "busy", http.StatusServiceUnavailable) }
	get := func(o Shaping) (int, string, time.Duration, error) {
		t.Helper()
		srv, err := Serve("127.0.0.1:0", h, overloaded, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Shutdown(context.Background())
		start := time.Now()
		resp, err := http.Get(srv.URL() + "/")
		if err != nil {
			return 0, "", 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), time.Since(start), err
	}
	if code, body, _, err := get(Shaping{}); err != nil || code != 200 || body != "hello" {
		t.Fatalf("plain: %d %q %v", code, body, err)
	}
	if code, body, _, err := get(Shaping{FailRate: 1}); err != nil || code != 503 || !strings.Contains(body, "busy") {
		t.Fatalf("fail rate 1: %d %q %v", code, body, err)
	}
	before := served.Load()
	if _, _, _, err := get(Shaping{ResetRate: 1, Seed: 3}); err == nil {
		t.Fatal("reset rate 1: the request succeeded")
	}
	if n := served.Load() - before; n > 1 {
		t.Fatalf("one request served %d times", n)
	}
	if _, _, took, err := get(Shaping{Latency: 150 * time.Millisecond}); err != nil || took < 150*time.Millisecond {
		t.Fatalf("latency: took %v, err %v", took, err)
	}
	if _, err := Serve("127.0.0.1:0", h, overloaded, Shaping{FailRate: 2}, nil); err == nil {
		t.Fatal("a fail rate of 2 was accepted")
	}
}

// TestFaultsSeeded: the same seed decides the same faults, another seed
// others.
func TestFaultsSeeded(t *testing.T) {
	seq := func(seed int64) []decision {
		f := NewFaults(Shaping{FailRate: 0.3, ResetRate: 0.3, Seed: seed})
		var out []decision
		for range 64 {
			out = append(out, f.decide(true))
		}
		return out
	}
	a, b, c := seq(7), seq(7), seq(8)
	if !equal(a, b) {
		t.Fatal("same seed, different faults")
	}
	if equal(a, c) {
		t.Fatal("another seed, the same faults")
	}
}

func equal(a, b []decision) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestListenTaken: an address in use is ErrListen, which serve turns into
// a hint.
func TestListenTaken(t *testing.T) {
	ln, err := Listen("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := Listen(ln.Addr().String(), nil); !errors.Is(err, ErrListen) {
		t.Fatalf("second listen: %v, want ErrListen", err)
	}
}

// TestJSONRecords: records written by WriteJSON come back from LoadJSONDir
// under their names; temporaries and other files are skipped; a torn
// record is an error naming the file.
func TestJSONRecords(t *testing.T) {
	type rec struct{ N int }
	dir := t.TempDir()
	for i, id := range []string{"a", "b"} {
		if err := WriteJSON(filepath.Join(dir, id+".json"), rec{N: i + 1}); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string]string{".c.json.tmp-1": "{", ".d.json": "{", "e.img": "x"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]int{}
	if err := LoadJSONDir(dir, func(id string, r *rec) { got[id] = r.N }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["a"] != 1 || got["b"] != 2 {
		t.Fatalf("loaded %v", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "f.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := LoadJSONDir(dir, func(string, *rec) {}); err == nil || !strings.Contains(err.Error(), "f.json") {
		t.Fatalf("torn record: %v", err)
	}
}

// TestSparseFiles: CreateSparse makes a big file that holds no blocks, and
// SparseCopy copies the data of one with holes without filling them.
func TestSparseFiles(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	const size = 1 << 30
	if err := CreateSparse(src, size); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(src, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	data := SeededBytes("sparse", 64<<10)
	if _, err := f.WriteAt(data, size/2); err != nil {
		t.Fatal(err)
	}
	f.Close()
	dst := filepath.Join(dir, "dst")
	n, err := SparseCopy(context.Background(), dst, src, size)
	if err != nil {
		t.Fatal(err)
	}
	if n > 2<<20 {
		t.Errorf("copied %d bytes of a file holding 64 KiB", n)
	}
	fi, err := os.Stat(dst)
	if err != nil || fi.Size() != size {
		t.Fatalf("copy: %v %v", fi, err)
	}
	g, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	got := make([]byte, len(data))
	if _, err := g.ReadAt(got, size/2); err != nil || string(got) != string(data) {
		t.Fatalf("copied data differs (%v)", err)
	}
}

// TestTotalBandwidthAndConcurrency: TotalBandwidth caps all connections
// together where ConnBandwidth caps each; MaxConcurrent answers the
// requests of a client beyond the limit as overloaded, and counts only
// those in flight.
func TestTotalBandwidthAndConcurrency(t *testing.T) {
	body := strings.Repeat("x", 512<<10)
	release, held := make(chan struct{}), make(chan struct{}, 2)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			held <- struct{}{}
			<-release
		}
		_, _ = io.WriteString(w, body)
	})
	overloaded := func(w http.ResponseWriter, r *http.Request) { http.Error(w, "busy", http.StatusServiceUnavailable) }
	fetch := func(url string) int {
		resp, err := http.Get(url)
		if err != nil {
			t.Error(err)
			return 0
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	parallel := func(o Shaping, n int) time.Duration {
		srv, err := Serve("127.0.0.1:0", h, overloaded, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Shutdown(context.Background())
		start := time.Now()
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() { defer wg.Done(); fetch(srv.URL() + "/") }()
		}
		wg.Wait()
		return time.Since(start)
	}
	// Four connections of 512 KiB: 2 MiB/s each takes a quarter second;
	// 1 MiB/s in all takes two seconds.
	if took := parallel(Shaping{ConnBandwidth: 2 << 20}, 4); took > 1500*time.Millisecond {
		t.Errorf("per-connection limit alone: %v", took)
	}
	if took := parallel(Shaping{ConnBandwidth: 2 << 20, TotalBandwidth: 1 << 20}, 4); took < 1800*time.Millisecond {
		t.Errorf("a total of 1 MiB/s moved 2 MiB in %v", took)
	}

	srv, err := Serve("127.0.0.1:0", h, overloaded, Shaping{MaxConcurrent: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); fetch(srv.URL() + "/hold") }()
	}
	<-held
	<-held
	if code := fetch(srv.URL() + "/"); code != http.StatusServiceUnavailable {
		t.Errorf("a third request while two are held: %d, want 503", code)
	}
	close(release)
	wg.Wait()
	if code := fetch(srv.URL() + "/"); code != http.StatusOK {
		t.Errorf("after the held requests ended: %d", code)
	}
}
