package centurylink

import (
	"fmt"
	"net/http"
)

// Banner is what `drivecp serve --cloud centurylink` prints: the endpoint,
// the user and the password, then the export line.
func (e *Emulator) Banner(url string) string {
	return fmt.Sprintf("%s\n%s\n%s\n%s\n", url, e.cfg.Username, e.cfg.Password, Exports(url, e.cfg))
}

// Overloaded answers a request refused by fault injection: 503 in the
// API's error format, which clients retry.
func (e *Emulator) Overloaded(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusServiceUnavailable, "The service is temporarily unavailable; try again.")
}
