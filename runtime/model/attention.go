package model

import (
	"math"

	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
)

// attention computes out[n, Heads, HeadDim] for queries q[n, Heads, HeadDim]:
// token t (sequence seq[t], position pos[t]) attends to positions 0..pos[t]
// of its sequence in the cache of layer li. Query head h reads key/value head
// h / (Heads/KVHeads) (GQA).
//
// The numerics are those of llama.cpp's CPU path without flash attention and
// with an F16 cache, bit for bit: q and the softmax weights are rounded to
// f16 before their products with the f16 keys and values; the products are
// summed in tinyBLAS's order when the batch has several tokens and in
// ggml_vec_dot_f16's for a single token (cpu.AttnScores, cpu.AttnValues);
// scores are scaled by 1.0f/sqrtf(HeadDim) and exponentiated and summed as
// ggml_vec_soft_max_f32 does (cpu.SoftmaxExp).
func (m *Model) attention(out, q []float32, cache *KVCache, li int, seq, pos []int) {
	n := len(seq)
	hd, KV := m.HeadDim, m.KVDim()
	group := m.Heads / m.KVHeads
	scale := 1 / float32(math.Sqrt(float64(hd)))
	// llama.cpp multiplies K·Q and V·softmax with tinyBLAS when the batch has
	// more than one token and the inner dimension is a multiple of 16 (the
	// key count always is, being padded to a multiple of 256), else with
	// ggml_vec_dot_f16.
	lanesKQ, lanesV := n > 1 && hd%16 == 0, n > 1
	m.Backend.Parallel(n*m.Heads, func(lo, hi int) {
		qh := make([]float32, hd)
		acc := make([]float32, 64*hd)
		var w []float32
		for it := lo; it < hi; it++ {
			t, h := it/m.Heads, it%m.Heads
			kvh := h / group
			L := pos[t] + 1
			if cap(w) < L+15 {
				w = make([]float32, L+15, 2*(L+15))
			}
			w = w[:L]
			copy(qh, q[(t*m.Heads+h)*hd:(t*m.Heads+h+1)*hd])
			cpu.RoundF16(qh)
			sc := &cache.seqs[seq[t]]
			keys, vals := sc.k[li][kvh*hd:], sc.v[li][kvh*hd:]
			cpu.AttnScores(w, qh, keys, KV, lanesKQ)
			mx := float32(math.Inf(-1))
			for j := range w {
				w[j] *= scale
				mx = max(mx, w[j])
			}
			inv := float32(1 / cpu.SoftmaxExp(w[:cap(w)], L, mx))
			for j := range w {
				w[j] *= inv
			}
			cpu.RoundF16(w)
			cpu.AttnValues(out[(t*m.Heads+h)*hd:(t*m.Heads+h+1)*hd], w, vals, KV, lanesV, acc)
		}
	})
}
