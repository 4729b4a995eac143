package trainer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/cartlsp/cartlsp/atomicfile"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// LossPoint is one logged training step: the optimiser position, the
// training loss and learning rate at that step, throughput counters, and an
// optional evaluation loss.
type LossPoint struct {
	Step    int
	Epoch   float64
	Loss    float64
	LR      float64
	Tokens  int
	Seconds float64
	// EvalLoss is the held-out loss measured at this step, or NaN when no
	// evaluation ran at this step.
	EvalLoss float64
}

// lossCSVHeader is the exact header row of a loss log written by
// WriteLossCSV.
var lossCSVHeader = []string{"step", "epoch", "loss", "eval_loss", "lr", "tokens", "seconds"}

// WriteLossCSV writes pts to path as CSV with the header
// "step,epoch,loss,eval_loss,lr,tokens,seconds". A NaN EvalLoss is written
// as an empty field. The file is replaced atomically: it is written to a
// temporary file in the same directory, synced, and renamed over path, so a
// crash never leaves a truncated log behind.
func WriteLossCSV(path string, pts []LossPoint) error {
	return writeLossFileAtomic(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write(lossCSVHeader); err != nil {
			return fmt.Errorf("write loss csv header: %w", err)
		}
		for i, p := range pts {
			eval := ""
			if !math.IsNaN(p.EvalLoss) {
				eval = formatLossFloat(p.EvalLoss)
			}
			rec := []string{
				strconv.Itoa(p.Step),
				formatLossFloat(p.Epoch),
				formatLossFloat(p.Loss),
				eval,
				formatLossFloat(p.LR),
				strconv.Itoa(p.Tokens),
				formatLossFloat(p.Seconds),
			}
			if err := cw.Write(rec); err != nil {
				return fmt.Errorf("write loss csv row %d: %w", i+1, err)
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return fmt.Errorf("flush loss csv: %w", err)
		}
		return nil
	})
}

// formatLossFloat formats v with the shortest representation that parses
// back to the same float64.
func formatLossFloat(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// ReadLossCSV reads a loss log written by WriteLossCSV, for example to
// continue it when training resumes. An empty eval_loss field becomes NaN.
// Malformed input yields an error naming the file, line and column.
func ReadLossCSV(path string) ([]LossPoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open loss csv: %w", err)
	}
	defer f.Close()
	pts, err := readLossCSV(f)
	if err != nil {
		return nil, fmt.Errorf("read loss csv %s: %w", path, err)
	}
	return pts, nil
}

// readLossCSV parses the CSV produced by WriteLossCSV from r.
func readLossCSV(r io.Reader) ([]LossPoint, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = len(lossCSVHeader)
	cr.ReuseRecord = true

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("line 1: missing header")
	}
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	for i, want := range lossCSVHeader {
		if got := strings.TrimSpace(header[i]); got != want {
			return nil, fmt.Errorf("line 1: header column %d is %q, want %q", i+1, got, want)
		}
	}

	pts := []LossPoint{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return pts, nil
		}
		if err != nil {
			// csv.ParseError already carries the line number.
			return nil, err
		}
		p, err := parseLossRecord(cr, rec)
		if err != nil {
			return nil, err
		}
		pts = append(pts, p)
	}
}

