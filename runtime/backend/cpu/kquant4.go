package cpu

import "github.com/cartlsp/cartlsp/runtime/gguf"

// K-quant products four activation rows at a time (prefill): a kdot4Kernel
// computes, for one weight row, its whole dot product with each of four Q8_K
// activation rows — the super-block sums (kdotKernel) and their combination
// (kCombine) in one pass, the row's quants decoded once for all four. Per
// activation row it computes exactly what kdotKernel then kCombine compute,
// bit for bit (kdot4Go is that, and the assembly is tested against it).
//
// The activations' per-super-block numbers are interleaved by row for the
// kernel (kInterleave): xd4: [nb][4] scales, bs4: [nb][4][16] 16-element sums.

// kdot4Kernel sets out[a] = row · activation row a (a = 0..3), the rows at
// x[a·xstride:], each of nb super-blocks.
type kdot4Kernel func(row []byte, scm []uint8, x []int8, xstride, nb int, xd4 []float32, bs4 []int16, out *[4]float32)

// kInterleave writes the scales xd: [4][nb] and sums bs: [4][nb·16] of four
// activation rows (row a at xd[a·nb:], bs[a·nb·16:]) into kdot4Kernel's
// layouts.
func kInterleave(xd []float32, bs []int16, nb int, xd4 []float32, bs4 []int16) {
	for a := 0; a < 4; a++ {
		for b := 0; b < nb; b++ {
			xd4[4*b+a] = xd[a*nb+b]
			copy(bs4[64*b+16*a:64*b+16*a+16], bs[(a*nb+b)*16:(a*nb+b+1)*16])
		}
	}
}

// kdot4Go returns the plain Go twin of the four-row kernels for t.
func kdot4Go(t gguf.Type) kdot4Kernel {
	k, tab := kdotGo(t), f16Lookup()
	return func(row []byte, scm []uint8, x []int8, xstride, nb int, xd4 []float32, bs4 []int16, out *[4]float32) {
		sumi := make([]int32, nb)
		xd := make([]float32, nb)
		bs := make([]int16, 16*nb)
		for a := 0; a < 4; a++ {
			for b := 0; b < nb; b++ {
				xd[b] = xd4[4*b+a]
				copy(bs[16*b:16*b+16], bs4[64*b+16*a:])
			}
			k(row, scm, x[a*xstride:a*xstride+nb*blockQK_K], nb, sumi)
			out[a] = kCombine(t, row, scm, sumi, xd, bs, tab)
		}
	}
}

// kdot4 picks the four-row kernel for this weight and the active level
// (nil: none in assembly; matMulK then takes the rows one at a time).
func (w *Weight) kdot4() kdot4Kernel { return asmKDot4(w.typ, active) }
