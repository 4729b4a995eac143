package cpu

import (
	"math"

	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/fmath"
)

// The forward operations, with llama.cpp's CPU numerics where the inference
// model needs them bit for bit (RMSNorm, RoPE, SwiGLU, the F16 cache and
// attention): see the package comment.

// GetRows: dst[i] = table[ids[i]], a weight's rows dequantized as llama.cpp
// does or an activation's rows copied.
func (b *Backend) GetRows(dst, table backend.Tensor, ids []int) {
	d := act(dst)
	switch t := table.(type) {
	case *weight:
		for i, id := range ids {
			t.w.Row(id, d.row(i))
		}
	case *bf16Weight:
		for i, id := range ids {
			r := d.row(i)
			for k := range r {
				r[k] = t.fwd.at(id, k)
			}
		}
	default:
		a := act(table)
		for i, id := range ids {
			copy(d.row(i), a.row(id))
		}
	}
}

// MatMul: dst[n, out] = x[n, in]·wᵀ — a loaded weight by its quantized
// kernels (Weight.MatMul), an activation by the float32 GEMM.
func (b *Backend) MatMul(dst, x, w backend.Tensor) {
	d, xa := act(dst), act(x)
	switch wt := w.(type) {
	case *weight:
		wt.w.MatMul(b.pool, d.data, xa.data, xa.rows)
	case *bf16Weight:
		bf16Gemm(b.pool, xa.rows, xa.data, xa.cols, wt.fwd, d.data, d.cols, false)
	default:
		wa := act(w)
		SgemmNT(b.pool, xa.rows, wa.rows, wa.cols, xa.data, wa.data, d.data, false)
	}
}

func (b *Backend) Add(dst, x backend.Tensor) {
	d, xa := act(dst).data, act(x).data
	if len(d) < 1<<14 { // a row or two: not worth waking the workers
		for i, v := range xa {
			d[i] += v
		}
		return
	}
	b.pool.Run(len(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d[i] += xa[i]
		}
	})
}

func (b *Backend) AddRow(dst, row backend.Tensor) {
	d, r := act(dst), act(row).data
	for t := 0; t < d.rows; t++ {
		dr := d.row(t)
		for i, v := range r {
			dr[i] += v
		}
	}
}

// RMSNorm computes like llama.cpp: squares in float32 summed in float64,
// the mean rounded to float32, the scale 1/sqrtf(mean+eps) in float32, then
// (x·scale)·w.
func (b *Backend) RMSNorm(dst, rstd, x, w backend.Tensor, eps float32) {
	d, xa, wa, rs := act(dst), act(x), act(w).data, act(rstd)
	D := xa.cols
	b.pool.Run(xa.rows, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			xr, or := xa.row(t), d.row(t)
			var sum float64
			for _, v := range xr {
				sum += float64(v * v)
			}
			mean := float32(sum / float64(D))
			scale := 1 / float32(math.Sqrt(float64(mean+eps))) // sqrtf: float64 sqrt rounds correctly to float32
			if rs != nil {
				rs.data[t] = scale
			}
			for i, v := range xr {
				or[i] = (v * scale) * wa[i]
			}
		}
	})
}

// RoPE rotates each pair as ggml's compiled rope rounds it:
// fma(cos, x0, −(x1·sin)) and fma(sin, x0, x1·cos).
func (b *Backend) RoPE(x, cs backend.Tensor, s backend.RopeShape, inverse bool) {
	xa, ca := act(x), act(cs)
	half := s.Dims / 2
	b.pool.Run(xa.rows, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			c := ca.row(t)
			for h := 0; h < s.Heads; h++ {
				v := xa.row(t)[h*s.HeadDim : (h+1)*s.HeadDim]
				for i := 0; i < half; i++ {
					cos, sin := c[2*i], c[2*i+1]
					if inverse {
						sin = -sin
					}
					a, bb := 2*i, 2*i+1
					if s.Half {
						a, bb = i, i+half
					}
					x0, x1 := v[a], v[bb]
					v[a] = fmath.FMA32(cos, x0, -(x1 * sin))
					v[bb] = fmath.FMA32(sin, x0, x1*cos)
				}
			}
		}
	})
}

