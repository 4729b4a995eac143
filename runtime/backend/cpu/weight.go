package cpu

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/half"
)

// tileRows is the number of weight rows the integer kernels process together:
// one int32 lane of a 512-bit register per row.
const tileRows = 16

// Weight is a frozen matrix W: [rows, cols].
//
// Q4_0, Q4_1, Q8_0, Q5_0 and Q5_1 weights are repacked at load into tiles of
// 16 rows (the last tile padded with zero rows). Tile t holds rows
// 16t..16t+15 as
//
//	quants: nb blocks × qbytes   (qbytes = 256 for 4-bit, 512 for Q8_0, Q5_1)
//	d:      nb blocks × 16 f16   (per row scale)
//	m:      nb blocks × 16 f16   (Q4_1, Q5_1 only: per row min)
//
// Within one block's quants, 4-byte group g of row i sits at
// g·64 + i·4: a 64-byte load holds the same 4 columns of all 16 rows, which
// VPDPBUSD multiplies by one broadcast 4-byte group of the activation. For
// 4-bit types group g (g < 4) holds the original bytes 4g..4g+3 of the block:
// low nibbles are columns 4g..4g+3 and high nibbles columns 16+4g..16+4g+3.
// For Q8_0 group g (g < 8) holds columns 4g..4g+3; with q8off the bytes are
// stored as q+128 (unsigned) for the VNNI kernel, which subtracts 128·Σx.
// For Q5_1 group g (g < 8) holds columns 4g..4g+3 as one unsigned byte each,
// the 5-bit quant q in 0..31 (nibble | high bit<<4, no offset), which
// VPDPBUSD and VPMADDUBSW take as their unsigned operand as it is.
// The size stays that of the GGUF blocks (plus alignment padding), except
// for Q5_0 and Q5_1.
//
// Q5_0 blocks are stored as Q8_0 tiles (enc = Q8_0): q = ((nibble | hi<<4) −
// 16) fits int8 exactly and d is the same f16, so the Q8_0 kernels compute
// the same exact lane sums and the same fused float order as llama.cpp's
// ggml_vec_dot_q5_0_q8_0 and tinyBLAS_Q0_AVX<block_q5_0> (see kern_go.go):
// bit-identical products, at 34 instead of 22 bytes per 32 weights.
//
// Q5_1 blocks get their own encoding (enc = Q5_1): the byte quants above with
// the d and m regions of Q4_1, at 36 instead of 24 bytes per 32 weights. Its
// kernels are Q4_1's with byte instead of nibble quants, as llama.cpp's
// ggml_vec_dot_q5_1_q8_1 is ggml_vec_dot_q4_1_q8_1 with 5-bit quants: the
// same Q8_1 activations, lane order and Σ mw·sx term.
//
// F32 weights are held as float32, F16 and BF16 as their 16-bit patterns,
// K-quants (Q4_K, Q5_K, Q6_K) as the original GGUF blocks (see kquant.go).
type Weight struct {
	typ        gguf.Type
	enc        gguf.Type // tile encoding: typ, or Q8_0 for Q5_0
	rows, cols int

	// tiled layout (Q4_0, Q4_1, Q8_0)
	nb         int    // 32-element blocks per row
	qbytes     int    // quant bytes per block per tile
	tiles      []byte // 64-byte aligned; tile t at tiles[t*tileStride:]
	tileStride int
	ntiles     int
	q8off      bool // Q8_0 quants stored as q XOR 0x80

	f32 []float32 // F32
	u16 []uint16  // F16, BF16
	raw []byte    // K-quants: GGUF blocks, row-major
	// inPlace: raw is the caller's bytes (LoadWeight's), read where they lie
	inPlace bool
	kscm    []uint8 // Q4_K, Q5_K: decoded scales and mins (kScaleMins)
	table   bool    // raw holds GGUF blocks for Row only (NewTable, table.go)
}

// Rows is the number of output features.
func (w *Weight) Rows() int { return w.rows }

// Cols is the number of input features.
func (w *Weight) Cols() int { return w.cols }

// Type is the GGUF type the weight was loaded from.
func (w *Weight) Type() gguf.Type { return w.typ }

// Bytes is the memory the weight holds.
func (w *Weight) Bytes() int {
	return len(w.tiles) + 4*len(w.f32) + 2*len(w.u16) + len(w.raw) + len(w.kscm)
}

// Supported reports whether NewWeight accepts type t.
func Supported(t gguf.Type) bool {
	switch t {
	case gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16, gguf.TypeQ4_0, gguf.TypeQ4_1,
		gguf.TypeQ5_0, gguf.TypeQ5_1, gguf.TypeQ8_0, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K:
		return true
	}
	return false
}

