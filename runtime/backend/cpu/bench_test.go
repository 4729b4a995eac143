package cpu

import (
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// SmolLM2-135M shapes: [rows, cols] of each per-layer matrix, and the output.
var (
	layerShapes = []struct {
		name       string
		rows, cols int
	}{
		{"q", 576, 576}, {"k", 192, 576}, {"v", 192, 576}, {"o", 576, 576},
		{"gate", 1536, 576}, {"up", 1536, 576}, {"down", 576, 1536},
	}
	nLayers = 30
	vocab   = 49152
)

func benchWeight(b *testing.B, typ gguf.Type, rows, cols int, seed int64) *Weight {
	rng := rand.New(rand.NewSource(seed))
	w, err := NewWeight(typ, rows, cols, randomWeight(rng, typ, rows, cols))
	if err != nil {
		b.Fatal(err)
	}
	return w
}

// BenchmarkMatMul: the model's matrices, decode (n=1) and prefill tiles.
//
//	go test -run XXX -bench MatMul ./runtime/backend/cpu
func BenchmarkMatMul(b *testing.B) {
	cases := append([]struct {
		name       string
		rows, cols int
	}{}, layerShapes...)
	cases = append(cases, struct {
		name       string
		rows, cols int
	}{"output", vocab, 576})
	for _, c := range cases {
		if c.name == "k" || c.name == "up" {
			continue // same shapes as v and gate
		}
		typ := gguf.TypeQ4_1
		if c.name == "output" {
			typ = gguf.TypeQ8_0
		}
		w := benchWeight(b, typ, c.rows, c.cols, 1)
		for _, n := range []int{1, 64, 512} {
			if c.name == "output" && n == 512 {
				continue
			}
			x := randomActs(rand.New(rand.NewSource(2)), n*c.cols)
			y := make([]float32, n*c.rows)
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s_%v_%dx%d/n=%d/threads=%d", c.name, typ, c.rows, c.cols, n, threads), func(b *testing.B) {
					p := NewPool(threads)
					defer p.Close()
					b.SetBytes(int64(w.Bytes()))
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						w.MatMul(p, y, x, n)
					}
					b.ReportMetric(2*float64(c.rows*c.cols*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

var (
	modelOnce   sync.Once
	modelLayers [][]*Weight
	modelOut    *Weight
)

// BenchmarkModel estimates whole-model speed from the matrix products alone:
// 30 layers × (q, k, v, o, gate, up, down) Q4_1 + the Q8_0 output matrix,
// every matrix distinct (≈ 96 MB, as the real model streams). Decode runs one
// token; prefill runs 512 tokens through the layers and the output matrix for
// the last one only (as llama.cpp computes logits in prefill).
//
//	go test -run XXX -bench Model ./runtime/backend/cpu
func BenchmarkModel(b *testing.B) {
	modelOnce.Do(func() {
		for l := 0; l < nLayers; l++ {
			var ws []*Weight
			for i, s := range layerShapes {
				ws = append(ws, benchWeight(b, gguf.TypeQ4_1, s.rows, s.cols, int64(100*l+i)))
			}
			modelLayers = append(modelLayers, ws)
		}
		modelOut = benchWeight(b, gguf.TypeQ8_0, vocab, 576, 99)
	})
	for _, n := range []int{1, 512} {
		x := randomActs(rand.New(rand.NewSource(3)), n*1536)
		y := make([]float32, n*1536)
		logits := make([]float32, vocab)
		for _, threads := range []int{1, 2} {
			name := "decode"
			if n > 1 {
				name = fmt.Sprintf("prefill%d", n)
			}
			b.Run(fmt.Sprintf("%s/threads=%d", name, threads), func(b *testing.B) {
				p := NewPool(threads)
				defer p.Close()
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i++ {
					for _, ws := range modelLayers {
						for _, w := range ws {
							w.MatMul(p, y, x, n)
						}
					}
					modelOut.MatMul(p, logits, x[(n-1)*576:], 1)
				}
				b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "tok/s")
				b.ReportMetric(float64(p.Stalls()), "stalls")
			})
		}
	}
}

// BenchmarkSgemm: f32 GEMM shapes of training (C[m,n] = A[m,k]·B[n,k]ᵀ).
//
//	go test -run XXX -bench Sgemm ./runtime/backend/cpu
func BenchmarkSgemm(b *testing.B) {
	for _, sh := range [][3]int{{512, 576, 576}, {512, 1536, 576}, {512, 576, 1536}} {
		m, n, k := sh[0], sh[1], sh[2]
		rng := rand.New(rand.NewSource(1))
		a, bb, c := randomActs(rng, m*k), randomActs(rng, n*k), make([]float32, m*n)
		for _, threads := range []int{1, 2} {
			for _, lvl := range levels() {
				if lvl == levelGeneric && threads == 2 {
					continue
				}
				b.Run(fmt.Sprintf("NT_%dx%dx%d/%v/threads=%d", m, n, k, lvl, threads), func(b *testing.B) {
					p := NewPool(threads)
					defer p.Close()
					withLevel(b, lvl, func() {
						for i := 0; i < b.N; i++ {
							SgemmNT(p, m, n, k, a, bb, c, false)
						}
					})
					b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
