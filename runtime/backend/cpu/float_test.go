package cpu

import (
	"math"
	"math/rand"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/half"
)

// TestDotAxpy: assembly Dot and Axpy against their Go twins; tolerance
// 1e-6·Σ|terms| (FMA and a different summation order).
func TestDotAxpy(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for n := 0; n < 300; n += 1 + n/10 {
		a, b := randomActs(rng, n), randomActs(rng, n)
		var mag float64
		for i := range a {
			mag += math.Abs(float64(a[i] * b[i]))
		}
		want := dotGo(a, b)
		yWant := append([]float32(nil), b...)
		axpyGo(0.37, a, yWant)
		for _, lvl := range levels() {
			withLevel(t, lvl, func() {
				if got := Dot(a, b); math.Abs(float64(got-want)) > 1e-6*mag+1e-7 {
					t.Fatalf("%v n=%d: Dot %g, want %g", lvl, n, got, want)
				}
				y := append([]float32(nil), b...)
				Axpy(0.37, a, y)
				for i := range y {
					if math.Abs(float64(y[i]-yWant[i])) > 1e-6*math.Abs(float64(yWant[i]))+1e-7 {
						t.Fatalf("%v n=%d: Axpy y[%d] %g, want %g", lvl, n, i, y[i], yWant[i])
					}
				}
			})
		}
	}
}

// TestF16ToF32 converts all 65536 patterns (NaNs only need to stay NaN).
func TestF16ToF32(t *testing.T) {
	src := make([]uint16, 1<<16)
	for i := range src {
		src[i] = uint16(i)
	}
	for _, lvl := range levels() {
		withLevel(t, lvl, func() {
			dst := make([]float32, len(src))
			f16ToF32(dst, src)
			for i, h := range src {
				want := half.F16ToF32(h)
				if math.IsNaN(float64(want)) {
					if !math.IsNaN(float64(dst[i])) {
						t.Fatalf("%v %#04x: %g, want NaN", lvl, h, dst[i])
					}
				} else if dst[i] != want {
					t.Fatalf("%v %#04x: %g, want %g", lvl, h, dst[i], want)
				}
			}
		})
	}
}
