package cpu

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// TestKDotKernels checks each K-quant dot kernel level against its Go twin
// on random blocks and on the extremes (every quant and scale at its largest,
// activations ±127), where a saturating or sign-confused kernel would differ.
func TestKDotKernels(t *testing.T) {
	for _, typ := range []gguf.Type{gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K} {
		for _, nb := range []int{1, 3, 19} {
			for _, fill := range []string{"random", "max", "min"} {
				rng := rand.New(rand.NewSource(int64(nb)*31 + int64(typ)))
				bb := typ.BlockBytes()
				row := make([]byte, nb*bb)
				x := make([]int8, nb*blockQK_K)
				switch fill {
				case "random":
					rng.Read(row)
					for i := range x {
						x[i] = int8(rng.Intn(255) - 127)
					}
				case "max", "min":
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
					v := int8(127)
					if fill == "min" {
						v = -127
					}
					for i := range x {
						x[i] = v
					}
				}
				var scm []uint8
				if typ != gguf.TypeQ6_K {
					scm = kScaleMins(row, bb)
				}
				want := make([]int32, nb)
				kdotGo(typ)(row, scm, x, nb, want)
				for _, lvl := range levels() {
					k := asmKDot(typ, lvl)
					if k == nil {
						continue
					}
					got := make([]int32, nb)
					k(row, scm, x, nb, got)
					for b := range got {
						if got[b] != want[b] {
							t.Fatalf("%v nb=%d %s %v: super-block %d sum %d, Go twin %d", typ, nb, fill, lvl, b, got[b], want[b])
						}
					}
				}
			}
		}
	}
}

// BenchmarkKDot is one 4864-column row (the 0.5B model's ffn_down) per op.
func BenchmarkKDot(b *testing.B) {
	for _, typ := range []gguf.Type{gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K} {
		nb := 4864 / blockQK_K
		rng := rand.New(rand.NewSource(1))
		row := make([]byte, nb*typ.BlockBytes())
		rng.Read(row)
		x := make([]int8, nb*blockQK_K)
		for i := range x {
			x[i] = int8(rng.Intn(255) - 127)
		}
		var scm []uint8
		if typ != gguf.TypeQ6_K {
			scm = kScaleMins(row, typ.BlockBytes())
		}
		out := make([]int32, nb)
		for _, lvl := range levels() {
			k := asmKDot(typ, lvl)
			if k == nil {
				k = kdotGo(typ)
			}
			b.Run(fmt.Sprintf("%v/%v", typ, lvl), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					k(row, scm, x, nb, out)
				}
			})
		}
	}
}
