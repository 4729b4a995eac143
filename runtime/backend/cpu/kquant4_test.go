package cpu

import (
	"math"
	"math/rand"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// TestKDot4Kernels checks each four-row K-quant kernel against its Go twin
// (the one-row kernel then kCombine), bit for bit, on random blocks with
// quantized real activations and on the extremes (every quant and scale at
// its largest, activations ±127), with padding between activation rows.
func TestKDot4Kernels(t *testing.T) {
	for _, typ := range []gguf.Type{gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K} {
		for _, nb := range []int{1, 3, 19} {
			for _, fill := range []string{"random", "max", "min"} {
				rng := rand.New(rand.NewSource(int64(nb)*37 + int64(typ)))
				bb := typ.BlockBytes()
				cols := nb * blockQK_K
				stride := cols + 64
				row := randomWeight(rng, typ, 1, cols)
				x := make([]int8, 3*stride+cols)
				xd := make([]float32, 4*nb)
				bs := make([]int16, 4*nb*16)
				for a := 0; a < 4; a++ {
					acts := randomActs(rng, cols)
					quantQ8K(acts, x[a*stride:a*stride+cols], xd[a*nb:(a+1)*nb], bs[a*nb*16:(a+1)*nb*16])
				}
				if fill != "random" {
					for i := range row {
						row[i] = 0xff
					}
					if typ == gguf.TypeQ6_K && fill == "min" {
						for b := 0; b < nb; b++ { // scales −128
							for s := 0; s < 16; s++ {
								row[b*bb+192+s] = 0x80
							}
						}
					}
					for b := 0; b < nb; b++ { // a finite f16 d and dmin
						putF16(row[b*bb:], 0.001)
						putF16(row[b*bb+2:], 0.002)
						if typ == gguf.TypeQ6_K {
							putF16(row[b*bb+208:], 0.001)
						}
					}
					v := int8(127)
					if fill == "min" {
						v = -127
					}
					for a := 0; a < 4; a++ {
						for i := 0; i < cols; i++ {
							x[a*stride+i] = v
						}
						for j := range bs[a*nb*16 : (a+1)*nb*16] {
							bs[a*nb*16+j] = 16 * int16(v)
						}
					}
				}
				var scm []uint8
				if typ != gguf.TypeQ6_K {
					scm = kScaleMins(row, bb)
				}
				xd4, bs4 := make([]float32, 4*nb), make([]int16, 64*nb)
				kInterleave(xd, bs, nb, xd4, bs4)
				var want [4]float32
				kdot4Go(typ)(row, scm, x, stride, nb, xd4, bs4, &want)
				// The twin is the one-row path: check that too.
				sumi := make([]int32, nb)
				for a := 0; a < 4; a++ {
					kdotGo(typ)(row, scm, x[a*stride:], nb, sumi)
					if one := kCombine(typ, row, scm, sumi, xd[a*nb:(a+1)*nb], bs[a*nb*16:(a+1)*nb*16], f16Lookup()); math.Float32bits(one) != math.Float32bits(want[a]) {
						t.Fatalf("%v nb=%d %s: twin row %d = %g, one-row path %g", typ, nb, fill, a, want[a], one)
					}
				}
				for _, lvl := range levels() {
					k := asmKDot4(typ, lvl)
					if k == nil {
						continue
					}
					var got [4]float32
					k(row, scm, x, stride, nb, xd4, bs4, &got)
					for a := range got {
						if math.Float32bits(got[a]) != math.Float32bits(want[a]) {
							t.Fatalf("%v nb=%d %s %v: row %d = %g, Go twin %g", typ, nb, fill, lvl, a, got[a], want[a])
						}
					}
				}
			}
		}
	}
}
