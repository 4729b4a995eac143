package main

import (
	"image/color"
	"strings"
	"testing"
)

// TestSGR parses escapes followed by an X and checks the X's attributes.
func TestSGR(t *testing.T) {
	red := Indexed(1)
	cases := []struct {
		in   string
		want Attr
	}{
		{"X", Attr{}},
		{"\x1b[31mX", Attr{FG: red}},
		{"\x1b[41mX", Attr{BG: red}},
		{"\x1b[1;92mX", Attr{FG: Indexed(10), Bold: true}},
		{"\x1b[104mX", Attr{BG: Indexed(12)}},
		{"\x1b[38;5;208mX", Attr{FG: Indexed(208)}},
		{"\x1b[48;5;24mX", Attr{BG: Indexed(24)}},
		{"\x1b[38;2;1;2;3mX", Attr{FG: RGB(1, 2, 3)}},
		{"\x1b[48;2;250;128;0mX", Attr{BG: RGB(250, 128, 0)}},
		{"\x1b[38:2::1:2:3mX", Attr{FG: RGB(1, 2, 3)}},
		{"\x1b[38:2:1:2:3mX", Attr{FG: RGB(1, 2, 3)}},
		{"\x1b[48:5:99mX", Attr{BG: Indexed(99)}},
		{"\x1b[38;2;999;2;3mX", Attr{FG: RGB(255, 2, 3)}},
		{"\x1b[1;38;5;24;48;2;9;8;7;3mX", Attr{FG: Indexed(24), BG: RGB(9, 8, 7), Bold: true, Italic: true}},
		{"\x1b[3mX", Attr{Italic: true}},
		{"\x1b[4mX", Attr{Underline: UnderlineSingle}},
		{"\x1b[4:3mX", Attr{Underline: UnderlineCurly}},
		{"\x1b[4:0mX", Attr{}},
		{"\x1b[21mX", Attr{Underline: UnderlineDouble}},
		{"\x1b[7mX", Attr{Reverse: true}},
		{"\x1b[2;8;9;53mX", Attr{Dim: true, Hidden: true, Strike: true, Overline: true}},
		{"\x1b[58;2;1;2;3mX", Attr{UL: RGB(1, 2, 3)}},
		{"\x1b[1;3;4;7m\x1b[22;23;24;27mX", Attr{}},
		{"\x1b[31;41m\x1b[39mX", Attr{BG: red}},
		{"\x1b[31;41m\x1b[49mX", Attr{FG: red}},
		{"\x1b[1;31m\x1b[0mX", Attr{}},
		{"\x1b[1;31m\x1b[mX", Attr{}},
		{"\x1b[31;0;32mX", Attr{FG: Indexed(2)}},
		{"\x1b[31m\nX", Attr{FG: red}},                                     // the state carries over to the next line
		{"\x1b[38;5mX", Attr{}},                                            // incomplete: ignored
		{"\x1b[31m\x1b[?25l\x1b[2K\x1b]8;;http://x\x1b\\X", Attr{FG: red}}, // other escapes are skipped
		{"\x1b[31m\x1b]0;title\aX", Attr{FG: red}},
	}
	for _, c := range cases {
		sc, err := Parse(strings.NewReader(c.in), 4, 2, true)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.in, err)
		}
		var got *Cell
		for y := range sc.Cells {
			for x := range sc.Cells[y] {
				if sc.Cells[y][x].R == 'X' && got == nil {
					got = &sc.Cells[y][x]
				}
			}
		}
		if got == nil {
			t.Errorf("Parse(%q): no X in %+v", c.in, sc.Cells)
			continue
		}
		if got.A != c.want {
			t.Errorf("Parse(%q): X has %+v; want %+v", c.in, got.A, c.want)
		}
	}
}

