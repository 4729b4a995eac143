package cpu

import "github.com/cartlsp/cartlsp/runtime/fmath"

// The decoding path of the blocked attention (flash.go): when a task has
// only a few query rows (one token: the G heads of a KV head), its products
// are too thin for the GEMM, which would widen each key and value block to
// float32, pack it, and pad the rows. Instead the scores and the weighted
// sum of values read the binary16 cache directly (AVX-512 kernels in
// flashdec_amd64.s, these functions their plain twins, bit for bit).

// flashDecRows is the most query rows a task may have for the decoding path.
const flashDecRows = 8

// scoresF16Go sets s[r·sstride + j] = q_r · k_j for r < rows, j < nk, with
// q_r = q[r·hd:], k_j the binary16 row kh[j·kstride:] (hd a multiple of 16).
// The sum is the kernel's: 16 lanes, lane i accumulating q[16c+i]·k[16c+i]
// over c by fused multiply-adds from 0, then y_i = acc_i + acc_{i+8} and
// ((y0+y1)+(y2+y3)) + ((y4+y5)+(y6+y7)).
func scoresF16Go(q []float32, rows, hd int, kh []uint16, kstride, nk int, s []float32, sstride int) {
	var kf [16]float32
	for r := 0; r < rows; r++ {
		qr := q[r*hd : (r+1)*hd]
		for j := 0; j < nk; j++ {
			var acc [16]float32
			for c := 0; c < hd; c += 16 {
				f16ToF32(kf[:], kh[j*kstride+c:j*kstride+c+16])
				for i := range acc {
					acc[i] = fmath.FMA32(qr[c+i], kf[i], acc[i])
				}
			}
			var y [8]float32
			for i := range y {
				y[i] = acc[i] + acc[i+8]
			}
			s[r*sstride+j] = ((y[0] + y[1]) + (y[2] + y[3])) + ((y[4] + y[5]) + (y[6] + y[7]))
		}
	}
}

// pvF16Go adds Σ_j p[r·pstride + j]·v_j to o[r·hd:] for r < rows, j < nk,
// v_j the binary16 row vh[j·vstride:]: per element one fused multiply-add per
// key, in key order.
func pvF16Go(p []float32, pstride, rows int, vh []uint16, vstride, nk, hd int, o []float32) {
	vf := make([]float32, hd)
	for j := 0; j < nk; j++ {
		f16ToF32(vf, vh[j*vstride:j*vstride+hd])
		for r := 0; r < rows; r++ {
			w, or := p[r*pstride+j], o[r*hd:(r+1)*hd]
			for d, v := range vf {
				or[d] = fmath.FMA32(w, v, or[d])
			}
		}
	}
}

// flashDecKernels says whether the decoding path's kernels run for head
// dimension hd at the active level (else its twins would, slower than the
// GEMM path).
func flashDecKernels(hd int) bool { return active == levelAVX512 && hd%64 == 0 }

// scoresF16 is scoresF16Go on the kernel when there is one.
func scoresF16(q []float32, rows, hd int, kh []uint16, kstride, nk int, s []float32, sstride int) {
	n4 := 0
	if active == levelAVX512 && hd%16 == 0 {
		n4 = nk &^ 3
		scoresF16Asm(q, rows, hd, kh, kstride, n4, s, sstride)
	}
	if n4 < nk {
		scoresF16Go(q, rows, hd, kh[n4*kstride:], kstride, nk-n4, s[n4:], sstride)
	}
}

// pvF16 is pvF16Go on the kernel when there is one.
func pvF16(p []float32, pstride, rows int, vh []uint16, vstride, nk, hd int, o []float32) {
	if active == levelAVX512 && hd%64 == 0 {
		pvF16Asm(p, pstride, rows, vh, vstride, nk, hd, o)
		return
	}
	pvF16Go(p, pstride, rows, vh, vstride, nk, hd, o)
}
