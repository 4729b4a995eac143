// Package ref is the reference compute backend: every operation of
// backend.Backend written once as the plain loops of its definition, generic
// over the element type, single-threaded, with no kernel, tiling or
// summation-order trick. In float32 it is the twin the fast CPU backend is
// tested against (runtime/backend/backendtest); in float64 it is what the
// student's gradients are checked on by finite differences.
//
// Quantized weights are dequantized at load (gguf.Dequantize) and multiplied
// in the element type: unlike the CPU backend, activations are not quantized
// before a product, so the two agree to quantization noise on quantized
// weights and to rounding on float ones.
package ref

import (
	"fmt"
	"math"

	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// Float is an element type the reference computes in.
type Float interface{ ~float32 | ~float64 }

// New32 is the reference backend computing in float32.
func New32() backend.Backend { return &impl[float32]{} }

// New64 is the reference backend computing in float64.
func New64() backend.Backend { return &impl[float64]{} }

// impl is the reference backend for element type T.
type impl[T Float] struct{}

// tensor is a row-major [rows, cols] matrix of T.
type tensor[T Float] struct {
	data       []T
	rows, cols int
	typ        gguf.Type // the GGUF type of a loaded weight; F32/F64 for activations
}

func (t *tensor[T]) Rows() int       { return t.rows }
func (t *tensor[T]) Cols() int       { return t.cols }
func (t *tensor[T]) Type() gguf.Type { return t.typ }
func (t *tensor[T]) Slice(lo, hi int) backend.Tensor {
	if lo < 0 || hi > t.rows || lo > hi {
		panic(fmt.Sprintf("ref: rows %d..%d of a %d-row tensor", lo, hi, t.rows))
	}
	return &tensor[T]{data: t.data[lo*t.cols : hi*t.cols], rows: hi - lo, cols: t.cols, typ: t.typ}
}

// row is row r of t.
func (t *tensor[T]) row(r int) []T { return t.data[r*t.cols : (r+1)*t.cols] }

// of unwraps a tensor of this backend.
func of[T Float](t backend.Tensor) *tensor[T] {
	if t == nil {
		return nil
	}
	rt, ok := t.(*tensor[T])
	if !ok {
		panic(fmt.Sprintf("ref: a %T is not a tensor of this backend", t))
	}
	return rt
}

func actType[T Float]() gguf.Type {
	var z T
	if _, ok := any(z).(float64); ok {
		return gguf.TypeF64
	}
	return gguf.TypeF32
}

func (b *impl[T]) Name() string {
	if actType[T]() == gguf.TypeF64 {
		return "ref/f64"
	}
	return "ref/f32"
}

func (b *impl[T]) Threads() int { return 1 }
func (b *impl[T]) Close() error { return nil }
func (b *impl[T]) newT(rows, cols int) *tensor[T] {
	return &tensor[T]{data: make([]T, rows*cols), rows: rows, cols: cols, typ: actType[T]()}
}

func (b *impl[T]) LoadWeight(typ gguf.Type, rows, cols int, raw []byte) (backend.Tensor, error) {
	n, err := typ.RowBytes(cols)
	if err != nil {
		return nil, fmt.Errorf("ref: %w", err)
	}
	if len(raw) != rows*n {
		return nil, fmt.Errorf("ref: a [%d, %d] %s weight takes %d bytes, got %d", rows, cols, typ, rows*n, len(raw))
	}
	f := make([]float32, cols)
	t := b.newT(rows, cols)
	t.typ = typ
	for r := 0; r < rows; r++ {
		if err := gguf.Dequantize(typ, raw[r*n:(r+1)*n], f); err != nil {
			return nil, fmt.Errorf("ref: %w", err)
		}
		for i, v := range f {
			t.data[r*cols+i] = T(v)
		}
	}
	return t, nil
}

func (b *impl[T]) NewTensor(rows, cols int) backend.Tensor { return b.newT(rows, cols) }

// NewCache holds keys and values in T: the callers' RoundF16 gives them
// binary16's values.
func (b *impl[T]) NewCache(rows, cols int) backend.Tensor { return b.newT(rows, cols) }

func (b *impl[T]) FromHost(rows, cols int, data []float32) backend.Tensor {
	t := b.newT(rows, cols)
	b.Upload(t, data)
	return t
}

// TrainWeight keeps the weight at the backend's precision, as FromHost.
func (b *impl[T]) TrainWeight(rows, cols int, data []float32) backend.Tensor {
	return b.FromHost(rows, cols, data)
}

func (b *impl[T]) Upload(dst backend.Tensor, src []float32) {
	d := of[T](dst)
	if len(src) != len(d.data) {
		panic(fmt.Sprintf("ref: uploading %d numbers into a [%d, %d] tensor", len(src), d.rows, d.cols))
	}
	for i, v := range src {
		d.data[i] = T(v)
	}
}

func (b *impl[T]) Download(dst []float32, src backend.Tensor) {
	s := of[T](src)
	if len(dst) != len(s.data) {
		panic(fmt.Sprintf("ref: downloading a [%d, %d] tensor into %d numbers", s.rows, s.cols, len(dst)))
	}
	for i, v := range s.data {
		dst[i] = float32(v)
	}
}

func (b *impl[T]) Copy(dst, src backend.Tensor) { copy(of[T](dst).data, of[T](src).data) }
func (b *impl[T]) Zero(t backend.Tensor)        { clear(of[T](t).data) }

// ---------------------------------------------------------------------------
// Forward operations.

func (b *impl[T]) GetRows(dst, table backend.Tensor, ids []int) {
	d, tb := of[T](dst), of[T](table)
	for i, id := range ids {
		copy(d.row(i), tb.row(id))
	}
}

// MatMul: dst[n, out] = x[n, in] · w[out, in]ᵀ.
func (b *impl[T]) MatMul(dst, x, w backend.Tensor) {
	d, xt, wt := of[T](dst), of[T](x), of[T](w)
	gemmNT(xt.rows, wt.rows, wt.cols, xt.data, wt.data, d.data, false)
}

func (b *impl[T]) Add(dst, x backend.Tensor) {
	d, xt := of[T](dst), of[T](x)
	for i, v := range xt.data {
		d.data[i] += v
	}
}

func (b *impl[T]) AddRow(dst, row backend.Tensor) {
	d, r := of[T](dst), of[T](row)
	for t := 0; t < d.rows; t++ {
		dr := d.row(t)
		for i, v := range r.data {
			dr[i] += v
		}
	}
}

// RMSNorm: dst[t] = x[t]·r[t]⊙w, r[t] = 1/√(Σx²/D + eps), in float64.
func (b *impl[T]) RMSNorm(dst, rstd, x, w backend.Tensor, eps float32) {
	d, xt, wt, rs := of[T](dst), of[T](x), of[T](w), of[T](rstd)
	D := xt.cols
	for t := 0; t < xt.rows; t++ {
		xr, or := xt.row(t), d.row(t)
		var ss float64
		for _, v := range xr {
			ss += float64(v) * float64(v)
		}
		r := T(1 / math.Sqrt(ss/float64(D)+float64(eps)))
		if rs != nil {
			rs.data[t] = r
		}
		for i, v := range xr {
			or[i] = v * r * wt.data[i]
		}
	}
}

// RoPE: (x_a, x_b) ← (x_a·cos − x_b·sin, x_a·sin + x_b·cos), sin negated
// for the inverse.
func (b *impl[T]) RoPE(x, cs backend.Tensor, s backend.RopeShape, inverse bool) {
	xt, ct := of[T](x), of[T](cs)
	half := s.Dims / 2
	sign := T(1)
	if inverse {
		sign = -1
	}
	for t := 0; t < xt.rows; t++ {
		c := ct.row(t)
		for h := 0; h < s.Heads; h++ {
			v := xt.row(t)[h*s.HeadDim : (h+1)*s.HeadDim]
			for i := 0; i < half; i++ {
				cos, sin := c[2*i], sign*c[2*i+1]
				a, bb := 2*i, 2*i+1
				if s.Half {
					a, bb = i, i+half
				}
				x0, x1 := v[a], v[bb]
				v[a] = x0*cos - x1*sin
				v[bb] = x0*sin + x1*cos
			}
		}
	}
}

func sigmoid[T Float](g T) T { return T(1 / (1 + math.Exp(-float64(g)))) }

func (b *impl[T]) SwiGLU(dst, g, u backend.Tensor) {
	d, gt, ut := of[T](dst), of[T](g), of[T](u)
	for i, gv := range gt.data {
		d.data[i] = gv * sigmoid(gv) * ut.data[i]
	}
}

func (b *impl[T]) RoundF16(x backend.Tensor) {
	xt := of[T](x)
	for i, v := range xt.data {
		xt.data[i] = roundF16(v)
	}
}

// Attention: softmax(q·kᵀ/√hd) over positions 0..pos0+i, then ·v, in T
// (the definition; the CPU backend's exact mode also rounds q and the
// weights to f16, as llama.cpp does).
func (b *impl[T]) Attention(out, q, k, v backend.Tensor, s backend.AttnShape, pos0 int, batched bool) {
	ot, qt, kt, vt := of[T](out), of[T](q), of[T](k), of[T](v)
	hd, G := s.HeadDim, s.Heads/s.KVHeads
	scale := 1 / math.Sqrt(float64(hd))
	w := make([]float64, pos0+qt.rows)
	qh := make([]T, hd)
	for i := 0; i < qt.rows; i++ {
		L := pos0 + i + 1
		for h := 0; h < s.Heads; h++ {
			g := h / G
			for d := range qh {
				qh[d] = qt.row(i)[h*hd+d]
			}
			mx := math.Inf(-1)
			for j := 0; j < L; j++ {
				kr := kt.row(j)[g*hd : (g+1)*hd]
				var sc float64
				for d, qv := range qh {
					sc += float64(qv) * float64(kr[d])
				}
				w[j] = sc * scale
				mx = max(mx, w[j])
			}
			var sum float64
			for j := 0; j < L; j++ {
				w[j] = math.Exp(w[j] - mx)
				sum += w[j]
			}
			o := ot.row(i)[h*hd : (h+1)*hd]
			clear(o)
			for j := 0; j < L; j++ {
				a := T(w[j] / sum)
				vr := vt.row(j)[g*hd : (g+1)*hd]
				for d := range o {
					o[d] += a * vr[d]
				}
			}
		}
	}
}

// roundF16 rounds to the nearest binary16 value (ties to even), in T.
func roundF16[T Float](v T) T { return T(f16Round(float64(v))) }

// f16Round is the binary16 value nearest x: 11 significant bits for normal
// values, a fixed step of 2^−24 below 2^−14, ±Inf past 65504 (plus half a
// step).
func f16Round(x float64) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	a := math.Abs(x)
	if a >= 65520 {
		return math.Copysign(math.Inf(1), x)
	}
	_, e := math.Frexp(a) // a = f·2^e, f in [0.5, 1)
	step := math.Ldexp(1, e-11)
	if e-1 < -14 {
		step = math.Ldexp(1, -24)
	}
	return math.Copysign(math.RoundToEven(a/step)*step, x)
}
