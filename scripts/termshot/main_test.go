package main

import (
	"image/color"
	"strings"
	"testing"
)

func TestSGR(t *testing.T) {
	cases := []struct {
		params string
		want   attrs
	}{
		{"31", attrs{fg: basic[1], fgSet: true}},
		{"1;92", attrs{fg: basic[10], fgSet: true, bold: true}},
		{"48;5;24", attrs{bg: palette256(24), bgSet: true}},
		{"38;2;1;2;3", attrs{fg: color.RGBA{1, 2, 3, 0xff}, fgSet: true}},
		{"3;4;7", attrs{italic: true, underline: true, reverse: true}},
		{"31;0", attrs{}},
		{"", attrs{}},
		{"31;39", attrs{fg: basic[1]}},
	}
	for _, c := range cases {
		var a attrs
		a.sgr(c.params)
		if a != c.want {
			t.Errorf("sgr(%q) = %+v; want %+v", c.params, a, c.want)
		}
	}
	if palette256(16) != (color.RGBA{0, 0, 0, 0xff}) || palette256(231) != (color.RGBA{0xff, 0xff, 0xff, 0xff}) || palette256(232) != (color.RGBA{8, 8, 8, 0xff}) {
		t.Error("the 256-colour cube or greys")
	}
}

func TestRender(t *testing.T) {
	screen := parse(strings.NewReader("\x1b[41mred\x1b[0m plain\nsecond\n"), 12, 3)
	if screen[0][0].r != 'r' || screen[0][0].bg != basic[1] || screen[0][3].bg != defaultBG || screen[1][0].r != 's' || screen[2][0].r != ' ' {
		t.Fatalf("parsed %+v", screen[0][:4])
	}
	img := render(screen, 14, 10)
	b := img.Bounds()
	if b.Dx() <= 2*10 || b.Dy() <= 2*10 {
		t.Fatalf("image %v", b)
	}
	// A pixel of the first cell's background is red.
	if c := img.RGBAAt(11, 11); c != basic[1] {
		t.Errorf("the red cell's corner is %v", c)
	}
}
