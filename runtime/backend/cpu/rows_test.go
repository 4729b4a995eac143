package cpu

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/fmath"
)

// TestExpRowAccuracy checks ExpRow against math.Exp on every level, over
// [−110, 90] and the special values (−Inf, very negative, 0, overflow).
func TestExpRowAccuracy(t *testing.T) {
	var xs []float32
	for i := 0; i <= 200000; i++ {
		xs = append(xs, float32(-110+0.001*float64(i)))
	}
	inf := float32(math.Inf(1))
	xs = append(xs, -inf, -1e30, -200, -104, -103.9, -87.4, -1e-30, 0, 1e-30, 1e-7, -1e-7, 88.7, 88.8, 89, 200, 1e30, inf)
	for _, lvl := range levels() {
		for _, ab := range [][2]float32{{1, 0}, {0.125, 3}, {2, -1.5}} {
			a, b := ab[0], ab[1]
			x := append([]float32(nil), xs...)
			var sum float64
			withLevel(t, lvl, func() { sum = ExpRow(x, a, b) })
			var want64 float64
			for i, v := range xs {
				y := fmath.FMA32(a, v, -b)
				want := math.Exp(float64(y))
				want64 += float64(x[i])
				switch {
				case want > math.MaxFloat32:
					if x[i] != inf {
						t.Fatalf("%v: e^%g = %g, want +Inf", lvl, y, x[i])
					}
					continue
				case want < 0x1p-126:
					// Subnormal results: absolute error below the smallest normal.
					if x[i] < 0 || float64(x[i]) > 0x1p-126 {
						t.Fatalf("%v: e^%g = %g, want %g", lvl, y, x[i], want)
					}
					continue
				}
				u := float64(math.Nextafter32(float32(want), inf) - float32(want))
				if math.Abs(float64(x[i])-want) > 2.5*u {
					t.Fatalf("%v: e^%g = %g, want %g (%.2f ulp)", lvl, y, x[i], want, math.Abs(float64(x[i])-want)/u)
				}
			}
			if !math.IsInf(sum, 1) || !math.IsInf(want64, 1) {
				t.Fatalf("%v: sum %g, want +Inf (the row overflows)", lvl, sum)
			}
		}
	}
	// The sum of a finite row, against float64 sums of the stored values.
	for _, lvl := range levels() {
		x := append([]float32(nil), xs[:150000]...)
		var sum float64
		withLevel(t, lvl, func() { sum = ExpRow(x, 1, 0) })
		var want float64
		for _, v := range x {
			want += float64(v)
		}
		if math.Abs(sum-want) > 1e-12*want {
			t.Fatalf("%v: sum %g, want %g", lvl, sum, want)
		}
	}
	// NaN stays NaN.
	x := []float32{float32(math.NaN())}
	if ExpRow(x, 1, 0); x[0] == x[0] {
		t.Fatalf("e^NaN = %g", x[0])
	}
}

