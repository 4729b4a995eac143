package cpu

import (
	"math"
	"math/rand"
	"testing"
)

// TestQuantQ8 checks the Go and assembly activation quantizers bit-exact
// against the plain specification, including ties and zero blocks.
func TestQuantQ8(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const cols = 32 * 40
	rowsIn := [][]float32{randomActs(rng, cols), make([]float32, cols)}
	// ties: max 127 makes id = 1, so k+0.5 values round to even
	tie := make([]float32, cols)
	for i := range tie {
		tie[i] = float32(i%64) - 31.5
		if i%32 == 0 {
			tie[i] = 127
		}
	}
	rowsIn = append(rowsIn, tie)
	tiny := randomActs(rng, cols)
	for i := range tiny {
		tiny[i] *= 1e-30
	}
	rowsIn = append(rowsIn, tiny)
	mixed := randomActs(rng, cols)
	for i := 64; i < 96; i++ {
		mixed[i] = 0
	}
	rowsIn = append(rowsIn, mixed)
	for ri, x := range rowsIn {
		nb := cols / 32
		qs, d, s := make([]int8, cols), make([]float32, nb), make([]float32, nb)
		quantRefQ8(x, qs, d, s)
		for _, corr := range []int32{0, -8, -128} {
			for _, lvl := range levels() {
				withLevel(t, lvl, func() {
					mw := metaWords(corr)
					gq, meta := make([]int8, cols), make([]uint32, mw*nb)
					quantQ8(x, gq, meta, corr)
					for j := range qs {
						if gq[j] != qs[j] {
							t.Fatalf("row %d %v corr %d: q[%d] = %d, want %d (x=%g)", ri, lvl, corr, j, gq[j], qs[j], x[j])
						}
					}
					for b := 0; b < nb; b++ {
						m := meta[mw*b : mw*(b+1)]
						if got := math.Float32frombits(m[0]); got != d[b] {
							t.Fatalf("row %d %v: d[%d] = %g, want %g", ri, lvl, b, got, d[b])
						}
						if corr == 0 {
							if got := math.Float32frombits(m[1]); got != s[b] {
								t.Fatalf("row %d %v: s[%d] = %g, want %g", ri, lvl, b, got, s[b])
							}
							continue
						}
						for g := 0; g < 8; g++ {
							sum := int32(0)
							for _, q := range qs[b*32+4*g : b*32+4*g+4] {
								sum += int32(q)
							}
							if got := int32(m[1+g]); got != corr*sum {
								t.Fatalf("row %d %v: corr[%d][%d] = %d, want %d", ri, lvl, b, g, got, corr*sum)
							}
						}
					}
				})
			}
		}
	}
	// the tie row: 0.5 → 0, 1.5 → 2, -0.5 → 0, -2.5 → -2
	qs, d, s := make([]int8, 32), make([]float32, 1), make([]float32, 1)
	x := make([]float32, 32)
	x[0], x[1], x[2], x[3], x[4] = 127, 0.5, 1.5, -0.5, -2.5
	quantRefQ8(x, qs, d, s)
	if qs[0] != 127 || qs[1] != 0 || qs[2] != 2 || qs[3] != 0 || qs[4] != -2 || d[0] != 1 {
		t.Fatalf("ties: %v d=%g", qs[:5], d[0])
	}
}

func TestQuantQ8K(t *testing.T) {
	x := make([]float32, 512)
	for i := range x[:256] {
		x[i] = float32(i%17) - 8
	}
	x[5] = -20 // signed max: iscale = -127/-20
	qs, d, bs := make([]int8, 512), make([]float32, 2), make([]int16, 32)
	quantQ8K(x, qs, d, bs)
	iscale := float32(-127) / -20
	if d[0] != 1/iscale || d[1] != 0 {
		t.Fatalf("d = %v", d)
	}
	for j := 0; j < 256; j++ {
		want := int8(min(127, int32(math.RoundToEven(float64(iscale*x[j])))))
		if qs[j] != want {
			t.Fatalf("q[%d] = %d, want %d", j, qs[j], want)
		}
	}
	for g := 0; g < 16; g++ {
		var s int16
		for _, q := range qs[16*g : 16*g+16] {
			s += int16(q)
		}
		if bs[g] != s {
			t.Fatalf("bsum %d = %d, want %d", g, bs[g], s)
		}
	}
}
