package cpu

import (
	"math"
	"sync"

	"github.com/cartlsp/cartlsp/runtime/backend"
)

// Attention over [prefix ‖ own tokens] for the student, forward and backward
// side by side, with GQA and a causal mask.
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
// GEMM straight into the [KVHeads·P, hd] gradient buffers. The attention
// weights are not stored: the backward recomputes them from q, k and the
// saved log-sum-exp of each row (memory O(N·Heads), not O(N·Heads·(P+T))).
// Tasks run one after another with the products parallel inside them, so the
// prefix gradient sums in a fixed order: results do not depend on threads.

// prefixScratch holds one call's buffers, sized for the longest sequence.
type prefixScratch struct {
	qg, og, dog []float32 // [G·T, hd]
	ko, vo      []float32 // [T, hd]
	dko, dvo    []float32 // [T, hd]
	sp, dsp     []float32 // [G·T, P]
	so, dso     []float32 // [G·T, T]
	rinv        []float32 // [G·T] 1/Σ of each softmax row (forward)
}

var prefixScratchPool = sync.Pool{New: func() any { return new(prefixScratch) }}

func getPrefixScratch(s backend.AttnShape, p, tl int, backward bool) *prefixScratch {
	sc := prefixScratchPool.Get().(*prefixScratch)
	G := s.Heads / s.KVHeads
	R, hd := G*tl, s.HeadDim
	sc.qg, sc.og = grow(sc.qg, R*hd), grow(sc.og, R*hd)
	sc.ko, sc.vo = grow(sc.ko, tl*hd), grow(sc.vo, tl*hd)
	sc.sp, sc.so, sc.rinv = grow(sc.sp, R*p), grow(sc.so, R*tl), grow(sc.rinv, R)
	if backward {
		sc.dog = grow(sc.dog, R*hd)
		sc.dko, sc.dvo = grow(sc.dko, tl*hd), grow(sc.dvo, tl*hd)
		sc.dsp, sc.dso = grow(sc.dsp, R*p), grow(sc.dso, R*tl)
	}
	return sc
}

func maxSeq(off []int) int {
	m := 0
	for b := 0; b+1 < len(off); b++ {
		m = max(m, off[b+1]-off[b])
	}
	return m
}

// gatherHeads copies nh heads h0..h0+nh−1 of one sequence's T rows out of
// x [N, heads·hd] (rows o0..o0+T−1): dst[hh·T + t] = x[o0+t, h0+hh].
func gatherHeads(dst, x []float32, o0, T, heads, h0, nh, hd int) {
	for hh := 0; hh < nh; hh++ {
		for t := 0; t < T; t++ {
			copy(dst[(hh*T+t)*hd:(hh*T+t+1)*hd], x[((o0+t)*heads+h0+hh)*hd:])
		}
	}
}

// scatterHeads is gatherHeads' inverse: x[o0+t, h0+hh] = src[hh·T+t].
func scatterHeads(x, src []float32, o0, T, heads, h0, nh, hd int) {
	for hh := 0; hh < nh; hh++ {
		for t := 0; t < T; t++ {
			copy(x[((o0+t)*heads+h0+hh)*hd:((o0+t)*heads+h0+hh+1)*hd], src[(hh*T+t)*hd:])
		}
	}
}