// TestRowKernelsTwins checks each level's row kernels bit for bit against
// the plain Go twins, for every length up to 80 and a long row.
func TestRowKernelsTwins(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	lens := []int{4099}
	for n := 0; n <= 80; n++ {
		lens = append(lens, n)
	}
	for _, n := range lens {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 20)
		}
		x0 := append([]float32(nil), x...)
		wantSum := expRowGo(x0, 0.7, 2)
		da, g, u := randomActs(rng, n), randomActs(rng, n), randomActs(rng, n)
		for i := range g {
			g[i] *= 8
		}
		a, ds := randomActs(rng, n), randomActs(rng, n)
		for _, lvl := range levels() {
			name := fmt.Sprintf("%v n=%d", lvl, n)
			got := append([]float32(nil), x...)
			var sum float64
			withLevel(t, lvl, func() { sum = ExpRow(got, 0.7, 2) })
			if sum != wantSum {
				t.Fatalf("%s: ExpRow sum %g, Go twin %g", name, sum, wantSum)
			}
			for i := range got {
				if got[i] != x0[i] {
					t.Fatalf("%s: ExpRow x[%d] = %g, Go twin %g", name, i, got[i], x0[i])
				}
			}
			var mx, mx0 float32
			withLevel(t, lvl, func() { mx = MaxRow(x) })
			withLevel(t, levelGeneric, func() { mx0 = MaxRow(x) })
			want := float32(math.Inf(-1))
			for _, v := range x {
				want = max(want, v)
			}
			if mx != want || mx0 != want {
				t.Fatalf("%s: MaxRow %g, Go twin %g, want %g", name, mx, mx0, want)
			}
			dg, du := make([]float32, n), make([]float32, n)
			withLevel(t, lvl, func() { SwiGLUBack(dg, du, da, g, u) })
			for i := range dg {
				gi := float64(g[i])
				s := 1 / (1 + math.Exp(-gi))
				wdu := float64(da[i]) * gi * s
				wdg := float64(da[i]) * float64(u[i]) * s * (1 + gi*(1-s))
				// dg's bound scales with its terms (1 + g·(1 − s) cancels for g < 0).
				mag := math.Abs(float64(da[i])*float64(u[i])*s) * (1 + math.Abs(gi*(1-s)))
				if math.Abs(float64(du[i])-wdu) > 1e-6*math.Abs(wdu)+1e-30 || math.Abs(float64(dg[i])-wdg) > 1e-6*mag+1e-30 {
					t.Fatalf("%s: SwiGLUBack[%d] = %g, %g, want %g, %g", name, i, dg[i], du[i], wdg, wdu)
				}
			}
			dg0, du0 := make([]float32, n), make([]float32, n)
			withLevel(t, levelGeneric, func() { SwiGLUBack(dg0, du0, da, g, u) })
			for i := range dg {
				if dg[i] != dg0[i] || du[i] != du0[i] {
					t.Fatalf("%s: SwiGLUBack[%d] = %g, %g, Go twin %g, %g", name, i, dg[i], du[i], dg0[i], du0[i])
				}
			}
			d1, d0 := append([]float32(nil), ds...), append([]float32(nil), ds...)
			withLevel(t, lvl, func() { SoftmaxBack(d1, a, 0.3, 0.125) })
			withLevel(t, levelGeneric, func() { SoftmaxBack(d0, a, 0.3, 0.125) })
			for i := range d1 {
				if d1[i] != d0[i] {
					t.Fatalf("%s: SoftmaxBack[%d] = %g, Go twin %g", name, i, d1[i], d0[i])
				}
			}
		}
	}
}

// TestExpRowRange: every level's ExpRow equals the Go twin bit for bit over
// the whole range of the exponential — results that underflow to
// subnormals and zero, overflow to +Inf, ±Inf and NaN inputs (NaN stays
// NaN) — with a tail shorter than 16.
func TestExpRowRange(t *testing.T) {
	var xs []float32
	for v := -125.0; v < 100; v += 0.0137 {
		xs = append(xs, float32(v))
	}
	xs = append(xs, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), -87.33655, 88.72283, 0, -0.0)
	want := append([]float32(nil), xs...)
	wantSum := expRowGo(want, 1, 0)
	for _, lvl := range levels() {
		got := append([]float32(nil), xs...)
		var sum float64
		withLevel(t, lvl, func() { sum = ExpRow(got, 1, 0) })
		if !(sum == wantSum || math.IsNaN(sum) && math.IsNaN(wantSum)) {
			t.Fatalf("%v: sum %g, Go twin %g", lvl, sum, wantSum)
		}
		for i := range got {
			if math.IsNaN(float64(want[i])) {
				if !math.IsNaN(float64(got[i])) {
					t.Fatalf("%v: e^%g = %g, want NaN", lvl, xs[i], got[i])
				}
				continue
			}
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%v: e^%g = %g (%#08x), Go twin %g (%#08x)", lvl, xs[i], got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
		}
	}
}
