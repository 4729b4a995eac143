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

// kRow is one K-quant weight row unpacked for repeated dot products:
// q: [cols] quants (Q6_K: already minus 32); sc: sub-block scales (Q4_K: 8
// per block of 32-element sub-blocks, Q6_K: 16 per block of 16); mn: Q4_K
// sub-block mins; d, dmin: per-block f16 scales as float32.
type kRow struct {
	q      []int8
	sc, mn []int32
	d, dm  []float32
}

// unpackK fills kr from one row of GGUF K-quant blocks of cols elements.
func unpackK(t gguf.Type, row []byte, cols int, kr *kRow) {
	nb := cols / blockQK_K
	kr.q = grow(kr.q, cols)
	kr.sc = grow(kr.sc, 16*nb)
	kr.mn = grow(kr.mn, 8*nb)
	kr.d = grow(kr.d, nb)
	kr.dm = grow(kr.dm, nb)
	for b := 0; b < nb; b++ {
		q := (*[256]int8)(kr.q[b*256 : (b+1)*256])
		switch t {
		case gguf.TypeQ4_K:
			blk := row[b*144 : (b+1)*144]
			kr.d[b], kr.dm[b] = half.F16ToF32(le16(blk)), half.F16ToF32(le16(blk[2:]))
			q4kQuants(blk, q)
			for j := 0; j < 8; j++ {
				kr.sc[8*b+j], kr.mn[8*b+j] = q4kScaleMin(j, blk[4:16])
			}
		case gguf.TypeQ6_K:
			blk := row[b*210 : (b+1)*210]
			kr.d[b] = half.F16ToF32(le16(blk[208:]))
			q6kQuants(blk, q)
			for s := 0; s < 16; s++ {
				kr.sc[16*b+s] = int32(int8(blk[192+s]))
			}
		}
	}
}

// dotK is one unpacked weight row against one Q8_K row, with exact integer
// sums per super-block as llama.cpp:
//
//	Q4_K: d_x·d·Σ_j sc_j·Σ q·x  −  d_x·dmin·Σ_j m_j·(bsum_2j + bsum_2j+1)
//	Q6_K: d_x·d·Σ_s sc_s·Σ q·x
//
// xq: [cols]; xd: [cols/256]; bsums: [cols/16].
func dotK(t gguf.Type, kr *kRow, xq []int8, xd []float32, bsums []int16) float32 {
	var acc float32
	for b := range xd {
		q, x := kr.q[b*256:(b+1)*256], xq[b*256:(b+1)*256]
		switch t {
		case gguf.TypeQ4_K:
			var sumi, summ int32
			for j := 0; j < 8; j++ {
				sumi += kr.sc[8*b+j] * dot8(q[32*j:32*j+32], x[32*j:32*j+32])
				summ += kr.mn[8*b+j] * (int32(bsums[b*16+2*j]) + int32(bsums[b*16+2*j+1]))
			}
			d := xd[b] * kr.d[b]
			dmin := -xd[b] * kr.dm[b]
			acc += float32(d*float32(sumi)) + float32(dmin*float32(summ))
		case gguf.TypeQ6_K:
			var sumi int32
			for s := 0; s < 16; s++ {
				sumi += kr.sc[16*b+s] * dot8(q[16*s:16*s+16], x[16*s:16*s+16])
			}
			acc += float32(xd[b]*kr.d[b]) * float32(sumi)
		}
	}
	return acc
}

// dot8 is Σ a[i]·b[i] over int8 slices of equal length.
func dot8(a, b []int8) int32 {
	b = b[:len(a)]
	var s int32
	for i, v := range a {
		s += int32(v) * int32(b[i])
	}
	return s
}