// parseLossRecord converts one CSV record (in header order) to a LossPoint,
// reporting the position of the first bad field.
func parseLossRecord(cr *csv.Reader, rec []string) (LossPoint, error) {
	fieldErr := func(i int, err error) error {
		line, col := cr.FieldPos(i)
		return fmt.Errorf("line %d, column %d (%s): %w", line, col, lossCSVHeader[i], err)
	}
	parseInt := func(i int) (int, error) {
		v, err := strconv.Atoi(strings.TrimSpace(rec[i]))
		if err != nil {
			return 0, fieldErr(i, fmt.Errorf("invalid integer %q", rec[i]))
		}
		return v, nil
	}
	parseFloat := func(i int) (float64, error) {
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[i]), 64)
		if err != nil {
			return 0, fieldErr(i, fmt.Errorf("invalid number %q", rec[i]))
		}
		return v, nil
	}

	var p LossPoint
	var err error
	if p.Step, err = parseInt(0); err != nil {
		return p, err
	}
	if p.Epoch, err = parseFloat(1); err != nil {
		return p, err
	}
	if p.Loss, err = parseFloat(2); err != nil {
		return p, err
	}
	p.EvalLoss = math.NaN()
	if strings.TrimSpace(rec[3]) != "" {
		if p.EvalLoss, err = parseFloat(3); err != nil {
			return p, err
		}
	}
	if p.LR, err = parseFloat(4); err != nil {
		return p, err
	}
	if p.Tokens, err = parseInt(5); err != nil {
		return p, err
	}
	if p.Seconds, err = parseFloat(6); err != nil {
		return p, err
	}
	return p, nil
}

// WriteLossPNG renders pts with PlotLoss and writes the PNG to path
// atomically (temporary file in the same directory, sync, rename).
func WriteLossPNG(path string, pts []LossPoint, title string) error {
	var buf bytes.Buffer
	if err := PlotLoss(&buf, pts, title); err != nil {
		return err
	}
	return writeLossFileAtomic(path, func(w io.Writer) error {
		if _, err := w.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("write loss png: %w", err)
		}
		return nil
	})
}

// writeLossFileAtomic replaces path with what write produces
// (atomicfile.Write). On any failure path is left untouched.
func writeLossFileAtomic(path string, write func(io.Writer) error) error {
	if err := atomicfile.Write(path, 0o644, write); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Plot geometry and colours.
const (
	plotWidth  = 800
	plotHeight = 480

	plotLeft   = 72 // room for y tick labels
	plotRight  = plotWidth - 20
	plotTop    = 40 // room for the title
	plotBottom = plotHeight - 48

	// plotMovingAvgMin is the number of finite training points above which
	// a moving average is drawn.
	plotMovingAvgMin = 20
)

// Plot element sizes, in pixels.
const (
	plotTickLength = 5
	plotMarkerSize = 3  // eval marker radius
	plotLegendLine = 18 // legend swatch length
	plotMaxTicks   = 8  // upper bound on ticks per axis
	plotTickTarget = 6  // preferred ticks per axis
	// plotClampPx bounds pixel coordinates so line drawing stays cheap.
	plotClampPx = float64(4 * (plotWidth + plotHeight))
)

var (
	plotBackground = color.RGBA{255, 255, 255, 255}
	plotInk        = color.RGBA{30, 30, 30, 255}
	plotGrid       = color.RGBA{228, 228, 228, 255}
	plotLossColor  = color.RGBA{31, 119, 180, 255} // training loss: blue
	plotAvgColor   = color.RGBA{255, 170, 90, 255} // moving average: light orange
	plotEvalColor  = color.RGBA{214, 39, 40, 255}  // eval loss: red

	plotFace       = basicfont.Face7x13 // 7×13 px fixed-width font
	plotFaceAscent = plotFace.Ascent
	plotFaceHeight = plotFace.Height
	plotLegendGap  = plotFaceHeight + 4 // legend line spacing
)

// plotXY is one point in data coordinates.
type plotXY struct{ x, y float64 }

// PlotLoss renders pts as an 800×480 PNG to w: the training loss per step as
// a line (with a lighter moving average when there are more than 20 points)
// and the evaluation loss as markers in a distinct colour, with axes, numeric
// tick labels, the title, "step" on the x axis and "loss" on the y axis.
// NaN and infinite values are skipped; with nothing to draw the image says
// "no data".
func PlotLoss(w io.Writer, pts []LossPoint, title string) error {
	img := renderLossPlot(pts, title)
	// Plots are rewritten often during training; favour speed over size.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(w, img); err != nil {
		return fmt.Errorf("encode loss plot png: %w", err)
	}
	return nil
}

