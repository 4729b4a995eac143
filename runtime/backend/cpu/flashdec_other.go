//go:build !amd64

package cpu

func scoresF16Asm(q []float32, rows, hd int, kh []uint16, kstride, nk4 int, s []float32, sstride int) {
	scoresF16Go(q, rows, hd, kh, kstride, nk4, s, sstride)
}

func pvF16Asm(p []float32, pstride, rows int, vh []uint16, vstride, nk, hd int, o []float32) {
	pvF16Go(p, pstride, rows, vh, vstride, nk, hd, o)
}
