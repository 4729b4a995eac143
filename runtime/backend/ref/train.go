package ref

import (
	"math"
	"sort"

	"github.com/cartlsp/cartlsp/runtime/backend"
)

// The student's operations: attention over a trainable prefix, the backward
// passes, the distillation loss. Each backward quotes the forward line it
// differentiates.

// gemmNT: c[m,n] (+)= a[m,k] · b[n,k]ᵀ.
func gemmNT[T Float](m, n, k int, a, b, c []T, acc bool) {
	for i := 0; i < m; i++ {
		ar := a[i*k : (i+1)*k]
		for j := 0; j < n; j++ {
			br := b[j*k : (j+1)*k]
			var s T
			for p, v := range ar {
				s += v * br[p]
			}
			if acc {
				c[i*n+j] += s
			} else {
				c[i*n+j] = s
			}
		}
	}
}

// gemmNN: c[m,n] (+)= a[m,k] · b[k,n].
func gemmNN[T Float](m, n, k int, a, b, c []T, acc bool) {
	for i := 0; i < m; i++ {
		cr := c[i*n : (i+1)*n]
		if !acc {
			clear(cr)
		}
		for p := 0; p < k; p++ {
			av := a[i*k+p]
			for j, v := range b[p*n : (p+1)*n] {
				cr[j] += av * v
			}
		}
	}
}

// gemmTN: c[m,n] (+)= a[k,m]ᵀ · b[k,n].
func gemmTN[T Float](m, n, k int, a, b, c []T, acc bool) {
	for i := 0; i < m; i++ {
		cr := c[i*n : (i+1)*n]
		if !acc {
			clear(cr)
		}
		for p := 0; p < k; p++ {
			av := a[p*m+i]
			for j, v := range b[p*n : (p+1)*n] {
				cr[j] += av * v
			}
		}
	}
}

// MatMulBack: "y = x·Wᵀ" ⇒ dx (+)= dy·W.
func (b *impl[T]) MatMulBack(dx, dy, w backend.Tensor, acc bool) {
	d, g, wt := of[T](dx), of[T](dy), of[T](w)
	gemmNN(g.rows, wt.cols, wt.rows, g.data, wt.data, d.data, acc)
}

// RMSNormBack: "y_i = x_i·r·w_i, r = (Σ_j x_j²/D + eps)^(−½)" ⇒
// dx_j += r·w_j·dy_j − x_j·r³/D·Σ_i dy_i·w_i·x_i.
func (b *impl[T]) RMSNormBack(dx, dy, x, rstd, w backend.Tensor) {
	d, g, xt, rs, wt := of[T](dx), of[T](dy), of[T](x), of[T](rstd), of[T](w)
	D := xt.cols
	for t := 0; t < xt.rows; t++ {
		xr, dyr, dxr := xt.row(t), g.row(t), d.row(t)
		r := rs.data[t]
		var dot float64
		for i, v := range xr {
			dot += float64(dyr[i] * wt.data[i] * v)
		}
		c := T(dot) * r * r * r / T(D)
		for i, v := range xr {
			dxr[i] += r*wt.data[i]*dyr[i] - v*c
		}
	}
}

// SwiGLUBack: "a = g·σ(g)·u" ⇒ du = da·g·σ(g), dg = da·u·σ(g)·(1 + g·(1 − σ(g))).
func (b *impl[T]) SwiGLUBack(dg, du, da, g, u backend.Tensor) {
	dgt, dut, dat, gt, ut := of[T](dg), of[T](du), of[T](da), of[T](g), of[T](u)
	for i, gv := range gt.data {
		s := sigmoid(gv)
		dut.data[i] = dat.data[i] * gv * s
		dgt.data[i] = dat.data[i] * ut.data[i] * s * (1 + gv*(1-s))
	}
}

// prefixRows calls fn for every (sequence b, query head h, own token t) of
// a flattened batch: the row of q is off[b]+t.
func prefixRows(s backend.AttnShape, off []int, fn func(o0, T_, h, t int)) {
	for b := 0; b+1 < len(off); b++ {
		o0, T_ := off[b], off[b+1]-off[b]
		for h := 0; h < s.Heads; h++ {
			for t := 0; t < T_; t++ {
				fn(o0, T_, h, t)
			}
		}
	}
}

