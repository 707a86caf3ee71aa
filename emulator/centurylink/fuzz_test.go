package centurylink

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzPatch: whatever a PATCH of a server carries, the emulator answers
// 204, 202 or 400 and keeps the operating-system disks.
func FuzzPatch(f *testing.F) {
	for _, s := range []string{
		`[{"op":"set","member":"description","value":"x"}]`,
		`[{"op":"set","member":"disks","value":[{"diskId":"0:0","sizeGB":1},{"diskId":"0:1","sizeGB":2},{"diskId":"0:2","sizeGB":14},{"sizeGB":5,"type":"partitioned","path":"/data"}]}]`,
		`[{"op":"set","member":"disks","value":[]}]`,
		`[{"op":"set","member":"disks","value":"x"}]`,
		`[{"op":"set","member":"cpu","value":-1}]`,
		`{}`, `[`, `null`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		e := New(Config{Username: "u", Password: "p", Servers: []string{"web"}})
		e.tokens["t"] = e.cfg.Now().Add(1 << 40)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("PATCH", "/v2/servers/ALIAS/WA1ALIASWEB01", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer t")
		e.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusNoContent, http.StatusAccepted, http.StatusBadRequest:
		default:
			t.Fatalf("PATCH %s: %d %s", body, rec.Code, rec.Body)
		}
		s := e.findServer("WA1ALIASWEB01", false)
		for _, id := range []string{"0:0", "0:1", "0:2"} {
			if s.disk(id) < 0 {
				t.Fatalf("PATCH %s removed the operating-system disk %s", body, id)
			}
		}
	})
}
