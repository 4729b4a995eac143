package cpu

import (
	"math"
	"sync"

	"github.com/cartlsp/cartlsp/runtime/fmath"
	"github.com/cartlsp/cartlsp/runtime/half"
)

// Plain Go twins of the tile kernels. Each computes, for nx activation rows
// and the 16 rows of one weight tile, the dot product in the order of
// llama.cpp's x86 kernels (ggml_vec_dot_q4_1_q8_1, ggml_vec_dot_q5_1_q8_1,
// ggml_vec_dot_q8_0_q8_0, ggml_vec_dot_q4_0_q8_0 and tinyBLAS_Q0_AVX, which
// agree):
//
//	lane g (g = 0..7) covers columns 4g..4g+3 of every block
//	isum_g = Σ q_w·q_x over the lane's 4 columns           (exact int32)
//	acc_g  = fma(dw·dx, float32(isum_g), acc_g)           block by block
//	out    = ((acc_0+acc_4) + (acc_2+acc_6)) + ((acc_1+acc_5) + (acc_3+acc_7))
//	         + Σ_b mw·sx                                  (Q4_1, Q5_1 only)
//
// dw·dx and mw·sx are products of two f16 values, exact in float32. The
// assembly kernels follow the same order, so twin and assembly agree bit for
// bit, and both agree bit for bit with llama.cpp.
//
// tile: one tile of the layout described on Weight; nb: blocks per row;
// xq: [nx, nb·32] quantized activations; meta: [nx, nb·metaWords] (see
// quantQ8Go); out: [nx, 16].

// hsum8 adds the 8 lane accumulators in the order of ggml's hsum_float_8.
func hsum8(a *[8]float32) float32 {
	s0, s1, s2, s3 := a[0]+a[4], a[1]+a[5], a[2]+a[6], a[3]+a[7]
	return (s0 + s2) + (s1 + s3)
}

// f16Table maps every F16 bit pattern to float32 (256 KiB, built on first use
// by the Go kernels).
var (
	f16Once  sync.Once
	f16Table []float32
)

func f16Lookup() []float32 {
	f16Once.Do(func() {
		f16Table = make([]float32, 1<<16)
		for i := range f16Table {
			f16Table[i] = half.F16ToF32(uint16(i))
		}
	})
	return f16Table
}

// blockScales converts the 16 f16 values at b into float32.
func blockScales(tab []float32, b []byte, out *[tileRows]float32) {
	b = b[:2*tileRows]
	for i := range out {
		out[i] = tab[uint16(b[2*i])|uint16(b[2*i+1])<<8]
	}
}

// nib4 returns the dot products of the 4-bit block of row i (tile layout)
// with the activations xb, per lane: lo[g] for columns 4g..4g+3 (low
// nibbles of group g), hi[g] for columns 16+4g..16+4g+3 (high nibbles).
func nib4(q []byte, i int, xb *[32]int32) (lo, hi [4]int32) {
	for g := 0; g < 4; g++ {
		v := q[g*64+i*4 : g*64+i*4+4 : g*64+i*4+4]
		lo[g] = int32(v[0]&15)*xb[4*g] + int32(v[1]&15)*xb[4*g+1] + int32(v[2]&15)*xb[4*g+2] + int32(v[3]&15)*xb[4*g+3]
		hi[g] = int32(v[0]>>4)*xb[16+4*g] + int32(v[1]>>4)*xb[16+4*g+1] + int32(v[2]>>4)*xb[16+4*g+2] + int32(v[3]>>4)*xb[16+4*g+3]
	}
	return lo, hi
}

func loadX(x []int8, xb *[32]int32) {
	x = x[:32]
	for j := range xb {
		xb[j] = int32(x[j])
	}
}

// tileQ41Go: Q4_1 weights × Q8_1 activations (q_w in 0..15; the minimum
// enters through mw·sx).
func tileQ41Go(tile []byte, nb int, xq []int8, meta []uint32, nx int, out []float32) {
	tab := f16Lookup()
	dOff, mOff := nb*256, nb*(256+32)
	var xb [32]int32
	var dw, mw [tileRows]float32
	for r := 0; r < nx; r++ {
		x, xm := xq[r*nb*32:(r+1)*nb*32], meta[r*2*nb:(r+1)*2*nb]
		var acc [tileRows][8]float32
		var accM [tileRows]float32
		for b := 0; b < nb; b++ {
			q := tile[b*256 : (b+1)*256]
			loadX(x[b*32:], &xb)
			blockScales(tab, tile[dOff+b*32:], &dw)
			blockScales(tab, tile[mOff+b*32:], &mw)
			dx, sx := math.Float32frombits(xm[2*b]), math.Float32frombits(xm[2*b+1])
			for i := 0; i < tileRows; i++ {
				d := dw[i] * dx
				lo, hi := nib4(q, i, &xb)
				a := &acc[i]
				for g := 0; g < 4; g++ {
					a[g] = fmath.FMA32(d, float32(lo[g]), a[g])
					a[4+g] = fmath.FMA32(d, float32(hi[g]), a[4+g])
				}
				accM[i] += mw[i] * sx
			}
		}
		for i := 0; i < tileRows; i++ {
			out[r*tileRows+i] = hsum8(&acc[i]) + accM[i]
		}
	}
}

