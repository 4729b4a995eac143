package cpu

import (
	"fmt"

	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/half"
)

// K-quants (Q4_K, Q5_K, Q6_K): 256-element super-blocks, dotted with Q8_K
// activations using exact integer sums per super-block, as llama.cpp.
//
// The weights stay in their GGUF blocks; Q4_K and Q5_K also keep their
// 6-bit sub-block scales and mins decoded (16 bytes per super-block, see
// kScaleMins). A dot kernel (kdotKernel: an assembly one per level with
// this plain Go twin) returns per super-block the exact integer
//
//	sumi_b = Σ_e sc(e) · u(e) · x(e)
//
// over the unsigned quants u (Q4_K 0..15, Q5_K 0..31, Q6_K 0..63 = q+32)
// and sub-block scales sc; kCombine turns them into the float result with
// the mins (Q4_K, Q5_K) or the −32 offset (Q6_K) applied through the
// activations' 16-element sums.

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

// q5kQuants writes the 256 5-bit quants of a Q5_K block (f16 d, f16 dmin,
// 12 scale bytes, 32 qh bytes, 128 qs bytes): as Q4_K, with bit 2c of qh[l]
// the fifth bit of element 64c+l and bit 2c+1 that of element 64c+32+l.
func q5kQuants(blk []byte, q *[256]int8) {
	qh, qs := blk[16:48], blk[48:176]
	for c := 0; c < 4; c++ {
		for l := 0; l < 32; l++ {
			v := qs[32*c+l]
			q[64*c+l] = int8(v&15 | (qh[l]>>(2*c)&1)<<4)
			q[64*c+32+l] = int8(v>>4 | (qh[l]>>(2*c+1)&1)<<4)
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
	case gguf.TypeQ5_K:
		for b := 0; b < len(out)/blockQK_K; b++ {
			blk := row[b*176 : (b+1)*176]
			d, dmin := half.F16ToF32(le16(blk)), half.F16ToF32(le16(blk[2:]))
			q5kQuants(blk, &q)
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

// kScaleMins decodes the sub-block scales and mins of every Q4_K or Q5_K
// super-block of raw: per super-block 8 scales then 8 mins (6-bit values).
func kScaleMins(raw []byte, bb int) []uint8 {
	nb := len(raw) / bb
	out := make([]uint8, 16*nb)
	for b := 0; b < nb; b++ {
		s := raw[b*bb+4 : b*bb+16]
		for j := 0; j < 8; j++ {
			sc, m := q4kScaleMin(j, s)
			out[16*b+j], out[16*b+8+j] = uint8(sc), uint8(m)
		}
	}
	return out
}

// kdotKernel computes out[b] = sumi_b (see the file comment) for the nb
// super-blocks of one weight row against one Q8_K activation row x: [nb·256];
// scm: the row's kScaleMins (Q4_K, Q5_K; unused for Q6_K).
type kdotKernel func(row []byte, scm []uint8, x []int8, nb int, out []int32)

// kdotGo returns the plain Go twin of the dot kernels for t.
func kdotGo(t gguf.Type) kdotKernel {
	switch t {
	case gguf.TypeQ4_K:
		return q4kDotGo
	case gguf.TypeQ5_K:
		return q5kDotGo
	}
	return q6kDotGo
}

func q4kDotGo(row []byte, scm []uint8, x []int8, nb int, out []int32) {
	for b := 0; b < nb; b++ {
		qs := row[b*144+16 : b*144+144]
		xb := x[b*256 : (b+1)*256]
		sc := scm[16*b : 16*b+8]
		var s int32
		for c := 0; c < 4; c++ {
			var lo, hi int32
			for l := 0; l < 32; l++ {
				v := qs[32*c+l]
				lo += int32(v&15) * int32(xb[64*c+l])
				hi += int32(v>>4) * int32(xb[64*c+32+l])
			}
			s += int32(sc[2*c])*lo + int32(sc[2*c+1])*hi
		}
		out[b] = s
	}
}

func q5kDotGo(row []byte, scm []uint8, x []int8, nb int, out []int32) {
	var q [256]int8
	for b := 0; b < nb; b++ {
		q5kQuants(row[b*176:(b+1)*176], &q)
		xb := x[b*256 : (b+1)*256]
		sc := scm[16*b : 16*b+8]
		var s int32
		for j := 0; j < 8; j++ {
			var d int32
			for l := 0; l < 32; l++ {
				d += int32(q[32*j+l]) * int32(xb[32*j+l])
			}
			s += int32(sc[j]) * d
		}
		out[b] = s
	}
}

func q6kDotGo(row []byte, _ []uint8, x []int8, nb int, out []int32) {
	var q [256]int8
	for b := 0; b < nb; b++ {
		blk := row[b*210 : (b+1)*210]
		q6kQuants(blk, &q)
		xb := x[b*256 : (b+1)*256]
		var s int32
		for sb := 0; sb < 16; sb++ {
			var d int32
			for l := 0; l < 16; l++ {
				d += (int32(q[16*sb+l]) + 32) * int32(xb[16*sb+l])
			}
			s += int32(int8(blk[192+sb])) * d
		}
		out[b] = s
	}
}

// kCombine is the dot product of one weight row with one Q8_K activation
// row (xd: [nb] scales, bs: [nb·16] sums of 16 quants) from the kernel's
// sumi: [nb], accumulated super-block by super-block:
//
//	Q4_K, Q5_K: (d_x·d)·sumi  +  (−d_x·dmin)·Σ_j m_j·(bs_2j + bs_2j+1)
//	Q6_K:       (d_x·d)·(sumi − 32·Σ_s sc_s·bs_s)
func kCombine(t gguf.Type, row []byte, scm []uint8, sumi []int32, xd []float32, bs []int16, tab []float32) float32 {
	var acc float32
	switch t {
	case gguf.TypeQ4_K, gguf.TypeQ5_K:
		bb := t.BlockBytes()
		for b := range xd {
			mn := scm[16*b+8 : 16*b+16]
			bsb := bs[16*b : 16*b+16]
			var summ int32
			for j := 0; j < 8; j++ {
				summ += int32(mn[j]) * (int32(bsb[2*j]) + int32(bsb[2*j+1]))
			}
			d := xd[b] * tab[le16(row[b*bb:])]
			dmin := -xd[b] * tab[le16(row[b*bb+2:])]
			acc += float32(d*float32(sumi[b])) + float32(dmin*float32(summ))
		}
	case gguf.TypeQ6_K:
		for b := range xd {
			blk := row[b*210 : (b+1)*210]
			bsb := bs[16*b : 16*b+16]
			var corr int32
			for s := 0; s < 16; s++ {
				corr += int32(int8(blk[192+s])) * int32(bsb[s])
			}
			acc += float32(xd[b]*tab[le16(blk[208:])]) * float32(sumi[b]-32*corr)
		}
	}
	return acc
}

// kdotChecked wraps an assembly dot kernel for type t (amd64's AVX2 or
// arm64's NEON) with the slice-length checks the assembly relies on.
func kdotChecked(t gguf.Type, f func(row *byte, scm *uint8, x *int8, nb int, out *int32)) kdotKernel {
	bb, needScm := t.BlockBytes(), t != gguf.TypeQ6_K
	return func(row []byte, scm []uint8, x []int8, nb int, out []int32) {
		if nb <= 0 {
			return
		}
		if len(row) < nb*bb || len(x) < nb*blockQK_K || len(out) < nb || needScm && len(scm) < 16*nb {
			panic(fmt.Sprintf("cpu: %v dot over %d super-blocks with len(row)=%d len(x)=%d len(out)=%d len(scm)=%d", t, nb, len(row), len(x), len(out), len(scm)))
		}
		var s *uint8
		if needScm {
			s = &scm[0]
		}
		f(&row[0], s, &x[0], nb, &out[0])
	}
}