func TestLayout(t *testing.T) {
	// Padding: a line that ends in the defaults is padded with them; one that ends with a
	// background in force (tmux trims the blanks, not the escape) keeps it to the edge.
	const capture = "ab\x1b[44mc\x1b[0m\n\x1b[44m st\n\ttab\n\n"
	sc, err := Parse(strings.NewReader(capture), 12, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Cols != 12 || sc.Rows != 5 {
		t.Fatalf("screen %d × %d", sc.Cols, sc.Rows)
	}
	if c := sc.Cells[0][5]; c.R != ' ' || c.A != (Attr{}) {
		t.Errorf("line 1's padding %+v", c)
	}
	if c := sc.Cells[1][11]; c.R != ' ' || c.A.BG != Indexed(4) {
		t.Errorf("line 2's padding %+v", c)
	}
	if c := sc.Cells[2][8]; c.R != 't' || c.A.BG != Indexed(4) {
		t.Errorf("after a tab %+v", c)
	}
	if c := sc.Cells[3][0]; c.R != ' ' || c.A != (Attr{}) {
		t.Errorf("an empty line (blue in force) %+v", c)
	}
	if c := sc.Cells[4][0]; c.R != ' ' || c.A != (Attr{}) {
		t.Errorf("a missing line %+v", c)
	}
	sc, _ = Parse(strings.NewReader(capture), 12, 5, false)
	if c := sc.Cells[1][11]; c.R != ' ' || c.A != (Attr{}) {
		t.Errorf("line 2's padding without fill %+v", c)
	}
	// Wide runes take two cells; combining marks none; SO/SI is the line-drawing set.
	sc, err = Parse(strings.NewReader("日本x\u0301y\x0eqx\x0fq"), 0, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	var got []rune
	for _, c := range sc.Cells[0] {
		got = append(got, c.R)
	}
	if want := []rune{'日', 0, '本', 0, 'x', 'y', '─', '│', 'q'}; string(got) != string(want) || !sc.Cells[0][0].Wide || sc.Cells[0][1].Wide {
		t.Errorf("cells %q; want %q", got, want)
	}
	if sc.Cols != 9 || sc.Rows != 1 {
		t.Errorf("auto size %d × %d", sc.Cols, sc.Rows)
	}
	// A wide rune cut at the right edge becomes narrow.
	sc, _ = Parse(strings.NewReader("ab日"), 3, 1, true)
	if c := sc.Cells[0][2]; c.R != '日' || c.Wide {
		t.Errorf("cut wide rune %+v", c)
	}
}

func TestPalette(t *testing.T) {
	th := DefaultTheme()
	for _, c := range []struct {
		n    int
		want color.RGBA
	}{
		{1, color.RGBA{0xcd, 0, 0, 0xff}}, {15, color.RGBA{0xff, 0xff, 0xff, 0xff}},
		{16, color.RGBA{0, 0, 0, 0xff}}, {24, color.RGBA{0, 0x5f, 0x87, 0xff}},
		{196, color.RGBA{0xff, 0, 0, 0xff}}, {231, color.RGBA{0xff, 0xff, 0xff, 0xff}},
		{232, color.RGBA{8, 8, 8, 0xff}}, {255, color.RGBA{0xee, 0xee, 0xee, 0xff}},
	} {
		if got := th.Palette[c.n]; got != c.want {
			t.Errorf("colour %d = %v; want %v", c.n, got, c.want)
		}
	}
	fg, bg, _ := th.colors(Attr{FG: Indexed(1), Reverse: true})
	if fg != th.BG || bg != th.Palette[1] {
		t.Errorf("reverse: %v on %v", fg, bg)
	}
	for i, s := range boxArms {
		if len(s) != 4 {
			t.Errorf("boxArms[%#x] = %q", 0x2500+i, s)
		}
	}
}

func TestRender(t *testing.T) {
	const cols, rows, pad = 10, 3, 12
	sc, err := Parse(strings.NewReader("\x1b[41mred\x1b[0m plain\n\x1b[1;32mbold\x1b[0m ╭──╮\n\x1b[48;2;0;0;255m \x1b[0m █\n"), cols, rows, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, title := range []string{"", "termshot"} {
		img, err := Render(sc, Options{Size: 14, Pad: pad, Title: title, Theme: DefaultTheme()})
		if err != nil {
			t.Fatal(err)
		}
		fs, _ := newFonts(14)
		titleH := 0
		if title != "" {
			titleH = 2 * fs.ch
		}
		if b := img.Bounds(); b.Dx() != cols*fs.cw+2*pad || b.Dy() != titleH+rows*fs.ch+2*pad || fs.cw < 7 || fs.ch < 14 {
			t.Fatalf("image %v with %d × %d cells", b, fs.cw, fs.ch)
		}
		th := DefaultTheme()
		// The red cells (0–2 of line 1) have red pixels, around their glyphs' strokes too.
		red := 0
		for y := pad + titleH; y < pad+titleH+fs.ch; y++ {
			for x := pad; x < pad+3*fs.cw; x++ {
				if img.RGBAAt(x, y) == th.Palette[1] {
					red++
				}
			}
		}
		if red < 3*fs.cw*fs.ch/2 {
			t.Errorf("%d red pixels in the red cells", red)
		}
		if c := img.RGBAAt(pad, pad+titleH); c != th.Palette[1] {
			t.Errorf("the red cell's corner is %v", c)
		}
		if c := img.RGBAAt(pad+4*fs.cw, pad+titleH); c != th.BG {
			t.Errorf("a default cell's corner is %v", c)
		}
		if c := img.RGBAAt(pad+fs.cw/2, pad+titleH+2*fs.ch+fs.ch/2); c != (color.RGBA{0, 0, 255, 0xff}) {
			t.Errorf("the truecolour cell is %v", c)
		}
		if c := img.RGBAAt(pad+2*fs.cw+fs.cw/2, pad+titleH+2*fs.ch+fs.ch/2); c != th.FG {
			t.Errorf("the full block is %v", c)
		}
		if c := img.RGBAAt(0, 0); title == "" && c != th.BG {
			t.Errorf("the padding is %v", c)
		}
		// Some of the bold text is green.
		green := 0
		for y := pad + titleH + fs.ch; y < pad+titleH+2*fs.ch; y++ {
			for x := pad; x < pad+4*fs.cw; x++ {
				if c := img.RGBAAt(x, y); c.G > 0x80 && c.R < 0x40 {
					green++
				}
			}
		}
		if green < 10 {
			t.Errorf("%d green pixels in the bold green text", green)
		}
	}
}
