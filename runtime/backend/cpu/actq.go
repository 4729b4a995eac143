package cpu

import (
	"math"

	"github.com/cartlsp/cartlsp/runtime/half"
)

// Activation quantization. Before a quantized matrix product llama.cpp
// quantizes each activation row into the weight type's "vec_dot_type":
// Q8_1 for Q4_1/Q5_1 weights, Q8_0 for Q8_0/Q5_0/Q4_0 weights, Q8_K for
// K-quants. The functions here reproduce the x86 (AVX2 build) quantizers bit
// for bit:
//
//	amax = max |x| over the 32-block
//	d    = amax / 127                      (float32 division)
//	id   = amax != 0 ? 127 / amax : 0      (not 1/d: may differ by an ulp)
//	q    = roundHalfEven(x · id)           (_mm256_round_ps NEAREST, saturated to int8)
//	d is stored as f16; Q8_1's s = f16(d_f32 · float32(Σq))
//
// (llama.cpp's scalar reference quantizer instead uses id = 1/d and roundf,
// half away from zero; its x86 build never runs that code.)

// blockQK is the element count of a Q4_0/Q4_1/Q5_0/Q5_1/Q8_0/Q8_1 block.
const blockQK = 32

// roundEven32 rounds v to the nearest integer, ties to even, for |v| < 2^22,
// by adding and subtracting 1.5·2^23 in float32 (round-to-nearest mode).
//
// Callers pass a product as float32(a·b): Go may fuse a·b + magic into one
// multiply-add where the CPU has one (arm64), which would round the product
// only once, with the magic added.
func roundEven32(v float32) float32 {
	const magic = 12582912 // 1.5 · 2^23
	return (v + magic) - magic
}

// quantRefQ8 is the plain specification of the Q8_0/Q8_1 activation
// quantizer for one row; the fast paths are tested bit-exact against it.
// x: [cols]; qs: [cols]; d, s: [cols/32] (f16-rounded d; f16-rounded d·Σq).
func quantRefQ8(x []float32, qs []int8, d, s []float32) {
	for b := 0; b < len(x)/blockQK; b++ {
		blk := x[b*blockQK : (b+1)*blockQK]
		var amax float32
		for _, v := range blk {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		dd := amax / 127
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		sum := 0
		for j, v := range blk {
			r := math.RoundToEven(float64(v * id))
			q := int(max(-128, min(127, r)))
			qs[b*blockQK+j] = int8(q)
			sum += q
		}
		d[b] = half.RoundF16(dd)
		s[b] = half.RoundF16(dd * float32(sum))
	}
}

// metaWords is the number of uint32 the quantizer stores per 32-block: Q8_1's
// d and s when corr == 0, else d and eight group corrections.
func metaWords(corr int32) int {
	if corr == 0 {
		return 2
	}
	return 9
}

// quantQ8Go quantizes one row x: [cols] into qs: [cols] and meta:
// [cols/32 · metaWords(corr)]. Per block, meta holds the bits of the
// f16-rounded d, then
//
//	corr == 0: the bits of the f16-rounded s = d·Σq (Q8_1);
//	otherwise: c_g = corr·Σ q[4g..4g+3] for g = 0..7 as int32, the offset
//	correction of each 4-column group (Q4_0 quants are stored as q+8 and
//	need corr = −8; Q8_0 quants stored as q+128 need corr = −128).
func quantQ8Go(x []float32, qs []int8, meta []uint32, corr int32) {
	nb := len(x) / blockQK
	mw := metaWords(corr)
	for b := 0; b < nb; b++ {
		blk := x[b*blockQK : (b+1)*blockQK : (b+1)*blockQK]
		q := qs[b*blockQK : (b+1)*blockQK : (b+1)*blockQK]
		m := meta[b*mw : (b+1)*mw : (b+1)*mw]
		var amax float32
		for _, v := range blk {
			a := math.Float32frombits(math.Float32bits(v) &^ (1 << 31))
			if a > amax {
				amax = a
			}
		}
		dd := amax / 127
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		var sum int32
		var gs [8]int32
		for j, v := range blk {
			r := int32(roundEven32(float32(v * id))) // float32(): never fused into the rounding's add (arm64)
			r = max(-128, min(127, r))
			q[j] = int8(r)
			sum += r
			gs[j/4] += r
		}
		m[0] = math.Float32bits(half.RoundF16(dd))
		if corr == 0 {
			m[1] = math.Float32bits(half.RoundF16(dd * float32(sum)))
			continue
		}
		for g, v := range gs {
			m[1+g] = uint32(corr * v)
		}
	}
}

// Q8_K: the activation type of the K-quants, 256-element blocks with a
// float32 scale and 16 sums of 16 quants. As llama.cpp's quantize_row_q8_K:
// max is the signed value of largest magnitude (first one on ties),
// iscale = -127/max, q = min(127, nearest_int(iscale·x)) with ties to even,
// d = 1/iscale; an all-zero block has d = 0 and zero quants.
const blockQK_K = 256

// quantQ8K quantizes x: [cols] into qs: [cols], d: [cols/256],
// bsums: [cols/16].
func quantQ8K(x []float32, qs []int8, d []float32, bsums []int16) {
	for b := 0; b < len(x)/blockQK_K; b++ {
		blk := x[b*blockQK_K : (b+1)*blockQK_K]
		q := qs[b*blockQK_K : (b+1)*blockQK_K]
		var amax, mx float32
		for _, v := range blk {
			if a := float32(math.Abs(float64(v))); a > amax {
				amax, mx = a, v
			}
		}
		if amax == 0 {
			d[b] = 0
			for j := range q {
				q[j] = 0
			}
			for j := 0; j < blockQK_K/16; j++ {
				bsums[b*16+j] = 0
			}
			continue
		}
		iscale := -127 / mx
		for j, v := range blk {
			r := int32(roundEven32(float32(iscale * v))) // float32(): never fused (arm64)
			q[j] = int8(min(127, r))
		}
		for j := 0; j < blockQK_K/16; j++ {
			var s int16
			for _, v := range q[j*16 : (j+1)*16] {
				s += int16(v)
			}
			bsums[b*16+j] = s
		}
		d[b] = 1 / iscale
	}
}
