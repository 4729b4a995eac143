package main

import (
	"image"
	"image/color"
	"image/draw"
	"math"

	"codeberg.org/go-fonts/liberation/liberationmonobold"
	"codeberg.org/go-fonts/liberation/liberationmonobolditalic"
	"codeberg.org/go-fonts/liberation/liberationmonoitalic"
	"codeberg.org/go-fonts/liberation/liberationmonoregular"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// Theme maps a screen's colours to pixels.
type Theme struct {
	FG, BG  color.RGBA
	Palette [256]color.RGBA
}

// xterm16 is xterm's 16-colour palette.
var xterm16 = [16]color.RGBA{
	{0x00, 0x00, 0x00, 0xff}, {0xcd, 0x00, 0x00, 0xff}, {0x00, 0xcd, 0x00, 0xff}, {0xcd, 0xcd, 0x00, 0xff},
	{0x00, 0x00, 0xee, 0xff}, {0xcd, 0x00, 0xcd, 0xff}, {0x00, 0xcd, 0xcd, 0xff}, {0xe5, 0xe5, 0xe5, 0xff},
	{0x7f, 0x7f, 0x7f, 0xff}, {0xff, 0x00, 0x00, 0xff}, {0x00, 0xff, 0x00, 0xff}, {0xff, 0xff, 0x00, 0xff},
	{0x5c, 0x5c, 0xff, 0xff}, {0xff, 0x00, 0xff, 0xff}, {0x00, 0xff, 0xff, 0xff}, {0xff, 0xff, 0xff, 0xff},
}

// DefaultTheme is a dark theme (#cdd6f4 on #1e1e2e) with xterm's 256 colours: the 16 colours,
// the 6×6×6 cube (levels 0, 95, 135, …, 255) and 24 greys (8, 18, …, 238).
func DefaultTheme() Theme {
	t := Theme{FG: color.RGBA{0xcd, 0xd6, 0xf4, 0xff}, BG: color.RGBA{0x1e, 0x1e, 0x2e, 0xff}}
	copy(t.Palette[:], xterm16[:])
	level := func(v int) uint8 {
		if v == 0 {
			return 0
		}
		return uint8(55 + 40*v)
	}
	for n := 16; n < 232; n++ {
		i := n - 16
		t.Palette[n] = color.RGBA{level(i / 36), level(i / 6 % 6), level(i % 6), 0xff}
	}
	for n := 232; n < 256; n++ {
		g := uint8(8 + 10*(n-232))
		t.Palette[n] = color.RGBA{g, g, g, 0xff}
	}
	return t
}

func (t *Theme) resolve(c Color, def color.RGBA) color.RGBA {
	switch c.Mode {
	case ColorIndexed:
		return t.Palette[c.Index]
	case ColorRGB:
		return color.RGBA{c.R, c.G, c.B, 0xff}
	}
	return def
}

// colors is a cell's foreground, background and underline colour.
func (t *Theme) colors(a Attr) (fg, bg, ul color.RGBA) {
	fg, bg = t.resolve(a.FG, t.FG), t.resolve(a.BG, t.BG)
	if a.Reverse {
		fg, bg = bg, fg
	}
	if a.Dim {
		fg = mix(bg, fg, 0.5)
	}
	if a.Hidden {
		fg = bg
	}
	ul = t.resolve(a.UL, fg)
	return fg, bg, ul
}

// mix is a blended a fraction of the way from c0 to c1.
func mix(c0, c1 color.RGBA, a float64) color.RGBA {
	f := func(x, y uint8) uint8 { return uint8(math.Round(float64(x)*(1-a) + float64(y)*a)) }
	return color.RGBA{f(c0.R, c1.R), f(c0.G, c1.G), f(c0.B, c1.B), 0xff}
}

// Options are how Render draws.
type Options struct {
	Size  float64 // font size in pixels
	Pad   int     // padding around the screen in pixels
	Title string  // a title bar's title; "" for none
	Theme Theme
}

// fonts are Liberation Mono's four styles at one size, with the cell's metrics.
type fonts struct {
	faces    [4]font.Face // [bold<<1|italic]
	sfnts    [4]*sfnt.Font
	buf      sfnt.Buffer
	cw, ch   int // a cell's size in pixels
	baseline int // from a cell's top
	ascent   int
	descent  int
	adv      fixed.Int26_6 // the font's advance
}

func newFonts(size float64) (*fonts, error) {
	fs := &fonts{}
	for i, ttf := range [][]byte{liberationmonoregular.TTF, liberationmonoitalic.TTF, liberationmonobold.TTF, liberationmonobolditalic.TTF} {
		f, err := opentype.Parse(ttf)
		if err != nil {
			return nil, err
		}
		fc, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
		if err != nil {
			return nil, err
		}
		fs.sfnts[i], fs.faces[i] = f, fc
	}
	m := fs.faces[0].Metrics()
	fs.adv, _ = fs.faces[0].GlyphAdvance('M')
	fs.cw = max(fs.adv.Round(), 1)
	fs.ascent, fs.descent = m.Ascent.Ceil(), m.Descent.Ceil()
	fs.ch = max(m.Height.Ceil(), fs.ascent+fs.descent)
	fs.baseline = fs.ascent + (fs.ch-fs.ascent-fs.descent)/2
	return fs, nil
}

func (fs *fonts) has(style int, r rune) bool {
	i, err := fs.sfnts[style].GlyphIndex(&fs.buf, r)
	return err == nil && i != 0
}

// face is the face for r in a style, or another style that has r where that one does not.
func (fs *fonts) face(bold, italic bool, r rune) font.Face {
	style := 0
	if bold {
		style |= 2
	}
	if italic {
		style |= 1
	}
	if fs.has(style, r) {
		return fs.faces[style]
	}
	for i := range fs.faces {
		if fs.has(i, r) {
			return fs.faces[i]
		}
	}
	return fs.faces[style]
}

// Render draws a screen: Pad pixels around it, a title bar above where Title is set.
func Render(sc *Screen, opt Options) (*image.RGBA, error) {
	if opt.Size <= 0 {
		opt.Size = 14
	}
	opt.Pad = max(opt.Pad, 0)
	fs, err := newFonts(opt.Size)
	if err != nil {
		return nil, err
	}
	th := &opt.Theme
	titleH := 0
	if opt.Title != "" {
		titleH = fs.ch * 2
	}
	img := image.NewRGBA(image.Rect(0, 0, sc.Cols*fs.cw+2*opt.Pad, titleH+sc.Rows*fs.ch+2*opt.Pad))
	fill(img, img.Bounds(), th.BG)
	if titleH > 0 {
		drawTitle(img, fs, th, opt.Title, titleH)
	}
	ox, oy := opt.Pad, titleH+opt.Pad
	cellRect := func(x, y, w int) image.Rectangle {
		return image.Rect(ox+x*fs.cw, oy+y*fs.ch, ox+(x+w)*fs.cw, oy+(y+1)*fs.ch)
	}
	// Backgrounds first, so that a glyph that overhangs its cell (italics) is not cut.
	for y, row := range sc.Cells {
		for x, c := range row {
			_, bg, _ := th.colors(c.A)
			fill(img, cellRect(x, y, 1), bg)
		}
	}
	thin := max(1, int(math.Round(opt.Size/14)))
	for y, row := range sc.Cells {
		for x, c := range row {
			if c.R == 0 {
				continue
			}
			w := 1
			if c.Wide {
				w = 2
			}
			r := cellRect(x, y, w)
			fg, _, ul := th.colors(c.A)
			if c.R != ' ' && !drawShape(img, r, c.R, fg, thin) {
				fc := fs.face(c.A.Bold, c.A.Italic, c.R)
				adv, _ := fc.GlyphAdvance(c.R)
				d := font.Drawer{Dst: img, Src: image.NewUniform(fg), Face: fc,
					Dot: fixed.Point26_6{X: fixed.I(r.Min.X) + (fixed.I(r.Dx())-adv)/2, Y: fixed.I(r.Min.Y + fs.baseline)}}
				d.DrawString(string(c.R))
			}
			decorate(img, fs, r, c.A, fg, ul, thin)
		}
	}
	return img, nil
}

// decorate draws a cell's underline, strikethrough and overline.
func decorate(img *image.RGBA, fs *fonts, r image.Rectangle, a Attr, fg, ul color.RGBA, t int) {
	base := r.Min.Y + fs.baseline
	uy := min(base+max(1, fs.descent/3), r.Max.Y-t)
	switch a.Underline {
	case UnderlineSingle:
		fill(img, image.Rect(r.Min.X, uy, r.Max.X, uy+t), ul)
	case UnderlineDouble:
		uy = min(uy, r.Max.Y-3*t)
		fill(img, image.Rect(r.Min.X, uy, r.Max.X, uy+t), ul)
		fill(img, image.Rect(r.Min.X, uy+2*t, r.Max.X, uy+3*t), ul)
	case UnderlineCurly:
		amp := float64(max(1, fs.descent/4))
		cy := float64(min(uy, r.Max.Y-t-int(amp))) + float64(t)/2
		period := float64(fs.cw)
		cover(img, image.Rect(r.Min.X, int(cy-amp)-t, r.Max.X, int(cy+amp)+t+1), ul, func(x, y float64) bool {
			wy := cy + amp*math.Sin(2*math.Pi*(x-float64(r.Min.X))/period)
			return math.Abs(y-wy) <= float64(t)/2+0.25
		})
	case UnderlineDotted, UnderlineDashed:
		on, step := t, 2*t
		if a.Underline == UnderlineDashed {
			on, step = max(2, fs.cw/2-1), fs.cw/2
		}
		for x := r.Min.X; x < r.Max.X; x += step {
			fill(img, image.Rect(x, uy, min(x+on, r.Max.X), uy+t), ul)
		}
	}
	if a.Strike {
		sy := base - fs.ascent*3/10
		fill(img, image.Rect(r.Min.X, sy, r.Max.X, sy+t), fg)
	}
	if a.Overline {
		fill(img, image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+t), fg)
	}
}

