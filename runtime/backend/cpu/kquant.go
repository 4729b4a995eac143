package cpu

import (
	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/half"
)

// K-quants (Q4_K, Q6_K) in plain Go: 256-element super-blocks, dotted with
// Q8_K activations using exact integer sums per super-block, as llama.cpp.

// q4kScaleMin decodes the 6-bit scale and min of sub-block j (0..7) from the
// 12 packed scale bytes of a Q4_K block.
func q4kScaleMin(j int, s []byte) (sc, m int32) {
	if j < 4 {
		return int32(s[j] & 63), int32(s[j+4] & 63)
	}
	sc = int32(s[j+4]&0xF) | int32(s[j-4]>>6)<<4
	m = int32(s[j+4]>>4) | int32(s[j]>>6)<<4
	return sc, m
}

// q4kQuants writes the 256 4-bit quants of a Q4_K block: element 64c+l is
// the low nibble of qs[32c+l], element 64c+32+l its high nibble.
func q4kQuants(blk []byte, q *[256]int8) {
	qs := blk[16:144]
	for c := 0; c < 4; c++ {
		for l := 0; l < 32; l++ {
			v := qs[32*c+l]
			q[64*c+l] = int8(v & 15)
			q[64*c+32+l] = int8(v >> 4)
		}
	}
}

// q6kQuants writes the 256 signed quants (q−32) of a Q6_K block: element
// 128n+32k+l takes 4 low bits from ql[64n+l+32(k&1)] (low nibble for k < 2)
// and 2 high bits from qh[32n+l] bits 2k..2k+1.
func q6kQuants(blk []byte, q *[256]int8) {
	ql, qh := blk[0:128], blk[128:192]
	for n := 0; n < 2; n++ {
		for k := 0; k < 4; k++ {
			for l := 0; l < 32; l++ {
				lo := ql[64*n+l+32*(k&1)]
				if k >= 2 {
					lo >>= 4
				}
				hi := (qh[32*n+l] >> (2 * k)) & 3
				q[128*n+32*k+l] = int8(int(lo&15|hi<<4) - 32)
			}
		}
	}
}

// dequantK dequantizes one row of K-quant blocks into out.
func dequantK(t gguf.Type, row []byte, out []float32) {
	var q [256]int8
	switch t {
	case gguf.TypeQ4_K:
		for b := 0; b < len(out)/blockQK_K; b++ {
			blk := row[b*144 : (b+1)*144]
			d, dmin := half.F16ToF32(le16(blk)), half.F16ToF32(le16(blk[2:]))
			q4kQuants(blk, &q)
			for j := 0; j < 8; j++ {
				sc, m := q4kScaleMin(j, blk[4:16])
				d1, m1 := d*float32(sc), dmin*float32(m)
				for l := 0; l < 32; l++ {
					out[b*256+32*j+l] = float32(d1*float32(q[32*j+l])) - m1
				}
			}
		}
	case gguf.TypeQ6_K:
		for b := 0; b < len(out)/blockQK_K; b++ {
			blk := row[b*210 : (b+1)*210]
			d := half.F16ToF32(le16(blk[208:]))
			q6kQuants(blk, &q)
			for s := 0; s < 16; s++ {
				ds := d * float32(int8(blk[192+s]))
				for l := 0; l < 16; l++ {
					out[b*256+16*s+l] = ds * float32(q[16*s+l])
				}
			}
		}
	}
}

// dotK is one weight row of K-quant blocks against one Q8_K row.
// xq: [cols]; xd: [cols/256]; bsums: [cols/16].
func dotK(t gguf.Type, row []byte, xq []int8, xd []float32, bsums []int16) float32 {
	var q [256]int8
	var acc float32
	switch t {
	case gguf.TypeQ4_K:
		for b := 0; b < len(xd); b++ {
			blk := row[b*144 : (b+1)*144]
			x := xq[b*256 : (b+1)*256]
			q4kQuants(blk, &q)
			var sumi, summ int32
			for j := 0; j < 8; j++ {
				sc, m := q4kScaleMin(j, blk[4:16])
				var s int32
				for l := 0; l < 32; l++ {
					s += int32(q[32*j+l]) * int32(x[32*j+l])
				}
				sumi += sc * s
				summ += m * (int32(bsums[b*16+2*j]) + int32(bsums[b*16+2*j+1]))
			}
			d := xd[b] * half.F16ToF32(le16(blk))
			dmin := -xd[b] * half.F16ToF32(le16(blk[2:]))
			acc += float32(d*float32(sumi)) + float32(dmin*float32(summ))
		}
	case gguf.TypeQ6_K:
		for b := 0; b < len(xd); b++ {
			blk := row[b*210 : (b+1)*210]
			x := xq[b*256 : (b+1)*256]
			q6kQuants(blk, &q)
			var sumi int32
			for s := 0; s < 16; s++ {
				var p int32
				for l := 0; l < 16; l++ {
					p += int32(q[16*s+l]) * int32(x[16*s+l])
				}
				sumi += int32(int8(blk[192+s])) * p
			}
			d := xd[b] * half.F16ToF32(le16(blk[208:]))
			acc += d * float32(sumi)
		}
	}
	return acc
}
