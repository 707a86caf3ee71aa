package cloudsigma

import (
	"maps"
	"net/http"
	"slices"
	"strings"
)

// router dispatches on path segments. net/http.ServeMux is not used because
// its patterns cannot express both `drives/upload/{name...}` and
// `drives/{uuid}/` without a registration conflict, and because its 404 and
// 405 bodies are plain text while API 2.0 answers JSON error lists.
//
// A pattern is a slash-separated list of segments, relative to the router's
// prefix, without leading or trailing slashes: a literal, `{name}` (one
// segment, available as r.PathValue(name)), or a final `{name...}` (the rest,
// possibly empty). Trailing slashes in request paths are ignored. When
// several patterns match, the one with the most literal segments wins, so
// `drives/upload/{name...}` beats `drives/{uuid}`.
type router struct {
	prefix   string
	routes   []*route
	notFound func(w http.ResponseWriter, r *http.Request)
	// notAllowed answers a known path with a method it does not accept;
	// the Allow header is already set.
	notAllowed func(w http.ResponseWriter, r *http.Request)
}

type route struct {
	segs     []string
	rest     string // name of a trailing {name...}, or ""
	literals int
	methods  map[string]http.HandlerFunc
}

// handle registers the handlers of pattern, one per method. HEAD is served
// by the GET handler when none is given.
func (rt *router) handle(pattern string, methods map[string]http.HandlerFunc) {
	ro := &route{methods: methods}
	for _, seg := range strings.Split(strings.Trim(pattern, "/"), "/") {
		if seg == "" {
			continue
		}
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "...}") {
			ro.rest = strings.TrimSuffix(strings.TrimPrefix(seg, "{"), "...}")
			break
		}
		if !strings.HasPrefix(seg, "{") {
			ro.literals++
		}
		ro.segs = append(ro.segs, seg)
	}
	rt.routes = append(rt.routes, ro)
}

func (ro *route) match(segs []string, r *http.Request) bool {
	if len(segs) < len(ro.segs) || (ro.rest == "" && len(segs) != len(ro.segs)) {
		return false
	}
	for i, p := range ro.segs {
		if !strings.HasPrefix(p, "{") && p != segs[i] {
			return false
		}
	}
	if r == nil {
		return true
	}
	for i, p := range ro.segs {
		if strings.HasPrefix(p, "{") {
			r.SetPathValue(strings.Trim(p, "{}"), segs[i])
		}
	}
	if ro.rest != "" {
		r.SetPathValue(ro.rest, strings.Join(segs[len(ro.segs):], "/"))
	}
	return true
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, rt.prefix)
	var segs []string
	for _, s := range strings.Split(path, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	var best *route
	for _, ro := range rt.routes {
		if ro.match(segs, nil) && (best == nil || ro.literals > best.literals) {
			best = ro
		}
	}
	if best == nil {
		rt.notFound(w, r)
		return
	}
	best.match(segs, r)
	h, ok := best.methods[r.Method]
	if !ok && r.Method == http.MethodHead {
		h, ok = best.methods[http.MethodGet]
	}
	allow := slices.Sorted(maps.Keys(best.methods))
	if !ok && r.Method == http.MethodOptions {
		// The API lists a URL's methods in answer to OPTIONS.
		w.Header().Set("Allow", strings.Join(allow, ", "))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(strings.Join(allow, ", ")))
		return
	}
	if !ok {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		rt.notAllowed(w, r)
		return
	}
	h(w, r)
}