// drawTitle draws a title bar of height h across the top of img: three window buttons and the
// title in the middle.
func drawTitle(img *image.RGBA, fs *fonts, th *Theme, title string, h int) {
	bar := mix(th.BG, color.RGBA{0, 0, 0, 0xff}, 0.25)
	fill(img, image.Rect(0, 0, img.Bounds().Dx(), h), bar)
	fill(img, image.Rect(0, h-1, img.Bounds().Dx(), h), mix(th.BG, th.FG, 0.12))
	rad := float64(fs.ch) * 0.3
	cy := float64(h) / 2
	for i, c := range []color.RGBA{{0xff, 0x5f, 0x57, 0xff}, {0xfe, 0xbc, 0x2e, 0xff}, {0x28, 0xc8, 0x40, 0xff}} {
		cx := float64(fs.cw) + rad + float64(i)*rad*3.2
		cover(img, image.Rect(int(cx-rad)-1, int(cy-rad)-1, int(cx+rad)+2, int(cy+rad)+2), c, func(x, y float64) bool {
			return (x-cx)*(x-cx)+(y-cy)*(y-cy) <= rad*rad
		})
	}
	face := fs.faces[0]
	runes := []rune(title)
	maxW := fixed.I(img.Bounds().Dx() - 2*int(float64(fs.cw)+rad*10))
	for len(runes) > 1 && font.MeasureString(face, string(runes)) > maxW {
		runes = append(runes[:len(runes)-2], '…')
	}
	s := string(runes)
	d := font.Drawer{Dst: img, Src: image.NewUniform(mix(th.BG, th.FG, 0.75)), Face: face}
	d.Dot = fixed.Point26_6{X: (fixed.I(img.Bounds().Dx()) - d.MeasureString(s)) / 2, Y: fixed.I((h-fs.ch)/2 + fs.baseline)}
	d.DrawString(s)
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// cover paints c over the pixels of r in proportion to how much of each is inside (4×4
// samples; x, y in pixels of img).
func cover(img *image.RGBA, r image.Rectangle, c color.RGBA, inside func(x, y float64) bool) {
	const n = 4
	r = r.Intersect(img.Bounds())
	for py := r.Min.Y; py < r.Max.Y; py++ {
		for px := r.Min.X; px < r.Max.X; px++ {
			hits := 0
			for sy := 0; sy < n; sy++ {
				for sx := 0; sx < n; sx++ {
					if inside(float64(px)+(float64(sx)+0.5)/n, float64(py)+(float64(sy)+0.5)/n) {
						hits++
					}
				}
			}
			if hits > 0 {
				img.SetRGBA(px, py, mix(img.RGBAAt(px, py), c, float64(hits)/(n*n)))
			}
		}
	}
}

// boxArms holds U+2500–U+257F: four digits each, the weights of the left, right, up and down
// arms (0 none, 1 light, 2 heavy, 3 double).
var boxArms = [128]string{
	"1100", "2200", "0011", "0022", "1100", "2200", "0011", "0022", "1100", "2200", "0011", "0022", // ─ … ┋
	"0101", "0201", "0102", "0202", "1001", "2001", "1002", "2002", // ┌ … ┓
	"0110", "0210", "0120", "0220", "1010", "2010", "1020", "2020", // └ … ┛
	"0111", "0211", "0121", "0112", "0122", "0221", "0212", "0222", // ├ … ┣
	"1011", "2011", "1021", "1012", "1022", "2021", "2012", "2022", // ┤ … ┫
	"1101", "2101", "1201", "2201", "1102", "2102", "1202", "2202", // ┬ … ┳
	"1110", "2110", "1210", "2210", "1120", "2120", "1220", "2220", // ┴ … ┻
	"1111", "2111", "1211", "2211", "1121", "1112", "1122", "2121", // ┼ … ╃
	"1221", "2112", "1212", "2221", "2212", "2122", "1222", "2222", // ╄ … ╋
	"1100", "2200", "0011", "0022", // ╌ … ╏
	"3300", "0033", "0301", "0103", "0303", "3001", "1003", "3003", // ═ … ╗
	"0310", "0130", "0330", "3010", "1030", "3030", // ╘ … ╝
	"0311", "0133", "0333", "3011", "1033", "3033", // ╞ … ╣
	"3301", "1103", "3303", "3310", "1130", "3330", "3311", "1133", "3333", // ╤ … ╬
	"0101", "1001", "1010", "0110", // ╭ ╮ ╯ ╰
	"0000", "0000", "0000", // ╱ ╲ ╳
	"1000", "0010", "0100", "0001", "2000", "0020", "0200", "0002", // ╴ … ╻
	"1200", "0012", "2100", "0021", // ╼ … ╿
}

// dashes is how many dashes a dashed box-drawing line has.
func dashes(r rune) int {
	switch {
	case r >= 0x2504 && r <= 0x2507:
		return 3
	case r >= 0x2508 && r <= 0x250b:
		return 4
	case r >= 0x254c && r <= 0x254f:
		return 2
	}
	return 0
}

// drawShape draws the box-drawing, block-element and Powerline runes as shapes that fill the
// cell r; it reports whether r was one of them.
func drawShape(img *image.RGBA, r image.Rectangle, ch rune, fg color.RGBA, thin int) bool {
	w, h := r.Dx(), r.Dy()
	x0, y0, x1, y1 := r.Min.X, r.Min.Y, r.Max.X, r.Max.Y
	fx0, fy0, fw, fh := float64(x0), float64(y0), float64(w), float64(h)
	heavy := max(thin+1, int(math.Round(float64(w)/4)))
	switch {
	case ch >= 0x2571 && ch <= 0x2573: // ╱ ╲ ╳
		hw := float64(thin)/2 + 0.25
		l := math.Hypot(fw, fh)
		cover(img, r, fg, func(x, y float64) bool {
			u, v := x-fx0, y-fy0
			d1 := math.Abs(u*fh+v*fw-fw*fh) / l // the rising diagonal
			d2 := math.Abs(u*fh-v*fw) / l       // the falling one
			return (ch != 0x2572 && d1 <= hw) || (ch != 0x2571 && d2 <= hw)
		})
	case ch >= 0x2500 && ch <= 0x257f:
		arms := boxArms[ch-0x2500]
		weight := func(i int) int { return int(arms[i] - '0') }
		thick := func(wt int) int {
			switch wt {
			case 1, 3:
				return thin
			case 2:
				return heavy
			}
			return 0
		}
		gap := thin + 1 // a double line's two strokes are this far either side of the middle
		cx, cy := x0+w/2, y0+h/2
		// How far past the middle an arm reaches, to join the crossing arms.
		joinV := max(thick(max(weight(2), weight(3))), thick(weight(0)), thick(weight(1)))
		joinH := max(thick(max(weight(0), weight(1))), thick(weight(2)), thick(weight(3)))
		if weight(2) == 3 || weight(3) == 3 {
			joinV = max(joinV, 2*gap+thin)
		}
		if weight(0) == 3 || weight(1) == 3 {
			joinH = max(joinH, 2*gap+thin)
		}
		hLine := func(a, b, wt int) {
			t := thick(wt)
			n := dashes(ch)
			segs := [][2]int{{a, b}}
			if n > 0 {
				segs = segs[:0]
				for k := 0; k < n; k++ {
					sa := x0 + k*w/n
					segs = append(segs, [2]int{sa, sa + max(1, (w/n)*2/3)})
				}
			}
			offs := []int{0}
			if wt == 3 {
				offs = []int{-gap, gap}
			}
			for _, o := range offs {
				for _, s := range segs {
					fill(img, image.Rect(s[0], cy+o-t/2, s[1], cy+o-t/2+t), fg)
				}
			}
		}
		vLine := func(a, b, wt int) {
			t := thick(wt)
			n := dashes(ch)
			segs := [][2]int{{a, b}}
			if n > 0 {
				segs = segs[:0]
				for k := 0; k < n; k++ {
					sa := y0 + k*h/n
					segs = append(segs, [2]int{sa, sa + max(1, (h/n)*2/3)})
				}
			}
			offs := []int{0}
			if wt == 3 {
				offs = []int{-gap, gap}
			}
			for _, o := range offs {
				for _, s := range segs {
					fill(img, image.Rect(cx+o-t/2, s[0], cx+o-t/2+t, s[1]), fg)
				}
			}
		}
		if ch >= 0x256d && ch <= 0x2570 { // ╭ ╮ ╯ ╰: a quarter circle, then straight on
			sx, sy := 1, 1
			if weight(0) > 0 {
				sx = -1
			}
			if weight(2) > 0 {
				sy = -1
			}
			t := float64(thin)
			mx, my := float64(cx-thin/2)+t/2, float64(cy-thin/2)+t/2 // the strokes' middles
			// The radius takes the arc to the nearer edge (the cell's side: it is narrower
			// than tall); a straight stroke goes on from the arc's end to the other.
			edgeX, edgeY := float64(x1)-mx, float64(y1)-my
			if sx < 0 {
				edgeX = mx - fx0
			}
			if sy < 0 {
				edgeY = my - fy0
			}
			rad := min(edgeX, edgeY)
			ccx, ccy := mx+float64(sx)*rad, my+float64(sy)*rad
			cover(img, r, fg, func(x, y float64) bool {
				if (x-ccx)*float64(sx) > 0 || (y-ccy)*float64(sy) > 0 {
					return false
				}
				return math.Abs(math.Hypot(x-ccx, y-ccy)-rad) <= t/2
			})
			// The straight strokes start under the arc's last half pixel, so that no seam shows.
			if sx > 0 && int(math.Floor(ccx)) < x1 {
				hLine(int(math.Floor(ccx)), x1, 1)
			} else if sx < 0 && int(math.Ceil(ccx)) > x0 {
				hLine(x0, int(math.Ceil(ccx)), 1)
			}
			if sy > 0 && int(math.Floor(ccy)) < y1 {
				vLine(int(math.Floor(ccy)), y1, 1)
			} else if sy < 0 && int(math.Ceil(ccy)) > y0 {
				vLine(y0, int(math.Ceil(ccy)), 1)
			}
			return true
		}
		if wt := weight(0); wt > 0 {
			hLine(x0, cx-joinV/2+joinV, wt)
		}
		if wt := weight(1); wt > 0 {
			hLine(cx-joinV/2, x1, wt)
		}
		if wt := weight(2); wt > 0 {
			vLine(y0, cy-joinH/2+joinH, wt)
		}
		if wt := weight(3); wt > 0 {
			vLine(cy-joinH/2, y1, wt)
		}
	case ch == 0x2580: // ▀
		fill(img, image.Rect(x0, y0, x1, y0+h/2), fg)
	case ch >= 0x2581 && ch <= 0x2588: // ▁ … █: the lower eighths
		k := int(ch - 0x2580)
		fill(img, image.Rect(x0, y1-int(math.Round(fh*float64(k)/8)), x1, y1), fg)
	case ch >= 0x2589 && ch <= 0x258f: // ▉ … ▏: the left eighths
		k := int(0x2590 - ch)
		fill(img, image.Rect(x0, y0, x0+max(1, int(math.Round(fw*float64(k)/8))), y1), fg)
	case ch == 0x2590: // ▐
		fill(img, image.Rect(x0+w/2, y0, x1, y1), fg)
	case ch >= 0x2591 && ch <= 0x2593: // ░ ▒ ▓
		a := float64(ch-0x2590) / 4
		for py := y0; py < y1; py++ {
			for px := x0; px < x1; px++ {
				img.SetRGBA(px, py, mix(img.RGBAAt(px, py), fg, a))
			}
		}
	case ch == 0x2594: // ▔
		fill(img, image.Rect(x0, y0, x1, y0+max(1, h/8)), fg)
	case ch == 0x2595: // ▕
		fill(img, image.Rect(x1-max(1, w/8), y0, x1, y1), fg)
	case ch >= 0x2596 && ch <= 0x259f: // quadrants: upper left, upper right, lower left, lower right
		q := [...]uint8{0b0010, 0b0001, 0b1000, 0b1011, 0b1001, 0b1110, 0b1101, 0b0100, 0b0110, 0b0111}[ch-0x2596]
		mx, my := x0+w/2, y0+h/2
		for i, qr := range []image.Rectangle{image.Rect(x0, y0, mx, my), image.Rect(mx, y0, x1, my), image.Rect(x0, my, mx, y1), image.Rect(mx, my, x1, y1)} {
			if q&(0b1000>>i) != 0 {
				fill(img, qr, fg)
			}
		}
	case ch >= 0xe0b0 && ch <= 0xe0bf:
		t := float64(thin)/2 + 0.25
		var inside func(u, v float64) bool // u, v: 0…1 across and down the cell
		switch ch {
		case 0xe0b0: // a solid triangle pointing right
			inside = func(u, v float64) bool { return u <= 1-math.Abs(2*v-1) }
		case 0xe0b2: // pointing left
			inside = func(u, v float64) bool { return 1-u <= 1-math.Abs(2*v-1) }
		case 0xe0b1, 0xe0b3: // a chevron
			inside = func(u, v float64) bool {
				if ch == 0xe0b3 {
					u = 1 - u
				}
				// within t pixels of the stroke from the top left corner to the right middle
				// (or its mirror below)
				return segDist(u*fw, math.Min(v, 1-v)*fh, 0, 0, fw, fh/2) <= t
			}
		case 0xe0b4, 0xe0b6: // a solid half circle
			inside = func(u, v float64) bool {
				if ch == 0xe0b6 {
					u = 1 - u
				}
				return u*u+(2*v-1)*(2*v-1) <= 1
			}
		case 0xe0b5, 0xe0b7: // a half circle's outline
			inside = func(u, v float64) bool {
				if ch == 0xe0b7 {
					u = 1 - u
				}
				d := math.Sqrt(u*u + (2*v-1)*(2*v-1))
				return math.Abs(d-1)*min(fw, fh/2) <= t
			}
		case 0xe0b8: // ◣
			inside = func(u, v float64) bool { return u <= v }
		case 0xe0ba: // ◢
			inside = func(u, v float64) bool { return 1-u <= v }
		case 0xe0bc: // ◤
			inside = func(u, v float64) bool { return u <= 1-v }
		case 0xe0be: // ◥
			inside = func(u, v float64) bool { return 1-u <= 1-v }
		default:
			return false
		}
		cover(img, r, fg, func(x, y float64) bool { return inside((x-fx0)/fw, (y-fy0)/fh) })
	default:
		return false
	}
	return true
}

// segDist is the distance from (px, py) to the segment (ax, ay)–(bx, by).
func segDist(px, py, ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	k := math.Max(0, math.Min(1, ((px-ax)*dx+(py-ay)*dy)/(dx*dx+dy*dy)))
	return math.Hypot(px-ax-k*dx, py-ay-k*dy)
}
