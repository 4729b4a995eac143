package fmath

import (
	"math"
	"testing"
)

// sincosGolden holds glibc 2.36 sincosf results (x86-64, FMA build) as
// float32 bits {x, sin x, cos x}: RoPE angles where glibc is not the
// correctly rounded float32, and inputs from each reduction range.
var sincosGolden = [][3]uint32{
	{0x3c513167, 0x3c512ff3, 0x3f7ffaa8}, // 0.012768126
	{0x3c8c4d33, 0x3c8c4b72, 0x3f7ff663}, // 0.017126655
	{0x3cfdeb61, 0x3cfde0f9, 0x3f7fe085}, // 0.030996026
	{0x3d0b5fc1, 0x3d0b58df, 0x3f7fda10}, // 0.034026865
	{0x3d19ac52, 0x3d19a318, 0x3f7fd1e2}, // 0.037517853
	{0x3d1c9135, 0x3d1c8773, 0x3f7fd021}, // 0.038224418
	{0x3d34e574, 0x3d34d667, 0x3f7fc019}, // 0.044164136
	{0x3d392192, 0x3d391170, 0x3f7fbd12}, // 0.04519803
	{0x3d39f305, 0x3d39e2ac, 0x3f7fbc7a}, // 0.045397777
	{0x3d41f06d, 0x3d41dde1, 0x3f7fb68d}, // 0.04734843
	{0x3d4447a3, 0x3d443469, 0x3f7fb4c5}, // 0.04791988
	{0x3d49f420, 0x3d49df2e, 0x3f7fb05c}, // 0.04930508
	{0x00000000, 0x00000000, 0x3f800000}, // 0
	{0x80000000, 0x80000000, 0x3f800000}, // -0
	{0x3727c5ac, 0x3727c5ac, 0x3f800000}, // 1e-05
	{0xb99d4952, 0xb99d4952, 0x3f7fffff}, // -0.0003
	{0x3f490fd8, 0x3f3504f1, 0x3f3504f5}, // 0.785398
	{0x3f490fdb, 0x3f3504f3, 0x3f3504f3}, // 0.7853982
	{0xbf666666, 0xbf48881d, 0x3f1f21d5}, // -0.9
	{0x3f800000, 0x3f576aa4, 0x3f0a5140}, // 1
	{0x40200000, 0x3f193578, 0xbf4d17bf}, // 2.5
	{0xc0e80000, 0xbf52b56e, 0x3f11637b}, // -7.25
	{0x42efcccd, 0x3efe2bff, 0x3f5e3a4d}, // 119.9
	{0x42f00000, 0x3f14a2ef, 0x3f506e2a}, // 120
	{0xc2f10000, 0xbf665e1a, 0x3edf4f36}, // -120.5
	{0x447a0000, 0x3f53ae61, 0x3f0ff813}, // 1000
	{0xc582a800, 0xbee33840, 0xbf6568e0}, // -4181
	{0x45fff800, 0xbf43546a, 0xbf2579d9}, // 8191
	{0x47f12064, 0xbf7fc0ba, 0x3d33f16d}, // 123456.78
	{0xe0ad78ec, 0xbf281569, 0x3f411723}, // -1e20
	{0x7f61b1e6, 0x3f5ff9c4, 0xbef7f57c}, // 3e38
	{0xc302df91, 0x3f6100a7, 0x3ef4363a}, // -130.8733
	{0x438d7ac2, 0x3e5b2cb3, 0x3f7a113b}, // 282.95905
	{0xc315fd2f, 0x3f38f775, 0x3f30fbea}, // -149.989
	{0xc3054a7c, 0xbf7972ab, 0x3e6630cd}, // -133.29095
	{0x4343e7bf, 0x3f6725b7, 0x3edc1018}, // 195.90526
	{0xc3247000, 0xbf6122e7, 0x3ef3b7d5}, // -164.4375
	{0xc32b808d, 0xbf75a5e6, 0xbe902021}, // -171.50215
}

func TestSincosfGlibc(t *testing.T) {
	for _, g := range sincosGolden {
		x := math.Float32frombits(g[0])
		s, c := Sincosf(x)
		if math.Float32bits(s) != g[1] || math.Float32bits(c) != g[2] {
			t.Errorf("Sincosf(%g) = %g, %g; glibc %g, %g", x, s, c, math.Float32frombits(g[1]), math.Float32frombits(g[2]))
		}
	}
}

// TestSincosfAccuracy: within 1 ulp of the true values everywhere, and NaN
// for infinities and NaN.
func TestSincosfAccuracy(t *testing.T) {
	ulp := func(a float32, b float64) float64 {
		f := float32(b)
		return math.Abs(float64(a)-b) / float64(math.Nextafter32(float32(math.Abs(float64(f))), float32(math.Inf(1)))-float32(math.Abs(float64(f))))
	}
	for i := 0; i < 200000; i++ {
		x := float32(i-100000) * 0.0137
		if i%7 == 0 {
			x *= 997
		}
		s, c := Sincosf(x)
		if e := ulp(s, math.Sin(float64(x))); e > 1 {
			t.Fatalf("sin(%g) = %g, %g ulp off", x, s, e)
		}
		if e := ulp(c, math.Cos(float64(x))); e > 1 {
			t.Fatalf("cos(%g) = %g, %g ulp off", x, c, e)
		}
	}
	for _, x := range []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())} {
		if s, c := Sincosf(x); !math.IsNaN(float64(s)) || !math.IsNaN(float64(c)) {
			t.Errorf("Sincosf(%g) = %g, %g", x, s, c)
		}
	}
}
