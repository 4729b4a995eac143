// Command termshot renders a terminal screen captured by `tmux capture-pane -p -e` (text with
// ANSI SGR escape sequences) as a PNG image, for the README's screenshots of Neovim running in
// tmux:
//
//	tmux capture-pane -p -e -t SESSION > capture.txt
//	go run ./scripts/termshot -cols 100 -rows 30 -o out.png < capture.txt
//
// Flags:
//
//	-cols N     the pane's width in cells (0: the longest line of the capture)
//	-rows N     the pane's height in cells (0: the capture's number of lines)
//	-size PX    font size in pixels (default 14)
//	-pad PX     padding around the screen (default 12)
//	-title S    draw a window title bar with S in it
//	-fg, -bg    default colours as #rrggbb (default #cdd6f4 on #1e1e2e)
//	-fill=false pad short lines with the default background (see below)
//	-o FILE     the PNG to write ("-": standard output; default screen.png)
//
// A file named after the flags is read instead of standard input.
//
// It understands what tmux writes: SGR reset (0 or empty), bold (1), dim (2), italic (3),
// underline (4, and tmux's 4:1…4:5 styles, 21), reverse (7), hidden (8), strikethrough (9),
// overline (53), their resets (22–29, 55), the 16 colours (30–37, 90–97, 40–47, 100–107),
// 256 colours (38;5;n, 48;5;n), truecolour (38;2;r;g;b, 48;2;r;g;b, and the colon forms),
// underline colour (58, 59), the defaults (39, 49), and SO/SI for the DEC line-drawing set.
// Other escape sequences (OSC hyperlinks, other CSI) are skipped. The SGR state carries over
// from line to line, as tmux writes only changes. A line shorter than -cols is padded with the
// attributes in force at its end: tmux trims a line's trailing blanks but not the escape that
// coloured them (and never writes the blanks that an erase in a colour left), so this keeps a
// status line, a cursor line or a float at the right edge coloured to the edge, and pads a line
// that ends in the defaults, or has nothing in it, with the default background. The cost: a
// coloured blank that an application wrote last and then reset (printf '\e[44m x \e[0m') is
// taken to run to the edge; -fill=false pads every line with the default background instead.
// East Asian wide runes take two cells; combining marks are dropped.
//
// Text is drawn in Liberation Mono (regular, bold, italic, bold italic); box drawing
// (U+2500–U+257F), block elements (U+2580–U+259F) and the Powerline separators (U+E0B0–U+E0B8,
// U+E0BA, U+E0BC, U+E0BE) are drawn as shapes that fill the cell, so borders join up; other
// runes missing from the font (CJK, most symbols and icons) show its missing-glyph box. Colours: xterm's 16-colour palette, the 6×6×6 cube and 24 greys.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// ColorMode says how a Color is given.
type ColorMode uint8

const (
	ColorDefault ColorMode = iota // the terminal's default foreground or background
	ColorIndexed                  // one of the 256 palette entries
	ColorRGB                      // truecolour
)

// Color is a cell's colour as the escapes gave it; the theme resolves it to pixels.
type Color struct {
	Mode    ColorMode
	Index   uint8
	R, G, B uint8
}

// Indexed is palette entry n.
func Indexed(n int) Color { return Color{Mode: ColorIndexed, Index: uint8(n)} }

// RGB is a truecolour.
func RGB(r, g, b uint8) Color { return Color{Mode: ColorRGB, R: r, G: g, B: b} }

// Underline styles, as in SGR 4:n.
const (
	UnderlineNone = iota
	UnderlineSingle
	UnderlineDouble
	UnderlineCurly
	UnderlineDotted
	UnderlineDashed
)

// Attr is the SGR state: what a cell looks like apart from its rune.
type Attr struct {
	FG, BG, UL Color // UL: the underline's colour (default: the foreground)
	Bold       bool
	Dim        bool
	Italic     bool
	Underline  uint8 // Underline* style
	Reverse    bool
	Hidden     bool
	Strike     bool
	Overline   bool
}

// Cell is one cell of the screen.
type Cell struct {
	R    rune // ' ' for a blank; 0 in the right half of a wide rune
	A    Attr
	Wide bool // R takes this cell and the next
}

