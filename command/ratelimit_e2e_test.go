package command

import (
	"encoding/json"
	"testing"
	"time"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
)

// TestE2EUploadUnderRequestLimits: against the request limits of seed 004
// (here 4 POSTs per second instead of 10000 a minute, so the test takes
// seconds), an API 2.0 upload of 12 chunks is refused 429 along the way,
// waits as Retry-After says, and ends with the drive byte-identical.
func TestE2EUploadUnderRequestLimits(t *testing.T) {
	t.Parallel()
	_, env := startEmulator(t, emulator.Config{RateLimits: emulator.RateLimits{Post: 4}, RateWindow: time.Second})
	img := writeMixedImage(t, 12*64<<10+100, 64<<10)
	stdout, stderr, code := runCLI(t, env, "upload", img, "--json", "--chunk-size", "64K", "-c", "4")
	if code != 0 {
		t.Fatalf("upload under request limits: exit %d\n%s", code, stderr)
	}
	var res struct {
		Drive   string `json:"drive"`
		Retries int    `json:"retries"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("upload --json printed %q: %v", stdout, err)
	}
	if res.Retries == 0 {
		t.Errorf("no request was retried: the limits did not bite (%s)", stdout)
	}
	if got, want := downloadSHA256(t, env, "v2", res.Drive), fileSHA256(t, img); got != want {
		t.Error("the drive differs from the image")
	}
}
