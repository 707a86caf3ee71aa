package safename

import (
	"errors"
	"strings"
	"testing"

	"github.com/drivecp/drivecp/providers"
)

func TestFileName(t *testing.T) {
	long := strings.Repeat("é", 200) + ".img" // 404 bytes
	cases := []struct{ in, want string }{
		{"2b8e8a3c-0d1f-4c52-9a52-3f3a5e6b7c8d", "2b8e8a3c-0d1f-4c52-9a52-3f3a5e6b7c8d"},
		{"disk.img", "disk.img"},
		{"../../etc/passwd", "passwd"},
		{"/etc/shadow", "shadow"},
		{"a/b", "b"},
		{"dir/", "dir"},
		{`C:\x`, "x"},
		{`..\..\windows\system.ini`, "system.ini"},
		{"C:x.img", "C_x.img"},
		{".bashrc", "bashrc"},
		{"..foo", "foo"},
		{"  spaced  ", "spaced"},
		{"trailing...", "trailing"},
		{"a\x00b.img", "a_b.img"},
		{"line\nbreak\r.img", "line_break_.img"},
		{"rtl\u202egnp.exe", "rtl_gnp.exe"},
		{"bad\xffutf8", "bad_utf8"},
		{"диск-образ.img", "диск-образ.img"},
		{"映像 ファイル.raw", "映像 ファイル.raw"},
		{"€ rates.img", "€ rates.img"},
		{"CON", "_CON"},
		{"nul.img", "_nul.img"},
		{"what?<>|*\".img", "what______.img"},
		{long, strings.Repeat("é", (MaxBytes-4)/2) + ".img"},
	}
	for _, tc := range cases {
		got, err := FileName(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("FileName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", ".", "..", "...", "/", "../", "./..", `..\`, " . ", "a/..", "\\\\"} {
		if got, err := FileName(in); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("FileName(%q) = %q, %v; want ErrInvalid", in, got, err)
		}
	}
	// Whatever comes in, what goes out is one plain path element.
	for _, in := range []string{"a/../../b", "..\x00/x", strings.Repeat("../", 100) + "z", strings.Repeat("x", 1000)} {
		got, err := FileName(in)
		if err != nil {
			continue
		}
		if strings.ContainsAny(got, "/\\\x00") || got == "." || got == ".." || strings.HasPrefix(got, ".") || len(got) > MaxBytes {
			t.Errorf("FileName(%q) = %q is not a plain name", in, got)
		}
	}
}
