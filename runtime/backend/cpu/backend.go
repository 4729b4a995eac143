package cpu

import (
	"fmt"
	"os"

	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// Backend is the CPU compute backend: weights kept in their quantized blocks,
// products by the SIMD kernels this CPU supports, work split over a Pool.
// Activations are float32 Go slices (tensor); loaded weights are Weights.
type Backend struct {
	pool     *Pool
	bf16     bool // TrainWeight keeps bf16 panels for the matrix unit (bf16.go)
	loadBF16 bool // LoadWeight dequantizes matrices to bf16 panels (a teacher)
	exact    bool // Attention follows llama.cpp bit for bit (SetExactAttention)
}

var _ backend.Backend = (*Backend)(nil)

// NewBackend starts a CPU backend with the given number of threads.
func NewBackend(threads int) *Backend {
	return &Backend{pool: NewPool(threads), bf16: trainBF16, exact: os.Getenv("CARTLSP_EXACT_ATTENTION") == "1"}
}

// Name is "cpu/<kernel level>".
func (b *Backend) Name() string { return "cpu/" + Features() }

// Threads is the number of worker threads.
func (b *Backend) Threads() int { return b.pool.Threads() }

// Close stops the workers.
func (b *Backend) Close() error {
	b.pool.Close()
	return nil
}

// tensor is a float32 activation [rows, cols], row-major.
type tensor struct {
	data       []float32
	rows, cols int
}

func (t *tensor) Rows() int       { return t.rows }
func (t *tensor) Cols() int       { return t.cols }
func (t *tensor) Type() gguf.Type { return gguf.TypeF32 }
func (t *tensor) Slice(lo, hi int) backend.Tensor {
	if lo < 0 || hi > t.rows || lo > hi {
		panic(fmt.Sprintf("cpu: rows %d..%d of a %d-row tensor", lo, hi, t.rows))
	}
	return &tensor{data: t.data[lo*t.cols : hi*t.cols : hi*t.cols], rows: hi - lo, cols: t.cols}
}

func (t *tensor) row(r int) []float32 { return t.data[r*t.cols : (r+1)*t.cols : (r+1)*t.cols] }

// weight is a loaded frozen weight.
type weight struct{ w *Weight }

func (t *weight) Rows() int       { return t.w.Rows() }
func (t *weight) Cols() int       { return t.w.Cols() }
func (t *weight) Type() gguf.Type { return t.w.Type() }

// InPlace says the weight reads LoadWeight's bytes where they lie.
func (t *weight) InPlace() bool { return t.w.inPlace }

func (t *weight) Slice(lo, hi int) backend.Tensor {
	panic("cpu: a loaded weight cannot be sliced")
}

// act unwraps an activation of this backend (nil stays nil).
func act(t backend.Tensor) *tensor {
	if t == nil {
		return nil
	}
	a, ok := t.(*tensor)
	if !ok {
		panic(fmt.Sprintf("cpu: a %T is not an activation of the CPU backend", t))
	}
	return a
}

// LoadWeight repacks a GGUF weight for the kernels.
func (b *Backend) LoadWeight(typ gguf.Type, rows, cols int, raw []byte) (backend.Tensor, error) {
	if b.loadBF16 && rows >= 32 && cols >= 32 {
		return b.loadWeightBF16(typ, rows, cols, raw)
	}
	w, err := NewWeight(typ, rows, cols, raw)
	if err != nil {
		return nil, err
	}
	return &weight{w: w}, nil
}

func (b *Backend) NewTensor(rows, cols int) backend.Tensor {
	return &tensor{data: make([]float32, rows*cols), rows: rows, cols: cols}
}

// FromHost keeps data as the tensor's memory.
func (b *Backend) FromHost(rows, cols int, data []float32) backend.Tensor {
	if len(data) != rows*cols {
		panic(fmt.Sprintf("cpu: %d numbers for a [%d, %d] tensor", len(data), rows, cols))
	}
	return &tensor{data: data, rows: rows, cols: cols}
}

func (b *Backend) Upload(dst backend.Tensor, src []float32) {
	if h, ok := dst.(*f16Tensor); ok {
		if len(src) != len(h.data) {
			panic(fmt.Sprintf("cpu: uploading %d numbers into a [%d, %d] tensor", len(src), h.rows, h.cols))
		}
		f32ToF16(h.data, src)
		return
	}
	d := act(dst)
	if len(src) != len(d.data) {
		panic(fmt.Sprintf("cpu: uploading %d numbers into a [%d, %d] tensor", len(src), d.rows, d.cols))
	}
	copy(d.data, src)
}

func (b *Backend) Download(dst []float32, src backend.Tensor) {
	if w, ok := src.(*bf16Weight); ok { // a training weight, widened
		if len(dst) != w.rows*w.cols {
			panic(fmt.Sprintf("cpu: downloading a [%d, %d] weight into %d numbers", w.rows, w.cols, len(dst)))
		}
		for r := 0; r < w.rows; r++ {
			for c := 0; c < w.cols; c++ {
				dst[r*w.cols+c] = w.fwd.at(r, c)
			}
		}
		return
	}
	if h, ok := src.(*f16Tensor); ok {
		if len(dst) != len(h.data) {
			panic(fmt.Sprintf("cpu: downloading a [%d, %d] tensor into %d numbers", h.rows, h.cols, len(dst)))
		}
		f16ToF32(dst, h.data)
		return
	}
	s := act(src)
	if len(dst) != len(s.data) {
		panic(fmt.Sprintf("cpu: downloading a [%d, %d] tensor into %d numbers", s.rows, s.cols, len(dst)))
	}
	copy(dst, s.data)
}

func (b *Backend) Copy(dst, src backend.Tensor) { copyTensor(dst, src) }

func (b *Backend) Zero(t backend.Tensor) {
	if h, ok := t.(*f16Tensor); ok {
		clear(h.data)
		return
	}
	clear(act(t).data)
}
