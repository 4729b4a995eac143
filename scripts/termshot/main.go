// Command termshot renders a terminal screen captured by `tmux capture-pane -p -e` (text with
// ANSI SGR escapes) as a PNG, for the README's screenshots of Neovim running in tmux:
//
//	tmux capture-pane -p -e -t SESSION > screen.txt
//	go run ./scripts/termshot -cols 100 -rows 30 -o screen.png < screen.txt
//
// It understands the SGR codes tmux writes: reset, bold, italic, underline, reverse, the 16
// colours (30–37, 90–97, 40–47, 100–107), 256 colours (38;5;n, 48;5;n), truecolour (38;2;r;g;b,
// 48;2;r;g;b) and the defaults (39, 49). Fonts: Liberation Mono (regular, bold, italic).
package main

import (
	"bufio"
	"flag"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"log"
	"os"
	"strconv"
	"strings"

	"codeberg.org/go-fonts/liberation/liberationmonobold"
	"codeberg.org/go-fonts/liberation/liberationmonoitalic"
	"codeberg.org/go-fonts/liberation/liberationmonoregular"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// cell is one character on the screen with its attributes.
type cell struct {
	r                                  rune
	fg, bg                             color.RGBA
	bold, italic, underline, isDefault bool
}

// attrs is the SGR state while parsing.
type attrs struct {
	fg, bg                           color.RGBA
	fgSet, bgSet                     bool
	bold, italic, underline, reverse bool
}

var (
	defaultFG = color.RGBA{0xcd, 0xd6, 0xf4, 0xff}
	defaultBG = color.RGBA{0x1e, 0x1e, 0x2e, 0xff}
	// xterm's 16 colours.
	basic = [16]color.RGBA{
		{0x00, 0x00, 0x00, 0xff}, {0xcd, 0x00, 0x00, 0xff}, {0x00, 0xcd, 0x00, 0xff}, {0xcd, 0xcd, 0x00, 0xff},
		{0x00, 0x00, 0xee, 0xff}, {0xcd, 0x00, 0xcd, 0xff}, {0x00, 0xcd, 0xcd, 0xff}, {0xe5, 0xe5, 0xe5, 0xff},
		{0x7f, 0x7f, 0x7f, 0xff}, {0xff, 0x00, 0x00, 0xff}, {0x00, 0xff, 0x00, 0xff}, {0xff, 0xff, 0x00, 0xff},
		{0x5c, 0x5c, 0xff, 0xff}, {0xff, 0x00, 0xff, 0xff}, {0x00, 0xff, 0xff, 0xff}, {0xff, 0xff, 0xff, 0xff},
	}
)

// palette256 is xterm's 256-colour palette entry n.
func palette256(n int) color.RGBA {
	switch {
	case n < 16:
		return basic[n]
	case n < 232:
		n -= 16
		level := func(v int) uint8 {
			if v == 0 {
				return 0
			}
			return uint8(55 + 40*v)
		}
		return color.RGBA{level(n / 36), level(n / 6 % 6), level(n % 6), 0xff}
	default:
		g := uint8(8 + 10*(n-232))
		return color.RGBA{g, g, g, 0xff}
	}
}

// sgr applies one escape's parameters ("1;38;5;24") to a.
func (a *attrs) sgr(params string) {
	if params == "" {
		params = "0"
	}
	ps := strings.Split(params, ";")
	for i := 0; i < len(ps); i++ {
		n, _ := strconv.Atoi(ps[i])
		switch {
		case n == 0:
			*a = attrs{}
		case n == 1:
			a.bold = true
		case n == 3:
			a.italic = true
		case n == 4:
			a.underline = true
		case n == 7:
			a.reverse = true
		case n == 22:
			a.bold = false
		case n == 23:
			a.italic = false
		case n == 24:
			a.underline = false
		case n == 27:
			a.reverse = false
		case n >= 30 && n <= 37:
			a.fg, a.fgSet = basic[n-30], true
		case n >= 90 && n <= 97:
			a.fg, a.fgSet = basic[n-90+8], true
		case n >= 40 && n <= 47:
			a.bg, a.bgSet = basic[n-40], true
		case n >= 100 && n <= 107:
			a.bg, a.bgSet = basic[n-100+8], true
		case n == 39:
			a.fgSet = false
		case n == 49:
			a.bgSet = false
		case n == 38 || n == 48:
			var c color.RGBA
			ok := false
			if i+2 < len(ps) && ps[i+1] == "5" {
				k, _ := strconv.Atoi(ps[i+2])
				c, ok = palette256(k&0xff), true
				i += 2
			} else if i+4 < len(ps) && ps[i+1] == "2" {
				r, _ := strconv.Atoi(ps[i+2])
				g, _ := strconv.Atoi(ps[i+3])
				b, _ := strconv.Atoi(ps[i+4])
				c, ok = color.RGBA{uint8(r), uint8(g), uint8(b), 0xff}, true
				i += 4
			}
			if ok && n == 38 {
				a.fg, a.fgSet = c, true
			} else if ok {
				a.bg, a.bgSet = c, true
			}
		}
	}
}

func (a attrs) cell(r rune) cell {
	fg, bg := defaultFG, defaultBG
	if a.fgSet {
		fg = a.fg
	}
	if a.bgSet {
		bg = a.bg
	}
	if a.reverse {
		fg, bg = bg, fg
	}
	return cell{r: r, fg: fg, bg: bg, bold: a.bold, italic: a.italic, underline: a.underline}
}

// parse reads a capture into rows × cols cells (longer lines cut, missing ones blank).
func parse(r io.Reader, cols, rows int) [][]cell {
	blank := attrs{}.cell(' ')
	screen := make([][]cell, rows)
	for y := range screen {
		screen[y] = make([]cell, cols)
		for x := range screen[y] {
			screen[y][x] = blank
		}
	}
	var a attrs
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for y := 0; y < rows && sc.Scan(); y++ {
		line := []rune(sc.Text())
		x := 0
		for i := 0; i < len(line); i++ {
			if line[i] == 0x1b && i+1 < len(line) && line[i+1] == '[' {
				j := i + 2
				for j < len(line) && (line[j] < 0x40 || line[j] > 0x7e) {
					j++
				}
				if j < len(line) && line[j] == 'm' {
					a.sgr(string(line[i+2 : j]))
				}
				i = j
				continue
			}
			if line[i] == '\t' {
				for x < cols && (x == 0 || x%8 != 0) {
					screen[y][x] = a.cell(' ')
					x++
				}
				continue
			}
			if x < cols {
				screen[y][x] = a.cell(line[i])
				x++
			}
		}
		// The rest of the line takes the background in force (as a terminal's erase does).
		for ; x < cols && a.bgSet; x++ {
			screen[y][x] = a.cell(' ')
		}
	}
	return screen
}

func face(ttf []byte, size float64) font.Face {
	f, err := opentype.Parse(ttf)
	if err != nil {
		log.Fatal(err)
	}
	fc, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		log.Fatal(err)
	}
	return fc
}

