package trainer

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sameFloat reports whether a and b are equal, treating NaN as equal to NaN.
func sameFloat(a, b float64) bool {
	return a == b || (math.IsNaN(a) && math.IsNaN(b))
}

// syntheticLoss returns n deterministic points of a decaying, noisy loss
// with an eval loss every evalEvery steps (0: never).
func syntheticLoss(n, evalEvery int) []LossPoint {
	pts := make([]LossPoint, n)
	for i := range pts {
		step := i + 1
		eval := math.NaN()
		if evalEvery > 0 && step%evalEvery == 0 {
			eval = 2.5 + 1.5/float64(step)
		}
		pts[i] = LossPoint{
			Step:     step,
			Epoch:    float64(step) / 50,
			Loss:     2 + 3/math.Sqrt(float64(step)) + 0.3*math.Sin(float64(step)*1.7),
			LR:       3e-4 * (1 - float64(i)/float64(n)),
			Tokens:   step * 4096,
			Seconds:  0.25 * float64(step),
			EvalLoss: eval,
		}
	}
	return pts
}

func TestLossCSVRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		pts  []LossPoint
	}{
		{"empty", nil},
		{"one point without eval", []LossPoint{{Step: 1, Epoch: 0.01, Loss: 9.5, LR: 1e-4, Tokens: 512, Seconds: 0.5, EvalLoss: math.NaN()}}},
		{"eval and odd floats", []LossPoint{
			{Step: 0, Epoch: 0, Loss: 10.25, LR: 0, Tokens: 0, Seconds: 0, EvalLoss: math.NaN()},
			{Step: 10, Epoch: 1.0 / 3, Loss: 1e-9, LR: 6.000000000000001e-5, Tokens: 1 << 40, Seconds: 12.345678901234567, EvalLoss: 2.718281828459045},
			{Step: 20, Epoch: 2, Loss: math.NaN(), LR: -1, Tokens: 7, Seconds: 1e300, EvalLoss: 0},
		}},
		{"many", syntheticLoss(100, 10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "loss.csv")
			if err := WriteLossCSV(path, tt.pts); err != nil {
				t.Fatalf("WriteLossCSV: %v", err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if first, _, _ := strings.Cut(string(raw), "\n"); first != "step,epoch,loss,eval_loss,lr,tokens,seconds" {
				t.Fatalf("header = %q", first)
			}
			got, err := ReadLossCSV(path)
			if err != nil {
				t.Fatalf("ReadLossCSV: %v", err)
			}
			if len(got) != len(tt.pts) {
				t.Fatalf("read %d points, wrote %d", len(got), len(tt.pts))
			}
			for i, w := range tt.pts {
				g := got[i]
				if g.Step != w.Step || g.Tokens != w.Tokens || !sameFloat(g.Epoch, w.Epoch) ||
					!sameFloat(g.Loss, w.Loss) || !sameFloat(g.LR, w.LR) ||
					!sameFloat(g.Seconds, w.Seconds) || !sameFloat(g.EvalLoss, w.EvalLoss) {
					t.Errorf("point %d: got %+v, want %+v", i, g, w)
				}
			}
			entries, err := os.ReadDir(filepath.Dir(path))
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries, want only loss.csv (temporary file left behind?)", len(entries))
			}
		})
	}
}

func TestLossCSVNaNEvalIsEmptyField(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loss.csv")
	pts := []LossPoint{{Step: 3, Epoch: 0.5, Loss: 1.5, LR: 0.001, Tokens: 96, Seconds: 2, EvalLoss: math.NaN()}}
	if err := WriteLossCSV(path, pts); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "step,epoch,loss,eval_loss,lr,tokens,seconds\n3,0.5,1.5,,0.001,96,2\n"
	if string(raw) != want {
		t.Errorf("file = %q, want %q", raw, want)
	}
}

