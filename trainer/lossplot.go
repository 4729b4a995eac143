package trainer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/cartlsp/cartlsp/atomicfile"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
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

// Plot size and colours.
const (
	plotWidth  = 800 // pixels
	plotHeight = 480
	plotDPI    = 96

	// plotMovingAvgMin is the number of finite training points above which
	// a moving average is drawn.
	plotMovingAvgMin = 20
)

var (
	plotLossColor = color.RGBA{31, 119, 180, 255} // training loss: blue
	plotAvgColor  = color.RGBA{255, 170, 90, 255} // moving average: light orange
	plotEvalColor = color.RGBA{214, 39, 40, 255}  // held-out (eval) loss: red
)

// PlotLoss renders pts as an 800×480 PNG to w with gonum.org/v1/plot: the
// training loss per step as a line (with a lighter moving average when there
// are more than 20 points) and the held-out (eval) loss as markers in a
// distinct colour, with a grid, a legend, the title, "step" on the x axis
// and "loss" on the y axis. NaN and infinite values are skipped; with
// nothing to draw the image says "no data".
func PlotLoss(w io.Writer, pts []LossPoint, title string) error {
	p, err := lossPlot(pts, title)
	if err != nil {
		return fmt.Errorf("draw the loss plot: %w", err)
	}
	c := vgimg.NewWith(vgimg.UseWH(plotWidth*vg.Inch/plotDPI, plotHeight*vg.Inch/plotDPI), vgimg.UseDPI(plotDPI))
	p.Draw(draw.New(c))
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(w); err != nil {
		return fmt.Errorf("encode loss plot png: %w", err)
	}
	return nil
}

// lossPlot builds the plot of pts.
func lossPlot(pts []LossPoint, title string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "step"
	p.Y.Label.Text = "loss"
	p.Legend.Top = true
	p.Add(plotter.NewGrid())

	sorted := append([]LossPoint(nil), pts...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Step < sorted[j].Step })
	var train, eval plotter.XYs
	for _, pt := range sorted {
		if lossFinite(pt.Loss) {
			train = append(train, plotter.XY{X: float64(pt.Step), Y: pt.Loss})
		}
		if lossFinite(pt.EvalLoss) {
			eval = append(eval, plotter.XY{X: float64(pt.Step), Y: pt.EvalLoss})
		}
	}
	if len(train) == 0 && len(eval) == 0 {
		l, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: 0, Y: 0}}, Labels: []string{"no data"}})
		if err != nil {
			return nil, err
		}
		p.Add(l)
		return p, nil
	}
	if len(train) > 0 {
		l, err := addLine(p, train, plotLossColor)
		if err != nil {
			return nil, err
		}
		p.Legend.Add("train", l)
		if len(train) == 1 { // a line of one point draws nothing
			s, err := plotter.NewScatter(train)
			if err != nil {
				return nil, err
			}
			s.Color, s.Shape, s.Radius = plotLossColor, draw.CircleGlyph{}, vg.Points(3)
			p.Add(s)
		}
	}
	if len(train) > plotMovingAvgMin {
		l, err := addLine(p, movingAverage(train, min(max(len(train)/10, 5), 200)), plotAvgColor)
		if err != nil {
			return nil, err
		}
		p.Legend.Add("train (avg)", l)
	}
	if len(eval) > 0 {
		s, err := plotter.NewScatter(eval)
		if err != nil {
			return nil, err
		}
		s.Color, s.Shape, s.Radius = plotEvalColor, draw.CircleGlyph{}, vg.Points(3)
		p.Add(s)
		p.Legend.Add("held-out", s)
	}
	clampRange(&p.Y, train, eval) // after Add, which widens the axes to the data
	return p, nil
}

// plotLineChunk is the most points one stroked path holds: the rasterizer
// behind gonum's PNG canvas slows quadratically with a path's length (5,000
// points in one path take 1.4 s; in chunks, milliseconds).
const plotLineChunk = 64

// addLine adds xys to p as a line of colour c, stroked in chunks of
// plotLineChunk points that share their end points, and returns the first
// chunk for the legend.
func addLine(p *plot.Plot, xys plotter.XYs, c color.Color) (*plotter.Line, error) {
	var first *plotter.Line
	for i := 0; i == 0 || i < len(xys)-1; i += plotLineChunk {
		l, err := plotter.NewLine(xys[i:min(i+plotLineChunk+1, len(xys))])
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = c, vg.Points(1.5)
		p.Add(l)
		if first == nil {
			first = l
		}
	}
	return first, nil
}

// clampRange keeps the y axis on a span that is still representable when
// the values reach ±MaxFloat64 (their difference would overflow).
func clampRange(a *plot.Axis, series ...plotter.XYs) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, xys := range series {
		for _, xy := range xys {
			lo, hi = math.Min(lo, xy.Y), math.Max(hi, xy.Y)
		}
	}
	if !lossFinite(hi - lo) {
		a.Min, a.Max = -math.MaxFloat64/2, math.MaxFloat64/2
	}
}

// lossFinite reports whether v is neither NaN nor infinite.
func lossFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// movingAverage returns the trailing mean of the y values of pts over a
// window of the given size (shorter at the start).
func movingAverage(pts plotter.XYs, window int) plotter.XYs {
	out := make(plotter.XYs, len(pts))
	sum := 0.0
	for i, p := range pts {
		sum += p.Y
		if i >= window {
			sum -= pts[i-window].Y
		}
		out[i] = plotter.XY{X: p.X, Y: sum / float64(min(i+1, window))}
	}
	return out
}
