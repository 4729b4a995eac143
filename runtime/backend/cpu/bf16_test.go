package cpu

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/half"
)

// TestBF16Pack checks the AVX-512 packer against its Go twin, bit for bit.
func TestBF16Pack(t *testing.T) {
	if detected < levelAVX512 {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewSource(1))
	const steps, stride = 7, 80
	src := make([]float32, 32*steps)
	for i := range src {
		src[i] = math.Float32frombits(rng.Uint32()&^(0xFF<<23) | uint32(100+rng.Intn(50))<<23) // finite
	}
	got, want := make([]uint16, steps*stride), make([]uint16, steps*stride)
	withLevel(t, levelAVX512, func() { bf16Pack(got, src, steps, stride) })
	bf16PackGo(want, src, steps, stride)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("element %d: %#04x, want %#04x", i, got[i], want[i])
		}
	}
}

func randomBF16Block(rng *rand.Rand, n int) []uint16 {
	x := make([]uint16, n)
	for i := range x {
		x[i] = half.F32ToBF16(float32(rng.NormFloat64()))
	}
	return x
}

// TestAMXKernel checks the tile kernel against its Go twin on packed blocks.
func TestAMXKernel(t *testing.T) {
	if !amxDetected {
		t.Skip("no AMX")
	}
	rng := rand.New(rand.NewSource(2))
	for _, ks := range []int{1, 3, 28} {
		for _, acc := range []bool{false, true} {
			a, b := randomBF16Block(rng, ks*1024), randomBF16Block(rng, ks*1024)
			const ldc = 40
			c0 := make([]float32, 32*ldc)
			for i := range c0 {
				c0[i] = float32(rng.NormFloat64())
			}
			got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
			amxTile(ks, a, b, got, ldc, acc, b)
			amxKernelGo(ks, a, b, want, ldc, acc, nil)
			for i := 0; i < 32; i++ {
				for j := 0; j < ldc; j++ {
					g, w := got[i*ldc+j], want[i*ldc+j]
					if j >= 32 {
						if g != c0[i*ldc+j] {
							t.Fatalf("ks %d: column %d beyond the tile was written", ks, j)
						}
						continue
					}
					if math.Abs(float64(g-w)) > 1e-5*math.Sqrt(float64(32*ks))*4 {
						t.Fatalf("ks %d acc %v: C[%d,%d] = %g, want %g", ks, acc, i, j, g, w)
					}
				}
			}
		}
	}
}

// TestBF16DPKernel checks the AVX512-BF16 kernel against the Go twin.
func TestBF16DPKernel(t *testing.T) {
	if !bf16dpDetected {
		t.Skip("no AVX512-BF16")
	}
	rng := rand.New(rand.NewSource(4))
	for _, ks := range []int{1, 3, 28} {
		for _, acc := range []bool{false, true} {
			a, b := randomBF16Block(rng, max(ks, 1)*1024), randomBF16Block(rng, max(ks, 1)*1024)
			const ldc = 37
			c0 := make([]float32, 32*ldc)
			for i := range c0 {
				c0[i] = float32(rng.NormFloat64())
			}
			got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
			bf16dpTile(ks, a, b, got, ldc, acc, nil)
			amxKernelGo(ks, a, b, want, ldc, acc, nil)
			for i := range got {
				if i%ldc >= 32 {
					if got[i] != c0[i] {
						t.Fatalf("ks %d: element %d beyond the block was written", ks, i)
					}
					continue
				}
				if math.Abs(float64(got[i]-want[i])) > 1e-5*math.Sqrt(float64(32*ks+1))*4 {
					t.Fatalf("ks %d acc %v: C[%d,%d] = %g, want %g", ks, acc, i/ldc, i%ldc, got[i], want[i])
				}
			}
		}
	}
}

