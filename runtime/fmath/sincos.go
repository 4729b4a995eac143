package fmath

import "math"

// Sincosf returns sin(x) and cos(x) exactly as glibc's sincosf does on x86-64
// (the FMA build, __sincosf_fma, selected on CPUs with FMA and AVX2). llama.cpp
// builds its RoPE tables with it, and its results are not always the float32
// nearest the true value (about 1.4% of RoPE angles differ by an ulp from
// float32(math.Sin(x))), so matching llama.cpp bit for bit needs the same
// algorithm: glibc's, from Arm's optimized-routines (MIT licence), with
// double-precision polynomials whose a + b·c steps the compiler fused.
//
// |x| < π/4 is evaluated directly; |x| < 120 is reduced with one fused
// multiply-subtract of a rounded multiple of π/2; larger |x| is reduced with
// a 32×96-bit fixed-point product against 4/π.
func Sincosf(x float32) (sin, cos float32) {
	xd := float64(x)
	top := abstop12(x)
	switch {
	case top < abstop12(pio4f):
		if top < abstop12(0x1p-12) {
			return x, 1
		}
		s, c := sincosPoly(xd, xd*xd, &sincosTab[0])
		return s, c
	case top < abstop12(120):
		r := xd * sincosTab[0].hpiInv
		n := (int32(r) + 0x800000) >> 24
		xr := math.FMA(-float64(n), sincosTab[0].hpi, xd)
		return quadrant(xr, int(n), int(n))
	case top < abstop12(float32(math.Inf(1))):
		xi := math.Float32bits(x)
		sign := int(xi >> 31)
		xr, n := reduceLarge(xi)
		return quadrant(xr, n, n+sign)
	default:
		nan := x - x
		return nan, nan
	}
}

// quadrant evaluates the polynomials for the reduced argument xr: q (the
// quadrant, including the input's sign for large inputs) picks the sine's
// sign and, for q = 2, 3, the negated cosine polynomial; an odd n swaps sine
// and cosine.
func quadrant(xr float64, n, q int) (sin, cos float32) {
	p := &sincosTab[0]
	if q&2 != 0 {
		p = &sincosTab[1]
	}
	a, b := sincosPoly(xr*p.sign[q&3], xr*xr, p)
	if n&1 != 0 {
		return b, a
	}
	return a, b
}

const pio4f = float32(0.785398185253143310546875) // float32(π/4) rounded up: 0x1.921fb6p-1

type sincosT struct {
	sign                       [4]float64
	hpiInv, hpi                float64
	c0, c1, c2, c3, c4, s1, s2 float64
	s3                         float64
}

var sincosTab = [2]sincosT{
	{
		sign:   [4]float64{1, -1, -1, 1},
		hpiInv: 0x1.45F306DC9C883p+23, hpi: 0x1.921FB54442D18p0,
		c0: 0x1p0, c1: -0x1.ffffffd0c621cp-2, c2: 0x1.55553e1068f19p-5, c3: -0x1.6c087e89a359dp-10,
		c4: 0x1.99343027bf8c3p-16,
		s1: -0x1.555545995a603p-3, s2: 0x1.1107605230bc4p-7, s3: -0x1.994eb3774cf24p-13,
	},
	{ // cosine polynomial negated
		sign:   [4]float64{1, -1, -1, 1},
		hpiInv: 0x1.45F306DC9C883p+23, hpi: 0x1.921FB54442D18p0,
		c0: -0x1p0, c1: 0x1.ffffffd0c621cp-2, c2: -0x1.55553e1068f19p-5, c3: 0x1.6c087e89a359dp-10,
		c4: -0x1.99343027bf8c3p-16,
		s1: -0x1.555545995a603p-3, s2: 0x1.1107605230bc4p-7, s3: -0x1.994eb3774cf24p-13,
	},
}

func abstop12(x float32) uint32 { return (math.Float32bits(x) >> 20) & 0x7ff }

// sincosPoly evaluates sin (odd polynomial in x) and cos (even polynomial,
// from x2) with every a + b·c fused.
func sincosPoly(x, x2 float64, p *sincosT) (s, c float32) {
	x3, x4 := x*x2, x2*x2
	x5, x6 := x2*x3, x2*x4
	s1 := math.FMA(x2, p.s3, p.s2)
	c2 := math.FMA(x2, p.c4, p.c3)
	c1 := math.FMA(x2, p.c1, p.c0)
	sv := math.FMA(x3, p.s1, x)
	cv := math.FMA(x4, p.c2, c1)
	return float32(math.FMA(s1, x5, sv)), float32(math.FMA(c2, x6, cv))
}

// invPio4 is 4/π to 192 bits, 8 new bits per entry.
var invPio4 = [24]uint32{
	0xa2, 0xa2f9, 0xa2f983, 0xa2f9836e,
	0xf9836e4e, 0x836e4e44, 0x6e4e4415, 0x4e441529,
	0x441529fc, 0x1529fc27, 0x29fc2757, 0xfc2757d1,
	0x2757d1f5, 0x57d1f534, 0xd1f534dd, 0xf534ddc0,
	0x34ddc0db, 0xddc0db62, 0xc0db6295, 0xdb629599,
	0x6295993c, 0x95993c43, 0x993c4390, 0x3c439041,
}

// reduceLarge reduces the float32 with bits xi (|x| ≥ 120) to a value in
// [−π/4, π/4] and its quadrant.
func reduceLarge(xi uint32) (float64, int) {
	arr := invPio4[(xi>>26)&15:]
	shift := (xi >> 23) & 7
	xi = (xi & 0xffffff) | 0x800000
	xi <<= shift
	res0 := uint64(xi * arr[0])
	res1 := uint64(xi) * uint64(arr[4])
	res2 := uint64(xi) * uint64(arr[8])
	res0 = (res2 >> 32) | (res0 << 32)
	res0 += res1
	n := (res0 + 1<<61) >> 62
	res0 -= n << 62
	const pi64 = 0x1.921FB54442D18p-62 // π·2^-64
	return float64(int64(res0)) * pi64, int(n)
}