// PrefixAttention computes att and lse.
//
//	q: [N, Heads·hd] (rotated)   k, v: [N, KVHeads·hd] (k rotated)
//	kp, vp: [KVHeads·P, hd]      att: [N, Heads·hd]   lse: [N, Heads]
func (be *Backend) PrefixAttention(att, lse, q, k, v, kp, vp backend.Tensor, c backend.AttnShape, off []int) {
	attA, lseA, qA, kA, vA, kpA, vpA := act(att).data, act(lse).data, act(q).data, act(k).data, act(v).data, act(kp).data, act(vp).data
	hd, G := c.HeadDim, c.Heads/c.KVHeads
	P := act(kp).rows / c.KVHeads
	sc := getPrefixScratch(c, P, maxSeq(off), false)
	defer prefixScratchPool.Put(sc)
	scale := float32(1 / math.Sqrt(float64(hd)))
	for b := 0; b+1 < len(off); b++ {
		o0, T := off[b], off[b+1]-off[b]
		if T == 0 {
			continue
		}
		R := G * T
		for g := 0; g < c.KVHeads; g++ {
			qg, og := sc.qg[:R*hd], sc.og[:R*hd]
			ko, vo := sc.ko[:T*hd], sc.vo[:T*hd]
			sp, so, rinv := sc.sp[:R*P], sc.so[:R*T], sc.rinv[:R]
			kpg, vpg := kpA[g*P*hd:(g+1)*P*hd], vpA[g*P*hd:(g+1)*P*hd]
			gatherHeads(qg, qA, o0, T, c.Heads, g*G, G, hd)
			gatherHeads(ko, kA, o0, T, c.KVHeads, g, 1, hd)
			gatherHeads(vo, vA, o0, T, c.KVHeads, g, 1, hd)
			SgemmNT(be.pool, R, P, hd, qg, kpg, sp, false) // Sp = Qg·Kpᵀ  [G·T, P]
			SgemmNT(be.pool, R, T, hd, qg, ko, so, false)  // So = Qg·Koᵀ  [G·T, T]
			be.pool.Run(R, func(lo, hi int) {
				for r := lo; r < hi; r++ {
					t := r % T
					spr, sor := sp[r*P:(r+1)*P], so[r*T:(r+1)*T]
					mx := max(MaxRow(spr), MaxRow(sor[:t+1])) // max of the raw scores (scale > 0)
					m := scale * mx
					sum := ExpRow(spr, scale, m) + ExpRow(sor[:t+1], scale, m) // e^(s_j − max s)
					clear(sor[t+1:])                                           // causal mask
					rinv[r] = float32(1 / sum)
					lseA[(o0+t)*c.Heads+g*G+r/T] = m + float32(math.Log(sum))
				}
			})
			// The rows of A are normalised after the product: O = (E·V)/Σ E.
			SgemmNN(be.pool, R, hd, P, sp, vpg, og, false) // O = Ap·Vp
			SgemmNN(be.pool, R, hd, T, so, vo, og, true)   //   + Ao·Vo  [G·T, hd]
			for r := 0; r < R; r++ {
				row := og[r*hd : (r+1)*hd]
				for j := range row {
					row[j] *= rinv[r]
				}
			}
			scatterHeads(attA, og, o0, T, c.Heads, g*G, G, hd)
		}
	}
}

