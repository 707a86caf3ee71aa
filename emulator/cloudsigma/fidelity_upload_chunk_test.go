package cloudsigma

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// TestV2UploadChunkAction: pycloudsigma's second uploader. initupload makes
// the drive; `do=upload_chunk` answers a signed link per 0-based chunk, or
// 416 once the chunk is stored; the link takes the raw bytes without
// credentials (every chunk chunk_size bytes, the last the rest) and the
// drive is complete when the last one is in.
func TestV2UploadChunkAction(t *testing.T) {
	c := newV2(t, -1)
	const chunk = 1 << 20
	data := randomBytes(2*chunk+chunk/2, 7) // 2 chunks: 1 MiB, then 1.5 MiB
	b := c.want("POST", "initupload/", map[string]any{"name": "up", "size": len(data), "media": "disk"}, 201)
	id := v2Decode[wire.List[wire.Drive]](t, b).Objects[0].UUID

	link := func(n int, status int) string {
		t.Helper()
		b := c.want("POST", "drives/"+id+"/action/?do=upload_chunk", `{"chunk_number": "`+string(rune('0'+n))+`", "chunk_size": `+"1048576}", status)
		var l struct {
			Link string `json:"link"`
		}
		_ = json.Unmarshal(b, &l)
		return l.Link
	}
	post := func(link string, body []byte, status int) {
		t.Helper()
		req, err := http.NewRequest("POST", strings.TrimSuffix(c.srv.URL(), "/")+link, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Fatalf("POST %s: %d, want %d", link, resp.StatusCode, status)
		}
	}
	l0 := link(0, 200)
	if !strings.HasPrefix(l0, "/api/2.0/drives/"+id+"/upload_chunk/0/1048576/") {
		t.Fatalf("link %q", l0)
	}
	steps := []struct {
		name   string
		link   string
		body   []byte
		status int
	}{
		{"forged signature", strings.TrimSuffix(l0, "/") + "0/", data[:chunk], 403},
		{"another chunk's signature", strings.Replace(l0, "/upload_chunk/0/", "/upload_chunk/1/", 1), data[chunk:], 403},
		{"a link without its trailing slash", strings.TrimSuffix(l0, "/"), data[:chunk-1], 400},
		{"short chunk", l0, data[:chunk-1], 400},
		{"chunk 0", l0, data[:chunk], 200},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) { post(st.link, st.body, st.status) })
	}
	c.t = t
	link(0, 416) // stored: a resumed upload skips it
	c.wantError("POST", "drives/"+id+"/action/?do=upload_chunk", `{"chunk_size": 1048576}`, 400, "validation", "chunk_number")
	c.wantError("POST", "drives/"+id+"/action/?do=upload_chunk", `{"chunk_number": 5, "chunk_size": 1048576}`, 400, "validation", wire.ResumableChunkNumber)
	if d := c.drive(id); d.Status != wire.StatusUploading {
		t.Fatalf("after one chunk of two: %s", d.Status)
	}
	post(link(1, 200), data[chunk:], 200)
	if d := c.drive(id); d.Status != wire.StatusUnmounted {
		t.Fatalf("after the last chunk: %s", d.Status)
	}
	h, err := c.srv.Store().OpenDrive(id, ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	got := make([]byte, len(data))
	if _, err := h.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("uploaded data differs")
	}
}