// renderLossPlot draws the loss plot into a new RGBA image.
func renderLossPlot(pts []LossPoint, title string) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, plotWidth, plotHeight))
	draw.Draw(img, img.Bounds(), image.NewUniform(plotBackground), image.Point{}, draw.Src)
	plotCenteredText(img, plotWidth/2, 8, title, plotInk)

	sorted := append([]LossPoint(nil), pts...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Step < sorted[j].Step })
	var train, eval []plotXY
	for _, p := range sorted {
		x := float64(p.Step)
		if lossFinite(p.Loss) {
			train = append(train, plotXY{x, p.Loss})
		}
		if lossFinite(p.EvalLoss) {
			eval = append(eval, plotXY{x, p.EvalLoss})
		}
	}
	var avg []plotXY
	if len(train) > plotMovingAvgMin {
		avg = plotMovingAverage(train, min(max(len(train)/10, 5), 200))
	}

	if len(train) == 0 && len(eval) == 0 {
		plotAxes(img)
		plotCenteredText(img, (plotLeft+plotRight)/2, (plotTop+plotBottom)/2-plotFaceHeight/2, "no data", plotInk)
		return img
	}

	xlo, xhi := plotDataRange(func(yield func(float64)) {
		for _, p := range train {
			yield(p.x)
		}
		for _, p := range eval {
			yield(p.x)
		}
	})
	ylo, yhi := plotDataRange(func(yield func(float64)) {
		for _, p := range train {
			yield(p.y)
		}
		for _, p := range eval {
			yield(p.y)
		}
	})
	xlo, xhi = plotPadRange(xlo, xhi, 0.01)
	ylo, yhi = plotPadRange(ylo, yhi, 0.05)

	toPx := func(p plotXY) (float64, float64) {
		px := float64(plotLeft) + (p.x-xlo)/(xhi-xlo)*float64(plotRight-plotLeft)
		py := float64(plotBottom) - (p.y-ylo)/(yhi-ylo)*float64(plotBottom-plotTop)
		return plotClampCoord(px), plotClampCoord(py)
	}

	// Grid and ticks.
	for _, t := range plotNiceTicks(xlo, xhi, 1) {
		px, _ := toPx(plotXY{t.value, ylo})
		x := int(math.Round(px))
		plotVLine(img, x, plotTop, plotBottom, plotGrid)
		plotVLine(img, x, plotBottom, plotBottom+plotTickLength, plotInk)
		plotCenteredText(img, x, plotBottom+plotTickLength+2, t.label, plotInk)
	}
	for _, t := range plotNiceTicks(ylo, yhi, 0) {
		_, py := toPx(plotXY{xlo, t.value})
		y := int(math.Round(py))
		plotHLine(img, plotLeft, plotRight, y, plotGrid)
		plotHLine(img, plotLeft-plotTickLength, plotLeft, y, plotInk)
		tw := plotTextWidth(t.label)
		plotText(img, plotLeft-plotTickLength-3-tw, y-plotFaceHeight/2, t.label, plotInk)
	}
	plotAxes(img)

	// Axis labels.
	plotCenteredText(img, (plotLeft+plotRight)/2, plotHeight-plotFaceHeight-4, "step", plotInk)
	plotText(img, 8, plotTop-plotFaceHeight-2, "loss", plotInk)

	// Series, clipped to the plot area.
	plot := img.SubImage(image.Rect(plotLeft, plotTop, plotRight+1, plotBottom+1)).(*image.RGBA)
	plotPolyline(plot, train, toPx, plotLossColor, 2)
	if len(train) == 1 {
		x, y := toPx(train[0])
		plotDisc(plot, int(math.Round(x)), int(math.Round(y)), plotMarkerSize, plotLossColor)
	}
	plotPolyline(plot, avg, toPx, plotAvgColor, 2)
	for _, p := range eval {
		x, y := toPx(p)
		plotDisc(plot, int(math.Round(x)), int(math.Round(y)), plotMarkerSize, plotEvalColor)
	}

	plotLegend(img, len(train) > 0, len(avg) > 0, len(eval) > 0)
	return img
}