// SwiGLU runs row by row as ggml_vec_swiglu_f32 (see SwiGLU the kernel).
func (b *Backend) SwiGLU(dst, g, u backend.Tensor) {
	d, ga, ua := act(dst), act(g), act(u)
	b.pool.Run(d.rows, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			SwiGLU(d.row(t), ga.row(t), ua.row(t))
		}
	})
}

// RoundF16 rounds an activation; a cache tensor holds binary16 already.
func (b *Backend) RoundF16(x backend.Tensor) {
	if _, ok := x.(*f16Tensor); ok {
		return
	}
	RoundF16(act(x).data)
}

// Attention is causal attention over a KV cache (binary16 cache tensors, or
// float32 activations). By default it runs the blocked, GQA-grouped path
// (flashAttention); with SetExactAttention it computes what llama.cpp
// computes with an F16 cache and no flash attention, bit for bit
// (exactAttention).
func (b *Backend) Attention(out, q, k, v backend.Tensor, s backend.AttnShape, pos0 int, batched bool) {
	if b.exact {
		b.exactAttention(out, q, k, v, s, pos0, batched)
		return
	}
	b.flashAttention(act(out), act(q), k, v, s, pos0)
}

// SetExactAttention chooses Attention's path: llama.cpp's numerics bit for
// bit (on; the parity tests) or the blocked path (off, the default). It
// returns the setting in force. CARTLSP_EXACT_ATTENTION=1 turns it on for
// every backend.
func (b *Backend) SetExactAttention(on bool) bool {
	b.exact = on
	return b.exact
}

// exactAttention is llama.cpp's attention over an F16 cache without flash
// attention, bit for bit: q and the softmax weights are rounded to f16
// before their products with the f16 keys and values; the products are
// summed in tinyBLAS's order when the step has several tokens and in
// ggml_vec_dot_f16's for a single token (AttnScores, AttnValues); scores are
// scaled by 1.0f/sqrtf(HeadDim) and exponentiated and summed as
// ggml_vec_soft_max_f32 does (SoftmaxExp). A binary16 cache is widened
// first (exactly).
func (b *Backend) exactAttention(out, q, k, v backend.Tensor, s backend.AttnShape, pos0 int, batched bool) {
	var kbuf, vbuf []float32
	ka := &tensor{data: widen(k, &kbuf), rows: k.Rows(), cols: k.Cols()}
	va := &tensor{data: widen(v, &vbuf), rows: v.Rows(), cols: v.Cols()}
	oa, qa := act(out), act(q)
	n, hd, KV := qa.rows, s.HeadDim, ka.cols
	group := s.Heads / s.KVHeads
	scale := 1 / float32(math.Sqrt(float64(hd)))
	// llama.cpp multiplies K·Q and V·softmax with tinyBLAS when the batch has
	// more than one token and the inner dimension is a multiple of 16 (the
	// key count always is, being padded to a multiple of 256), else with
	// ggml_vec_dot_f16.
	lanesKQ, lanesV := batched && hd%16 == 0, batched
	b.pool.Run(n*s.Heads, func(lo, hi int) {
		qh := make([]float32, hd)
		acc := make([]float32, 64*hd)
		var w []float32
		for it := lo; it < hi; it++ {
			t, h := it/s.Heads, it%s.Heads
			kvh := h / group
			L := pos0 + t + 1
			if cap(w) < L+15 {
				w = make([]float32, L+15, 2*(L+15))
			}
			w = w[:L]
			copy(qh, qa.row(t)[h*hd:(h+1)*hd])
			RoundF16(qh)
			keys, vals := ka.data[kvh*hd:], va.data[kvh*hd:]
			AttnScores(w, qh, keys, KV, lanesKQ)
			mx := float32(math.Inf(-1))
			for j := range w {
				w[j] *= scale
				mx = max(mx, w[j])
			}
			inv := float32(1 / SoftmaxExp(w[:cap(w)], L, mx))
			for j := range w {
				w[j] *= inv
			}
			RoundF16(w)
			AttnValues(oa.row(t)[h*hd:(h+1)*hd], w, vals, KV, lanesV, acc)
		}
	})
}
