package cloudsigma

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// jsonWriter carries what a request negotiated to writeJSON: whether the
// answer may be gzip-compressed.
type jsonWriter struct {
	http.ResponseWriter
	gzip bool
}

// Unwrap gives http.ResponseController access to the connection.
func (w *jsonWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// mediaRange is one member of an Accept or Accept-Encoding header.
type mediaRange struct {
	value string
	q     float64
}

// parseQList parses a comma-separated header list with `;q=` weights;
// members without a weight have 1.
func parseQList(headers []string) []mediaRange {
	var out []mediaRange
	for _, h := range headers {
		for _, part := range strings.Split(h, ",") {
			fields := strings.Split(part, ";")
			v := strings.ToLower(strings.TrimSpace(fields[0]))
			if v == "" {
				continue
			}
			q := 1.0
			for _, p := range fields[1:] {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
						q = f
					}
				}
			}
			out = append(out, mediaRange{value: v, q: q})
		}
	}
	return out
}

// acceptsJSON reports whether the request takes a JSON answer. The API
// serves application/json, application/xml and */* (which means JSON);
// `?format=json|xml` overrides Accept, the last one given winning. The
// emulator has no XML, so a request that can only take XML is refused as
// one asking for a type the API does not serve.
func acceptsJSON(r *http.Request) bool {
	if formats := r.URL.Query()["format"]; len(formats) > 0 {
		return strings.EqualFold(strings.TrimSpace(formats[len(formats)-1]), "json")
	}
	ranges := parseQList(r.Header.Values("Accept"))
	if len(ranges) == 0 {
		return true
	}
	for _, m := range ranges {
		if m.q <= 0 {
			continue
		}
		switch m.value {
		case "application/json", "application/*", "*/*", "*":
			return true
		}
	}
	return false
}

// acceptsGzip reports whether Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, m := range parseQList(r.Header.Values("Accept-Encoding")) {
		if (m.value == "gzip" || m.value == "x-gzip" || m.value == "*") && m.q > 0 {
			return true
		}
	}
	return false
}

// isTransferPath tells the API 2.0 paths whose answers are not JSON
// documents (the upload and download endpoints): content negotiation
// leaves them alone.
func isTransferPath(path string) bool {
	for _, seg := range strings.Split(strings.TrimPrefix(path, "/api/2.0/"), "/") {
		switch seg {
		case "upload", "download", "initupload", "upload_chunk":
			return true
		}
	}
	return false
}

// negotiated answers 406 to a request for a format the API cannot serve
// and lets writeJSON gzip the answer when the client accepts it.
func negotiated(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isTransferPath(r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		if !acceptsJSON(r) {
			writeV2Error(w, http.StatusNotAcceptable, wire.NewError(wire.ErrTypeValidation, "Accept",
				"this API answers application/json (or */*); Accept %q, format %q cannot be served",
				r.Header.Get("Accept"), r.URL.Query().Get("format")))
			return
		}
		w.Header().Add("Vary", "Accept-Encoding")
		h.ServeHTTP(&jsonWriter{ResponseWriter: w, gzip: acceptsGzip(r)}, r)
	})
}

// gzipBody compresses a JSON answer.
func gzipBody(b []byte) ([]byte, error) {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
