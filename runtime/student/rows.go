package student

import (
	"math"

	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
)

// Row kernels for the exp-heavy loops (attention softmax, the vocabulary
// softmax, SwiGLU). Each dispatches once per row: float32 slices run the cpu
// package's vectorised kernels (ggml's exp, within 2.5 ulps), anything else
// the plain generic loop with math.Exp — the twin the fast one is tested
// against (rows_test.go).

// expRow sets x[i] = e^(a·x[i] − b) and returns Σ x[i] (in float64).
func expRow[T Float](x []T, a, b T) float64 {
	if x32, ok := any(x).([]float32); ok {
		return cpu.ExpRow(x32, float32(a), float32(b))
	}
	var s float64
	for i, v := range x {
		e := T(math.Exp(float64(a*v - b)))
		x[i] = e
		s += float64(e)
	}
	return s
}

// maxRow returns max(m, x[0], x[1], …).
func maxRow[T Float](m T, x []T) T {
	if x32, ok := any(x).([]float32); ok {
		return max(m, T(cpu.MaxRow(x32)))
	}
	for _, v := range x {
		m = max(m, v)
	}
	return m
}

// softmaxBackRow: ds[j] = a[j]·(ds[j] − delta)·scale (ds holds dA on entry).
func softmaxBackRow[T Float](ds, a []T, delta, scale T) {
	if d32, ok := any(ds).([]float32); ok {
		cpu.SoftmaxBack(d32, any(a).([]float32), float32(delta), float32(scale))
		return
	}
	for j := range ds {
		ds[j] = a[j] * (ds[j] - delta) * scale
	}
}

// scaleRow: x[j] *= s.
func scaleRow[T Float](x []T, s T) {
	for j := range x {
		x[j] *= s
	}
}

// lossRow is log-softmax, the sparse distillation loss and their backward
// fused, for one row of logits z [V], overwritten by dz, the gradient of
// scale·loss:
//
//	logq = z − lse(z),  loss = −Σ_k p_k·logq[ids[k]],  p_k = e^{lp[k]}
//	dz_j = scale·(Σ_k p_k)·softmax(z)_j − scale·Σ_{k: ids[k]=j} p_k
//
// (logSoftmaxForward/Backward and distillForward/Backward composed, with one
// exponential per vocabulary entry). It returns the loss.
func lossRow[T Float](z []T, ids []int, lp []float32, scale float64) float64 {
	mx := maxRow(T(math.Inf(-1)), z)
	var loss, sp float64
	for k, id := range ids {
		p := math.Exp(float64(lp[k]))
		sp += p
		if p != 0 {
			loss -= p * float64(z[id]-mx) // lse is added below
		}
	}
	sum := expRow(z, 1, mx) // z_j ← e^(z_j − mx)
	loss += sp * math.Log(sum)
	c := T(scale * sp / sum)
	for j := range z {
		z[j] *= c
	}
	for k, id := range ids {
		z[id] -= T(scale * math.Exp(float64(lp[k])))
	}
	return loss
}

// swigluRow: a[i] = silu(g[i])·u[i] (see swigluForward).
func swigluRow[T Float](a, g, u []T) {
	if a32, ok := any(a).([]float32); ok {
		cpu.SwiGLU(a32, any(g).([]float32), any(u).([]float32)) // g/(1 + e^−g)·u
		return
	}
	for i := range a {
		s := 1 / (1 + T(math.Exp(-float64(g[i]))))
		a[i] = g[i] * s * u[i]
	}
}

// swigluBackRow: du, dg from da (see swigluBackward).
func swigluBackRow[T Float](dg, du, da, g, u []T) {
	if dg32, ok := any(dg).([]float32); ok {
		cpu.SwiGLUBack(dg32, any(du).([]float32), any(da).([]float32), any(g).([]float32), any(u).([]float32))
		return
	}
	for i := range dg {
		s := 1 / (1 + T(math.Exp(-float64(g[i]))))
		du[i] = da[i] * g[i] * s
		dg[i] = da[i] * u[i] * s * (1 + g[i]*(1-s))
	}
}
