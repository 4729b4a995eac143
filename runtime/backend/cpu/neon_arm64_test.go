package cpu

import (
	"math"
	"math/rand"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/half"
)

// withoutNEON runs fn with the NEON kernels switched off (their Go twins
// then run).
func withoutNEON(fn func()) {
	u, d := useNEON, neonDot
	useNEON, neonDot = false, false
	defer func() { useNEON, neonDot = u, d }()
	fn()
}

// TestNEONKernels checks every NEON kernel against its plain Go twin bit for
// bit: the tile kernels through whole Q8_0, Q5_0 and Q4_1 matrix products
// (random weights, quantized real activations, 1–5 rows, a partial last
// tile) and the binary16 conversion on every bit pattern (NaNs need only
// stay NaN). The K-quant dots are TestKDotKernels' (asmKDot is NEON on
// arm64, whatever the level).
func TestNEONKernels(t *testing.T) {
	if !neonDot {
		t.Skip("this CPU has no NEON dot-product extension")
	}
	t.Run("tiles", func(t *testing.T) {
		for _, typ := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ5_0, gguf.TypeQ4_1} {
			for _, n := range []int{1, 3, 5} {
				rng := rand.New(rand.NewSource(int64(n) + int64(typ)))
				rows, cols := 37, 256
				w, err := NewWeight(typ, rows, cols, randomWeight(rng, typ, rows, cols))
				if err != nil {
					t.Fatal(err)
				}
				x := randomActs(rng, n*cols)
				got, want := make([]float32, n*rows), make([]float32, n*rows)
				w.MatMul(nil, got, x, n)
				withoutNEON(func() { w.MatMul(nil, want, x, n) })
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%v n=%d: [%d] = %g, Go twin %g", typ, n, i, got[i], want[i])
					}
				}
			}
		}
	})
	t.Run("f16", func(t *testing.T) {
		src := make([]uint16, 1<<16)
		for i := range src {
			src[i] = uint16(i)
		}
		dst := make([]float32, len(src))
		f16ToF32(dst, src)
		for i, h := range src {
			w := half.F16ToF32(h)
			if math.IsNaN(float64(w)) { // NaNs only need to stay NaN (NEON quiets a signalling one)
				if !math.IsNaN(float64(dst[i])) {
					t.Fatalf("f16 %#04x: NEON %g, want NaN", h, dst[i])
				}
				continue
			}
			if math.Float32bits(dst[i]) != math.Float32bits(w) {
				t.Fatalf("f16 %#04x: NEON %#08x, Go twin %#08x", h, math.Float32bits(dst[i]), math.Float32bits(w))
			}
		}
	})
}

// TestNEONSgemm: the NEON micro-kernel equals its Go twin bit for bit (Go
// fuses the twin's multiply-adds on arm64), storing and adding, for step
// counts 0, 1, 7 and 256.
func TestNEONSgemm(t *testing.T) {
	if !useNEON {
		t.Skip("no Advanced SIMD")
	}
	rng := rand.New(rand.NewSource(3))
	for _, kc := range []int{0, 1, 7, 256} {
		for _, add := range []bool{false, true} {
			a, b := randomActs(rng, kc*sgMR+1), randomActs(rng, kc*sgNR+1)
			ldc := sgNR + 5
			c0 := randomActs(rng, sgMR*ldc)
			want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
			sgemmKernelGo(kc, a, b, want, ldc, add)
			sgemmKernel()(kc, a, b, got, ldc, add)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("kc %d add %v: c[%d] = %g, Go twin %g", kc, add, i, got[i], want[i])
				}
			}
		}
	}
}
