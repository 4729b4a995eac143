package cpu

import (
	"fmt"
	"sync"

	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/half"
)

// tileKernel computes out: [nx, 16] for nx activation rows against one tile.
// xq: [nx, nb·32]; meta: [nx, nb·metaWords(corr)].
type tileKernel func(tile []byte, nb int, xq []int8, meta []uint32, nx int, out []float32)

// kernel picks the tile kernel for this weight and the active level.
func (w *Weight) kernel() tileKernel {
	if k := asmKernel(w.enc, w.q8off, active); k != nil {
		return k
	}
	switch w.enc {
	case gguf.TypeQ4_1:
		return tileQ41Go
	case gguf.TypeQ5_1:
		return tileQ51Go
	case gguf.TypeQ4_0:
		return tileQ40Go
	}
	off := w.q8off
	return func(tile []byte, nb int, xq []int8, meta []uint32, nx int, out []float32) {
		tileQ80Go(tile, nb, xq, meta, nx, out, off)
	}
}

// corr is the correction factor the activation quantizer stores for this
// weight's kernel (0: store Q8_1's s instead).
func (w *Weight) corr() int32 {
	switch {
	case w.enc == gguf.TypeQ4_0:
		return -8
	case w.enc == gguf.TypeQ8_0 && w.q8off:
		return -128
	}
	return 0
}

