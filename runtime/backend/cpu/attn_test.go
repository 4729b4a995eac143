package cpu

import (
	"math"
	"math/rand"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/half"
)

func randF16(rng *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = half.RoundF16(float32(rng.NormFloat64() * scale))
	}
	return x
}

// TestAttnKernels checks the assembly attention products bit-exact against
// their Go twins, and the twins against float64 sums.
func TestAttnKernels(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, hd := range []int{64, 128, 80} {
		for _, n := range []int{1, 5, 16, 63, 64, 65, 300} {
			stride := 3*hd + 7
			q := randF16(rng, hd, 1)
			k := randF16(rng, n*stride, 1)
			w := randF16(rng, n, 0.1)
			for _, lanes := range []bool{true, false} {
				if lanes && hd%16 != 0 {
					continue
				}
				var s0, v0 []float32
				for _, lvl := range levels() {
					withLevel(t, lvl, func() {
						s := make([]float32, n)
						AttnScores(s, q, k, stride, lanes)
						v := make([]float32, hd)
						AttnValues(v, w, k, stride, lanes, make([]float32, 64*hd))
						if s0 == nil {
							s0, v0 = s, v
							for j := range s {
								var ref, mag float64
								for i := range q {
									ref += float64(q[i]) * float64(k[j*stride+i])
									mag += math.Abs(float64(q[i]) * float64(k[j*stride+i]))
								}
								if math.Abs(float64(s[j])-ref) > 1e-6*mag {
									t.Fatalf("hd %d n %d lanes %v: score %d = %g, want %g", hd, n, lanes, j, s[j], ref)
								}
							}
							return
						}
						for j := range s {
							if math.Float32bits(s[j]) != math.Float32bits(s0[j]) {
								t.Fatalf("%v hd %d n %d lanes %v: score %d = %g, Go twin %g", lvl, hd, n, lanes, j, s[j], s0[j])
							}
						}
						for d := range v {
							if math.Float32bits(v[d]) != math.Float32bits(v0[d]) {
								t.Fatalf("%v hd %d n %d lanes %v: value %d = %g, Go twin %g", lvl, hd, n, lanes, d, v[d], v0[d])
							}
						}
					})
				}
			}
		}
	}
}

func TestSoftmaxExp(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for _, n := range []int{1, 15, 16, 17, 200} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 30)
		}
		x[0] = float32(math.Inf(-1))
		x[n-1] = -150 // e^(x−mx) underflows
		mx := float32(5)
		var w0 []float32
		var sum0 float64
		for _, lvl := range levels() {
			withLevel(t, lvl, func() {
				w := make([]float32, (n+15)&^15)
				copy(w, x)
				sum := SoftmaxExp(w, n, mx)
				if w0 == nil {
					w0, sum0 = w, sum
					var ref float64
					for j, v := range x {
						e := math.Exp(float64(v - mx))
						if math.Abs(float64(w[j])-e) > 4e-7*e+1e-44 {
							t.Fatalf("n %d: exp(%g) = %g, want %g", n, v-mx, w[j], e)
						}
						ref += e
					}
					if math.Abs(sum-ref) > 1e-6*ref+1e-44 {
						t.Fatalf("n %d: sum %g, want %g", n, sum, ref)
					}
					return
				}
				if sum != sum0 {
					t.Fatalf("%v n %d: sum %g, Go twin %g", lvl, n, sum, sum0)
				}
				for j := range w {
					if math.Float32bits(w[j]) != math.Float32bits(w0[j]) {
						t.Fatalf("%v n %d: w[%d] = %g, Go twin %g", lvl, n, j, w[j], w0[j])
					}
				}
			})
		}
	}
}

func TestSwiGLURoundF16(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, n := range []int{1, 16, 37, 1536} {
		g, u := make([]float32, n), make([]float32, n)
		for i := range g {
			g[i] = float32(rng.NormFloat64() * 8)
			u[i] = float32(rng.NormFloat64())
		}
		g[0] = -100 // e^−g overflows: silu = −0
		if n > 1 {
			g[1] = 100
		}
		var a0, r0 []float32
		for _, lvl := range levels() {
			withLevel(t, lvl, func() {
				a := make([]float32, n)
				SwiGLU(a, g, u)
				r := append([]float32(nil), u...)
				r[0] = 65520 // rounds to +Inf in f16
				RoundF16(r)
				if a0 == nil {
					a0, r0 = a, r
					for i := range a {
						want := float64(g[i]) / (1 + math.Exp(-float64(g[i]))) * float64(u[i])
						if math.Abs(float64(a[i])-want) > 1e-6*math.Abs(want)+1e-30 {
							t.Fatalf("n %d: swiglu(%g, %g) = %g, want %g", n, g[i], u[i], a[i], want)
						}
						if r[i] != half.RoundF16(r[i]) {
							t.Fatalf("n %d: %g not an f16 value", n, r[i])
						}
					}
					return
				}
				for i := range a {
					if math.Float32bits(a[i]) != math.Float32bits(a0[i]) || math.Float32bits(r[i]) != math.Float32bits(r0[i]) {
						t.Fatalf("%v n %d: [%d] swiglu %g/%g round %g/%g (asm/Go)", lvl, n, i, a[i], a0[i], r[i], r0[i])
					}
				}
			})
		}
	}
}
