package cpu

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/half"
)

// refMatMul is the float64 reference of MatMul: weights dequantized from the
// raw GGUF blocks, activations quantized by the plain specification and
// dequantized, products summed in float64. It returns y: [n, rows], the sum
// of |terms| per output (for a rounding tolerance), and the product with the
// unquantized activations (to bound the quantization error).
func refMatMul(typ gguf.Type, rows, cols int, raw []byte, x []float32, n int) (y, mag, exact []float64) {
	rb, _ := typ.RowBytes(cols)
	w := make([][]float64, rows)
	for o := range w {
		w[o] = refDequant(typ, raw[o*rb:(o+1)*rb], cols)
	}
	y, mag, exact = make([]float64, n*rows), make([]float64, n*rows), make([]float64, n*rows)
	for r := 0; r < n; r++ {
		xr := x[r*cols : (r+1)*cols]
		xd := make([]float64, cols) // the activation as the kernel sees it
		var sfix []float64          // Q4_1, Q5_1: s − d·Σq per block
		switch typ {
		case gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0, gguf.TypeQ5_1, gguf.TypeQ8_0:
			qs, d, s := make([]int8, cols), make([]float32, cols/32), make([]float32, cols/32)
			quantRefQ8(xr, qs, d, s)
			sfix = make([]float64, cols/32)
			for b := range d {
				sum := 0.0
				for j := 0; j < 32; j++ {
					xd[b*32+j] = float64(d[b]) * float64(qs[b*32+j])
					sum += float64(qs[b*32+j])
				}
				sfix[b] = float64(s[b]) - float64(d[b])*sum
			}
		case gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K:
			qs, d, bs := make([]int8, cols), make([]float32, cols/256), make([]int16, cols/16)
			quantQ8K(xr, qs, d, bs)
			for j := range xd {
				xd[j] = float64(d[j/256]) * float64(qs[j])
			}
		case gguf.TypeF16:
			for j, v := range xr {
				xd[j] = float64(half.RoundF16(v))
			}
		case gguf.TypeBF16:
			for j, v := range xr {
				xd[j] = float64(half.BF16ToF32(half.F32ToBF16(v)))
			}
		default:
			for j, v := range xr {
				xd[j] = float64(v)
			}
		}
		for o := 0; o < rows; o++ {
			var s, m, e float64
			for j := 0; j < cols; j++ {
				s += w[o][j] * xd[j]
				m += math.Abs(w[o][j] * xd[j])
				e += w[o][j] * float64(xr[j])
			}
			if typ == gguf.TypeQ4_1 || typ == gguf.TypeQ5_1 {
				for b := 0; b < cols/32; b++ {
					mw := float64(half.F16ToF32(binary.LittleEndian.Uint16(raw[o*rb+b*typ.BlockBytes()+2:])))
					s += mw * sfix[b]
					m += math.Abs(mw * sfix[b])
				}
			}
			y[r*rows+o], mag[r*rows+o], exact[r*rows+o] = s, m, e
		}
	}
	return y, mag, exact
}

var matmulTypes = []gguf.Type{
	gguf.TypeQ4_1, gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ5_0, gguf.TypeQ5_1,
	gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K,
}

