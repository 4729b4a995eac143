package cpu

import (
	"math"
	"math/rand"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/half"
)

// TestFlashDecKernels checks the decoding path's kernels against their Go
// twins bit for bit, on Qwen-like keys (a few large outlier dimensions), for
// 1–8 rows, head dims 64 and 128, key counts that are and are not multiples
// of 4, and strided cache rows.
func TestFlashDecKernels(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for _, hd := range []int{64, 128} {
		for _, rows := range []int{1, 3, 7, 8} {
			for _, nk := range []int{1, 4, 13, 256} {
				stride := 3*hd + 16 // rows of a [L, KVHeads·hd] cache
				kh := make([]uint16, nk*stride)
				vh := make([]uint16, nk*stride)
				for i := range kh {
					x := rng.NormFloat64()
					if i%stride == 5 {
						x *= 40
					}
					kh[i] = half.F32ToF16(float32(x))
					vh[i] = half.F32ToF16(float32(rng.NormFloat64()))
				}
				q := randomActs(rng, rows*hd)
				sstride := nk + 3
				want, got := make([]float32, rows*sstride), make([]float32, rows*sstride)
				scoresF16Go(q, rows, hd, kh, stride, nk, want, sstride)
				for _, lvl := range levels() {
					withLevel(t, lvl, func() {
						clear(got)
						scoresF16(q, rows, hd, kh, stride, nk, got, sstride)
					})
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("scores hd %d rows %d keys %d %v: [%d] = %g, twin %g", hd, rows, nk, lvl, i, got[i], want[i])
						}
					}
				}
				p := randomActs(rng, rows*sstride)
				o0 := randomActs(rng, rows*hd)
				wantO := append([]float32(nil), o0...)
				pvF16Go(p, sstride, rows, vh, stride, nk, hd, wantO)
				for _, lvl := range levels() {
					gotO := append([]float32(nil), o0...)
					withLevel(t, lvl, func() { pvF16(p, sstride, rows, vh, stride, nk, hd, gotO) })
					for i := range wantO {
						if math.Float32bits(gotO[i]) != math.Float32bits(wantO[i]) {
							t.Fatalf("values hd %d rows %d keys %d %v: [%d] = %g, twin %g", hd, rows, nk, lvl, i, gotO[i], wantO[i])
						}
					}
				}
				// The twin against float64.
				for r := 0; r < rows; r++ {
					for j := 0; j < nk; j++ {
						var d float64
						for c := 0; c < hd; c++ {
							d += float64(q[r*hd+c]) * float64(half.F16ToF32(kh[j*stride+c]))
						}
						if e := math.Abs(d - float64(want[r*sstride+j])); e > 1e-4*(1+math.Abs(d)) {
							t.Fatalf("scores twin hd %d: %g, float64 %g", hd, want[r*sstride+j], d)
						}
					}
				}
			}
		}
	}
}
