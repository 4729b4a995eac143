package cpu

import (
	"math"

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

// tileQ41Go: Q4_1 weights × Q8_1 activations. isum = Σ q_w·q_x (q_w in 0..15).
func tileQ41Go(tile []byte, nb int, xq []int8, meta []uint32, nx int, out []float32) {
	dOff, mOff := nb*256, nb*(256+32)
	for r := 0; r < nx; r++ {
		x, xm := xq[r*nb*32:(r+1)*nb*32], meta[r*2*nb:(r+1)*2*nb]
		for i := 0; i < tileRows; i++ {
			var accD, accM float32
			for b := 0; b < nb; b++ {
				q, xb := tile[b*256:(b+1)*256], x[b*32:(b+1)*32]
				var isum int32
				for g := 0; g < 4; g++ {
					for e := 0; e < 4; e++ {
						v := q[g*64+i*4+e]
						isum += int32(v&15)*int32(xb[4*g+e]) + int32(v>>4)*int32(xb[16+4*g+e])
					}
				}
				dw := half.F16ToF32(le16(tile[dOff+b*32+2*i:]))
				mw := half.F16ToF32(le16(tile[mOff+b*32+2*i:]))
				dx, sx := math.Float32frombits(xm[2*b]), math.Float32frombits(xm[2*b+1])
				accD += float32(float32(isum) * float32(dw*dx))
				accM += float32(mw * sx)
			}
			out[r*tileRows+i] = accD + accM
		}
	}
}

// tileQ40Go: Q4_0 weights × Q8_0 activations. isum = Σ q_w·q_x − 8·Σq_x, the
// correction taken from meta (quantized with corr = −8).
func tileQ40Go(tile []byte, nb int, xq []int8, meta []uint32, nx int, out []float32) {
	dOff := nb * 256
	for r := 0; r < nx; r++ {
		x, xm := xq[r*nb*32:(r+1)*nb*32], meta[r*2*nb:(r+1)*2*nb]
		for i := 0; i < tileRows; i++ {
			var accD float32
			for b := 0; b < nb; b++ {
				q, xb := tile[b*256:(b+1)*256], x[b*32:(b+1)*32]
				isum := int32(xm[2*b+1])
				for g := 0; g < 4; g++ {
					for e := 0; e < 4; e++ {
						v := q[g*64+i*4+e]
						isum += int32(v&15)*int32(xb[4*g+e]) + int32(v>>4)*int32(xb[16+4*g+e])
					}
				}
				dw := half.F16ToF32(le16(tile[dOff+b*32+2*i:]))
				dx := math.Float32frombits(xm[2*b])
				accD += float32(float32(isum) * float32(dw*dx))
			}
			out[r*tileRows+i] = accD
		}
	}
}

// tileQ80Go: Q8_0 weights × Q8_0 activations. With off (quants stored as
// q+128) isum = Σ (q_w+128)·q_x − 128·Σq_x, the correction taken from meta
// (quantized with corr = −128); without it isum = Σ q_w·q_x.
func tileQ80Go(tile []byte, nb int, xq []int8, meta []uint32, nx int, out []float32, off bool) {
	dOff := nb * 512
	for r := 0; r < nx; r++ {
		x, xm := xq[r*nb*32:(r+1)*nb*32], meta[r*2*nb:(r+1)*2*nb]
		for i := 0; i < tileRows; i++ {
			var accD float32
			for b := 0; b < nb; b++ {
				q, xb := tile[b*512:(b+1)*512], x[b*32:(b+1)*32]
				var isum int32
				if off {
					isum = int32(xm[2*b+1])
					for g := 0; g < 8; g++ {
						for e := 0; e < 4; e++ {
							isum += int32(q[g*64+i*4+e]) * int32(xb[4*g+e])
						}
					}
				} else {
					for g := 0; g < 8; g++ {
						for e := 0; e < 4; e++ {
							isum += int32(int8(q[g*64+i*4+e])) * int32(xb[4*g+e])
						}
					}
				}
				dw := half.F16ToF32(le16(tile[dOff+b*32+2*i:]))
				dx := math.Float32frombits(xm[2*b])
				accD += float32(float32(isum) * float32(dw*dx))
			}
			out[r*tileRows+i] = accD
		}
	}
}
