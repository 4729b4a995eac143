package student

import (
	"math"
	"unsafe"

	"github.com/cartlsp/cartlsp/runtime/model"
)

// Each layer's forward and backward, side by side. A backward function
// ADDS its input gradient into dx (residual connections then need no extra
// pass) unless it says it overwrites. Every backward line quotes the forward
// line it differentiates.

// ---------------------------------------------------------------------------
// Embedding lookup.

// embedForward gathers rows: x[t] = E[tok[t]].
//
//	x: [N, D], E: [V, D]
//
// There is no backward: tokens are discrete and the embedding is frozen.
func embedForward[T Float](x, embed []T, toks []int, d int) {
	for t, tok := range toks {
		copy(x[t*d:(t+1)*d], embed[tok*d:(tok+1)*d])
	}
}

// ---------------------------------------------------------------------------
// RMSNorm with a weight.

// rmsnormForward: out[t] = x[t] · rstd[t] ⊙ w, rstd[t] = 1/√(mean(x[t]²) + eps).
//
//	out, x: [N, D], w: [D], rstd: [N] (saved for the backward)
func rmsnormForward[T Float](e engine, out, rstd, x, w []T, n, d int, eps float64) {
	e.run(n, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			xr := x[t*d : (t+1)*d]
			or := out[t*d : (t+1)*d]
			var ss float64
			for _, v := range xr {
				ss += float64(v) * float64(v)
			}
			r := T(1 / math.Sqrt(ss/float64(d)+eps))
			rstd[t] = r
			for i, v := range xr {
				or[i] = v * r * w[i]
			}
		}
	})
}

// rmsnormBackward adds to dx[N, D] the gradient through rmsnormForward.
//
//	y_i = x_i · r · w_i,  r = (Σ_j x_j²/D + eps)^(−½)  ⇒  ∂r/∂x_j = −r³·x_j/D
//	dx_j = r·w_j·dy_j − x_j · r³/D · Σ_i dy_i·w_i·x_i
func rmsnormBackward[T Float](e engine, dx, dy, x, rstd, w []T, n, d int) {
	e.run(n, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			xr, dyr, dxr := x[t*d:(t+1)*d], dy[t*d:(t+1)*d], dx[t*d:(t+1)*d]
			r := rstd[t]
			var dot float64 // Σ dy_i·w_i·x_i
			for i, v := range xr {
				dot += float64(dyr[i] * w[i] * v)
			}
			c := T(dot) * r * r * r / T(d)
			for i, v := range xr {
				dxr[i] += r*w[i]*dyr[i] - v*c
			}
		}
	})
}

// ---------------------------------------------------------------------------
// Linear layer: y = x·Wᵀ (+ b).

// linearForward: y[N, out] = x[N, in] · W[out, in]ᵀ + b[out] (b may be nil).
func linearForward[T Float](e engine, y, x, w, b []T, n, in, out int) {
	gemmNT(e, n, out, in, x, w, y, false)
	if b != nil {
		for t := 0; t < n; t++ {
			row := y[t*out : (t+1)*out]
			for i := range row {
				row[i] += b[i]
			}
		}
	}
}

// linearBackward: dx[N, in] (+)= dy[N, out] · W[out, in] (acc adds);
// differentiates "y = x·Wᵀ + b". W and b are frozen: no gradient for them.
func linearBackward[T Float](e engine, dx, dy, w []T, n, in, out int, acc bool) {
	gemmNN(e, n, in, out, dy, w, dx, acc)
}

// ---------------------------------------------------------------------------
// RoPE.

// ropeForward rotates x[N, heads, hd] in place by each row's angles
// cs[N, dims/2, 2] (from ropeTable):
//
//	adjacent: (x[2i], x[2i+1]) ← (x0·cos − x1·sin, x0·sin + x1·cos)
//	half:     (x[i], x[i+dims/2]) likewise
func ropeForward[T Float](r ropeAngles, x, cs []T, n, heads, hd int) {
	ropeRotate(r, x, cs, n, heads, hd, 1)
}