// plotLegend lists the drawn series in the top-right corner of the plot.
func plotLegend(img *image.RGBA, train, avg, eval bool) {
	type entry struct {
		name   string
		c      color.RGBA
		marker bool
	}
	var entries []entry
	if train {
		entries = append(entries, entry{"train", plotLossColor, false})
	}
	if avg {
		entries = append(entries, entry{"train (avg)", plotAvgColor, false})
	}
	if eval {
		entries = append(entries, entry{"eval", plotEvalColor, true})
	}
	x := plotRight - 8 - plotLegendLine - 6 - plotTextWidth("train (avg)")
	y := plotTop + 6
	for _, e := range entries {
		mid := y + plotFaceHeight/2
		if e.marker {
			plotDisc(img, x+plotLegendLine/2, mid, plotMarkerSize, e.c)
		} else {
			for d := range 2 {
				plotHLine(img, x, x+plotLegendLine, mid+d, e.c)
			}
		}
		plotText(img, x+plotLegendLine+6, y, e.name, plotInk)
		y += plotLegendGap
	}
}

// plotAxes draws the left and bottom axis lines.
func plotAxes(img *image.RGBA) {
	plotVLine(img, plotLeft, plotTop, plotBottom, plotInk)
	plotHLine(img, plotLeft, plotRight, plotBottom, plotInk)
}

// lossFinite reports whether v is neither NaN nor infinite.
func lossFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// plotDataRange returns the minimum and maximum of the values produced by seq.
func plotDataRange(seq func(yield func(float64))) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	seq(func(v float64) {
		lo = math.Min(lo, v)
		hi = math.Max(hi, v)
	})
	return lo, hi
}

// plotPadRange widens [lo, hi] by frac of its span on each side, and gives an
// empty or degenerate range (a single value, or a span that overflows) a
// usable non-zero width.
func plotPadRange(lo, hi, frac float64) (float64, float64) {
	span := hi - lo
	if !lossFinite(span) {
		// Values near ±MaxFloat64: plot on a symmetric range that is still
		// representable.
		return -math.MaxFloat64 / 2, math.MaxFloat64 / 2
	}
	if span == 0 {
		d := math.Max(math.Abs(lo)*0.1, 1)
		return lo - d, hi + d
	}
	return lo - span*frac, hi + span*frac
}

// plotMovingAverage returns the trailing mean of the y values of pts over a
// window of the given size (shorter at the start).
func plotMovingAverage(pts []plotXY, window int) []plotXY {
	out := make([]plotXY, len(pts))
	sum := 0.0
	for i, p := range pts {
		sum += p.y
		if i >= window {
			sum -= pts[i-window].y
		}
		out[i] = plotXY{p.x, sum / float64(min(i+1, window))}
	}
	return out
}

// plotTick is one labelled axis position.
type plotTick struct {
	value float64
	label string
}

// plotNiceTicks returns round-numbered ticks (1, 2 or 5 times a power of ten
// apart, and at least minStep apart) inside [lo, hi], with labels showing
// just enough decimals.
func plotNiceTicks(lo, hi, minStep float64) []plotTick {
	span := hi - lo
	if !lossFinite(span) || span <= 0 {
		return []plotTick{{lo, plotFormatTick(lo, 0)}}
	}
	raw := span / plotTickTarget
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		step = m * mag
		if span/step <= plotMaxTicks {
			break
		}
	}
	step = math.Max(step, minStep)
	if step == 0 || !lossFinite(step) {
		return []plotTick{{lo, plotFormatTick(lo, 0)}}
	}
	decimals := 0
	if step < 1 {
		decimals = min(int(math.Ceil(-math.Log10(step)-1e-9)), 12)
	}
	first := math.Ceil(lo/step) * step
	var ticks []plotTick
	for i := 0; i <= plotMaxTicks+1; i++ {
		v := first + float64(i)*step
		if v > hi+step*1e-9 {
			break
		}
		if math.Abs(v) < step*1e-9 {
			v = 0 // avoid "-0.00"
		}
		ticks = append(ticks, plotTick{v, plotFormatTick(v, decimals)})
	}
	return ticks
}

