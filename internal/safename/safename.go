// Package safename turns a file name a server suggests into one that is
// safe to create in the current folder.
package safename

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/drivecp/drivecp/providers"
)

// MaxBytes caps the names FileName returns. It stays below the
// usual 255-byte NAME_MAX so that the download's "NAME.part" sibling fits too.
const MaxBytes = 240

// FileName turns a file name a server suggested (Content-Disposition)
// into a plain base name that can be created in the current directory
// without escaping it or surprising the user. The policy:
//
//   - Any directory part is dropped: only the last non-empty element after
//     splitting on '/' and '\' is kept, so "../../etc/passwd" becomes
//     "passwd" and `C:\x` becomes "x".
//   - Invalid UTF-8, control and invisible format characters (NUL, newlines,
//     bidirectional overrides) and the characters Windows reserves
//     (<>:"|?*) become '_'.
//   - Leading dots and spaces are removed, so the result is never ".", ".."
//     or a hidden dotfile such as ".bashrc"; trailing dots and spaces, which
//     Windows strips, are removed too. A Windows device name (CON, NUL,
//     COM1, ...) gets a '_' prefix.
//   - The result is cut to MaxBytes on a rune boundary, keeping a
//     short extension.
//
// Names with nothing left ("", ".", "..", "/", "...") are refused with an
// error matching providers.ErrInvalid. Letters of any script are kept.
func FileName(name string) (string, error) {
	base := ""
	for _, el := range strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' }) {
		base = el // the last non-empty element: "dir/" names "dir"
	}
	base = strings.ToValidUTF8(base, "_")
	base = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || strings.ContainsRune(`<>:"|?*`, r) {
			return '_'
		}
		return r
	}, base)
	base = strings.TrimLeft(base, ". ")
	base = strings.TrimRight(base, ". ")
	base = capName(base, MaxBytes)
	base = strings.TrimRight(base, ". ")
	if base == "" {
		return "", fmt.Errorf("%w: file name %q has no usable part", providers.ErrInvalid, name)
	}
	if windowsDevice(base) {
		base = "_" + base
	}
	return base, nil
}

// capName cuts name to at most max bytes without splitting a rune,
// keeping an extension of up to 16 bytes so the file type stays visible.
func capName(name string, max int) string {
	if len(name) <= max {
		return name
	}
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= 16 {
		name, ext = name[:i], name[i:]
	}
	cut := max - len(ext)
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + ext
}

// windowsDevice reports whether name (ignoring any extension) is a
// device name Windows will not create a file under.
func windowsDevice(name string) bool {
	stem, _, _ := strings.Cut(name, ".")
	switch strings.ToUpper(strings.TrimRight(stem, " ")) {
	case "CON", "PRN", "AUX", "NUL",
		"COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
		"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9":
		return true
	}
	return false
}
