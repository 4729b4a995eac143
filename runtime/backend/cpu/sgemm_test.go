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
	shapes := [][3]int{{1, 1, 1}, {12, 32, 7}, {13, 33, 300}, {17, 200, 1536}, {50, 70, 513}, {200, 600, 64}, {3, 5, 0}}
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
