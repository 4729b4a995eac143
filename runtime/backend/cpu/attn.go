package cpu

import (
	"math"

	"github.com/cartlsp/cartlsp/runtime/fmath"
	"github.com/cartlsp/cartlsp/runtime/half"
)

// Attention products with the numerics of llama.cpp's CPU path for an F16 KV
// cache without flash attention (AVX-512 build), bit for bit. Queries and
// softmax weights are rounded to f16 by the caller, keys and values are f16
// values: every product is then exact in float32, so llama.cpp's fused
// multiply-adds equal float32 additions of the products and only the order
// of the additions matters. Two orders occur:
//
//   - lanes (tinyBLAS, when the batch has several tokens): lane i (i < 16)
//     sums the terms j ≡ i (mod 16) in order; the lanes are then reduced
//     with reduce16;
//   - vec (ggml_vec_dot_f16, a single token): 64 lanes over steps of 64,
//     folded as (i + 32+i) + (16+i + 48+i), then reduce16; a tail of
//     length mod 64 (never, for llama.cpp's key counts) is added in float64.
//
// The assembly versions (AVX-512) compute exactly what the Go twins compute.

// reduce16 sums 16 lanes in the order of GCC's _mm512_reduce_add_ps:
// halves, then quarters, then (0+2) + (1+3).
func reduce16(a *[16]float32) float32 {
	var t [8]float32
	for i := range t {
		t[i] = a[i] + a[8+i]
	}
	u0, u1, u2, u3 := t[0]+t[4], t[1]+t[5], t[2]+t[6], t[3]+t[7]
	return (u0 + u2) + (u1 + u3)
}

// AttnScores sets out[j] = Σ_i q[i]·k[j·stride+i] (i < len(q)) for
// j < len(out), in the lanes order (len(q) must be a multiple of 16) or the
// vec order.
func AttnScores(out, q, k []float32, stride int, lanes bool) {
	hd := len(q)
	if len(out) == 0 {
		return
	}
	_ = k[(len(out)-1)*stride+hd-1]
	if active == levelAVX512 && hd%64 == 0 {
		attnScoresAVX512(&q[0], &k[0], 4*stride, len(out), hd, !lanes, &out[0])
		return
	}
	for j := range out {
		kj := k[j*stride : j*stride+hd]
		if lanes {
			out[j] = lanesDot(q, kj)
		} else {
			out[j] = vecDot(q, kj)
		}
	}
}

func lanesDot(a, b []float32) float32 {
	b = b[:len(a)]
	var acc [16]float32
	for j := 0; j+16 <= len(a); j += 16 {
		x, y := a[j:j+16:j+16], b[j:j+16:j+16]
		for i := range acc {
			acc[i] += x[i] * y[i]
		}
	}
	return reduce16(&acc)
}

func vecDot(a, b []float32) float32 {
	b = b[:len(a)]
	var acc [64]float32
	np := len(a) &^ 63
	for j := 0; j < np; j += 64 {
		x, y := a[j:j+64:j+64], b[j:j+64:j+64]
		for i := range acc {
			acc[i] += x[i] * y[i]
		}
	}
	var r [16]float32
	for i := range r {
		r[i] = (acc[i] + acc[32+i]) + (acc[16+i] + acc[48+i])
	}
	sum := float64(reduce16(&r))
	for j := np; j < len(a); j++ {
		sum += float64(a[j] * b[j])
	}
	return float32(sum)
}

// AttnValues sets out[d] = Σ_j w[j]·v[j·stride+d] (j < len(w)) for
// d < len(out), summing over j in the lanes or the vec order (len(w) taken
// as padded with zeros to a multiple of 64). scratch holds at least
// 64·len(out) floats.
func AttnValues(out, w, v []float32, stride int, lanes bool, scratch []float32) {
	hd := len(out)
	R := 64
	if lanes {
		R = 16
	}
	acc := scratch[:R*hd]
	if len(w) > 0 {
		_ = v[(len(w)-1)*stride+hd-1]
	}
	if active == levelAVX512 && hd%64 == 0 && len(w) > 0 {
		attnValuesAVX512(&w[0], &v[0], 4*stride, len(w), hd, R, &acc[0], &out[0])
		return
	}
	clear(acc)
	for j, wj := range w {
		a := acc[(j%R)*hd : (j%R+1)*hd : (j%R+1)*hd]
		vj := v[j*stride : j*stride+hd : j*stride+hd]
		for d := range a {
			a[d] += wj * vj[d]
		}
	}
	var r [16]float32
	for d := range out {
		for i := range r {
			if lanes {
				r[i] = acc[i*hd+d]
			} else {
				r[i] = (acc[i*hd+d] + acc[(32+i)*hd+d]) + (acc[(16+i)*hd+d] + acc[(48+i)*hd+d])
			}
		}
		out[d] = reduce16(&r)
	}
}

// SoftmaxExp replaces w[j] by e^(w[j]−mx) for j < n, computed as ggml's
// vectorised exp (fmath.ExpV), and returns their sum as
// ggml_vec_soft_max_f32 forms it: chunks of 16 from j = 0, each reduced with
// reduce16, the chunk sums added in float64. w must have room for n rounded
// up to a multiple of 16; the padding is set to zero (llama.cpp pads the key
// count with masked keys, whose exponentials are exact zeros).
func SoftmaxExp(w []float32, n int, mx float32) float64 {
	n16 := (n + 15) &^ 15
	w = w[:n16]
	for j := n; j < n16; j++ {
		w[j] = float32(math.Inf(-1))
	}
	if n16 == 0 {
		return 0
	}
	if active == levelAVX512 {
		return expSumAVX512(&w[0], n16, mx)
	}
	var sum float64
	var c [16]float32
	for j0 := 0; j0 < n16; j0 += 16 {
		for i := range c {
			c[i] = fmath.ExpV(w[j0+i] - mx)
			w[j0+i] = c[i]
		}
		sum += float64(reduce16(&c))
	}
	return sum
}

// SwiGLU writes a[i] = silu(g[i])·u[i], silu(x) = x / (1 + e^−x) computed as
// ggml's vector SiLU (fmath.SiLUV). (ggml_vec_swiglu_f32 handles a row's
// last len mod 16 elements with the C library's expf instead, which can
// differ by an ulp; FFN widths are multiples of 16.)
func SwiGLU(a, g, u []float32) {
	g, u = g[:len(a)], u[:len(a)]
	i := 0
	switch {
	case active == levelAVX512 && len(a) >= 16:
		i = len(a) &^ 15
		swigluAVX512(&a[0], &g[0], &u[0], i)
	case active == levelAVX2 && len(a) >= 8:
		i = len(a) &^ 7
		swigluAVX2(&a[0], &g[0], &u[0], i)
	}
	for ; i < len(a); i++ {
		a[i] = fmath.SiLUV(g[i]) * u[i]
	}
}

// RoundF16 rounds every x[i] to the nearest binary16 value (ties to even),
// as llama.cpp's F32→F16 conversions (VCVTPS2PH) do.
func RoundF16(x []float32) {
	i := 0
	if active == levelAVX512 && len(x) >= 16 {
		i = len(x) &^ 15
		roundF16AVX512(&x[0], i)
	}
	for ; i < len(x); i++ {
		x[i] = half.RoundF16(x[i])
	}
}
