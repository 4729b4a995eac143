package gguf

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/cartlsp/cartlsp/runtime/half"
)

// Dequantize decodes len(out) elements of type t from data, which must hold
// exactly t.RowBytes(len(out)) bytes, into out.
//
// Every product and sum is rounded to float32 in the order ggml's reference
// dequantizers use (for example (d·sc)·q − dmin·m for Q4_K), so results are
// bit-identical to ggml's dequantize_row_* and to gguf-py's numpy versions.
func Dequantize(t Type, data []byte, out []float32) error {
	n, err := t.RowBytes(len(out))
	if err != nil {
		return err
	}
	if len(data) != n {
		return fmt.Errorf("gguf: %d elements of %s take %d bytes, got %d", len(out), t, n, len(data))
	}
	switch t {
	case TypeF32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
	case TypeF16:
		for i := range out {
			out[i] = half.F16ToF32(binary.LittleEndian.Uint16(data[2*i:]))
		}
	case TypeBF16:
		for i := range out {
			out[i] = half.BF16ToF32(binary.LittleEndian.Uint16(data[2*i:]))
		}
	case TypeF64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:])))
		}
	case TypeI8:
		for i := range out {
			out[i] = float32(int8(data[i]))
		}
	case TypeI16:
		for i := range out {
			out[i] = float32(int16(binary.LittleEndian.Uint16(data[2*i:])))
		}
	case TypeI32:
		for i := range out {
			out[i] = float32(int32(binary.LittleEndian.Uint32(data[4*i:])))
		}
	case TypeQ8_0, TypeQ4_0, TypeQ4_1, TypeQ5_0, TypeQ5_1,
		TypeQ2_K, TypeQ3_K, TypeQ4_K, TypeQ5_K, TypeQ6_K, TypeQ8_K:
		be, bb := t.BlockElems(), t.BlockBytes()
		dq := blockDequantizers[t]
		for i := 0; i < len(out); i += be {
			dq(data[i/be*bb:][:bb], out[i:i+be])
		}
	default:
		return fmt.Errorf("gguf: dequantizing %s is not supported", t)
	}
	return nil
}

// blockDequantizers decode one block (BlockBytes bytes) into BlockElems floats.
var blockDequantizers = map[Type]func(b []byte, y []float32){
	TypeQ8_0: dequantQ8_0,
	TypeQ4_0: dequantQ4_0,
	TypeQ4_1: dequantQ4_1,
	TypeQ5_0: dequantQ5_0,
	TypeQ5_1: dequantQ5_1,
	TypeQ2_K: dequantQ2_K,
	TypeQ3_K: dequantQ3_K,
	TypeQ4_K: dequantQ4_K,
	TypeQ5_K: dequantQ5_K,
	TypeQ6_K: dequantQ6_K,
	TypeQ8_K: dequantQ8_K,
}

func f16At(b []byte, i int) float32 { return half.F16ToF32(binary.LittleEndian.Uint16(b[i:])) }

// Q8_0 block (34 bytes, 32 elements): f16 d, int8 q[32]; y = q·d.
func dequantQ8_0(b []byte, y []float32) {
	d := f16At(b, 0)
	q := b[2:34]
	for j := range 32 {
		y[j] = float32(int8(q[j])) * d
	}
}

// Q4_0 block (18 bytes): f16 d, 16 bytes of nibbles; byte j holds element j
// (low nibble) and element j+16 (high nibble); y = (q−8)·d.
func dequantQ4_0(b []byte, y []float32) {
	d := f16At(b, 0)
	q := b[2:18]
	for j := range 16 {
		y[j] = float32(int(q[j]&0xf)-8) * d
		y[j+16] = float32(int(q[j]>>4)-8) * d
	}
}

// Q4_1 block (20 bytes): f16 d, f16 m, 16 nibble bytes laid out as Q4_0;
// y = q·d + m.
func dequantQ4_1(b []byte, y []float32) {
	d, m := f16At(b, 0), f16At(b, 2)
	q := b[4:20]
	for j := range 16 {
		y[j] = float32(float32(q[j]&0xf)*d) + m
		y[j+16] = float32(float32(q[j]>>4)*d) + m
	}
}

// Q5_0 block (22 bytes): f16 d, u32 qh (bit j = 5th bit of element j),
// 16 nibble bytes laid out as Q4_0; y = (q−16)·d.
func dequantQ5_0(b []byte, y []float32) {
	d := f16At(b, 0)
	qh := binary.LittleEndian.Uint32(b[2:])
	q := b[6:22]
	for j := range 16 {
		h0 := byte(qh>>j) & 1 << 4
		h1 := byte(qh>>(j+16)) & 1 << 4
		y[j] = float32(int(q[j]&0xf|h0)-16) * d
		y[j+16] = float32(int(q[j]>>4|h1)-16) * d
	}
}

// Q5_1 block (24 bytes): f16 d, f16 m, u32 qh, 16 nibble bytes; y = q·d + m.
func dequantQ5_1(b []byte, y []float32) {
	d, m := f16At(b, 0), f16At(b, 2)
	qh := binary.LittleEndian.Uint32(b[4:])
	q := b[8:24]
	for j := range 16 {
		h0 := byte(qh>>j) & 1 << 4
		h1 := byte(qh>>(j+16)) & 1 << 4
		y[j] = float32(float32(q[j]&0xf|h0)*d) + m
		y[j+16] = float32(float32(q[j]>>4|h1)*d) + m
	}
}

// TensorFloat32 returns a dequantized copy of the whole tensor called name,
// Elems() values in file order (row-major, Dims[0] fastest).
func (f *File) TensorFloat32(name string) ([]float32, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("gguf: no tensor %q", name)
	}
	data := f.TensorData(t)
	if data == nil {
		return nil, fmt.Errorf("gguf: tensor %q: data not available (file closed?)", name)
	}
	out := make([]float32, t.Elems())
	if err := Dequantize(t.Type, data, out); err != nil {
		return nil, fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	return out, nil
}
