package generate

import "testing"

func TestRepeats(t *testing.T) {
	cases := []struct {
		name string
		min  int
		text []string // the text as it grows
		want int      // the step at which a repeat is found (-1: none)
	}{
		{"off", 0, []string{"a line here\na line here\n"}, -1},
		{"a repeated line", 5, []string{"first line\n", "first line\nsecond\n", "first line\nsecond\n  first line  \n"}, 2},
		{"short lines repeat freely", 5, []string{"}\n}\n}\n", "}\n}\n}\nok"}, -1},
		{"an incomplete line is not looked at", 5, []string{"same text\nsame text"}, -1},
	}
	for _, c := range cases {
		r := repeats{min: c.min}
		got := -1
		for i, s := range c.text {
			if r.repeated(s) {
				got = i
				break
			}
		}
		if got != c.want {
			t.Errorf("%s: repeat found at step %d, want %d", c.name, got, c.want)
		}
	}
}