// scores sets w[j] for the P prefix keys then the t+1 own keys, and returns
// the softmax weights (normalised) and the log-sum-exp of the scaled scores.
func scores[T Float](w []T, qr []T, kp *tensor[T], k *tensor[T], g, P, o0, t, hd int) ([]T, T) {
	scale := 1 / math.Sqrt(float64(hd))
	w = w[:P+t+1]
	for j := range w {
		var kr []T
		if j < P {
			kr = kp.row(g*P + j)
		} else {
			kr = k.row(o0 + j - P)[g*hd : (g+1)*hd]
		}
		var s T
		for d, v := range qr {
			s += v * kr[d]
		}
		w[j] = s * T(scale)
	}
	mx := math.Inf(-1)
	for _, v := range w {
		mx = max(mx, float64(v))
	}
	var sum float64
	for j, v := range w {
		e := math.Exp(float64(v) - mx)
		w[j] = T(e)
		sum += e
	}
	for j := range w {
		w[j] /= T(sum)
	}
	return w, T(mx + math.Log(sum))
}

// PrefixAttention: s_j = q_t·k_j/√hd over the prefix and own tokens ≤ t,
// A = softmax(s), o_t = Σ_j A_j·v_j.
func (b *impl[T]) PrefixAttention(att, lse, q, k, v, kp, vp backend.Tensor, s backend.AttnShape, off []int) {
	at, lt, qt, kt, vt, kpt, vpt := of[T](att), of[T](lse), of[T](q), of[T](k), of[T](v), of[T](kp), of[T](vp)
	hd, G, P := s.HeadDim, s.Heads/s.KVHeads, kpt.rows/s.KVHeads
	w := make([]T, P+maxSeq(off))
	prefixRows(s, off, func(o0, T_, h, t int) {
		g := h / G
		a, m := scores(w, qt.row(o0 + t)[h*hd:(h+1)*hd], kpt, kt, g, P, o0, t, hd)
		lt.row(o0 + t)[h] = m
		o := at.row(o0 + t)[h*hd : (h+1)*hd]
		clear(o)
		for j, aj := range a {
			var vr []T
			if j < P {
				vr = vpt.row(g*P + j)
			} else {
				vr = vt.row(o0 + j - P)[g*hd : (g+1)*hd]
			}
			for d := range o {
				o[d] += aj * vr[d]
			}
		}
	})
}

