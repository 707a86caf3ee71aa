package units

import (
	"errors"
	"testing"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "4194304": 4194304, "4M": 4 << 20, "4m": 4 << 20, "4MiB": 4 << 20, "4 MB": 4 << 20,
		"10G": 10 << 30, "1T": 1 << 40, "1.5G": 3 << 29, "512k": 512 << 10, "7b": 7,
	} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "G", "10X", "1.2.3M", "99999999999999999999", "9000000P"} {
		if _, err := ParseSize(in); !errors.Is(err, ErrSize) {
			t.Errorf("ParseSize(%q) err = %v, want ErrSize", in, err)
		}
	}
}

func TestParseRate(t *testing.T) {
	if n, err := ParseRate("10MB/s"); err != nil || n != 10<<20 {
		t.Fatalf("ParseRate = %d, %v", n, err)
	}
	if _, err := ParseRate("fast"); err == nil {
		t.Fatal("ParseRate(fast) succeeded")
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1 KiB", 4 << 20: "4 MiB",
		3 << 29: "1.5 GiB", 10 << 30: "10 GiB", 1 << 40: "1 TiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
