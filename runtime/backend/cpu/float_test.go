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

// TestF32ToF16 rounds every F16 value, the midpoints between neighbours
// (ties go to even), their neighbours, and values past the range, against
// half.F32ToF16.
func TestF32ToF16(t *testing.T) {
	var src []float32
	for h := 0; h < 1<<16; h++ {
		a := half.F16ToF32(uint16(h))
		if math.IsNaN(float64(a)) {
			continue
		}
		src = append(src, a)
		if b := half.F16ToF32(uint16(h + 1)); h&0x7fff < 0x7c00 && !math.IsInf(float64(a), 0) && !math.IsNaN(float64(b)) {
			mid := float32((float64(a) + float64(b)) / 2)
			src = append(src, mid, math.Nextafter32(mid, a), math.Nextafter32(mid, b))
		}
	}
	src = append(src, 1e6, -1e6, 65520, 65519, 3e38, float32(math.Inf(1)))
	for _, lvl := range levels() {
		withLevel(t, lvl, func() {
			dst := make([]uint16, len(src))
			f32ToF16(dst, src)
			for i, x := range src {
				if want := half.F32ToF16(x); dst[i] != want {
					t.Fatalf("%v %g: %#04x, want %#04x", lvl, x, dst[i], want)
				}
			}
		})
	}
}
