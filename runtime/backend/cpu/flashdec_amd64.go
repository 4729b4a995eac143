package cpu

import "fmt"

//go:noescape
func scoresF16AVX512(q *float32, rows, hd int, k *uint16, kstrideB, nk4 int, s *float32, sstrideB int)

//go:noescape
func pvF16AVX512(p *float32, pstrideB, rows int, v *uint16, vstrideB, nk, hd int, o *float32)

// scoresF16Asm runs scoresF16AVX512 after checking the lengths it relies on.
func scoresF16Asm(q []float32, rows, hd int, kh []uint16, kstride, nk4 int, s []float32, sstride int) {
	if rows <= 0 || nk4 <= 0 {
		return
	}
	if nk4%4 != 0 || hd%16 != 0 || len(q) < rows*hd || len(kh) < (nk4-1)*kstride+hd || len(s) < (rows-1)*sstride+nk4 {
		panic(fmt.Sprintf("cpu: scores of %d rows × %d keys (hd %d) with len(q)=%d len(k)=%d stride %d len(s)=%d stride %d",
			rows, nk4, hd, len(q), len(kh), kstride, len(s), sstride))
	}
	scoresF16AVX512(&q[0], rows, hd, &kh[0], 2*kstride, nk4, &s[0], 4*sstride)
}

// pvF16Asm runs pvF16AVX512 after checking the lengths it relies on.
func pvF16Asm(p []float32, pstride, rows int, vh []uint16, vstride, nk, hd int, o []float32) {
	if rows <= 0 || nk <= 0 {
		return
	}
	if hd%64 != 0 || len(p) < (rows-1)*pstride+nk || len(vh) < (nk-1)*vstride+hd || len(o) < rows*hd {
		panic(fmt.Sprintf("cpu: weighted values of %d rows × %d keys (hd %d) with len(p)=%d len(v)=%d stride %d len(o)=%d",
			rows, nk, hd, len(p), len(vh), vstride, len(o)))
	}
	pvF16AVX512(&p[0], 4*pstride, rows, &vh[0], 2*vstride, nk, hd, &o[0])
}