func TestReadLossCSVMalformed(t *testing.T) {
	const header = "step,epoch,loss,eval_loss,lr,tokens,seconds\n"
	tests := []struct {
		name    string
		content string
		want    []string // substrings of the error
	}{
		{"empty file", "", []string{"line 1", "missing header"}},
		{"wrong header", "step,epoch,loss,lr,eval_loss,tokens,seconds\n", []string{"line 1", "column 4", `"lr"`, `"eval_loss"`}},
		{"short header", "step,epoch\n", []string{"line 1", "wrong number of fields"}},
		{"too few fields", header + "1,0.1,2.0,,0.001,10,1\n2,0.2,1.9\n", []string{"line 3", "wrong number of fields"}},
		{"bad step", header + "x,0.1,2.0,,0.001,10,1\n", []string{"line 2", "step", `invalid integer "x"`}},
		{"bad loss", header + "1,0.1,2.0,,0.001,10,1\n2,0.2,abc,,0.001,20,2\n", []string{"line 3", "column 7", "loss", `invalid number "abc"`}},
		{"bad eval", header + "1,0.1,2.0,?,0.001,10,1\n", []string{"line 2", "eval_loss"}},
		{"float tokens", header + "1,0.1,2.0,,0.001,10.5,1\n", []string{"line 2", "tokens"}},
		{"bad quote", header + "1,0.1,\"2.0,,0.001,10,1\n", []string{"line 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "loss.csv")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadLossCSV(path)
			if err == nil {
				t.Fatal("ReadLossCSV succeeded, want error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestReadLossCSVMissingFile(t *testing.T) {
	_, err := ReadLossCSV(filepath.Join(t.TempDir(), "absent.csv"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want a wrapped fs.ErrNotExist", err)
	}
}

// decodePlot runs PlotLoss and decodes the result.
func decodePlot(t *testing.T, pts []LossPoint, title string) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := PlotLoss(&buf, pts, title); err != nil {
		t.Fatalf("PlotLoss: %v", err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("decode PlotLoss output: %v", err)
	}
	return img
}

// near says whether c is within a small distance of want per channel: the
// plot is anti-aliased, so only a line's core has the exact colour.
func near(c color.Color, want color.RGBA) bool {
	r, g, b, _ := c.RGBA()
	d := func(x uint32, y uint8) bool { return max(int(x>>8), int(y))-min(int(x>>8), int(y)) <= 24 }
	return d(r, want.R) && d(g, want.G) && d(b, want.B)
}

// colorPresence counts the pixels of img near each of cs, and those that
// are not white.
func colorPresence(img image.Image, cs ...color.RGBA) (counts []int, inked int) {
	counts = make([]int, len(cs))
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.At(x, y)
			if r, g, bl, _ := c.RGBA(); r>>8 < 250 || g>>8 < 250 || bl>>8 < 250 {
				inked++
			}
			for i, w := range cs {
				if near(c, w) {
					counts[i]++
				}
			}
		}
	}
	return counts, inked
}

func TestPlotLossSeries(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name     string
		pts      []LossPoint
		wantLoss bool // training-loss colour present
		wantAvg  bool // moving-average colour present
		wantEval bool // held-out colour present
	}{
		{"no points", nil, false, false, false},
		{"only non-finite", []LossPoint{{Step: 1, Loss: nan, EvalLoss: inf}}, false, false, false},
		{"one point", []LossPoint{{Step: 5, Loss: 2.5, EvalLoss: nan}}, true, false, false},
		{"one eval point only", []LossPoint{{Step: 5, Loss: nan, EvalLoss: 2.5}}, false, false, true},
		{"constant loss", []LossPoint{{Step: 1, Loss: 3, EvalLoss: nan}, {Step: 2, Loss: 3, EvalLoss: nan}, {Step: 3, Loss: 3, EvalLoss: 3}}, true, false, true},
		{"same step", []LossPoint{{Step: 7, Loss: 1, EvalLoss: nan}, {Step: 7, Loss: 2, EvalLoss: nan}}, true, false, false},
		{"twenty points, no average", syntheticLoss(20, 0), true, false, false},
		{"many points with eval", syntheticLoss(300, 50), true, true, true},
		{"non-finite values skipped", append(syntheticLoss(40, 0), LossPoint{Step: 41, Loss: inf, EvalLoss: nan}, LossPoint{Step: 42, Loss: nan, EvalLoss: math.Inf(-1)}), true, true, false},
		{"huge range", []LossPoint{{Step: -5, Loss: -math.MaxFloat64, EvalLoss: nan}, {Step: math.MaxInt32, Loss: math.MaxFloat64, EvalLoss: nan}}, true, false, false},
		{"tiny values", []LossPoint{{Step: 1, Loss: 1e-12, EvalLoss: nan}, {Step: 2, Loss: 2e-12, EvalLoss: nan}}, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := decodePlot(t, tt.pts, "loss: "+tt.name)
			if got := img.Bounds(); got != image.Rect(0, 0, 800, 480) {
				t.Fatalf("bounds = %v, want 800×480", got)
			}
			counts, inked := colorPresence(img, plotLossColor, plotAvgColor, plotEvalColor)
			for i, c := range []struct {
				what string
				want bool
			}{{"training loss", tt.wantLoss}, {"moving average", tt.wantAvg}, {"held-out loss", tt.wantEval}} {
				if got := counts[i] > 0; got != c.want {
					t.Errorf("%s pixels present = %v (%d), want %v", c.what, got, counts[i], c.want)
				}
			}
			// Every plot, even "no data", carries text and axes.
			if inked < 1000 {
				t.Errorf("image is nearly blank: %d inked pixels", inked)
			}
		})
	}
}

// TestPlotLossManyPointsDrawsLine checks that the training loss is drawn
// across the plot, not only as its legend swatch: the columns holding its
// colour span most of the image's width.
func TestPlotLossManyPointsDrawsLine(t *testing.T) {
	img := decodePlot(t, syntheticLoss(200, 0), "train")
	b := img.Bounds()
	cols := 0
	for x := b.Min.X; x < b.Max.X; x++ {
		for y := b.Min.Y; y < b.Max.Y; y++ {
			if near(img.At(x, y), plotLossColor) {
				cols++
				break
			}
		}
	}
	if want := b.Dx() * 3 / 4; cols < want {
		t.Errorf("training loss drawn in %d columns, want at least %d of %d", cols, want, b.Dx())
	}
}

func TestWriteLossPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loss.png")
	if err := WriteLossPNG(path, syntheticLoss(50, 10), "run"); err != nil {
		t.Fatalf("WriteLossPNG: %v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	if cfg.Width != 800 || cfg.Height != 480 {
		t.Errorf("size = %d×%d, want 800×480", cfg.Width, cfg.Height)
	}

	if err := WriteLossPNG(filepath.Join(t.TempDir(), "missing", "loss.png"), nil, "x"); err == nil {
		t.Error("WriteLossPNG into a missing directory succeeded, want error")
	}
}
