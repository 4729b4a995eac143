package cpu

import (
	"math"
	"sync"

	"github.com/cartlsp/cartlsp/runtime/half"
)

// Plain Go twins of the tile kernels. Each computes, for nx activation rows
// and the 16 rows of one weight tile,
//
//	out[r·16+i] = accD + accM
//	accD = Σ_b float32(isum_b) · (dw_b · dx_b)        (Q4_0, Q4_1, Q8_0)
//	accM = Σ_b mw_b · sx_b                            (Q4_1 only)
//
// with every product and sum rounded to float32 in that order, which the
// assembly kernels follow too, so twin and assembly agree bit for bit.
//
// tile: one tile of the layout described on Weight; nb: blocks per row;
// xq: [nx, nb·32] quantized activations; meta: [nx, 2·nb] (see quantQ8Go);
// out: [nx, 16].

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

// dot4nib returns the dot product of the 4-bit block of row i (tile layout)
// with the 32 activations xb: low nibbles meet xb[0:16], high xb[16:32].
func dot4nib(q []byte, i int, xb *[32]int32) int32 {
	var s int32
	for g := 0; g < 4; g++ {
		v := q[g*64+i*4 : g*64+i*4+4 : g*64+i*4+4]
		s += int32(v[0]&15)*xb[4*g] + int32(v[1]&15)*xb[4*g+1] + int32(v[2]&15)*xb[4*g+2] + int32(v[3]&15)*xb[4*g+3]
		s += int32(v[0]>>4)*xb[16+4*g] + int32(v[1]>>4)*xb[16+4*g+1] + int32(v[2]>>4)*xb[16+4*g+2] + int32(v[3]>>4)*xb[16+4*g+3]
	}
	return s
}

func loadX(x []int8, xb *[32]int32) {
	x = x[:32]
	for j := range xb {
		xb[j] = int32(x[j])
	}
}

// tileQ41Go: Q4_1 weights × Q8_1 activations. isum = Σ q_w·q_x (q_w in 0..15).
func tileQ41Go(tile []byte, nb int, xq []int8, meta []uint32, nx int, out []float32) {
	tab := f16Lookup()
	dOff, mOff := nb*256, nb*(256+32)
	var xb [32]int32
	var dw, mw [tileRows]float32
	for r := 0; r < nx; r++ {
		x, xm := xq[r*nb*32:(r+1)*nb*32], meta[r*2*nb:(r+1)*2*nb]
		var accD, accM [tileRows]float32
		for b := 0; b < nb; b++ {
			q := tile[b*256 : (b+1)*256]
			loadX(x[b*32:], &xb)
			blockScales(tab, tile[dOff+b*32:], &dw)
			blockScales(tab, tile[mOff+b*32:], &mw)
			dx, sx := math.Float32frombits(xm[2*b]), math.Float32frombits(xm[2*b+1])
			for i := 0; i < tileRows; i++ {
				isum := dot4nib(q, i, &xb)
				accD[i] += float32(float32(isum) * float32(dw[i]*dx))
				accM[i] += float32(mw[i] * sx)
			}
		}
		for i := 0; i < tileRows; i++ {
			out[r*tileRows+i] = accD[i] + accM[i]
		}
	}
}

// tileQ40Go: Q4_0 weights × Q8_0 activations. isum = Σ q_w·q_x − 8·Σq_x, the
// correction taken from meta (quantized with corr = −8).
func tileQ40Go(tile []byte, nb int, xq []int8, meta []uint32, nx int, out []float32) {
	tab := f16Lookup()
	dOff := nb * 256
	var xb [32]int32
	var dw [tileRows]float32
	for r := 0; r < nx; r++ {
		x, xm := xq[r*nb*32:(r+1)*nb*32], meta[r*2*nb:(r+1)*2*nb]
		var accD [tileRows]float32
		for b := 0; b < nb; b++ {
			q := tile[b*256 : (b+1)*256]
			loadX(x[b*32:], &xb)
			blockScales(tab, tile[dOff+b*32:], &dw)
			dx, corr := math.Float32frombits(xm[2*b]), int32(xm[2*b+1])
			for i := 0; i < tileRows; i++ {
				isum := corr + dot4nib(q, i, &xb)
				accD[i] += float32(float32(isum) * float32(dw[i]*dx))
			}
		}
		copy(out[r*tileRows:(r+1)*tileRows], accD[:])
	}
}

// tileQ80Go: Q8_0 weights × Q8_0 activations. With off (quants stored as
// q+128) isum = Σ (q_w+128)·q_x − 128·Σq_x, the correction taken from meta
// (quantized with corr = −128); without it isum = Σ q_w·q_x.
func tileQ80Go(tile []byte, nb int, xq []int8, meta []uint32, nx int, out []float32, off bool) {
	tab := f16Lookup()
	dOff := nb * 512
	var xb [32]int32
	var dw [tileRows]float32
	for r := 0; r < nx; r++ {
		x, xm := xq[r*nb*32:(r+1)*nb*32], meta[r*2*nb:(r+1)*2*nb]
		var accD [tileRows]float32
		for b := 0; b < nb; b++ {
			q := tile[b*512 : (b+1)*512]
			loadX(x[b*32:], &xb)
			blockScales(tab, tile[dOff+b*32:], &dw)
			dx := math.Float32frombits(xm[2*b])
			for i := 0; i < tileRows; i++ {
				var isum int32
				if off {
					isum = int32(xm[2*b+1])
					for g := 0; g < 8; g++ {
						v := q[g*64+i*4 : g*64+i*4+4 : g*64+i*4+4]
						isum += int32(v[0])*xb[4*g] + int32(v[1])*xb[4*g+1] + int32(v[2])*xb[4*g+2] + int32(v[3])*xb[4*g+3]
					}
				} else {
					for g := 0; g < 8; g++ {
						v := q[g*64+i*4 : g*64+i*4+4 : g*64+i*4+4]
						isum += int32(int8(v[0]))*xb[4*g] + int32(int8(v[1]))*xb[4*g+1] + int32(int8(v[2]))*xb[4*g+2] + int32(int8(v[3]))*xb[4*g+3]
					}
				}
				accD[i] += float32(float32(isum) * float32(dw[i]*dx))
			}
		}
		copy(out[r*tileRows:(r+1)*tileRows], accD[:])
	}
}
