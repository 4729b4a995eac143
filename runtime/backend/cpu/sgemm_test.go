package cpu

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// TestSgemm checks NT, NN and TN against a float64 triple loop for odd
// shapes, accumulate on and off, every level and 1 or 2 threads.
func TestSgemm(t *testing.T) {
	pool := NewPool(2)
	defer pool.Close()
	shapes := [][3]int{{1, 1, 1}, {12, 32, 7}, {13, 33, 300}, {17, 200, 1536}, {50, 70, 513}, {200, 600, 64}, {800, 40, 300}, {25, 40, 4500}, {30, 1100, 50}, {3, 5, 0}}
	for _, sh := range shapes {
		m, n, k := sh[0], sh[1], sh[2]
		rng := rand.New(rand.NewSource(int64(m*n + k)))
		a, b := randomActs(rng, m*k), randomActs(rng, n*k)
		c0 := randomActs(rng, m*n)
		for _, mode := range []string{"NT", "NN", "TN"} {
			// logical A[i,p], B[p,j]
			at := func(i, p int) float64 {
				if mode == "TN" {
					return float64(a[p*m+i])
				}
				return float64(a[i*k+p])
			}
			bt := func(p, j int) float64 {
				if mode == "NT" {
					return float64(b[j*k+p])
				}
				return float64(b[p*n+j])
			}
			for _, acc := range []bool{false, true} {
				want := make([]float64, m*n)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						s, mag := 0.0, 0.0
						for p := 0; p < k; p++ {
							s += at(i, p) * bt(p, j)
							mag += math.Abs(at(i, p) * bt(p, j))
						}
						if acc {
							s += float64(c0[i*n+j])
						}
						want[i*n+j] = s
						_ = mag
					}
				}
				for _, lvl := range levels() {
					for _, p := range []*Pool{nil, pool} {
						name := fmt.Sprintf("%s %dx%dx%d acc=%v %v threads=%d", mode, m, n, k, acc, lvl, p.Threads())
						c := append([]float32(nil), c0...)
						withLevel(t, lvl, func() {
							switch mode {
							case "NT":
								SgemmNT(p, m, n, k, a, b, c, acc)
							case "NN":
								SgemmNN(p, m, n, k, a, b, c, acc)
							case "TN":
								SgemmTN(p, m, n, k, a, b, c, acc)
							}
						})
						for i := range c {
							if d := math.Abs(float64(c[i]) - want[i]); d > 1e-5*math.Sqrt(float64(k+1))*4+1e-5 {
								t.Fatalf("%s: c[%d] = %g, want %g", name, i, c[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestPackPanels checks the packing of full panels against plain
// loops.
func TestPackPanels(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	for _, sh := range [][3]int{{1, 37, 0}, {7, 300, 5}, {256, 1000, 100}, {13, 576, 3}} {
		kc, ld, off := sh[0], sh[1], sh[2]
		src := randomActs(rng, (40+kc+off)*ld)
		// A row-major B panel: dst[p·32 + j] = src[(off+p)·ld + 2 + j].
		if ld >= 34 {
			for _, lvl := range levels() {
				got := make([]float32, kc*sgNR)
				withLevel(t, lvl, func() { packB(got, src, ld, false, off, kc, 2, sgNR) })
				for p := 0; p < kc; p++ {
					for j := 0; j < sgNR; j++ {
						if w := src[(off+p)*ld+2+j]; got[p*sgNR+j] != w {
							t.Fatalf("%v kc=%d ld=%d: B dst[%d] = %g, want %g", lvl, kc, ld, p*sgNR+j, got[p*sgNR+j], w)
						}
					}
				}
			}
		}
		for _, rows := range []int{sgMR, sgNR} {
			for _, lvl := range levels() {
				got, want := make([]float32, kc*rows), make([]float32, kc*rows)
				withLevel(t, lvl, func() {
					if rows == sgMR {
						packA(got, src, ld, false, off, kc, 2, sgMR)
					} else {
						packB(got, src, ld, true, off, kc, 2, sgNR)
					}
				})
				for p := 0; p < kc; p++ {
					for r := 0; r < rows; r++ {
						want[p*rows+r] = src[(2+r)*ld+off+p]
					}
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("%v rows=%d kc=%d ld=%d: dst[%d] = %g, want %g", lvl, rows, kc, ld, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// BenchmarkPack times packing one 12-row A panel and one 32-row transposed
// B panel (kc = 256, rows 576 apart) at every level.
func BenchmarkPack(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	src := randomActs(rng, 32*576)
	dst := make([]float32, sgKC*sgNR)
	for _, lvl := range levels() {
		b.Run(fmt.Sprintf("A/%v", lvl), func(b *testing.B) {
			withLevel(b, lvl, func() {
				for i := 0; i < b.N; i++ {
					packA(dst, src, 576, false, 0, sgKC, 0, sgMR)
				}
			})
		})
		b.Run(fmt.Sprintf("B/%v", lvl), func(b *testing.B) {
			withLevel(b, lvl, func() {
				for i := 0; i < b.N; i++ {
					packB(dst, src, 576, true, 0, sgKC, 0, sgNR)
				}
			})
		})
	}
}

// TestSgemmKernelStrided checks the in-place-A micro-kernel against its Go
// twin, on a packed A (ra = 1, ka = 12) and on a row-major one.
func TestSgemmKernelStrided(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, lvl := range levels() {
		var kern sgKernS
		withLevel(t, lvl, func() { kern = sgemmKernelStrided() })
		if kern == nil {
			continue
		}
		for _, kc := range []int{1, 7, 256} {
			for _, st := range [][2]int{{1, sgMR}, {kc + 3, 1}} {
				ra, ka := st[0], st[1]
				a := randomActs(rng, (sgMR-1)*ra+(kc-1)*ka+1)
				b := randomActs(rng, kc*sgNR)
				for _, add := range []bool{false, true} {
					c0 := randomActs(rng, sgMR*40)
					got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
					kern(kc, a, ra, ka, b, got, 40, add)
					sgemmKernelGoS(kc, a, ra, ka, b, want, 40, add)
					for i := range got {
						if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*math.Sqrt(float64(kc)) {
							t.Fatalf("%v kc=%d ra=%d ka=%d add=%v: c[%d] = %g, Go twin %g", lvl, kc, ra, ka, add, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}
