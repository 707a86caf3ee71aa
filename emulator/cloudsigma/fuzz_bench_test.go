package cloudsigma

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// FuzzV1Handler drives API 1.0 writes and reads with arbitrary offsets,
// sizes and bodies through the handler: it must never panic and never answer
// 5xx (no faults are injected here).
func FuzzV1Handler(f *testing.F) {
	f.Add("4M", "1k", []byte("hello"), false)
	f.Add("0", "4M", []byte{}, true)
	f.Add("1048575", "2", []byte("xy"), false)
	f.Add("9223372036854775807", "9223372036854775807", []byte("z"), false)
	f.Add("-1", "T", []byte("\x1f\x8b\x08\x00"), true)
	f.Add("1G", "0", bytes.Repeat([]byte{0}, 100), true)
	s, err := New(Config{DataDir: f.TempDir(), JobDuration: -1, Transition: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	d, err := s.Store().CreateDrive(wire.Drive{Name: "fuzz", Size: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	f.Fuzz(func(t *testing.T, offset, size string, body []byte, gzipped bool) {
		if strings.Contains(offset+size, "/") {
			t.Skip("a slash changes the route, not the value")
		}
		payload := body
		if gzipped && len(body)%2 == 0 {
			payload = gz(t, body) // valid gzip half the time, raw garbage otherwise
		}
		req := httptest.NewRequest("POST", "/drives/"+d.UUID+"/write/"+url.PathEscape(offset), bytes.NewReader(payload))
		req.SetBasicAuth(DefaultUser, DefaultPassword)
		if gzipped {
			req.Header.Set("Content-Encoding", "gzip")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("write at %q: %d %q", offset, rec.Code, rec.Body.String())
		}
		req = httptest.NewRequest("GET", "/drives/"+d.UUID+"/read/"+url.PathEscape(offset)+"/"+url.PathEscape(size), nil)
		req.SetBasicAuth(DefaultUser, DefaultPassword)
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("read %q/%q: %d %q", offset, size, rec.Code, rec.Body.String())
		}
		if rec.Code == 200 {
			n, err := wire.ParseSize(size)
			if err != nil || int64(rec.Body.Len()) > n || rec.Body.Len() > wire.V1MaxRead {
				t.Fatalf("read %q/%q returned %d bytes", offset, size, rec.Body.Len())
			}
		}
	})
}

// ingestPayload is 4 MiB shaped like a disk image chunk: half random, a
// quarter text-like, a quarter zeros, so gzip has work to do both ways.
func ingestPayload() []byte {
	const n = 4 << 20
	p := make([]byte, n)
	copy(p, randomBytes(n/2, 9))
	text := bytes.Repeat([]byte("drivecp moves raw VM drive images; "), n/4/35+1)
	copy(p[n/2:], text[:n/4])
	return p
}

// BenchmarkIngest measures API 1.0 write throughput over a real loopback
// connection: raw bodies, gzip bodies (the server gunzips), and a baseline
// server that only discards the body, in the same run.
func BenchmarkIngest(b *testing.B) {
	payload := ingestPayload()
	zipped := gz(b, payload)
	b.Logf("payload %d bytes, gzip %d bytes (%.0f%%)", len(payload), len(zipped), 100*float64(len(zipped))/float64(len(payload)))

	s := startServer(b, Config{})
	const slots = 64
	d, err := s.Store().CreateDrive(wire.Drive{Name: "bench", Size: slots * int64(len(payload))})
	if err != nil {
		b.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	discard := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	})}
	go discard.Serve(ln)
	b.Cleanup(func() { discard.Close() })

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	run := func(b *testing.B, url func(i int) string, body []byte, gzipped bool) {
		b.SetBytes(int64(len(payload))) // logical bytes, as users count them
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			req, _ := http.NewRequest("POST", url(i), bytes.NewReader(body))
			req.SetBasicAuth(DefaultUser, DefaultPassword)
			req.Header.Set("Content-Type", "application/octet-stream")
			if gzipped {
				req.Header.Set("Content-Encoding", "gzip")
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	}
	writeURL := func(i int) string {
		return fmt.Sprintf("%sdrives/%s/write/%dM", s.URL(), d.UUID, (i%slots)*4)
	}
	b.Run("baseline-discard", func(b *testing.B) {
		run(b, func(int) string { return "http://" + ln.Addr().String() + "/drives/x/write/0" }, payload, false)
	})
	b.Run("raw", func(b *testing.B) { run(b, writeURL, payload, false) })
	b.Run("gzip", func(b *testing.B) { run(b, writeURL, zipped, true) })
}
