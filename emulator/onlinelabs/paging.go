package onlinelabs

import (
	"fmt"
	"net/url"
	"strconv"
)

func itoa(i int) string { return strconv.Itoa(i) }

// page cuts one page out of all, as the request's page and per_page ask,
// and sets X-Total-Count and the Link header (rel next and last) that let
// a client fetch the rest. It answers 400 itself and returns false for a
// malformed page or per_page.
func page[T any](q *request, all []T, def int) ([]T, bool) {
	qv := q.r.URL.Query()
	num, per := 1, def
	for name, dst := range map[string]*int{"page": &num, "per_page": &per} {
		if s := qv.Get(name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				invalid(q.w, map[string][]string{name: {"must be a positive integer"}})
				return nil, false
			}
			*dst = n
		}
	}
	per = min(per, maxPerPage)
	last := max(1, (len(all)+per-1)/per)
	link := func(n int, rel string) string {
		u := url.URL{Path: q.r.URL.Path}
		v := url.Values{}
		for k, vs := range qv {
			v[k] = vs
		}
		v.Set("page", strconv.Itoa(n))
		v.Set("per_page", strconv.Itoa(per))
		u.RawQuery = v.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	h := q.w.Header()
	h.Set("X-Total-Count", strconv.Itoa(len(all)))
	links := link(1, "first")
	if num < last {
		links += ", " + link(num+1, "next")
	}
	links += ", " + link(last, "last")
	h.Set("Link", links)
	lo := min((num-1)*per, len(all))
	hi := min(lo+per, len(all))
	return all[lo:hi], true
}
