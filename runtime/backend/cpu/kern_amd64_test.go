package cpu

import (
	"math"
	"math/rand"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// TestTileKernels calls every assembly tile kernel directly, for 1..4
// activation rows and 1, 3 and 18 blocks, and compares it bit for bit with
// its Go twin on the same tile: random blocks, and extreme ones (quant bytes
// all 0x00, 0xff, 0x0f or 0xf0, activations ±amax so that every activation
// quant is ±127), where a saturating or otherwise inexact lane sum would
// show.
func TestTileKernels(t *testing.T) {
	header := map[gguf.Type]int{ // bytes of f16 d (and m) before the quants
		gguf.TypeQ4_0: 2, gguf.TypeQ4_1: 4, gguf.TypeQ5_0: 2, gguf.TypeQ5_1: 4, gguf.TypeQ8_0: 2,
	}
	for _, typ := range []gguf.Type{gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0, gguf.TypeQ5_1, gguf.TypeQ8_0} {
		for _, nb := range []int{1, 3, 18} {
			for _, extreme := range []bool{false, true} {
				rng := rand.New(rand.NewSource(int64(typ)*100 + int64(nb)))
				cols := nb * blockQK
				raw := randomWeight(rng, typ, tileRows, cols)
				x := randomActs(rng, 4*cols)
				if extreme {
					bb := typ.BlockBytes()
					for off := 0; off < len(raw); off += bb {
						v := []byte{0x00, 0xff, 0x0f, 0xf0}[rng.Intn(4)]
						for j := off + header[typ]; j < off+bb; j++ {
							raw[j] = v
						}
					}
					for i := range x {
						x[i] = float32(1 - 2*rng.Intn(2))
					}
				}
				for _, lvl := range levels()[1:] {
					withLevel(t, lvl, func() {
						w, err := NewWeight(typ, tileRows, cols, raw)
						if err != nil {
							t.Fatal(err)
						}
						k := asmKernel(w.enc, w.q8off, lvl)
						if k == nil {
							t.Fatalf("%v %v: no assembly kernel", typ, lvl)
						}
						var twin tileKernel
						withLevel(t, levelGeneric, func() { twin = w.kernel() })
						corr := w.corr()
						ms := metaWords(corr) * nb
						xq, meta := make([]int8, 4*cols), make([]uint32, 4*ms)
						for r := 0; r < 4; r++ {
							quantQ8Go(x[r*cols:(r+1)*cols], xq[r*cols:(r+1)*cols], meta[r*ms:(r+1)*ms], corr)
						}
						tile := w.tiles[:w.tileStride]
						for nx := 1; nx <= 4; nx++ {
							got, want := make([]float32, nx*tileRows), make([]float32, nx*tileRows)
							k(tile, nb, xq[:nx*cols], meta[:nx*ms], nx, got)
							twin(tile, nb, xq[:nx*cols], meta[:nx*ms], nx, want)
							for i := range got {
								if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
									t.Fatalf("%v %v nb=%d nx=%d extreme=%v: out[%d] = %g, Go twin %g", typ, lvl, nb, nx, extreme, i, got[i], want[i])
								}
							}
						}
					})
				}
			}
		}
	}
}
