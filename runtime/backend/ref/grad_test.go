package ref

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/backend"
)

// Each backward operation against central finite differences in float64:
// the scalar is f = Σ dy ⊙ op(x) for a fixed random dy (or the loss
// itself), and every input the backward differentiates is checked on
// sampled coordinates.

// fdStep: the truncation error (h²/6·|f⁽³⁾|) and the rounding error
// (≈1e−16·|f|/h) are then both far below 1e−6 of the gradients checked.
const fdStep = 1e-5

// fdBound is the largest relative error accepted, ‖g − g_fd‖/(‖g‖+‖g_fd‖).
const fdBound = 1e-6

var be64 = &impl[float64]{}

func rnd(rng *rand.Rand, rows, cols int, std float64) *tensor[float64] {
	t := be64.newT(rows, cols)
	for i := range t.data {
		t.data[i] = rng.NormFloat64() * std
	}
	return t
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// checkGrad compares grad (the analytic gradient of f with respect to x)
// with central differences of f on up to 40 coordinates of x.
func checkGrad(t *testing.T, name string, rng *rand.Rand, x *tensor[float64], grad []float64, f func() float64) {
	t.Helper()
	idx := rng.Perm(len(x.data))
	if len(idx) > 40 {
		idx = idx[:40]
	}
	var num, ga, fa float64
	for _, i := range idx {
		x0 := x.data[i]
		x.data[i] = x0 + fdStep
		fp := f()
		x.data[i] = x0 - fdStep
		fm := f()
		x.data[i] = x0
		fd := (fp - fm) / (2 * fdStep)
		num += (grad[i] - fd) * (grad[i] - fd)
		ga += grad[i] * grad[i]
		fa += fd * fd
	}
	rel := math.Sqrt(num) / max(math.Sqrt(ga)+math.Sqrt(fa), 1e-300)
	t.Logf("d/d%s: %d coordinates, relative error %.2e", name, len(idx), rel)
	if !(rel <= fdBound) || ga == 0 {
		t.Errorf("d/d%s: relative error %.3e > %.0e (‖g‖² %g)", name, rel, fdBound, ga)
	}
}

func TestGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	t.Run("MatMul", func(t *testing.T) {
		x, w, dy := rnd(rng, 4, 12, 1), rnd(rng, 7, 12, 0.5), rnd(rng, 4, 7, 1)
		y := be64.newT(4, 7)
		f := func() float64 { be64.MatMul(y, x, w); return dot(dy.data, y.data) }
		dx := be64.newT(4, 12)
		be64.MatMulBack(dx, dy, w, false)
		checkGrad(t, "x", rng, x, dx.data, f)
	})
	t.Run("RMSNorm", func(t *testing.T) {
		x, w, dy := rnd(rng, 3, 16, 2), rnd(rng, 1, 16, 1), rnd(rng, 3, 16, 1)
		y, r := be64.newT(3, 16), be64.newT(3, 1)
		f := func() float64 { be64.RMSNorm(y, r, x, w, 1e-5); return dot(dy.data, y.data) }
		f()
		dx := be64.newT(3, 16)
		be64.RMSNormBack(dx, dy, x, r, w)
		checkGrad(t, "x", rng, x, dx.data, f)
	})
	t.Run("SwiGLU", func(t *testing.T) {
		g, u, da := rnd(rng, 3, 10, 2), rnd(rng, 3, 10, 1), rnd(rng, 3, 10, 1)
		a := be64.newT(3, 10)
		f := func() float64 { be64.SwiGLU(a, g, u); return dot(da.data, a.data) }
		dg, du := be64.newT(3, 10), be64.newT(3, 10)
		be64.SwiGLUBack(dg, du, da, g, u)
		checkGrad(t, "g", rng, g, dg.data, f)
		checkGrad(t, "u", rng, u, du.data, f)
	})
	t.Run("RoPE", func(t *testing.T) {
		for _, half := range []bool{false, true} {
			s := backend.RopeShape{Heads: 2, HeadDim: 8, Dims: 6, Half: half}
			cs := be64.newT(3, 6)
			for i := 0; i < len(cs.data); i += 2 {
				cs.data[i], cs.data[i+1] = math.Cos(float64(i)), math.Sin(float64(i))
			}
			x, dy := rnd(rng, 3, 16, 1), rnd(rng, 3, 16, 1)
			y := be64.newT(3, 16)
			f := func() float64 { copy(y.data, x.data); be64.RoPE(y, cs, s, false); return dot(dy.data, y.data) }
			dx := be64.newT(3, 16)
			copy(dx.data, dy.data)
			be64.RoPE(dx, cs, s, true)
			checkGrad(t, fmt.Sprintf("x (half %v)", half), rng, x, dx.data, f)
		}
	})
	t.Run("PrefixAttention", func(t *testing.T) {
		s := backend.AttnShape{Heads: 4, KVHeads: 2, HeadDim: 8}
		off, P := []int{0, 3, 7}, 4
		N := off[len(off)-1]
		q, k, v := rnd(rng, N, 32, 1), rnd(rng, N, 16, 1), rnd(rng, N, 16, 1)
		kp, vp := rnd(rng, 2*P, 8, 1), rnd(rng, 2*P, 8, 1)
		datt := rnd(rng, N, 32, 1)
		att, lse := be64.newT(N, 32), be64.newT(N, 4)
		f := func() float64 {
			be64.PrefixAttention(att, lse, q, k, v, kp, vp, s, off)
			return dot(datt.data, att.data)
		}
		f()
		dkp, dvp := be64.newT(2*P, 8), be64.newT(2*P, 8)
		dq, dk, dv := be64.newT(N, 32), be64.newT(N, 16), be64.newT(N, 16)
		be64.PrefixAttentionBack(dkp, dvp, dq, dk, dv, datt, lse, q, k, v, kp, vp, s, off)
		for _, c := range []struct {
			name string
			x, g *tensor[float64]
		}{{"kp", kp, dkp}, {"vp", vp, dvp}, {"q", q, dq}, {"k", k, dk}, {"v", v, dv}} {
			checkGrad(t, c.name, rng, c.x, c.g.data, f)
		}
	})
	t.Run("DistillLoss", func(t *testing.T) {
		z := rnd(rng, 2, 30, 2)
		targets := []backend.Target{{IDs: []int{4, 9, 4}, LogProbs: []float32{-0.5, -1.5, -3}}, {IDs: []int{29}, LogProbs: []float32{0}}}
		const scale = 0.7
		f := func() float64 {
			zz := &tensor[float64]{data: append([]float64(nil), z.data...), rows: 2, cols: 30}
			var s float64
			for _, l := range be64.DistillLoss(zz, targets, 0, false) {
				s += scale * l
			}
			return s
		}
		g := &tensor[float64]{data: append([]float64(nil), z.data...), rows: 2, cols: 30}
		be64.DistillLoss(g, targets, scale, true)
		checkGrad(t, "z", rng, z, g.data, f)
	})
}

// TestRoundF16 checks the reference's binary16 rounding at the edges of the
// format.
func TestRoundF16(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{
		{1, 1}, {1 + 1.0/2048, 1}, {1 + 3.0/2048, 1 + 2.0/1024}, {65504, 65504}, {65519, 65504},
		{65520, math.Inf(1)}, {-65520, math.Inf(-1)}, {math.Ldexp(1, -24), math.Ldexp(1, -24)},
		{math.Ldexp(1, -25), 0}, {math.Ldexp(3, -26), math.Ldexp(1, -24)}, {0.1, 0.0999755859375},
	} {
		if got := f16Round(c.in); got != c.want {
			t.Errorf("f16Round(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