// PrefixAttentionBack:
//
//	O = A·V            ⇒ dA = dO·Vᵀ,  dV = Aᵀ·dO
//	A = softmax(S)     ⇒ dS_j = A_j·(dA_j − Σ_i A_i·dA_i)
//	S = Q·Kᵀ/√hd       ⇒ dQ = dS·K/√hd,  dK = dSᵀ·Q/√hd
func (b *impl[T]) PrefixAttentionBack(dkp, dvp, dq, dk, dv, datt, lse, q, k, v, kp, vp backend.Tensor, s backend.AttnShape, off []int) {
	dkpt, dvpt, dat, qt, kt, vt, kpt, vpt := of[T](dkp), of[T](dvp), of[T](datt), of[T](q), of[T](k), of[T](v), of[T](kp), of[T](vp)
	dqt, dkt, dvt := of[T](dq), of[T](dk), of[T](dv)
	hd, G, P := s.HeadDim, s.Heads/s.KVHeads, kpt.rows/s.KVHeads
	scale := T(1 / math.Sqrt(float64(hd)))
	if dqt != nil {
		clear(dqt.data)
		clear(dkt.data)
		clear(dvt.data)
	}
	w := make([]T, P+maxSeq(off))
	da := make([]T, P+maxSeq(off))
	prefixRows(s, off, func(o0, T_, h, t int) {
		g := h / G
		qr := qt.row(o0 + t)[h*hd : (h+1)*hd]
		dor := dat.row(o0 + t)[h*hd : (h+1)*hd]
		a, _ := scores(w, qr, kpt, kt, g, P, o0, t, hd)
		key := func(j int) ([]T, []T, []T, []T) { // k_j, v_j and where their gradients go
			if j < P {
				return kpt.row(g*P + j), vpt.row(g*P + j), dkpt.row(g*P + j), dvpt.row(g*P + j)
			}
			r := o0 + j - P
			var dkr, dvr []T
			if dqt != nil {
				dkr, dvr = dkt.row(r)[g*hd:(g+1)*hd], dvt.row(r)[g*hd:(g+1)*hd]
			}
			return kt.row(r)[g*hd : (g+1)*hd], vt.row(r)[g*hd : (g+1)*hd], dkr, dvr
		}
		var delta T
		for j, aj := range a {
			_, vr, _, dvr := key(j)
			var s T
			for d, g := range dor {
				s += g * vr[d]
			}
			da[j] = s
			delta += aj * s
			if dvr != nil {
				for d, g := range dor {
					dvr[d] += aj * g // dV = Aᵀ·dO
				}
			}
		}
		for j, aj := range a {
			kr, _, dkr, _ := key(j)
			ds := aj * (da[j] - delta) * scale
			if dkr != nil {
				for d, qv := range qr {
					dkr[d] += ds * qv
				}
			}
			if dqt != nil {
				dqr := dqt.row(o0 + t)[h*hd : (h+1)*hd]
				for d, kv := range kr {
					dqr[d] += ds * kv
				}
			}
		}
	})
}

func maxSeq(off []int) int {
	m := 0
	for b := 0; b+1 < len(off); b++ {
		m = max(m, off[b+1]-off[b])
	}
	return m
}

// DistillLoss: logq = z − lse(z), loss = −Σ_k p_k·logq[ids[k]] with
// p_k = e^{lp[k]}; dz_j = scale·(Σ_k p_k·softmax(z)_j − Σ_{k: ids[k]=j} p_k).
func (b *impl[T]) DistillLoss(z backend.Tensor, targets []backend.Target, scale float64, grad bool) []float64 {
	zt := of[T](z)
	losses := make([]float64, len(targets))
	for r, tg := range targets {
		zr := zt.row(r)
		mx := math.Inf(-1)
		for _, v := range zr {
			mx = max(mx, float64(v))
		}
		var sum float64
		for _, v := range zr {
			sum += math.Exp(float64(v) - mx)
		}
		lse := mx + math.Log(sum)
		var sp float64
		for k, id := range tg.IDs {
			p := math.Exp(float64(tg.LogProbs[k]))
			sp += p
			if p != 0 {
				losses[r] -= p * (float64(zr[id]) - lse)
			}
		}
		if !grad {
			continue
		}
		for j, v := range zr {
			zr[j] = T(scale * sp * math.Exp(float64(v)-lse))
		}
		for k, id := range tg.IDs {
			zr[id] -= T(scale * math.Exp(float64(tg.LogProbs[k])))
		}
	}
	return losses
}

// TopK: the k largest logits of each row (ties to the lower id) with their
// log-softmax values.
func (b *impl[T]) TopK(logits backend.Tensor, k int) ([]int, []float32) {
	lt := of[T](logits)
	k = min(k, lt.cols)
	ids, lp := make([]int, lt.rows*k), make([]float32, lt.rows*k)
	idx := make([]int, lt.cols)
	for r := 0; r < lt.rows; r++ {
		z := lt.row(r)
		mx := math.Inf(-1)
		for _, v := range z {
			mx = max(mx, float64(v))
		}
		var sum float64
		for _, v := range z {
			sum += math.Exp(float64(v) - mx)
		}
		lse := mx + math.Log(sum)
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, c int) bool { return z[idx[a]] > z[idx[c]] })
		for i := 0; i < k; i++ {
			ids[r*k+i] = idx[i]
			lp[r*k+i] = float32(float64(z[idx[i]]) - lse)
		}
	}
	return ids, lp
}