// TestMatMul checks every kernel level against the float64 reference
// (relative tolerance 1e-5 of Σ|terms|), the assembly kernels against their
// Go twin (bit-exact for the integer kernels), and the quantization error
// against the unquantized product (< 3% in norm).
func TestMatMul(t *testing.T) {
	shapes := []struct{ rows, cols int }{{16, 256}, {37, 512}, {50, 768}, {1, 256}, {200, 1536}}
	ns := []int{1, 3, 17, 64}
	pool := NewPool(2)
	defer pool.Close()
	for _, typ := range matmulTypes {
		for si, sh := range shapes {
			rng := rand.New(rand.NewSource(int64(si*100 + int(typ))))
			raw := randomWeight(rng, typ, sh.rows, sh.cols)
			x := randomActs(rng, 64*sh.cols)
			for _, n := range ns {
				if sh.rows*sh.cols*n > 200*1536*17 {
					continue
				}
				ref, mag, exact := refMatMul(typ, sh.rows, sh.cols, raw, x, n)
				var twin []float32
				for _, lvl := range levels() {
					for _, p := range []*Pool{nil, pool} {
						name := fmt.Sprintf("%v/%dx%d/n=%d/%v/threads=%d", typ, sh.rows, sh.cols, n, lvl, p.Threads())
						var y []float32
						withLevel(t, lvl, func() {
							w, err := NewWeight(typ, sh.rows, sh.cols, raw)
							if err != nil {
								t.Fatal(err)
							}
							y = make([]float32, n*sh.rows)
							w.MatMul(p, y, x, n)
						})
						var num, den float64
						for i, v := range y {
							if d := math.Abs(float64(v) - ref[i]); d > 1e-5*mag[i]+1e-7 {
								t.Fatalf("%s: y[%d] = %g, reference %g (|terms| %g)", name, i, v, ref[i], mag[i])
							}
							num += (float64(v) - exact[i]) * (float64(v) - exact[i])
							den += exact[i] * exact[i]
						}
						limit := 0.03
						if typ == gguf.TypeQ5_K {
							limit = 0.035 // random mins make these outputs small (3.1% seen)
						}
						if e := math.Sqrt(num / den); len(y) >= 32 && e > limit {
							t.Fatalf("%s: relative error vs unquantized activations %.4f", name, e)
						}
						switch typ {
						case gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0, gguf.TypeQ5_1, gguf.TypeQ8_0, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K:
							if twin == nil {
								twin = y
							}
							for i := range y {
								if y[i] != twin[i] {
									t.Fatalf("%s: y[%d] = %g, Go twin %g", name, i, y[i], twin[i])
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestMatMulLarge runs the model's largest shapes once (n = 512 prefill
// tiles, 49152-row output) against the Go twin.
func TestMatMulLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	pool := NewPool(2)
	defer pool.Close()
	for _, c := range []struct {
		typ        gguf.Type
		rows, cols int
		n          int
	}{{gguf.TypeQ4_1, 48, 576, 512}, {gguf.TypeQ8_0, 2000, 576, 5}, {gguf.TypeQ4_0, 40, 1536, 130}, {gguf.TypeQ5_0, 64, 896, 130}, {gguf.TypeQ5_1, 64, 896, 130}, {gguf.TypeQ6_K, 100, 4864, 70}, {gguf.TypeQ4_K, 100, 4864, 70}} {
		rng := rand.New(rand.NewSource(7))
		raw := randomWeight(rng, c.typ, c.rows, c.cols)
		x := randomActs(rng, c.n*c.cols)
		var twin []float32
		for _, lvl := range levels() {
			withLevel(t, lvl, func() {
				w, err := NewWeight(c.typ, c.rows, c.cols, raw)
				if err != nil {
					t.Fatal(err)
				}
				y := make([]float32, c.n*c.rows)
				w.MatMul(pool, y, x, c.n)
				if twin == nil {
					twin = y
					return
				}
				for i := range y {
					if y[i] != twin[i] {
						t.Fatalf("%v %v n=%d: y[%d] = %g, Go twin %g", c.typ, lvl, c.n, i, y[i], twin[i])
					}
				}
			})
		}
	}
}

// TestRow checks Row against the independent dequantizer.
func TestRow(t *testing.T) {
	for _, typ := range matmulTypes {
		rng := rand.New(rand.NewSource(int64(typ)))
		rows, cols := 19, 512
		raw := randomWeight(rng, typ, rows, cols)
		rb, _ := typ.RowBytes(cols)
		for _, lvl := range levels() {
			withLevel(t, lvl, func() {
				w, err := NewWeight(typ, rows, cols, raw)
				if err != nil {
					t.Fatal(err)
				}
				out := make([]float32, cols)
				for r := 0; r < rows; r++ {
					w.Row(r, out)
					ref := refDequant(typ, raw[r*rb:(r+1)*rb], cols)
					for j := range out {
						if d := math.Abs(float64(out[j]) - ref[j]); d > 1e-6*math.Abs(ref[j])+1e-9 {
							t.Fatalf("%v %v row %d col %d: %g, want %g", typ, lvl, r, j, out[j], ref[j])
						}
					}
				}
			})
		}
	}
}

// TestRowGGUF checks Row of the tiled types bit for bit against the gguf
// package's dequantizers (llama.cpp's dequantize_row_*), on random blocks and
// on blocks from the gguf quantizer.
func TestRowGGUF(t *testing.T) {
	for _, typ := range []gguf.Type{gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0, gguf.TypeQ5_1, gguf.TypeQ8_0} {
		rng := rand.New(rand.NewSource(int64(typ)))
		rows, cols := 19, 256
		quantized, err := gguf.Quantize(typ, randomActs(rng, rows*cols))
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range [][]byte{randomWeight(rng, typ, rows, cols), quantized} {
			want := make([]float32, rows*cols)
			if err := gguf.Dequantize(typ, raw, want); err != nil {
				t.Fatal(err)
			}
			for _, lvl := range levels() {
				withLevel(t, lvl, func() {
					w, err := NewWeight(typ, rows, cols, raw)
					if err != nil {
						t.Fatal(err)
					}
					out := make([]float32, cols)
					for r := 0; r < rows; r++ {
						w.Row(r, out)
						for j, v := range out {
							if math.Float32bits(v) != math.Float32bits(want[r*cols+j]) {
								t.Fatalf("%v %v row %d col %d: %g, gguf %g", typ, lvl, r, j, v, want[r*cols+j])
							}
						}
					}
				})
			}
		}
	}
}

func TestNewWeightErrors(t *testing.T) {
	for _, c := range []struct {
		typ        gguf.Type
		rows, cols int
		bytes      int
	}{
		{gguf.TypeQ4_1, 4, 48, 4 * 30}, // cols not a block multiple
		{gguf.TypeQ4_1, 4, 64, 4*40 - 1},
		{gguf.TypeQ8_0, 0, 64, 0},
		{gguf.TypeQ5_1, 2, 64, 2*48 + 1},
		{gguf.TypeQ5_K, 1, 256, 175},
		{gguf.TypeQ4_K, 1, 288, 162},
	} {
		if _, err := NewWeight(c.typ, c.rows, c.cols, make([]byte, c.bytes)); err == nil {
			t.Errorf("NewWeight(%v, %d, %d, %d bytes) accepted", c.typ, c.rows, c.cols, c.bytes)
		} else {
			t.Logf("%v", err)
		}
	}
}
