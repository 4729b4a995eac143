package cpu

import "github.com/cartlsp/cartlsp/runtime/half"

// Dot returns Σ a[i]·b[i] over len(a) elements (b must be at least as long),
// accumulated in float32.
func Dot(a, b []float32) float32 {
	b = b[:len(a)]
	if active >= levelAVX2 && len(a) > 0 {
		return dotAsm(&a[0], &b[0], len(a))
	}
	return dotGo(a, b)
}

// Axpy computes y[i] += alpha·x[i] for i < len(x) (y at least as long).
func Axpy(alpha float32, x, y []float32) {
	y = y[:len(x)]
	if active >= levelAVX2 && len(x) > 0 {
		axpyAsm(alpha, &x[0], &y[0], len(x))
		return
	}
	axpyGo(alpha, x, y)
}

// dotGo is the plain twin of the assembly Dot: four float32 accumulators.
func dotGo(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// axpyGo is the plain twin of the assembly Axpy.
func axpyGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// f16ToF32 converts src (F16 bit patterns) to float32 into dst.
func f16ToF32(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	i := 0
	if (active >= levelAVX2 || useNEON) && len(src) >= 8 {
		i = len(src) &^ 7
		f16ToF32Asm(&dst[0], &src[0], i)
	}
	for ; i < len(src); i++ {
		dst[i] = half.F16ToF32(src[i])
	}
}

// f32ToF16 rounds src to F16 bit patterns (nearest even) into dst.
func f32ToF16(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	i := 0
	if active >= levelAVX2 && len(src) >= 8 {
		i = len(src) &^ 7
		f32ToF16Asm(&dst[0], &src[0], i)
	}
	for ; i < len(src); i++ {
		dst[i] = half.F32ToF16(src[i])
	}
}

// quantQ8 quantizes one activation row (see quantQ8Go), in assembly where
// available.
func quantQ8(x []float32, qs []int8, meta []uint32, corr int32) {
	if active != levelAVX512 || len(x) < blockQK {
		quantQ8Go(x, qs, meta, corr)
		return
	}
	nb, mw := len(x)/blockQK, metaWords(corr)
	quantQ8Asm(&x[0], &qs[0], &meta[0], nb, 4*mw)
	if corr == 0 {
		return
	}
	// The group corrections replace s.
	for b := 0; b < nb; b++ {
		q := qs[b*blockQK : (b+1)*blockQK : (b+1)*blockQK]
		m := meta[b*mw+1 : (b+1)*mw : (b+1)*mw]
		for g := range m {
			m[g] = uint32(corr * (int32(q[4*g]) + int32(q[4*g+1]) + int32(q[4*g+2]) + int32(q[4*g+3])))
		}
	}
}
