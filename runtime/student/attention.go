package student

import (
	"math"

	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
)

// Attention over [prefix ‖ own tokens] with GQA and a causal mask, forward
// and backward side by side.
//
// For sequence b, query head h (KV head g = h/G, G = Heads/KVHeads) and
// token t (position P+t):
//
//	s_j  = q_t·k_j / √hd   for j over the prefix 0..P−1 and the own tokens 0..t
//	A    = softmax(s)      (own tokens after t are masked out)
//	o_t  = Σ_j A_j·v_j
//
// The work is done per (sequence, KV head): the G query heads sharing a KV
// head are stacked into one [G·T, hd] matrix so each product is one GEMM, and
// the prefix and own-token columns of the scores are kept in two matrices,
// Sp [G·T, P] and So [G·T, T], so that the prefix gradients accumulate by
// GEMM straight into the [KVHeads, P, hd] gradient buffers. The attention
// weights are not stored: the backward recomputes them from q, k and the
// saved log-sum-exp of each row (memory O(N·Heads), not O(N·Heads·(P+T))).
// Tasks run one after another with the products parallel inside them, so the
// prefix gradient sums in a fixed order: results do not depend on threads.

// attnShape is the attention's geometry.
type attnShape struct {
	heads, kvHeads, hd int
}

// batchLayout says where each sequence of a flattened batch lives.
type batchLayout struct {
	p   int   // prefix length
	off []int // sequence b owns rows off[b]..off[b+1]−1
}

func (l batchLayout) maxLen() int {
	m := 0
	for b := 0; b+1 < len(l.off); b++ {
		m = max(m, l.off[b+1]-l.off[b])
	}
	return m
}

// attnScratch holds one task's buffers, sized for the longest sequence.
type attnScratch[T Float] struct {
	qg, og, dog []T // [G·T, hd]
	ko, vo      []T // [T, hd]
	dko, dvo    []T // [T, hd]
	sp, dsp     []T // [G·T, P]
	so, dso     []T // [G·T, T]
	rinv        []T // [G·T] 1/Σ of each softmax row (forward)
	group       int
}

func newAttnScratch[T Float](c attnShape, lay batchLayout, backward bool, ar *arena[T]) *attnScratch[T] {
	G := c.heads / c.kvHeads
	tl := lay.maxLen()
	R := G * tl
	s := &attnScratch[T]{group: G,
		qg: ar.get(R * c.hd), og: ar.get(R * c.hd),
		ko: ar.get(tl * c.hd), vo: ar.get(tl * c.hd),
		sp: ar.get(R * lay.p), so: ar.get(R * tl), rinv: ar.get(R)}
	if backward {
		s.dog = ar.get(R * c.hd)
		s.dko, s.dvo = ar.get(tl*c.hd), ar.get(tl*c.hd)
		s.dsp, s.dso = ar.get(R*lay.p), ar.get(R*tl)
	}
	return s
}

// gatherHeads copies nh heads h0..h0+nh−1 of one sequence's T rows out of
// x [N, heads, hd] (rows o0..o0+T−1): dst[hh·T + t] = x[o0+t, h0+hh].
func gatherHeads[T Float](dst, x []T, o0, T_, heads, h0, nh, hd int) {
	for hh := 0; hh < nh; hh++ {
		for t := 0; t < T_; t++ {
			copy(dst[(hh*T_+t)*hd:(hh*T_+t+1)*hd], x[((o0+t)*heads+h0+hh)*hd:])
		}
	}
}

// scatterHeads is gatherHeads' inverse: x[o0+t, h0+hh] = src[hh·T+t].
func scatterHeads[T Float](x, src []T, o0, T_, heads, h0, nh, hd int) {
	for hh := 0; hh < nh; hh++ {
		for t := 0; t < T_; t++ {
			copy(x[((o0+t)*heads+h0+hh)*hd:((o0+t)*heads+h0+hh+1)*hd], src[(hh*T_+t)*hd:])
		}
	}
}

