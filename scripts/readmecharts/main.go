// Command readmecharts draws the README's chart of answering quality, memory and speed — no context, the corpus in
// context, the Cartridge — from figures measured in docs/RESULTS.md (each is cited beside its value):
//
//	go run ./scripts/readmecharts docs/img/quality.png
package main

import (
	"fmt"
	"image/color"
	"log"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// condition is one way of answering uuid's 54 questions on Qwen2.5-Coder-0.5B-Instruct.
type condition struct {
	name  string
	mc    float64 // multiple-choice accuracy, %
	nll   float64 // NLL per answer token
	kvMiB float64 // KV cache of the prefix, F16
	tokS  float64 // decode tokens/s after the prefix, 2 threads
	color color.Color
}

// Quality and memory: docs/RESULTS.md, "Fifth session: Qwen2.5-Coder-1.5B" (the 0.5B rows: none, corpus
// in context, uuid-amx). Speed: docs/BENCHMARKS.md, "Decode speed after the prefix".
var conditions = []condition{
	{"no context", 25.9, 3.141, 0, 38.9, color.RGBA{0x9e, 0x9e, 0x9e, 0xff}},
	{"corpus in context\n(12,143 tokens)", 59.3, 2.241, 142.3, 15.1, color.RGBA{0x4a, 0x7f, 0xc1, 0xff}},
	{"Cartridge\n(p = 384)", 48.1, 2.758, 4.5, 39.8, color.RGBA{0xf2, 0xa9, 0x00, 0xff}},
}

func bars(title, ylabel string, value func(condition) float64, format string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	names := make([]string, len(conditions))
	for i, c := range conditions {
		names[i] = c.name
		b, err := plotter.NewBarChart(plotter.Values{value(c)}, vg.Points(46))
		if err != nil {
			log.Fatal(err)
		}
		b.Color = c.color
		b.LineStyle.Width = 0
		b.XMin = float64(i)
		p.Add(b)
		l, err := plotter.NewLabels(plotter.XYLabels{
			XYs:    []plotter.XY{{X: float64(i), Y: value(c)}},
			Labels: []string{fmt.Sprintf(format, value(c))},
		})
		if err != nil {
			log.Fatal(err)
		}
		l.Offset = vg.Point{X: -vg.Points(10), Y: vg.Points(3)}
		p.Add(l)
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.6, float64(len(conditions))-0.4
	p.Y.Max *= 1.15
	return p
}

func main() {
	out := "docs/img/quality.png"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	plots := [][]*plot.Plot{{
		bars("Multiple choice (54 questions, chance 25%)", "accuracy, %", func(c condition) float64 { return c.mc }, "%.1f%%"),
		bars("NLL of the reference answers (lower is better)", "nats per token", func(c condition) float64 { return c.nll }, "%.2f"),
		bars("Memory of what the question decodes after", "KV cache, MiB (F16)", func(c condition) float64 { return c.kvMiB }, "%.1f"),
		bars("Decoding speed (2 CPU threads)", "tokens/s", func(c condition) float64 { return c.tokS }, "%.1f"),
	}}
	img := vgimg.New(vg.Points(1400), vg.Points(300))
	dc := draw.New(img)
	t := draw.Tiles{Rows: 1, Cols: 4, PadX: vg.Points(18), PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(6)}
	canvases := plot.Align(plots, t, dc)
	for j, p := range plots[0] {
		p.Draw(canvases[0][j])
	}
	f, err := os.Create(out)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		log.Fatal(err)
	}
}