// plotFormatTick formats a tick value with the given number of decimals, falling
// back to exponent notation for very large or very small magnitudes.
func plotFormatTick(v float64, decimals int) string {
	if a := math.Abs(v); a >= 1e7 || (a != 0 && a < 1e-4) {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// plotClampCoord bounds a pixel coordinate so that line drawing stays cheap even
// for degenerate data; NaN maps to a far-off coordinate that draws nothing.
func plotClampCoord(v float64) float64 {
	if math.IsNaN(v) {
		return -plotClampPx
	}
	return math.Max(-plotClampPx, math.Min(plotClampPx, v))
}

// plotPolyline connects consecutive points with lines of the given
// thickness (in pixels).
func plotPolyline(img *image.RGBA, pts []plotXY, toPx func(plotXY) (float64, float64), c color.RGBA, thickness int) {
	for i := 1; i < len(pts); i++ {
		x0, y0 := toPx(pts[i-1])
		x1, y1 := toPx(pts[i])
		plotLine(img, int(math.Round(x0)), int(math.Round(y0)), int(math.Round(x1)), int(math.Round(y1)), c, thickness)
	}
}

// plotLine draws a straight line with Bresenham's algorithm, thickened by
// stamping a small square at each step. Pixels outside img are ignored.
func plotLine(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA, thickness int) {
	dx, dy := x1-x0, y1-y0
	if dx < 0 {
		dx = -dx
	}
	if dy > 0 {
		dy = -dy
	}
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	e := dx + dy
	for {
		for tx := range thickness {
			for ty := range thickness {
				plotSetPixel(img, x0+tx-thickness/2, y0+ty-thickness/2, c)
			}
		}
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

// plotDisc draws a filled circle of radius r centred on (cx, cy).
func plotDisc(img *image.RGBA, cx, cy, r int, c color.RGBA) {
	for dy := -r; dy <= r; dy++ {
		for dx := -r; dx <= r; dx++ {
			if dx*dx+dy*dy <= r*r+r {
				plotSetPixel(img, cx+dx, cy+dy, c)
			}
		}
	}
}

// plotHLine draws a horizontal line from x0 to x1 inclusive.
func plotHLine(img *image.RGBA, x0, x1, y int, c color.RGBA) {
	for x := x0; x <= x1; x++ {
		plotSetPixel(img, x, y, c)
	}
}

// plotVLine draws a vertical line from y0 to y1 inclusive.
func plotVLine(img *image.RGBA, x, y0, y1 int, c color.RGBA) {
	for y := y0; y <= y1; y++ {
		plotSetPixel(img, x, y, c)
	}
}

// plotSetPixel sets one pixel if it lies inside img's bounds.
func plotSetPixel(img *image.RGBA, x, y int, c color.RGBA) {
	if (image.Point{x, y}).In(img.Rect) {
		img.SetRGBA(x, y, c)
	}
}

// plotTextWidth is the rendered width of s in pixels.
func plotTextWidth(s string) int {
	return font.MeasureString(plotFace, s).Ceil()
}

// plotText draws s with its top-left corner at (x, y).
func plotText(img *image.RGBA, x, y int, s string, c color.RGBA) {
	d := font.Drawer{
		Dst:  img,
		Src:  image.NewUniform(c),
		Face: plotFace,
		Dot:  fixed.P(x, y+plotFaceAscent),
	}
	d.DrawString(s)
}

// plotCenteredText draws s horizontally centred on cx with its top at y.
func plotCenteredText(img *image.RGBA, cx, y int, s string, c color.RGBA) {
	plotText(img, cx-plotTextWidth(s)/2, y, s, c)
}