// attnForward computes att and lse.
//
//	q: [N, Heads, hd] (rotated)   k, v: [N, KVHeads, hd] (k rotated)
//	kp, vp: [KVHeads, P, hd]      att: [N, Heads, hd]   lse: [N, Heads]
func attnForward[T Float](e engine, c attnShape, lay batchLayout, att, lse, q, k, v, kp, vp []T, sc *attnScratch[T]) {
	G, P, hd := sc.group, lay.p, c.hd
	scale := T(1 / math.Sqrt(float64(hd)))
	for b := 0; b+1 < len(lay.off); b++ {
		o0, T_ := lay.off[b], lay.off[b+1]-lay.off[b]
		if T_ == 0 {
			continue
		}
		R := G * T_
		for g := 0; g < c.kvHeads; g++ {
			qg, og := sc.qg[:R*hd], sc.og[:R*hd]
			ko, vo := sc.ko[:T_*hd], sc.vo[:T_*hd]
			sp, so, rinv := sc.sp[:R*P], sc.so[:R*T_], sc.rinv[:R]
			kpg, vpg := kp[g*P*hd:(g+1)*P*hd], vp[g*P*hd:(g+1)*P*hd]
			gatherHeads(qg, q, o0, T_, c.heads, g*G, G, hd)
			gatherHeads(ko, k, o0, T_, c.kvHeads, g, 1, hd)
			gatherHeads(vo, v, o0, T_, c.kvHeads, g, 1, hd)
			gemmNT(e, R, P, hd, qg, kpg, sp, false) // Sp = Qg·Kpᵀ  [G·T, P]
			gemmNT(e, R, T_, hd, qg, ko, so, false) // So = Qg·Koᵀ  [G·T, T]
			e.run(R, func(lo, hi int) {
				for r := lo; r < hi; r++ {
					t := r % T_
					spr, sor := sp[r*P:(r+1)*P], so[r*T_:(r+1)*T_]
					mx := maxRow(maxRow(T(math.Inf(-1)), spr), sor[:t+1]) // max of the raw scores (scale > 0)
					m := scale * mx
					sum := expRow(spr, scale, m) + expRow(sor[:t+1], scale, m) // e^(s_j − max s)
					clear(sor[t+1:])                                           // causal mask
					rinv[r] = T(1 / sum)
					lse[(o0+t)*c.heads+g*G+r/T_] = m + T(math.Log(sum))
				}
			})
			// The rows of A are normalised after the product: O = (E·V)/Σ E.
			gemmNN(e, R, hd, P, sp, vpg, og, false) // O = Ap·Vp
			gemmNN(e, R, hd, T_, so, vo, og, true)  //   + Ao·Vo  [G·T, hd]
			for r := 0; r < R; r++ {
				scaleRow(og[r*hd:(r+1)*hd], rinv[r])
			}
			scatterHeads(att, og, o0, T_, c.heads, g*G, G, hd)
		}
	}
}

