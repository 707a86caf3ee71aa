package api1

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/drivecp/drivecp/providers"
)

// TestOffsetIO checks the requests of WriteAt and ReadAt against what API
// 1.0 requires: an exact Content-Length (never chunked), binary content
// types, gzip marked as such, and the offset and size in the path.
func TestOffsetIO(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, strings.Join([]string{r.Method, r.URL.Path, r.Header.Get("Content-Type"),
			r.Header.Get("Content-Encoding"), strings.Join(r.TransferEncoding, ","), string(body)}, "|"))
		mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/read/8/4"):
			io.WriteString(w, "abcd")
		case strings.HasSuffix(r.URL.Path, "/read/0/4"):
			w.Header().Set("Content-Length", "4")
			io.WriteString(w, "ab") // cut short
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	ctx := context.Background()
	const id = "7e8ab721-81c9-4cb9-a651-4cafbfe1501c"
	if err := c.WriteAt(ctx, id, 4194304, []byte("raw"), false); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteAt(ctx, id, 0, []byte("gz"), true); err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, 4)
	if err := c.ReadAt(ctx, id, 8, dst); err != nil || string(dst) != "abcd" {
		t.Fatalf("ReadAt: %q %v", dst, err)
	}
	err := c.ReadAt(ctx, id, 0, dst)
	if !errors.Is(err, io.ErrUnexpectedEOF) || !providers.IsRetryable(err) {
		t.Errorf("short read: %v, want a retryable io.ErrUnexpectedEOF", err)
	}
	want := []string{
		"POST|/drives/" + id + "/write/4194304|application/octet-stream|||raw",
		"POST|/drives/" + id + "/write/0|application/octet-stream|gzip||gz",
		"GET|/drives/" + id + "/read/8/4|application/octet-stream|||",
		"GET|/drives/" + id + "/read/0/4|application/octet-stream|||",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
	if err := c.ReadAt(ctx, id, 0, make([]byte, 4<<20+1)); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("read over 4 MiB: %v, want ErrInvalid", err)
	}
}
