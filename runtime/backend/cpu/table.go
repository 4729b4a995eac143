package cpu

import (
	"fmt"
	"math"

	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/half"
)

// A table is a weight only GetRows reads (backend.TableLoader): an embedding
// the output matrix does not share. It keeps the GGUF blocks where they lie
// and dequantizes a row when asked, so a mapped model file contributes only
// the pages of the tokens seen to the process's memory. Repacked into tiles,
// Qwen2.5-Coder-0.5B's 151,936 × 896 Q5_0 embedding would hold 145 MB (its
// Q5_0 blocks as Q8_0 tiles) that no kernel reads.
//
// The rows equal what Weight.Row gives for the same blocks, bit for bit
// (TestTableRows): the same products and sums in the same order.

// NewTable prepares a table [rows, cols] over raw, GGUF row-major blocks of
// typ, which it reads in place: the caller keeps raw valid and unchanged.
func NewTable(typ gguf.Type, rows, cols int, raw []byte) (*Weight, error) {
	if !Supported(typ) {
		return nil, fmt.Errorf("cpu: weight type %v is not supported", typ)
	}
	if rows <= 0 || cols <= 0 {
		return nil, fmt.Errorf("cpu: bad %v table shape [%d, %d]", typ, rows, cols)
	}
	rowBytes, err := typ.RowBytes(cols)
	if err != nil {
		return nil, fmt.Errorf("cpu: %v table [%d, %d]: %w", typ, rows, cols, err)
	}
	if len(raw) != rows*rowBytes {
		return nil, fmt.Errorf("cpu: %v table [%d, %d] needs %d bytes, got %d", typ, rows, cols, rows*rowBytes, len(raw))
	}
	return &Weight{typ: typ, enc: typ, rows: rows, cols: cols, raw: raw, inPlace: true, table: true}, nil
}

// LoadTable implements backend.TableLoader.
func (b *Backend) LoadTable(typ gguf.Type, rows, cols int, raw []byte) (backend.Tensor, error) {
	w, err := NewTable(typ, rows, cols, raw)
	if err != nil {
		return nil, err
	}
	return &weight{w: w}, nil
}

// tableRow dequantizes row r of a table into out: [cols].
func (w *Weight) tableRow(r int, out []float32) {
	rb, _ := w.typ.RowBytes(w.cols)
	row := w.raw[r*rb : (r+1)*rb]
	switch w.typ {
	case gguf.TypeF32:
		for j := range out {
			out[j] = math.Float32frombits(le32(row[4*j:]))
		}
	case gguf.TypeF16:
		for j := range out {
			out[j] = half.F16ToF32(le16(row[2*j:]))
		}
	case gguf.TypeBF16:
		for j := range out {
			out[j] = half.BF16ToF32(le16(row[2*j:]))
		}
	case gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K:
		dequantK(w.typ, row, out)
	default:
		bb := w.typ.BlockBytes()
		for b := 0; b < w.cols/blockQK; b++ {
			dequantQ0(w.typ, row[b*bb:(b+1)*bb], out[b*blockQK:(b+1)*blockQK])
		}
	}
}

// dequantQ0 dequantizes one 32-element block of Q4_0, Q4_1, Q5_0, Q5_1 or
// Q8_0 (llama.cpp's dequantize_row_*, in Weight.Row's float order).
func dequantQ0(t gguf.Type, blk []byte, o []float32) {
	d := half.F16ToF32(le16(blk))
	switch t {
	case gguf.TypeQ4_0:
		qs := blk[2:18]
		for j := 0; j < 16; j++ {
			o[j] = float32(int(qs[j]&15)-8) * d
			o[j+16] = float32(int(qs[j]>>4)-8) * d
		}
	case gguf.TypeQ4_1:
		m := half.F16ToF32(le16(blk[2:]))
		qs := blk[4:20]
		for j := 0; j < 16; j++ {
			o[j] = float32(float32(qs[j]&15)*d) + m
			o[j+16] = float32(float32(qs[j]>>4)*d) + m
		}
	case gguf.TypeQ5_0:
		var q [blockQK]int8
		q5Quants(blk, &q)
		for j, v := range q {
			o[j] = float32(v) * d
		}
	case gguf.TypeQ5_1:
		m := half.F16ToF32(le16(blk[2:]))
		var u [blockQK]byte
		q5Bits(le32(blk[4:]), blk[8:24], &u)
		for j, v := range u {
			o[j] = float32(float32(v)*d) + m
		}
	case gguf.TypeQ8_0:
		for j := 0; j < blockQK; j++ {
			o[j] = float32(int8(blk[2+j])) * d
		}
	}
}
