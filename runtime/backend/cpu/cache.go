package cpu

import (
	"fmt"

	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// KV cache storage: keys and values held as binary16, as llama.cpp's default
// F16 cache holds them, at half the memory of float32. Writes round to
// nearest even (F16C's VCVTPS2PH); Attention reads the halves directly
// (flash.go converts a block at a time; the exact path widens the whole
// range first).

// f16Tensor is a [rows, cols] matrix of binary16 values, row-major.
type f16Tensor struct {
	data       []uint16
	rows, cols int
}

func (t *f16Tensor) Rows() int       { return t.rows }
func (t *f16Tensor) Cols() int       { return t.cols }
func (t *f16Tensor) Type() gguf.Type { return gguf.TypeF16 }
func (t *f16Tensor) Slice(lo, hi int) backend.Tensor {
	if lo < 0 || hi > t.rows || lo > hi {
		panic(fmt.Sprintf("cpu: rows %d..%d of a %d-row tensor", lo, hi, t.rows))
	}
	return &f16Tensor{data: t.data[lo*t.cols : hi*t.cols : hi*t.cols], rows: hi - lo, cols: t.cols}
}

// NewCache is a zeroed [rows, cols] binary16 tensor for keys or values.
func (b *Backend) NewCache(rows, cols int) backend.Tensor {
	return &f16Tensor{data: make([]uint16, rows*cols), rows: rows, cols: cols}
}

// copyTensor is Copy with either side a cache tensor: float32 rounds to
// binary16 on the way in and widens exactly on the way out.
func copyTensor(dst, src backend.Tensor) {
	switch d := dst.(type) {
	case *f16Tensor:
		switch s := src.(type) {
		case *f16Tensor:
			copy(d.data, s.data[:len(d.data)])
		default:
			f32ToF16(d.data, act(s).data[:len(d.data)])
		}
	default:
		dd := act(dst).data
		switch s := src.(type) {
		case *f16Tensor:
			f16ToF32(dd, s.data[:len(dd)])
		default:
			copy(dd, act(s).data)
		}
	}
}

// widen returns t's numbers as float32: an activation's own memory, or a
// cache tensor's widened into buf (grown as needed).
func widen(t backend.Tensor, buf *[]float32) []float32 {
	h, ok := t.(*f16Tensor)
	if !ok {
		return act(t).data
	}
	*buf = grow(*buf, len(h.data))
	f16ToF32(*buf, h.data)
	return *buf
}