// NewWeight prepares W: [rows, cols] from GGUF row-major blocks: row r is
// raw[r·rowBytes : (r+1)·rowBytes]. raw is not retained.
func NewWeight(typ gguf.Type, rows, cols int, raw []byte) (*Weight, error) {
	if !Supported(typ) {
		return nil, fmt.Errorf("cpu: weight type %v is not supported", typ)
	}
	if rows <= 0 || cols <= 0 {
		return nil, fmt.Errorf("cpu: bad %v weight shape [%d, %d]", typ, rows, cols)
	}
	rowBytes, err := typ.RowBytes(cols)
	if err != nil {
		return nil, fmt.Errorf("cpu: %v weight [%d, %d]: %w", typ, rows, cols, err)
	}
	if len(raw) != rows*rowBytes {
		return nil, fmt.Errorf("cpu: %v weight [%d, %d] needs %d bytes, got %d", typ, rows, cols, rows*rowBytes, len(raw))
	}
	w := &Weight{typ: typ, enc: typ, rows: rows, cols: cols}
	if typ == gguf.TypeQ5_0 {
		w.enc = gguf.TypeQ8_0
	}
	switch typ {
	case gguf.TypeF32:
		w.f32 = make([]float32, rows*cols)
		for i := range w.f32 {
			w.f32[i] = math.Float32frombits(le32(raw[4*i:]))
		}
	case gguf.TypeF16, gguf.TypeBF16:
		w.u16 = make([]uint16, rows*cols)
		for i := range w.u16 {
			w.u16[i] = le16(raw[2*i:])
		}
	case gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K:
		// Read in place: the kernels take the GGUF blocks as they lie (in a
		// mapped file, no second copy).
		w.raw, w.inPlace = raw, true
		if typ != gguf.TypeQ6_K {
			w.kscm = kScaleMins(w.raw, typ.BlockBytes())
		}
	default:
		w.repack(raw, rowBytes)
	}
	return w, nil
}

func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }
func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// alignedBytes returns n zero bytes starting at a 64-byte boundary.
func alignedBytes(n int) []byte {
	b := make([]byte, n+64)
	off := int(-uintptr(unsafe.Pointer(&b[0])) & 63)
	return b[off : off+n : off+n]
}

// tile geometry: offsets of the d and m regions inside a tile.
func (w *Weight) dOff() int { return w.nb * w.qbytes }
func (w *Weight) mOff() int { return w.nb * (w.qbytes + 2*tileRows) }

// repack converts GGUF Q4_0/Q4_1/Q8_0/Q5_0/Q5_1 rows into the tile layout.
func (w *Weight) repack(raw []byte, rowBytes int) {
	w.nb = w.cols / blockQK
	per := 2 * tileRows // d bytes per block
	switch w.enc {
	case gguf.TypeQ4_0:
		w.qbytes = 256
	case gguf.TypeQ4_1:
		w.qbytes = 256
		per = 4 * tileRows
	case gguf.TypeQ8_0:
		w.qbytes = 512
		w.q8off = active == levelAVX512
	case gguf.TypeQ5_1:
		w.qbytes = 512
		per = 4 * tileRows
	}
	w.tileStride = (w.nb*(w.qbytes+per) + 63) &^ 63
	w.ntiles = (w.rows + tileRows - 1) / tileRows
	w.tiles = alignedBytes(w.ntiles * w.tileStride)
	bb := w.typ.BlockBytes()
	for r := 0; r < w.rows; r++ {
		tile := w.tiles[(r/tileRows)*w.tileStride:]
		i := r % tileRows
		for b := 0; b < w.nb; b++ {
			blk := raw[r*rowBytes+b*bb : r*rowBytes+(b+1)*bb]
			q := tile[b*w.qbytes:]
			dq := tile[w.dOff()+b*2*tileRows+2*i:]
			dq[0], dq[1] = blk[0], blk[1]
			switch w.typ {
			case gguf.TypeQ4_0:
				for g := 0; g < 4; g++ {
					copy(q[g*64+i*4:g*64+i*4+4], blk[2+4*g:])
				}
			case gguf.TypeQ4_1:
				mq := tile[w.mOff()+b*2*tileRows+2*i:]
				mq[0], mq[1] = blk[2], blk[3]
				for g := 0; g < 4; g++ {
					copy(q[g*64+i*4:g*64+i*4+4], blk[4+4*g:])
				}
			case gguf.TypeQ5_0:
				var q5 [blockQK]int8
				q5Quants(blk, &q5)
				for g := 0; g < 8; g++ {
					for e := 0; e < 4; e++ {
						v := byte(q5[4*g+e])
						if w.q8off {
							v ^= 0x80
						}
						q[g*64+i*4+e] = v
					}
				}
			case gguf.TypeQ5_1:
				mq := tile[w.mOff()+b*2*tileRows+2*i:]
				mq[0], mq[1] = blk[2], blk[3]
				var q5 [blockQK]byte
				q5Bits(le32(blk[4:]), blk[8:24], &q5)
				for g := 0; g < 8; g++ {
					copy(q[g*64+i*4:g*64+i*4+4], q5[4*g:])
				}
			case gguf.TypeQ8_0:
				for g := 0; g < 8; g++ {
					for e := 0; e < 4; e++ {
						v := blk[2+4*g+e]
						if w.q8off {
							v ^= 0x80
						}
						q[g*64+i*4+e] = v
					}
				}
			}
		}
	}
}