// TestBF16Gemm checks the whole product, edges included, against float64
// sums of the bf16-rounded operands, on the tiles and on the Go twin.
func TestBF16Gemm(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	type kernel struct {
		lvl   level
		noAMX bool
	}
	kernels := []kernel{{levelGeneric, false}}
	if amxDetected {
		kernels = append(kernels, kernel{levelAVX512, false})
	}
	if bf16dpDetected {
		kernels = append(kernels, kernel{levelAVX512, true})
	}
	for _, sh := range [][3]int{{1, 32, 32}, {33, 40, 50}, {70, 64, 33}, {100, 96, 896}, {600, 64, 1000}, {40, 64, 2100}} {
		m, n, k := sh[0], sh[1], sh[2]
		for _, transpose := range []bool{false, true} {
			rows, cols := n, k // w [rows, cols]; Bt = w, or wᵀ when transposed
			if transpose {
				rows, cols = k, n
			}
			w := randomActs(rng, rows*cols)
			a := randomActs(rng, m*k)
			for _, kn := range kernels {
				lvl := kn.lvl
				for _, acc := range []bool{false, true} {
					name := fmt.Sprintf("%dx%dx%d/T=%v/%v/noamx=%v/acc=%v", m, n, k, transpose, lvl, kn.noAMX, acc)
					t.Run(name, func(t *testing.T) {
						p := NewPool(2)
						defer p.Close()
						ldc := n + 3
						c := make([]float32, m*ldc)
						for i := range c {
							c[i] = float32(i % 7)
						}
						c0 := append([]float32(nil), c...)
						old := noAMX
						noAMX = kn.noAMX
						withLevel(t, lvl, func() {
							pk := packPanels(p, w, rows, cols, transpose)
							bf16Gemm(p, m, a, k, pk, c, ldc, acc)
						})
						noAMX = old
						var maxErr float64
						for i := 0; i < m; i++ {
							for j := 0; j < ldc; j++ {
								if j >= n {
									if c[i*ldc+j] != c0[i*ldc+j] {
										t.Fatalf("C[%d,%d] beyond n was written", i, j)
									}
									continue
								}
								var s, mag float64
								for kk := 0; kk < k; kk++ {
									var bv float32
									if transpose {
										bv = w[kk*cols+j]
									} else {
										bv = w[j*cols+kk]
									}
									pr := float64(half.BF16ToF32(half.F32ToBF16(a[i*k+kk]))) * float64(half.BF16ToF32(half.F32ToBF16(bv)))
									s += pr
									mag += math.Abs(pr)
								}
								if acc {
									s += float64(c0[i*ldc+j])
								}
								if e := math.Abs(float64(c[i*ldc+j])-s) / (mag + 1); e > maxErr {
									maxErr = e
								}
							}
						}
						if maxErr > 1e-5 {
							t.Fatalf("relative error %g", maxErr)
						}
					})
				}
			}
		}
	}
}

// BenchmarkBF16Gemm: the student's products on the default model's shapes
// (Qwen2.5-Coder-0.5B: D 896, F 4864, V 151936), bf16 tiles against the
// float32 GEMM, 512 rows.
//
//	go test -run '^$' -bench 'BF16Gemm' ./runtime/backend/cpu
func BenchmarkBF16Gemm(b *testing.B) {
	if !amxDetected && !bf16dpDetected {
		b.Skip("no bf16 products")
	}
	for _, sh := range [][3]int{{512, 896, 896}, {512, 4864, 896}, {512, 896, 4864}, {512, 32768, 896}} {
		m, n, k := sh[0], sh[1], sh[2]
		rng := rand.New(rand.NewSource(1))
		a, w, c := randomActs(rng, m*k), randomActs(rng, n*k), make([]float32, m*n)
		for _, threads := range []int{1, 2} {
			p := NewPool(threads)
			pk := packPanels(p, w, n, k, false)
			for _, kern := range []string{"amx", "avx512bf16"} {
				if kern == "amx" && !amxDetected || kern == "avx512bf16" && !bf16dpDetected {
					continue
				}
				b.Run(fmt.Sprintf("%dx%dx%d/bf16-%s/threads=%d", m, n, k, kern, threads), func(b *testing.B) {
					old := noAMX
					noAMX = kern != "amx"
					defer func() { noAMX = old }()
					for i := 0; i < b.N; i++ {
						bf16Gemm(p, m, a, k, pk, c, n, false)
					}
					b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
			b.Run(fmt.Sprintf("%dx%dx%d/f32/threads=%d", m, n, k, threads), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					SgemmNT(p, m, n, k, a, w, c, false)
				}
				b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
			p.Close()
		}
	}
}

// BenchmarkAMXPeak is the matrix unit's ceiling on this core: TDPBF16PS on
// tiles already loaded, four independent accumulators, nothing else.
//
//	go test -run '^$' -bench AMXPeak ./runtime/backend/cpu
func BenchmarkAMXPeak(b *testing.B) {
	if !amxDetected {
		b.Skip("no AMX")
	}
	const n = 1 << 16
	for i := 0; i < b.N; i++ {
		amxPeak(n)
	}
	b.ReportMetric(float64(b.N)*n*4*16*16*32*2/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
