// Package fmath holds float32 arithmetic that reproduces, bit for bit, the
// numerics of the C code llama.cpp runs on x86-64: a fused multiply-add
// rounded once, glibc's sincosf, and ggml's vectorised exp.
package fmath

import "math"

// FMA32 returns a·b + c rounded once to float32, as the FMA instructions
// (VFMADD…SS/PS) do.
func FMA32(a, b, c float32) float32 {
	// a·b is exact in float64, so math.FMA rounds a·b + c once, to float64.
	// Rounding that to float32 gives the correctly rounded result unless it
	// is itself a float32 midpoint (then the first rounding may have decided
	// the tie): no midpoint can lie strictly between the exact value and
	// its nearest float64. In the normal float32 range a midpoint has the 29
	// low bits 1 followed by 28 zeros; subnormal results take the slow path.
	s := math.FMA(float64(a), float64(b), float64(c))
	bits := math.Float64bits(s)
	if bits&(1<<29-1) != 1<<28 && (bits>>52)&0x7ff >= 1023-126 || s == 0 {
		return float32(s)
	}
	return fma32Odd(a, b, c)
}

// fma32Odd forms a·b + c in float64 with round-to-odd (the rounding error,
// recovered with TwoSum, pushes an even last bit one step toward the exact
// value when non-zero); a round-to-odd float64 rounds to float32 exactly as
// the exact value would.
func fma32Odd(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	if math.IsInf(s, 0) || math.IsNaN(s) {
		return float32(s)
	}
	bb := s - p
	e := (p - (s - bb)) + (float64(c) - bb)
	if e != 0 {
		bits := math.Float64bits(s)
		if bits&1 == 0 {
			if (e > 0) == (s > 0) {
				bits++
			} else {
				bits--
			}
			s = math.Float64frombits(bits)
		}
	}
	return float32(s)
}
