package main

import (
	"strings"
	"testing"
)

func TestTermSafe(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, ünïcode ✓\n\tindented": "plain text, ünïcode ✓\n\tindented",
		"\x1b]0;pwned\x07title":             `\x1b]0;pwned\x07title`,
		"clear\x1b[2Jscreen\r":              `clear\x1b[2Jscreen\x0d`,
		"bidi \u202eevil":                   `bidi \u202eevil`,
		"bad \xff byte":                     `bad \xff byte`,
		"c1 \u009b control":                 `c1 \u009b control`,
	} {
		var b strings.Builder
		termSafe(&b).Write([]byte(in))
		if b.String() != want {
			t.Errorf("%q → %q, want %q", in, b.String(), want)
		}
	}
}