// Row dequantizes row r into out: [cols], as llama.cpp's dequantizers do.
func (w *Weight) Row(r int, out []float32) {
	if r < 0 || r >= w.rows {
		panic(fmt.Sprintf("cpu: row %d out of range [0, %d)", r, w.rows))
	}
	out = out[:w.cols]
	if w.table {
		w.tableRow(r, out)
		return
	}
	switch w.typ {
	case gguf.TypeF32:
		copy(out, w.f32[r*w.cols:])
	case gguf.TypeF16:
		for j, h := range w.u16[r*w.cols : (r+1)*w.cols] {
			out[j] = half.F16ToF32(h)
		}
	case gguf.TypeBF16:
		for j, h := range w.u16[r*w.cols : (r+1)*w.cols] {
			out[j] = half.BF16ToF32(h)
		}
	case gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K:
		rb, _ := w.typ.RowBytes(w.cols)
		dequantK(w.typ, w.raw[r*rb:(r+1)*rb], out)
	default:
		tile := w.tiles[(r/tileRows)*w.tileStride:]
		i := r % tileRows
		for b := 0; b < w.nb; b++ {
			q := tile[b*w.qbytes:]
			d := half.F16ToF32(le16(tile[w.dOff()+b*2*tileRows+2*i:]))
			o := out[b*blockQK : (b+1)*blockQK]
			switch w.enc {
			case gguf.TypeQ4_0:
				for g := 0; g < 4; g++ {
					for e := 0; e < 4; e++ {
						v := q[g*64+i*4+e]
						o[4*g+e] = float32(int(v&15)-8) * d
						o[16+4*g+e] = float32(int(v>>4)-8) * d
					}
				}
			case gguf.TypeQ4_1:
				m := half.F16ToF32(le16(tile[w.mOff()+b*2*tileRows+2*i:]))
				for g := 0; g < 4; g++ {
					for e := 0; e < 4; e++ {
						v := q[g*64+i*4+e]
						o[4*g+e] = float32(float32(v&15)*d) + m
						o[16+4*g+e] = float32(float32(v>>4)*d) + m
					}
				}
			case gguf.TypeQ5_1:
				m := half.F16ToF32(le16(tile[w.mOff()+b*2*tileRows+2*i:]))
				for g := 0; g < 8; g++ {
					for e := 0; e < 4; e++ {
						o[4*g+e] = float32(float32(q[g*64+i*4+e])*d) + m
					}
				}
			case gguf.TypeQ8_0:
				for g := 0; g < 8; g++ {
					for e := 0; e < 4; e++ {
						v := q[g*64+i*4+e]
						if w.q8off {
							v ^= 0x80
						}
						o[4*g+e] = float32(int8(v)) * d
					}
				}
			}
		}
	}
}

// q5Quants writes the 32 signed quants of a Q5_0 block (f16 d, u32 qh, 16
// nibble bytes): the 5-bit values of q5Bits minus 16 (llama.cpp's
// dequantize_row_q5_0).
func q5Quants(blk []byte, q *[blockQK]int8) {
	var u [blockQK]byte
	q5Bits(le32(blk[2:]), blk[6:22], &u)
	for j, v := range u {
		q[j] = int8(v) - 16
	}
}

// q5Bits writes the 32 5-bit values (0..31) of a Q5_0 or Q5_1 block from its
// high bits qh and nibble bytes qs: element j (j < 16) is the low nibble of
// qs[j] with bit j of qh as its fifth bit, element j+16 the high nibble with
// bit j+16 (llama.cpp's dequantize_row_q5_0 and dequantize_row_q5_1).
func q5Bits(qh uint32, qs []byte, q *[blockQK]byte) {
	qs = qs[:16]
	for j := 0; j < 16; j++ {
		q[j] = qs[j]&15 | byte(qh>>j&1)<<4
		q[j+16] = qs[j]>>4 | byte(qh>>(j+16)&1)<<4
	}
}