// ropeBackward turns dy into dx in place (overwrites): the rotation is
// orthogonal, so the gradient is rotated by −θ:
//
//	y0 = x0·cos − x1·sin ; y1 = x0·sin + x1·cos
//	dx0 = dy0·cos + dy1·sin ; dx1 = −dy0·sin + dy1·cos
func ropeBackward[T Float](r ropeAngles, dx, cs []T, n, heads, hd int) {
	ropeRotate(r, dx, cs, n, heads, hd, -1)
}

func ropeRotate[T Float](r ropeAngles, x, cs []T, n, heads, hd int, sign T) {
	half := r.dims / 2
	for t := 0; t < n; t++ {
		c := cs[t*half*2 : (t+1)*half*2]
		for h := 0; h < heads; h++ {
			v := x[(t*heads+h)*hd : (t*heads+h+1)*hd]
			for i := 0; i < half; i++ {
				cos, sin := c[2*i], sign*c[2*i+1]
				a, b := 2*i, 2*i+1
				if r.layout == model.RopeHalf {
					a, b = i, i+half
				}
				x0, x1 := v[a], v[b]
				v[a] = x0*cos - x1*sin
				v[b] = x0*sin + x1*cos
			}
		}
	}
}

// ---------------------------------------------------------------------------
// SwiGLU: a = silu(g) ⊙ u, silu(g) = g·σ(g).

// swigluForward: a[N, F] = silu(g) ⊙ u.
func swigluForward[T Float](e engine, a, g, u []T) {
	e.run(len(a), func(lo, hi int) { swigluRow(a[lo:hi], g[lo:hi], u[lo:hi]) })
}

// swigluBackward writes (overwrites) dg and du from da:
//
//	a = g·σ(g)·u  ⇒  du = da·g·σ(g),  dg = da·u·σ(g)·(1 + g·(1 − σ(g)))
func swigluBackward[T Float](e engine, dg, du, da, g, u []T) {
	e.run(len(da), func(lo, hi int) { swigluBackRow(dg[lo:hi], du[lo:hi], da[lo:hi], g[lo:hi], u[lo:hi]) })
}

// ---------------------------------------------------------------------------
// Residual: x_out = x_in + f(x_in). Forward adds in place; the backward is
// dx_in = dx_out + (gradient through f), which the accumulating backward
// functions above provide by adding into the same buffer.

func addInto[T Float](x, y []T) {
	for i := range x {
		x[i] += y[i]
	}
}

// ---------------------------------------------------------------------------
// exp: float32 by expf (a fast twin of math.Exp, tested against it),
// float64 by math.Exp.

func exp[T Float](x T) T {
	if unsafe.Sizeof(x) == 4 {
		return T(expf(float32(x)))
	}
	return T(math.Exp(float64(x)))
}

// expf returns e^x within a few float32 ulps: x = k·ln2 + r with |r| ≤ ln2/2,
// e^r by its degree-7 Taylor polynomial (truncation < 5e−9 relative), times
// 2^k built from exponent bits.
func expf(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693145751953125 // ln 2 split so that k·ln2hi is exact
		ln2lo = 1.42860682030941723212e-6
	)
	switch {
	case x != x:
		return x
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -103.97208:
		return 0
	}
	kf := x * log2e
	if kf >= 0 {
		kf += 0.5
	} else {
		kf -= 0.5
	}
	k := int32(kf)
	r := x - float32(k)*ln2hi - float32(k)*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040)))))))
	if k >= -126 && k <= 127 {
		return p * math.Float32frombits(uint32(k+127)<<23)
	}
	// 2^k as two factors so that k in [−150, 128] never leaves the normal range.
	k1 := k / 2
	return p * math.Float32frombits(uint32(k1+127)<<23) * math.Float32frombits(uint32(k-k1+127)<<23)
}