// attnBackward adds the prefix gradients into dkp, dvp [KVHeads, P, hd]
// and, when dq is not nil, writes (overwrites) dq [N, Heads, hd] and
// dk, dv [N, KVHeads, hd], all from datt [N, Heads, hd].
//
//	O = A·V            ⇒ dA = dO·Vᵀ,  dV = Aᵀ·dO
//	A = softmax(S)     ⇒ dS_j = A_j·(dA_j − Σ_i A_i·dA_i)
//	S = Q·Kᵀ/√hd       ⇒ dQ = dS·K/√hd,  dK = dSᵀ·Q/√hd
func attnBackward[T Float](e engine, c attnShape, lay batchLayout, datt, lse, q, k, v, kp, vp []T,
	dkp, dvp, dq, dk, dv []T, sc *attnScratch[T]) {
	G, P, hd := sc.group, lay.p, c.hd
	scale := T(1 / math.Sqrt(float64(hd)))
	for b := 0; b+1 < len(lay.off); b++ {
		o0, T_ := lay.off[b], lay.off[b+1]-lay.off[b]
		if T_ == 0 {
			continue
		}
		R := G * T_
		for g := 0; g < c.kvHeads; g++ {
			qg, dog, dqg := sc.qg[:R*hd], sc.dog[:R*hd], sc.og[:R*hd]
			ko, vo := sc.ko[:T_*hd], sc.vo[:T_*hd]
			sp, so := sc.sp[:R*P], sc.so[:R*T_]
			dsp, dso := sc.dsp[:R*P], sc.dso[:R*T_]
			kpg, vpg := kp[g*P*hd:(g+1)*P*hd], vp[g*P*hd:(g+1)*P*hd]
			dkpg, dvpg := dkp[g*P*hd:(g+1)*P*hd], dvp[g*P*hd:(g+1)*P*hd]
			gatherHeads(qg, q, o0, T_, c.heads, g*G, G, hd)
			gatherHeads(dog, datt, o0, T_, c.heads, g*G, G, hd)
			gatherHeads(ko, k, o0, T_, c.kvHeads, g, 1, hd)
			gatherHeads(vo, v, o0, T_, c.kvHeads, g, 1, hd)
			// Recompute A from S and the saved log-sum-exp.
			gemmNT(e, R, P, hd, qg, kpg, sp, false)
			gemmNT(e, R, T_, hd, qg, ko, so, false)
			gemmNT(e, R, P, hd, dog, vpg, dsp, false) // dAp = dO·Vpᵀ  [G·T, P]
			gemmNT(e, R, T_, hd, dog, vo, dso, false) // dAo = dO·Voᵀ  [G·T, T]
			e.run(R, func(lo, hi int) {
				for r := lo; r < hi; r++ {
					t := r % T_
					m := lse[(o0+t)*c.heads+g*G+r/T_]
					spr, sor := sp[r*P:(r+1)*P], so[r*T_:(r+1)*T_]
					dspr, dsor := dsp[r*P:(r+1)*P], dso[r*T_:(r+1)*T_]
					expRow(spr, scale, m) // A = e^(s − lse)
					expRow(sor[:t+1], scale, m)
					delta := dotT(spr, dspr) + dotT(sor[:t+1], dsor[:t+1]) // Σ_i A_i·dA_i
					clear(sor[t+1:])
					clear(dsor[t+1:])
					// dS = A·(dA − δ), with the 1/√hd of S folded in.
					softmaxBackRow(dspr, spr, delta, scale)
					softmaxBackRow(dsor[:t+1], sor[:t+1], delta, scale)
				}
			})
			gemmTN(e, P, hd, R, dsp, qg, dkpg, true) // dKp += dSpᵀ·Qg  [P, hd]
			gemmTN(e, P, hd, R, sp, dog, dvpg, true) // dVp += Apᵀ·dO   [P, hd]
			if dq == nil {
				continue
			}
			dko, dvo := sc.dko[:T_*hd], sc.dvo[:T_*hd]
			gemmNN(e, R, hd, P, dsp, kpg, dqg, false) // dQ = dSp·Kp
			gemmNN(e, R, hd, T_, dso, ko, dqg, true)  //    + dSo·Ko
			gemmTN(e, T_, hd, R, dso, qg, dko, false) // dKo = dSoᵀ·Qg
			gemmTN(e, T_, hd, R, so, dog, dvo, false) // dVo = Aoᵀ·dO
			scatterHeads(dq, dqg, o0, T_, c.heads, g*G, G, hd)
			scatterHeads(dk, dko, o0, T_, c.kvHeads, g, 1, hd)
			scatterHeads(dv, dvo, o0, T_, c.kvHeads, g, 1, hd)
		}
	}
}

// dotT is Σ a[i]·b[i]: cpu.Dot for float32, a plain loop otherwise.
func dotT[T Float](a, b []T) T {
	if a32, ok := any(a).([]float32); ok {
		return T(cpu.Dot(a32, any(b).([]float32)))
	}
	var s T
	for i, v := range a {
		s += v * b[i]
	}
	return s
}