// tileQ51Go: Q5_1 weights × Q8_1 activations (q_w in 0..31, one byte per
// column; the minimum enters through mw·sx). llama.cpp's
// mul_sum_us8_pairs_float sums each lane's 4 products exactly (VPMADDUBSW
// pairs stay below 2·31·127 < 2^15, no saturation).
func tileQ51Go(tile []byte, nb int, xq []int8, meta []uint32, nx int, out []float32) {
	tab := f16Lookup()
	dOff, mOff := nb*512, nb*(512+32)
	var xb [32]int32
	var dw, mw [tileRows]float32
	for r := 0; r < nx; r++ {
		x, xm := xq[r*nb*32:(r+1)*nb*32], meta[r*2*nb:(r+1)*2*nb]
		var acc [tileRows][8]float32
		var accM [tileRows]float32
		for b := 0; b < nb; b++ {
			q := tile[b*512 : (b+1)*512]
			loadX(x[b*32:], &xb)
			blockScales(tab, tile[dOff+b*32:], &dw)
			blockScales(tab, tile[mOff+b*32:], &mw)
			dx, sx := math.Float32frombits(xm[2*b]), math.Float32frombits(xm[2*b+1])
			for i := 0; i < tileRows; i++ {
				d := dw[i] * dx
				a := &acc[i]
				for g := 0; g < 8; g++ {
					v := q[g*64+i*4 : g*64+i*4+4 : g*64+i*4+4]
					isum := int32(v[0])*xb[4*g] + int32(v[1])*xb[4*g+1] + int32(v[2])*xb[4*g+2] + int32(v[3])*xb[4*g+3]
					a[g] = fmath.FMA32(d, float32(isum), a[g])
				}
				accM[i] += mw[i] * sx
			}
		}
		for i := 0; i < tileRows; i++ {
			out[r*tileRows+i] = hsum8(&acc[i]) + accM[i]
		}
	}
}

// tileQ40Go: Q4_0 weights (stored as q+8) × Q8_0 activations; each lane's
// isum starts at its correction −8·Σq_x from meta.
func tileQ40Go(tile []byte, nb int, xq []int8, meta []uint32, nx int, out []float32) {
	tab := f16Lookup()
	dOff := nb * 256
	var xb [32]int32
	var dw [tileRows]float32
	for r := 0; r < nx; r++ {
		x, xm := xq[r*nb*32:(r+1)*nb*32], meta[r*9*nb:(r+1)*9*nb]
		var acc [tileRows][8]float32
		for b := 0; b < nb; b++ {
			q := tile[b*256 : (b+1)*256]
			loadX(x[b*32:], &xb)
			blockScales(tab, tile[dOff+b*32:], &dw)
			m := xm[9*b : 9*b+9]
			dx := math.Float32frombits(m[0])
			for i := 0; i < tileRows; i++ {
				d := dw[i] * dx
				lo, hi := nib4(q, i, &xb)
				a := &acc[i]
				for g := 0; g < 4; g++ {
					a[g] = fmath.FMA32(d, float32(int32(m[1+g])+lo[g]), a[g])
					a[4+g] = fmath.FMA32(d, float32(int32(m[5+g])+hi[g]), a[4+g])
				}
			}
		}
		for i := 0; i < tileRows; i++ {
			out[r*tileRows+i] = hsum8(&acc[i])
		}
	}
}

// tileQ80Go: Q8_0 weights × Q8_0 activations. With off (quants stored as
// q+128) each lane's isum starts at its correction −128·Σq_x from meta;
// without it isum = Σ q_w·q_x.
func tileQ80Go(tile []byte, nb int, xq []int8, meta []uint32, nx int, out []float32, off bool) {
	tab := f16Lookup()
	dOff := nb * 512
	mw := 2
	if off {
		mw = 9
	}
	var xb [32]int32
	var dw [tileRows]float32
	for r := 0; r < nx; r++ {
		x, xm := xq[r*nb*32:(r+1)*nb*32], meta[r*mw*nb:(r+1)*mw*nb]
		var acc [tileRows][8]float32
		for b := 0; b < nb; b++ {
			q := tile[b*512 : (b+1)*512]
			loadX(x[b*32:], &xb)
			blockScales(tab, tile[dOff+b*32:], &dw)
			m := xm[mw*b : mw*(b+1)]
			dx := math.Float32frombits(m[0])
			for i := 0; i < tileRows; i++ {
				d := dw[i] * dx
				a := &acc[i]
				for g := 0; g < 8; g++ {
					v := q[g*64+i*4 : g*64+i*4+4 : g*64+i*4+4]
					var isum int32
					if off {
						isum = int32(m[1+g]) + int32(v[0])*xb[4*g] + int32(v[1])*xb[4*g+1] + int32(v[2])*xb[4*g+2] + int32(v[3])*xb[4*g+3]
					} else {
						isum = int32(int8(v[0]))*xb[4*g] + int32(int8(v[1]))*xb[4*g+1] + int32(int8(v[2]))*xb[4*g+2] + int32(int8(v[3]))*xb[4*g+3]
					}
					a[g] = fmath.FMA32(d, float32(isum), a[g])
				}
			}
		}
		for i := 0; i < tileRows; i++ {
			out[r*tileRows+i] = hsum8(&acc[i])
		}
	}
}
