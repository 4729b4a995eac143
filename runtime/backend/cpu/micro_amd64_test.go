package cpu

import (
	"math/rand"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// The Micro benchmarks time one tile kernel (VNNI unless named otherwise) on
// a single L1-resident tile: the compute ceiling without memory traffic.

func BenchmarkMicroQ41x1(b *testing.B) {
	if detected < levelAVX512 {
		b.Skip("no AVX-512 VNNI")
	}
	rng := rand.New(rand.NewSource(1))
	w, _ := NewWeight(gguf.TypeQ4_1, 16, 576, randomWeight(rng, gguf.TypeQ4_1, 16, 576))
	x := randomActs(rng, 576)
	xq, meta := make([]int8, 576), make([]uint32, 36)
	quantQ8Go(x, xq, meta, 0)
	var out [16]float32
	for i := 0; i < b.N; i++ {
		q41x1VNNI(&w.tiles[0], 18, &xq[0], &meta[0], &out[0])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/18, "ns/block")
}

func BenchmarkMicroQ41x2(b *testing.B) {
	if detected < levelAVX512 {
		b.Skip("no AVX-512 VNNI")
	}
	rng := rand.New(rand.NewSource(1))
	w, _ := NewWeight(gguf.TypeQ4_1, 16, 576, randomWeight(rng, gguf.TypeQ4_1, 16, 576))
	x := randomActs(rng, 2*576)
	xq, meta := make([]int8, 2*576), make([]uint32, 2*36)
	for r := 0; r < 2; r++ {
		quantQ8Go(x[r*576:(r+1)*576], xq[r*576:], meta[r*36:], 0)
	}
	var out [32]float32
	for i := 0; i < b.N; i++ {
		q41x2VNNI(&w.tiles[0], 18, &xq[0], 576, &meta[0], 36*4, &out[0])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/18, "ns/block")
	b.ReportMetric(float64(b.N)*18*2*16*32*2/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkMicroQ51x1(b *testing.B) {
	if detected < levelAVX512 {
		b.Skip("no AVX-512 VNNI")
	}
	rng := rand.New(rand.NewSource(1))
	w, _ := NewWeight(gguf.TypeQ5_1, 16, 576, randomWeight(rng, gguf.TypeQ5_1, 16, 576))
	x := randomActs(rng, 576)
	xq, meta := make([]int8, 576), make([]uint32, 36)
	quantQ8Go(x, xq, meta, 0)
	var out [16]float32
	for i := 0; i < b.N; i++ {
		q51x1VNNI(&w.tiles[0], 18, &xq[0], &meta[0], &out[0])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/18, "ns/block")
}

func BenchmarkMicroQ51x2(b *testing.B) {
	if detected < levelAVX512 {
		b.Skip("no AVX-512 VNNI")
	}
	rng := rand.New(rand.NewSource(1))
	w, _ := NewWeight(gguf.TypeQ5_1, 16, 576, randomWeight(rng, gguf.TypeQ5_1, 16, 576))
	x := randomActs(rng, 2*576)
	xq, meta := make([]int8, 2*576), make([]uint32, 2*36)
	for r := 0; r < 2; r++ {
		quantQ8Go(x[r*576:(r+1)*576], xq[r*576:], meta[r*36:], 0)
	}
	var out [32]float32
	for i := 0; i < b.N; i++ {
		q51x2VNNI(&w.tiles[0], 18, &xq[0], 576, &meta[0], 36*4, &out[0])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/18, "ns/block")
	b.ReportMetric(float64(b.N)*18*2*16*32*2/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkMicroQ51x1AVX2 times the AVX2 Q5_1 kernel the same way.
func BenchmarkMicroQ51x1AVX2(b *testing.B) {
	if detected < levelAVX2 {
		b.Skip("no AVX2")
	}
	rng := rand.New(rand.NewSource(1))
	w, _ := NewWeight(gguf.TypeQ5_1, 16, 576, randomWeight(rng, gguf.TypeQ5_1, 16, 576))
	x := randomActs(rng, 576)
	xq, meta := make([]int8, 576), make([]uint32, 36)
	quantQ8Go(x, xq, meta, 0)
	var out [16]float32
	for i := 0; i < b.N; i++ {
		q51x1AVX2(&w.tiles[0], 18, &xq[0], &meta[0], &out[0])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/18, "ns/block")
}

func BenchmarkMicroSgemm(b *testing.B) {
	if detected < levelAVX512 {
		b.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewSource(1))
	a, bb := randomActs(rng, 256*sgMR), randomActs(rng, 256*sgNR)
	c := make([]float32, sgMR*sgNR)
	for i := 0; i < b.N; i++ {
		sgemmKernAVX512(256, &a[0], &bb[0], &c[0], sgNR, true)
	}
	b.ReportMetric(float64(b.N)*256*sgMR*sgNR*2/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
