package fmath

import "math"

// ExpV returns e^x as one lane of ggml_v_expf, the AVX-512 exp of ggml's
// softmax and SiLU (after Arm's optimized-routines expf: maximum error about
// 1.5 ulp, so it is not the correctly rounded value):
//
//	n = round(x·log2 e)                      via fma(x, log2e, 1.5·2^23) − 1.5·2^23
//	b = x − n·ln2_hi − n·ln2_lo              two fused steps
//	j = fma(fma(fma(c5, b, c4), b², fma(c3, b, c2)), b², fma(c1, b, 1))
//	e^x = j·2^n                              (VSCALEFPS), 0 or +Inf when |n| > 192
func ExpV(x float32) float32 {
	const r = 0x1.8p23
	z := FMA32(x, 0x1.715476p+0, r)
	n := z - r
	b := FMA32(-n, 0x1.7f7d1cp-20, FMA32(-n, 0x1.62e4p-1, x))
	if n > 192 || n < -192 {
		if n <= 0 {
			return 0
		}
		return float32(math.Inf(1))
	}
	u := b * b
	j := FMA32(
		FMA32(FMA32(0x1.0e4020p-7, b, 0x1.573e2ep-5), u, FMA32(0x1.555e66p-3, b, 0x1.fffdb6p-2)),
		u,
		FMA32(0x1.ffffecp-1, b, 1))
	if n != n { // NaN input
		return j
	}
	// j·2^n is exact in float64; the conversion rounds once, as VSCALEFPS.
	return float32(math.Ldexp(float64(j), int(n)))
}

// SiLUV returns x·σ(x) = x / (1 + e^−x) as one lane of ggml_v_silu.
func SiLUV(x float32) float32 { return x / (1 + ExpV(0-x)) }
