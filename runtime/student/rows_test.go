package student

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The float32 row kernels against their plain float64 twins, and the fused
// loss row against the composition of the layers it fuses.

func to32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func maxRel32(a []float32, b []float64) float64 {
	var num, den float64
	for i := range b {
		num = max(num, math.Abs(float64(a[i])-b[i]))
		den = max(den, math.Abs(b[i]))
	}
	return num / den
}

func TestRowKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(91, 5))
	// expRow
	x := normals(rng, 3000, 3)
	x32 := to32(x)
	s64 := expRow(x, 0.7, 1.5)
	s32 := expRow(x32, 0.7, 1.5)
	if d := maxRel32(x32, x); d > 1e-6 || math.Abs(s32-s64) > 1e-6*s64 {
		t.Errorf("expRow: values off by %.2e, sums %v %v", d, s32, s64)
	}
	// swiglu
	g, u, da := normals(rng, 500, 3), normals(rng, 500, 1), normals(rng, 500, 1)
	a64, dg64, du64 := make([]float64, 500), make([]float64, 500), make([]float64, 500)
	a32, dg32, du32 := make([]float32, 500), make([]float32, 500), make([]float32, 500)
	swigluRow(a64, g, u)
	swigluRow(a32, to32(g), to32(u))
	swigluBackRow(dg64, du64, da, g, u)
	swigluBackRow(dg32, du32, to32(da), to32(g), to32(u))
	for name, d := range map[string]float64{"a": maxRel32(a32, a64), "dg": maxRel32(dg32, dg64), "du": maxRel32(du32, du64)} {
		if d > 1e-6 {
			t.Errorf("swiglu %s: float32 off by %.2e", name, d)
		}
	}
	// lossRow = log-softmax → distill loss → backward, composed.
	const V = 1000
	ids := []int{3, 999, 17, 3}
	lp := []float32{-0.3, -1.2, -3, -7}
	z := normals(rng, V, 4)
	logq := make([]float64, V)
	logSoftmaxForward(logq, z)
	want := distillForward(logq, ids, lp)
	dz := make([]float64, V)
	distillBackward(dz, ids, lp, 0.25)
	logSoftmaxBackward(dz, dz, logq)
	f64 := append([]float64(nil), z...)
	got64 := lossRow(f64, ids, lp, 0.25)
	f32 := to32(z)
	got32 := lossRow(f32, ids, lp, 0.25)
	if math.Abs(got64-want) > 1e-12*math.Abs(want) || math.Abs(got32-want) > 1e-6*math.Abs(want) {
		t.Errorf("lossRow: %v (float32 %v), composed %v", got64, got32, want)
	}
	var dd float64
	for j := range dz {
		dd = max(dd, math.Abs(f64[j]-dz[j]))
	}
	if dd > 1e-15 || maxRel32(f32, dz) > 1e-5 {
		t.Errorf("lossRow gradient: float64 off by %.2e, float32 by %.2e", dd, maxRel32(f32, dz))
	}
}