// PrefixAttentionBack adds the prefix gradients into dkp, dvp and, when dq
// is not nil, writes (overwrites) dq, dk, dv, all from datt.
//
//	O = A·V            ⇒ dA = dO·Vᵀ,  dV = Aᵀ·dO
//	A = softmax(S)     ⇒ dS_j = A_j·(dA_j − Σ_i A_i·dA_i)
//	S = Q·Kᵀ/√hd       ⇒ dQ = dS·K/√hd,  dK = dSᵀ·Q/√hd
func (be *Backend) PrefixAttentionBack(dkp, dvp, dq, dk, dv, datt, lse, q, k, v, kp, vp backend.Tensor, c backend.AttnShape, off []int) {
	dkpA, dvpA, dattA, lseA := act(dkp).data, act(dvp).data, act(datt).data, act(lse).data
	qA, kA, vA, kpA, vpA := act(q).data, act(k).data, act(v).data, act(kp).data, act(vp).data
	var dqA, dkA, dvA []float32
	if dq != nil {
		dqA, dkA, dvA = act(dq).data, act(dk).data, act(dv).data
	}
	hd, G := c.HeadDim, c.Heads/c.KVHeads
	P := act(kp).rows / c.KVHeads
	sc := getPrefixScratch(c, P, maxSeq(off), true)
	defer prefixScratchPool.Put(sc)
	scale := float32(1 / math.Sqrt(float64(hd)))
	for b := 0; b+1 < len(off); b++ {
		o0, T := off[b], off[b+1]-off[b]
		if T == 0 {
			continue
		}
		R := G * T
		for g := 0; g < c.KVHeads; g++ {
			qg, dog, dqg := sc.qg[:R*hd], sc.dog[:R*hd], sc.og[:R*hd]
			ko, vo := sc.ko[:T*hd], sc.vo[:T*hd]
			sp, so := sc.sp[:R*P], sc.so[:R*T]
			dsp, dso := sc.dsp[:R*P], sc.dso[:R*T]
			kpg, vpg := kpA[g*P*hd:(g+1)*P*hd], vpA[g*P*hd:(g+1)*P*hd]
			dkpg, dvpg := dkpA[g*P*hd:(g+1)*P*hd], dvpA[g*P*hd:(g+1)*P*hd]
			gatherHeads(qg, qA, o0, T, c.Heads, g*G, G, hd)
			gatherHeads(dog, dattA, o0, T, c.Heads, g*G, G, hd)
			gatherHeads(ko, kA, o0, T, c.KVHeads, g, 1, hd)
			gatherHeads(vo, vA, o0, T, c.KVHeads, g, 1, hd)
			// Recompute A from S and the saved log-sum-exp.
			SgemmNT(be.pool, R, P, hd, qg, kpg, sp, false)
			SgemmNT(be.pool, R, T, hd, qg, ko, so, false)
			SgemmNT(be.pool, R, P, hd, dog, vpg, dsp, false) // dAp = dO·Vpᵀ  [G·T, P]
			SgemmNT(be.pool, R, T, hd, dog, vo, dso, false)  // dAo = dO·Voᵀ  [G·T, T]
			be.pool.Run(R, func(lo, hi int) {
				for r := lo; r < hi; r++ {
					t := r % T
					m := lseA[(o0+t)*c.Heads+g*G+r/T]
					spr, sor := sp[r*P:(r+1)*P], so[r*T:(r+1)*T]
					dspr, dsor := dsp[r*P:(r+1)*P], dso[r*T:(r+1)*T]
					ExpRow(spr, scale, m) // A = e^(s − lse)
					ExpRow(sor[:t+1], scale, m)
					delta := Dot(spr, dspr) + Dot(sor[:t+1], dsor[:t+1]) // Σ_i A_i·dA_i
					clear(sor[t+1:])
					clear(dsor[t+1:])
					// dS = A·(dA − δ), with the 1/√hd of S folded in.
					SoftmaxBack(dspr, spr, delta, scale)
					SoftmaxBack(dsor[:t+1], sor[:t+1], delta, scale)
				}
			})
			SgemmTN(be.pool, P, hd, R, dsp, qg, dkpg, true) // dKp += dSpᵀ·Qg  [P, hd]
			SgemmTN(be.pool, P, hd, R, sp, dog, dvpg, true) // dVp += Apᵀ·dO   [P, hd]
			if dqA == nil {
				continue
			}
			dko, dvo := sc.dko[:T*hd], sc.dvo[:T*hd]
			SgemmNN(be.pool, R, hd, P, dsp, kpg, dqg, false) // dQ = dSp·Kp
			SgemmNN(be.pool, R, hd, T, dso, ko, dqg, true)   //    + dSo·Ko
			SgemmTN(be.pool, T, hd, R, dso, qg, dko, false)  // dKo = dSoᵀ·Qg
			SgemmTN(be.pool, T, hd, R, so, dog, dvo, false)  // dVo = Aoᵀ·dO
			scatterHeads(dqA, dqg, o0, T, c.Heads, g*G, G, hd)
			scatterHeads(dkA, dko, o0, T, c.KVHeads, g, 1, hd)
			scatterHeads(dvA, dvo, o0, T, c.KVHeads, g, 1, hd)
		}
	}
}
