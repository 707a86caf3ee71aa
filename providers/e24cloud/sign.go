package e24cloud

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// DateHeader carries the request time that the signature covers, in the
// HTTP date format (RFC 1123, GMT), as e24cloud's own Python client sends
// it.
const DateHeader = "X-Date"

// Signature returns the base64 HMAC-SHA256, keyed with the API secret, of
// the request's method, host (host[:port] as sent), X-Date value, path and
// body joined by newlines: the scheme of e24cloud's API client. The query
// is not signed: the reference client drops it (an operator-precedence
// quirk the real API therefore accepts), and drivecp sends none.
// The Authorization header is "KEY:SIGNATURE".
func Signature(secret, method, host, date, path string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strings.Join([]string{method, host, date, path, string(body)}, "\n")))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
