// Package units parses and prints byte sizes and rates the way people type
// and read them: binary multiples (512M, 10G, 1T; KiB, MiB, ...).
package units

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// ErrSize is returned for a size that does not parse.
var ErrSize = errors.New("invalid size")

var multipliers = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
	"p": 1 << 50, "pb": 1 << 50, "pib": 1 << 50,
}

// ParseSize parses "4194304", "4M", "4MiB", "1.5G" (binary multiples; the
// unit is case-insensitive). Negative sizes and overflow are errors.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return !unicode.IsDigit(r) && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	}
	mult, ok := multipliers[unit]
	if num == "" || !ok {
		return 0, fmt.Errorf("%w %q (use bytes or a unit such as 512M, 10G, 1T)", ErrSize, s)
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n > math.MaxInt64/mult {
			return 0, fmt.Errorf("%w %q", ErrSize, s)
		}
		return n * mult, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f*float64(mult) >= math.MaxInt64 {
		return 0, fmt.Errorf("%w %q", ErrSize, s)
	}
	return int64(f * float64(mult)), nil
}

// ParseRate parses a bandwidth such as "50M", "10MB/s" or "1G/s" into bytes
// per second.
func ParseRate(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "/s")
	n, err := ParseSize(t)
	if err != nil {
		return 0, fmt.Errorf("invalid rate %q (use bytes per second such as 50M or 10MB/s)", s)
	}
	return n, nil
}

// FormatSize prints n bytes with a binary unit: "4.0 MiB", "10 GiB", "512 B".
func FormatSize(n int64) string {
	const unit = 1024
	if n < unit && n > -unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit || m <= -unit; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f %ciB", v, "KMGTPE"[exp])
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[exp])
}

// MBps returns bytes over seconds in MB/s (10^6 bytes), 0 for no time.
func MBps(bytes int64, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(bytes) / 1e6 / seconds
}
