package fmath

import (
	"math"
	"testing"
)

// siluGolden holds ggml_silu results of llama.cpp's AVX-512 build (ggml's
// vector SiLU and exp) as float32 bits {x, silu x}.
var siluGolden = [][2]uint32{
	{0x00000000, 0x00000000}, // silu(0.0)
	{0x80000000, 0x80000000}, // silu(-0.0)
	{0x3f800000, 0x3f3b26a7}, // silu(1.0)
	{0xbf800000, 0xbe89b2b0}, // silu(-1.0)
	{0x3f000000, 0x3e9f597f}, // silu(0.5)
	{0xc0300000, 0xbe29343a}, // silu(-2.75)
	{0x40490fdb, 0x4040bbb1}, // silu(3.1415927410125732)
	{0x41200000, 0x411ffe24}, // silu(10.0)
	{0xc1200000, 0xb9ee03fb}, // silu(-10.0)
	{0x41a00000, 0x41a00000}, // silu(20.0)
	{0xc1a00000, 0xb3310d40}, // silu(-20.0)
	{0x42200000, 0x42200000}, // silu(40.0)
	{0xc2200000, 0xa543ebb8}, // silu(-40.0)
	{0x42ae0000, 0x42ae0000}, // silu(87.0)
	{0xc2ae0000, 0x83f39e20}, // silu(-87.0)
	{0x42b10000, 0x42b10000}, // silu(88.5)
	{0xc2b10000, 0x82dd2ec3}, // silu(-88.5)
	{0x42b20000, 0x42b20000}, // silu(89.0)
	{0xc2b20000, 0x80000000}, // silu(-89.0)
	{0x42c80000, 0x42c80000}, // silu(100.0)
	{0xc2c80000, 0x80000000}, // silu(-100.0)
	{0x42cf0000, 0x42cf0000}, // silu(103.5)
	{0xc2d10000, 0x80000000}, // silu(-104.5)
	{0x3a83126f, 0x3a032336}, // silu(0.0010000000474974513)
	{0xba83126f, 0xba0301a8}, // silu(-0.0010000000474974513)
	{0x3e000000, 0x3d87fd57}, // silu(0.125)
	{0xc0e9999a, 0xbba17bec}, // silu(-7.300000190734863)
	{0x417e6666, 0x417e6664}, // silu(15.899999618530273)
	{0xbee00000, 0xbe2fc453}, // silu(-0.4375)
	{0x40100000, 0x40024509}, // silu(2.25)
	{0x42700000, 0x42700000}, // silu(60.0)
	{0xc2700000, 0x972299bb}, // silu(-60.0)
}

func TestSiLUVGgml(t *testing.T) {
	for _, g := range siluGolden {
		x := math.Float32frombits(g[0])
		if got := SiLUV(x); math.Float32bits(got) != g[1] {
			t.Errorf("SiLUV(%g) = %g, ggml %g", x, got, math.Float32frombits(g[1]))
		}
	}
}

// TestExpVAccuracy: ExpV is within 2.5 ulp of e^x over the normal float32 range
// (ggml quotes 1.45 ulp plus the final rounding; 2.21 is the worst seen),
// 0 below it and +Inf above, and e^−Inf = 0.
func TestExpVAccuracy(t *testing.T) {
	for i := 0; i <= 400000; i++ {
		x := float32(-104 + 0.00048*float64(i))
		got, want := ExpV(x), math.Exp(float64(x))
		if want < 0x1p-126 || want > math.MaxFloat32 {
			continue
		}
		u := float64(math.Nextafter32(float32(want), float32(math.Inf(1))) - float32(want))
		if math.Abs(float64(got)-want) > 2.5*u {
			t.Fatalf("ExpV(%g) = %g, want %g", x, got, want)
		}
	}
	for _, c := range []struct{ x, want float32 }{
		{float32(math.Inf(-1)), 0}, {-200, 0}, {-1000, 0}, {200, float32(math.Inf(1))}, {0, 1},
	} {
		if got := ExpV(c.x); got != c.want {
			t.Errorf("ExpV(%g) = %g, want %g", c.x, got, c.want)
		}
	}
}
