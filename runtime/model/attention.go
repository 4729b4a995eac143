package model

import (
	"math"

	"github.com/cartlsp/cartlsp/runtime/half"
)

// attention computes out[n, Heads, HeadDim] for queries q[n, Heads, HeadDim]:
// token t (sequence seq[t], position pos[t]) attends to positions 0..pos[t]
// of its sequence in the cache of layer li. Query head h reads key/value head
// h / (Heads/KVHeads) (GQA). Numerics follow llama.cpp's non-flash path with an
// F16 cache: q and the softmax weights are rounded to binary16 before their
// products with the f16 keys and values.
func (m *Model) attention(out, q []float32, cache *KVCache, li int, seq, pos []int) {
	n := len(seq)
	hd, KV := m.HeadDim, m.KVDim()
	group := m.Heads / m.KVHeads
	scale := float32(1 / math.Sqrt(float64(hd)))
	m.Backend.Parallel(n*m.Heads, func(lo, hi int) {
		qh := make([]float32, hd)
		var w []float32
		for it := lo; it < hi; it++ {
			t, h := it/m.Heads, it%m.Heads
			kvh := h / group
			L := pos[t] + 1
			if cap(w) < L {
				w = make([]float32, L, max(L, 2*cap(w)))
			}
			w = w[:L]
			src := q[(t*m.Heads+h)*hd : (t*m.Heads+h+1)*hd]
			for i, v := range src {
				qh[i] = half.RoundF16(v)
			}
			sc := &cache.seqs[seq[t]]
			keys, vals := sc.k[li], sc.v[li]
			mx := float32(math.Inf(-1))
			for j := 0; j < L; j++ {
				s := dot(qh, keys[j*KV+kvh*hd:j*KV+(kvh+1)*hd]) * scale
				w[j] = s
				if s > mx {
					mx = s
				}
			}
			var sum float64
			for j := range w {
				e := float32(math.Exp(float64(w[j] - mx)))
				w[j] = e
				sum += float64(e)
			}
			inv := float32(1 / sum)
			dst := out[(t*m.Heads+h)*hd : (t*m.Heads+h+1)*hd]
			clear(dst)
			for j := range w {
				axpy(half.RoundF16(w[j]*inv), vals[j*KV+kvh*hd:j*KV+(kvh+1)*hd], dst)
			}
		}
	})
}

func dot(a, b []float32) float32 {
	var s float32
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// axpy: y += alpha·x
func axpy(alpha float32, x, y []float32) {
	for i, v := range x {
		y[i] += alpha * v
	}
}
