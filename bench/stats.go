package bench

import "slices"

// Stat summarises one metric over the runs of a measurement: the median is
// what tables show, min and max show how much the runs disagreed.
type Stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// N is the number of runs summarised; 0 means nothing was measured.
	N int `json:"n"`
}

// Summarize returns the median, minimum and maximum of xs; the median of an
// even count is the mean of the middle two. xs is not modified.
func Summarize(xs []float64) Stat {
	if len(xs) == 0 {
		return Stat{}
	}
	v := slices.Clone(xs)
	slices.Sort(v)
	n := len(v)
	med := v[n/2]
	if n%2 == 0 {
		med = (v[n/2-1] + v[n/2]) / 2
	}
	return Stat{Median: med, Min: v[0], Max: v[n-1], N: n}
}