// render draws screen with fonts of size px, pad pixels around it.
func render(screen [][]cell, size float64, pad int) *image.RGBA {
	regular := face(liberationmonoregular.TTF, size)
	faces := map[[2]bool]font.Face{
		{false, false}: regular,
		{true, false}:  face(liberationmonobold.TTF, size),
		{false, true}:  face(liberationmonoitalic.TTF, size),
		{true, true}:   face(liberationmonobold.TTF, size),
	}
	m := regular.Metrics()
	adv, _ := regular.GlyphAdvance('M')
	cw, ch := adv.Ceil(), (m.Ascent + m.Descent).Ceil()+2
	rows, cols := len(screen), 0
	if rows > 0 {
		cols = len(screen[0])
	}
	img := image.NewRGBA(image.Rect(0, 0, cols*cw+2*pad, rows*ch+2*pad))
	draw.Draw(img, img.Bounds(), image.NewUniform(defaultBG), image.Point{}, draw.Src)
	for y, row := range screen {
		for x, c := range row {
			r := image.Rect(pad+x*cw, pad+y*ch, pad+(x+1)*cw, pad+(y+1)*ch)
			draw.Draw(img, r, image.NewUniform(c.bg), image.Point{}, draw.Src)
			if c.r != ' ' {
				d := font.Drawer{Dst: img, Src: image.NewUniform(c.fg), Face: faces[[2]bool{c.bold, c.italic}],
					Dot: fixed.P(r.Min.X, r.Min.Y+m.Ascent.Ceil()+1)}
				d.DrawString(string(c.r))
			}
			if c.underline {
				draw.Draw(img, image.Rect(r.Min.X, r.Max.Y-2, r.Max.X, r.Max.Y-1), image.NewUniform(c.fg), image.Point{}, draw.Src)
			}
		}
	}
	return img
}

func main() {
	cols := flag.Int("cols", 100, "the pane's width in cells")
	rows := flag.Int("rows", 30, "the pane's height in cells")
	size := flag.Float64("size", 14, "font size in pixels")
	out := flag.String("o", "screen.png", "the PNG to write")
	flag.Parse()
	img := render(parse(os.Stdin, *cols, *rows), *size, 10)
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
