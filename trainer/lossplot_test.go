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

// colorCounts returns how many pixels of img have each colour.
func colorCounts(img image.Image) map[color.RGBA]int {
	counts := map[color.RGBA]int{}
	if rgba, ok := img.(*image.RGBA); ok {
		b := rgba.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := rgba.Pix[rgba.PixOffset(b.Min.X, y):rgba.PixOffset(b.Max.X, y)]
			for i := 0; i < len(row); i += 4 {
				counts[color.RGBA{row[i], row[i+1], row[i+2], row[i+3]}]++
			}
		}
		return counts
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			counts[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	return counts
}

func TestPlotLossPNG(t *testing.T) {
	tests := []struct {
		name     string
		pts      []LossPoint
		wantLine bool
	}{
		{"no points", nil, false},
		{"one point", []LossPoint{{Step: 5, Loss: 2.5, EvalLoss: math.NaN()}}, true},
		{"many points", syntheticLoss(300, 50), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := decodePlot(t, tt.pts, tt.name)
			if got := img.Bounds(); got != image.Rect(0, 0, 800, 480) {
				t.Fatalf("bounds = %v, want 800×480", got)
			}
			counts := colorCounts(img)
			if counts[plotBackground] == 800*480 {
				t.Error("image is blank")
			}
			if got := counts[plotLossColor] > 0; got != tt.wantLine {
				t.Errorf("training-loss pixels present = %v, want %v", got, tt.wantLine)
			}
		})
	}
}

func TestRenderLossPlotSeries(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name     string
		pts      []LossPoint
		wantLoss bool // training-loss colour present
		wantAvg  bool // moving-average colour present
		wantEval bool // eval colour present
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
			img := renderLossPlot(tt.pts, "loss: "+tt.name)
			if got := img.Bounds(); got != image.Rect(0, 0, 800, 480) {
				t.Fatalf("bounds = %v, want 800×480", got)
			}
			counts := colorCounts(img)
			checks := []struct {
				what string
				c    color.RGBA
				want bool
			}{
				{"training loss", plotLossColor, tt.wantLoss},
				{"moving average", plotAvgColor, tt.wantAvg},
				{"eval loss", plotEvalColor, tt.wantEval},
			}
			for _, c := range checks {
				if got := counts[c.c] > 0; got != c.want {
					t.Errorf("%s pixels present = %v, want %v", c.what, got, c.want)
				}
			}
			// Every plot, even "no data", carries text and axes.
			if counts[plotBackground] == 800*480 {
				t.Error("image is blank")
			}
		})
	}
}

func TestPlotLossManyPointsDrawsLine(t *testing.T) {
	img := renderLossPlot(syntheticLoss(200, 0), "train")
	// The line must span most of the plot width: count the columns of the
	// plot area that hold a training-loss pixel.
	cols := 0
	for x := plotLeft; x <= plotRight; x++ {
		for y := plotTop; y <= plotBottom; y++ {
			if img.RGBAAt(x, y) == plotLossColor {
				cols++
				break
			}
		}
	}
	if want := (plotRight - plotLeft) * 9 / 10; cols < want {
		t.Errorf("training loss drawn in %d columns, want at least %d", cols, want)
	}
}

func TestPlotNiceTicks(t *testing.T) {
	tests := []struct {
		lo, hi, minStep float64
		want            []string
	}{
		{0, 10, 0, []string{"0", "2", "4", "6", "8", "10"}},
		{1, 1000, 1, []string{"200", "400", "600", "800", "1000"}},
		{1.95, 2.45, 0, []string{"2.0", "2.1", "2.2", "2.3", "2.4"}},
		{-0.5, 0.5, 0, []string{"-0.4", "-0.2", "0.0", "0.2", "0.4"}},
		{0.9, 3.1, 0, []string{"1.0", "1.5", "2.0", "2.5", "3.0"}},
		{0.9, 3.1, 1, []string{"1", "2", "3"}},
		{3, 3, 0, []string{"3"}},
	}
	for _, tt := range tests {
		var got []string
		for _, tk := range plotNiceTicks(tt.lo, tt.hi, tt.minStep) {
			got = append(got, tk.label)
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("plotNiceTicks(%v, %v) = %q, want %q", tt.lo, tt.hi, got, tt.want)
		}
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