// Screen is a parsed capture, Cells[y][x], Rows × Cols.
type Screen struct {
	Cols, Rows int
	Cells      [][]Cell
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func clamp8(s string) uint8 { return uint8(min(atoi(s), 255)) }

// extColor reads the colour after 38, 48 or 58: in the colon form its parameters are sub
// (38:5:n, 38:2:r:g:b or 38:2:id:r:g:b), in the semicolon form they are the next of groups
// (38;5;n, 38;2;r;g;b). It returns the colour, how many of groups it used and whether it parsed.
func extColor(sub, groups []string) (Color, int, bool) {
	if len(sub) > 1 {
		switch {
		case sub[1] == "5" && len(sub) >= 3:
			return Indexed(int(clamp8(sub[2]))), 0, true
		case sub[1] == "2" && len(sub) >= 6:
			return RGB(clamp8(sub[3]), clamp8(sub[4]), clamp8(sub[5])), 0, true
		case sub[1] == "2" && len(sub) == 5:
			return RGB(clamp8(sub[2]), clamp8(sub[3]), clamp8(sub[4])), 0, true
		}
		return Color{}, 0, false
	}
	switch {
	case len(groups) >= 2 && groups[0] == "5":
		return Indexed(int(clamp8(groups[1]))), 2, true
	case len(groups) >= 4 && groups[0] == "2":
		return RGB(clamp8(groups[1]), clamp8(groups[2]), clamp8(groups[3])), 4, true
	}
	return Color{}, len(groups), false
}

// ApplySGR applies the parameters of one SGR escape ("1;38;5;24" of "\x1b[1;38;5;24m") to a.
// Codes it does not know are ignored.
func (a *Attr) ApplySGR(params string) {
	if params == "" {
		*a = Attr{}
		return
	}
	groups := strings.Split(params, ";")
	for i := 0; i < len(groups); i++ {
		sub := strings.Split(groups[i], ":")
		switch n := atoi(sub[0]); {
		case n == 0:
			*a = Attr{}
		case n == 1:
			a.Bold = true
		case n == 2:
			a.Dim = true
		case n == 3:
			a.Italic = true
		case n == 4:
			a.Underline = UnderlineSingle
			if len(sub) > 1 {
				if s := atoi(sub[1]); s <= UnderlineDashed {
					a.Underline = uint8(s)
				}
			}
		case n == 7:
			a.Reverse = true
		case n == 8:
			a.Hidden = true
		case n == 9:
			a.Strike = true
		case n == 21:
			a.Underline = UnderlineDouble
		case n == 22:
			a.Bold, a.Dim = false, false
		case n == 23:
			a.Italic = false
		case n == 24:
			a.Underline = UnderlineNone
		case n == 27:
			a.Reverse = false
		case n == 28:
			a.Hidden = false
		case n == 29:
			a.Strike = false
		case n >= 30 && n <= 37:
			a.FG = Indexed(n - 30)
		case n == 39:
			a.FG = Color{}
		case n >= 40 && n <= 47:
			a.BG = Indexed(n - 40)
		case n == 49:
			a.BG = Color{}
		case n == 53:
			a.Overline = true
		case n == 55:
			a.Overline = false
		case n == 59:
			a.UL = Color{}
		case n >= 90 && n <= 97:
			a.FG = Indexed(n - 90 + 8)
		case n >= 100 && n <= 107:
			a.BG = Indexed(n - 100 + 8)
		case n == 38 || n == 48 || n == 58:
			c, used, ok := extColor(sub, groups[i+1:])
			i += used
			if !ok {
				continue
			}
			switch n {
			case 38:
				a.FG = c
			case 48:
				a.BG = c
			default:
				a.UL = c
			}
		}
	}
}

// decGraphics is the DEC special graphics set that SO (or ESC ( 0) selects.
var decGraphics = map[rune]rune{
	'`': '◆', 'a': '▒', 'f': '°', 'g': '±', 'h': '░', 'j': '┘', 'k': '┐', 'l': '┌', 'm': '└',
	'n': '┼', 'o': '⎺', 'p': '⎻', 'q': '─', 'r': '⎼', 's': '⎽', 't': '├', 'u': '┤', 'v': '┴',
	'w': '┬', 'x': '│', 'y': '≤', 'z': '≥', '{': 'π', '|': '≠', '}': '£', '~': '·',
}

// runeWidth is how many cells r takes: 0 for combining marks and other zero-width runes, 2
// for East Asian wide and fullwidth runes, else 1.
func runeWidth(r rune) int {
	switch {
	case r == 0x200b || r == 0x200c || r == 0x200d || r == 0x2060 || r == 0xfeff,
		r >= 0xfe00 && r <= 0xfe0f, r >= 0xe0100 && r <= 0xe01ef,
		unicode.In(r, unicode.Mn, unicode.Me):
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// skipString skips an OSC, DCS, APC, PM or SOS string that starts at s[i], up to and
// including its BEL or ST (ESC \), and returns the index after it.
func skipString(s string, i int) int {
	for ; i < len(s); i++ {
		if s[i] == 0x07 {
			return i + 1
		}
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '\\' {
			return i + 2
		}
	}
	return i
}

// line is one line of the capture before it is fitted to the screen.
type line struct {
	cells []Cell
	sgr   bool // an SGR escape was in it
	end   Attr // the attributes in force at its end
}

// Parse reads a capture into a screen of cols × rows cells; 0 takes the capture's widest line
// or number of lines. Longer lines are cut, missing lines are blank. With fill, the cells after
// the end of a line take the attributes in force there, unless the line was empty (no runes,
// no SGR escapes: tmux had nothing written there); else they are default blanks.
func Parse(r io.Reader, cols, rows int, fill bool) (*Screen, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	s := string(data)
	var (
		lines []line
		cur   line
		a     Attr
		shift bool // SO: the DEC graphics set is in use
		g0dec bool // ESC ( 0: G0 is the DEC graphics set
	)
	put := func(r rune, a Attr) {
		w := runeWidth(r)
		switch w {
		case 0:
			return
		case 1:
			cur.cells = append(cur.cells, Cell{R: r, A: a})
		case 2:
			cur.cells = append(cur.cells, Cell{R: r, A: a, Wide: true}, Cell{A: a})
		}
	}
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == 0x1b && i+1 < len(s) {
			switch s[i+1] {
			case '[': // CSI: parameters 0x30–0x3f, intermediates 0x20–0x2f, final 0x40–0x7e
				j := i + 2
				for j < len(s) && s[j] >= 0x30 && s[j] <= 0x3f {
					j++
				}
				params := s[i+2 : j]
				k := j
				for k < len(s) && s[k] >= 0x20 && s[k] <= 0x2f {
					k++
				}
				if k < len(s) && s[k] == 'm' && k == j && !strings.ContainsAny(params, "<=>?") {
					a.ApplySGR(params)
					cur.sgr = true
				}
				i = min(k+1, len(s))
			case ']', 'P', '_', '^', 'X':
				i = skipString(s, i+2)
			case '(', ')', '*', '+':
				if i+2 < len(s) && s[i+1] == '(' {
					g0dec = s[i+2] == '0'
				}
				i = min(i+3, len(s))
			default:
				i += 2
			}
			continue
		}
		i += size
		switch {
		case c == '\n':
			cur.end = a
			lines = append(lines, cur)
			cur = line{}
		case c == '\t':
			put(' ', a)
			for len(cur.cells)%8 != 0 {
				put(' ', a)
			}
		case c == 0x0e:
			shift = true
		case c == 0x0f:
			shift = false
		case c < 0x20 || c == 0x7f || c >= 0x80 && c < 0xa0:
		default:
			if g, ok := decGraphics[c]; ok && (shift || g0dec) {
				c = g
			}
			put(c, a)
		}
	}
	if len(cur.cells) > 0 || cur.sgr {
		cur.end = a
		lines = append(lines, cur)
	}
	if rows <= 0 {
		rows = len(lines)
	}
	if cols <= 0 {
		for _, l := range lines {
			cols = max(cols, len(l.cells))
		}
	}
	if rows <= 0 || cols <= 0 {
		return nil, fmt.Errorf("termshot: an empty screen (%d cols × %d rows)", cols, rows)
	}
	sc := &Screen{Cols: cols, Rows: rows, Cells: make([][]Cell, rows)}
	for y := range sc.Cells {
		row := make([]Cell, cols)
		var l line
		if y < len(lines) {
			l = lines[y]
		}
		n := copy(row, l.cells)
		if n > 0 && row[n-1].Wide { // its right half was cut
			row[n-1].Wide = false
		}
		var pad Attr
		if fill && (len(l.cells) > 0 || l.sgr) {
			pad = l.end
		}
		for x := n; x < cols; x++ {
			row[x] = Cell{R: ' ', A: pad}
		}
		sc.Cells[y] = row
	}
	return sc, nil
}

func parseHex(s string) (color.RGBA, error) {
	s = strings.TrimPrefix(s, "#")
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil || len(s) != 6 {
		return color.RGBA{}, fmt.Errorf("termshot: %q is not a #rrggbb colour", s)
	}
	return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 0xff}, nil
}

func run() error {
	cols := flag.Int("cols", 0, "the pane's width in cells (0: the longest line)")
	rows := flag.Int("rows", 0, "the pane's height in cells (0: the number of lines)")
	size := flag.Float64("size", 14, "font size in pixels")
	pad := flag.Int("pad", 12, "padding around the screen in pixels")
	title := flag.String("title", "", "a window title bar with this title")
	fg := flag.String("fg", "#cdd6f4", "the default foreground, #rrggbb")
	bg := flag.String("bg", "#1e1e2e", "the default background, #rrggbb")
	fill := flag.Bool("fill", true, "the rest of a line takes the attributes in force at its end (tmux trims trailing blanks, not the escape that coloured them); false: default blanks")
	out := flag.String("o", "screen.png", `the PNG to write ("-": standard output)`)
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: termshot [-cols N] [-rows N] [-size PX] [-pad PX] [-title S] [-fg #rrggbb] [-bg #rrggbb] [-fill=false] [-o out.png] [capture.txt] (else standard input)")
		flag.PrintDefaults()
	}
	flag.Parse()
	theme := DefaultTheme()
	var err error
	if theme.FG, err = parseHex(*fg); err != nil {
		return err
	}
	if theme.BG, err = parseHex(*bg); err != nil {
		return err
	}
	in := io.Reader(os.Stdin)
	switch flag.NArg() {
	case 0:
	case 1:
		f, err := os.Open(flag.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	default:
		flag.Usage()
		os.Exit(2)
	}
	sc, err := Parse(in, *cols, *rows, *fill)
	if err != nil {
		return err
	}
	img, err := Render(sc, Options{Size: *size, Pad: *pad, Title: *title, Theme: theme})
	if err != nil {
		return err
	}
	if *out == "-" {
		w := bufio.NewWriter(os.Stdout)
		if err := png.Encode(w, img); err != nil {
			return err
		}
		return w.Flush()
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
