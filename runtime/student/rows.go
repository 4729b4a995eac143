package student

import "math"

// Row kernels for the exp-heavy loops (attention softmax, the vocabulary
// softmax, SwiGLU). Each dispatches once per row: float32 slices run a
// non-generic loop around expf, anything else the plain generic loop with
// math.Exp — the twin the fast one is tested against (rows_test.go).

// expRow sets x[i] = e^(a·x[i] − b) and returns Σ x[i] (in float64).
func expRow[T Float](x []T, a, b T) float64 {
	if x32, ok := any(x).([]float32); ok {
		return expRow32(x32, float32(a), float32(b))
	}
	var s float64
	for i, v := range x {
		e := T(math.Exp(float64(a*v - b)))
		x[i] = e
		s += float64(e)
	}
	return s
}

func expRow32(x []float32, a, b float32) float64 {
	var s0, s1 float32 // partial sums of at most a row: float32 is enough, summed in float64
	var s float64
	for i := range x {
		e := expf(a*x[i] - b)
		x[i] = e
		if i&1 == 0 {
			s0 += e
		} else {
			s1 += e
		}
		if i&1023 == 1023 {
			s += float64(s0) + float64(s1)
			s0, s1 = 0, 0
		}
	}
	return s + float64(s0) + float64(s1)
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
	mx := T(math.Inf(-1))
	for _, v := range z {
		mx = max(mx, v)
	}
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
		g32, u32 := any(g).([]float32), any(u).([]float32)
		for i := range a32 {
			s := 1 / (1 + expf(-g32[i]))
			a32[i] = g32[i] * s * u32[i]
		}
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
		du32, da32, g32, u32 := any(du).([]float32), any(da).([]float32), any(g).([]float32), any(u).([]float32)
		for i := range dg32 {
			s := 1 / (1 + expf(-g32[i]))
			du32[i] = da32[i] * g32[i] * s
			dg32[i] = da32[i] * u32[i] * s * (1 + g32[i]*(1-s))
		}
		return
	}
	for i := range dg {
		s := 1 / (1 + T(math.Exp(-float64(g[i]))))
		du[i] = da[i] * g[i] * s
		dg[i] = da[i] * u[i] * s * (1 + g[i]*(1-s))
	}
}