// scratch holds per-call buffers, recycled through scratchPool.
type scratch struct {
	xq   []int8
	meta []uint32
	f    []float32
	kd   []float32
	bs   []int16
	kd4  []float32 // kd, bs interleaved by four rows (kInterleave)
	bs4  []int16
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// xBlockBytes bounds the quantized activation rows one pass keeps hot in
// L2 while the tiles stream past.
const xBlockBytes = 256 << 10

// MatMul computes y: [n, rows] = x: [n, cols] · Wᵀ on the pool p (nil runs on
// the caller). Each row of x is first quantized as llama.cpp does for this
// weight type (see the package comment).
func (w *Weight) MatMul(p *Pool, y, x []float32, n int) {
	if n <= 0 {
		return
	}
	if len(x) < n*w.cols || len(y) < n*w.rows {
		panic(fmt.Sprintf("cpu: MatMul [%d, %d]·[%d, %d]ᵀ with len(x)=%d len(y)=%d", n, w.cols, w.rows, w.cols, len(x), len(y)))
	}
	if w.table {
		panic("cpu: MatMul with an embedding table (NewTable); load it with NewWeight")
	}
	switch w.typ {
	case gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0, gguf.TypeQ5_1, gguf.TypeQ8_0:
		w.matMulTiled(p, y, x, n)
	case gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K:
		w.matMulK(p, y, x, n)
	default:
		w.matMulFloat(p, y, x, n)
	}
}

func (w *Weight) matMulTiled(p *Pool, y, x []float32, n int) {
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	nb, cols, rows := w.nb, w.cols, w.rows
	s.xq = grow(s.xq, n*cols)
	corr := w.corr()
	ms := metaWords(corr) * nb // meta words per row
	s.meta = grow(s.meta, n*ms)
	xq, meta := s.xq, s.meta
	quant := func(lo, hi int) {
		for r := lo; r < hi; r++ {
			quantQ8(x[r*cols:(r+1)*cols], xq[r*cols:(r+1)*cols], meta[r*ms:(r+1)*ms], corr)
		}
	}
	if n >= 8 {
		p.Run(n, quant)
	} else {
		quant(0, n)
	}
	k := w.kernel()

	// Activation rows in passes of at most xBlockBytes; within a pass the
	// threads split the tiles, and each tile meets every row of the pass
	// while it sits in L1.
	passes := (n*cols + xBlockBytes - 1) / xBlockBytes
	per := (n + passes - 1) / passes
	per = (per + 3) &^ 3
	for r0 := 0; r0 < n; r0 += per {
		r1 := min(n, r0+per)
		p.RunChunked(w.ntiles, (w.ntiles+2*p.Threads()-1)/(2*p.Threads()), func(lo, hi int) {
			var out [4 * tileRows]float32
			for t := lo; t < hi; t++ {
				tile := w.tiles[t*w.tileStride : (t+1)*w.tileStride]
				valid := min(tileRows, rows-t*tileRows)
				for r := r0; r < r1; r += 4 {
					nx := min(4, r1-r)
					k(tile, nb, xq[r*cols:(r+nx)*cols], meta[r*ms:(r+nx)*ms], nx, out[:nx*tileRows])
					for j := 0; j < nx; j++ {
						copy(y[(r+j)*rows+t*tileRows:(r+j)*rows+t*tileRows+valid], out[j*tileRows:j*tileRows+valid])
					}
				}
			}
		})
	}
}

// kdot picks the K-quant dot kernel for this weight and the active level.
func (w *Weight) kdot() kdotKernel {
	if k := asmKDot(w.typ, active); k != nil {
		return k
	}
	return kdotGo(w.typ)
}

// matMulK: K-quant weights against Q8_K activations (kquant.go). Activation
// rows go in passes of at most xBlockBytes; within a pass the threads split
// the weight rows, and each row meets every activation row of the pass
// while it sits in L1: four at a time where there is a four-row kernel
// (kquant4.go), the rest one at a time.
func (w *Weight) matMulK(p *Pool, y, x []float32, n int) {
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	cols, rows := w.cols, w.rows
	nbk := cols / blockQK_K
	s.xq = grow(s.xq, n*cols)
	s.kd = grow(s.kd, n*nbk)
	s.bs = grow(s.bs, n*cols/16)
	xq, xd, bs := s.xq, s.kd, s.bs
	quant := func(lo, hi int) {
		for r := lo; r < hi; r++ {
			quantQ8K(x[r*cols:(r+1)*cols], xq[r*cols:(r+1)*cols], xd[r*nbk:(r+1)*nbk], bs[r*cols/16:(r+1)*cols/16])
		}
	}
	if n >= 8 {
		p.Run(n, quant)
	} else {
		quant(0, n)
	}
	rb, _ := w.typ.RowBytes(cols)
	k, tab := w.kdot(), f16Lookup()
	k4 := w.kdot4()
	n4 := 0 // rows taken four at a time
	if k4 != nil {
		n4 = n &^ 3
		// Each group's scales and sums interleaved for the kernel.
		s.kd4 = grow(s.kd4, n4*nbk)
		s.bs4 = grow(s.bs4, n4*nbk*16)
		for g := 0; g < n4; g += 4 {
			kInterleave(xd[g*nbk:(g+4)*nbk], bs[g*nbk*16:(g+4)*nbk*16], nbk, s.kd4[g*nbk:(g+4)*nbk], s.bs4[g*nbk*16:(g+4)*nbk*16])
		}
	}
	xd4, bs4 := s.kd4, s.bs4
	passes := (n*cols + xBlockBytes - 1) / xBlockBytes
	per := (n + passes - 1) / passes
	per = (per + 3) &^ 3
	for r0 := 0; r0 < n; r0 += per {
		r1 := min(n, r0+per)
		p.Run(rows, func(lo, hi int) {
			var buf [64]int32
			sumi := buf[:]
			if nbk > len(buf) {
				sumi = make([]int32, nbk)
			}
			sumi = sumi[:nbk]
			var out [4]float32
			for o := lo; o < hi; o++ {
				row := w.raw[o*rb : (o+1)*rb]
				var scm []uint8
				if w.kscm != nil {
					scm = w.kscm[o*16*nbk : (o+1)*16*nbk]
				}
				r := r0
				for ; r+4 <= min(r1, n4); r += 4 {
					k4(row, scm, xq[r*cols:(r+4)*cols], cols, nbk, xd4[r*nbk:(r+4)*nbk], bs4[r*nbk*16:(r+4)*nbk*16], &out)
					for a, v := range out {
						y[(r+a)*rows+o] = v
					}
				}
				for ; r < r1; r++ {
					k(row, scm, xq[r*cols:(r+1)*cols], nbk, sumi)
					y[r*rows+o] = kCombine(w.typ, row, scm, sumi, xd[r*nbk:(r+1)*nbk], bs[r*cols/16:(r+1)*cols/16], tab)
				}
			}
		})
	}
}

// matMulFloat: F32, F16 and BF16 weights. As llama.cpp, activations meeting
// F16 (BF16) weights are first rounded to F16 (BF16); products accumulate in
// float32.
func (w *Weight) matMulFloat(p *Pool, y, x []float32, n int) {
	cols, rows := w.cols, w.rows
	if w.typ == gguf.TypeF32 {
		if n >= 4 {
			SgemmNT(p, n, rows, cols, x, w.f32, y, false)
			return
		}
		p.Run(rows, func(lo, hi int) {
			for o := lo; o < hi; o++ {
				for r := 0; r < n; r++ {
					y[r*rows+o] = Dot(w.f32[o*cols:(o+1)*cols], x[r*cols:(r+1)*cols])
				}
			}
		})
		return
	}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	s.f = grow(s.f, n*cols)
	xr := s.f
	for i := range xr {
		if w.typ == gguf.TypeF16 {
			xr[i] = half.RoundF16(x[i])
		} else {
			xr[i] = half.BF16ToF32(half.F32ToBF16(x[i]))
		}
	}
	toF32 := func(dst []float32, src []uint16) {
		if w.typ == gguf.TypeF16 {
			f16ToF32(dst, src)
			return
		}
		for j, h := range src {
			dst[j] = half.BF16ToF32(h)
		}
	}
	if n >= 4 {
		// Blocks of 64 weight rows converted to f32, then the f32 GEMM.
		const blk = 64
		p.Run((rows+blk-1)/blk, func(lo, hi int) {
			buf := make([]float32, blk*cols)
			for bi := lo; bi < hi; bi++ {
				r0, nr := bi*blk, min(blk, rows-bi*blk)
				toF32(buf[:nr*cols], w.u16[r0*cols:(r0+nr)*cols])
				sgemm(nil, false, true, n, nr, cols, xr, cols, buf, cols, y[r0:], rows, false)
			}
		})
		return
	}
	p.Run(rows, func(lo, hi int) {
		buf := make([]float32, cols)
		for o := lo; o < hi; o++ {
			toF32(buf, w.u16[o*cols:(o+1)*cols])
			for r := 0; r < n; r++ {
				y[r*rows+o] = Dot(buf, xr[r*cols:(r+1)*cols])
			}
		}
	})
}
