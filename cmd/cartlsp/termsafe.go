package main

import (
	"fmt"
	"io"
	"unicode"
	"unicode/utf8"
)

// termSafe wraps a terminal's writer for text that quotes metadata from
// files (a Cartridge's corpus description, a dataset's conversations): control
// characters other than newline and tab, and bytes that are not UTF-8, are
// written as \xNN or \u escapes, so that a file cannot move the cursor,
// retitle the terminal or hide text from the user.
func termSafe(w io.Writer) io.Writer { return safeWriter{w} }

type safeWriter struct{ w io.Writer }

func (s safeWriter) Write(p []byte) (int, error) {
	out := make([]byte, 0, len(p))
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRune(p[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			out = fmt.Appendf(out, `\x%02x`, p[i])
		case r == '\n' || r == '\t':
			out = append(out, byte(r))
		case r < 0x20 || r == 0x7f:
			out = fmt.Appendf(out, `\x%02x`, r)
		case unicode.Is(unicode.Cc, r) || r == 0x2028 || r == 0x2029 || unicode.Is(unicode.Bidi_Control, r):
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, p[i:i+n]...)
		}
		i += n
	}
	if _, err := s.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
