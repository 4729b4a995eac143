package cpu

import (
	"fmt"
	"sync"
)

// Plain float32 GEMM for training, GotoBLAS style: B is packed into panels of
// sgNR columns, A into micro-panels of sgMR rows, and a 12×32 micro-kernel
// (AVX-512 FMA; AVX2 as four 6×16 calls; a Go twin) accumulates C tiles.
// Each block of A is packed once per k block, not once per column block; with
// AVX-512 a row-major A of a narrow product is not packed at all but read in
// place by a strided twin of the kernel (sgemmKernAVX512S, Go twin
// sgemmKernelGoS).

const (
	sgMR = 12  // micro-kernel rows (of C and A)
	sgNR = 32  // micro-kernel columns (of C and B)
	sgKC = 256 // k block
	sgMB = 768 // m block (multiple of sgMR): its packed A (768 KiB) stays in L2
	sgNC = 512 // n block (multiple of sgNR)

	sgDirectLd = 4096 // longest row of an A read in place (elements)
	sgDirectN  = 1024 // A is read in place only for n below this
)

// SgemmNT computes C[m,n] (+)= A[m,k] · B[n,k]ᵀ, all row-major; with
// accumulate false C is overwritten.
func SgemmNT(p *Pool, m, n, k int, a, b, c []float32, accumulate bool) {
	sgemm(p, false, true, m, n, k, a, k, b, k, c, n, accumulate)
}

// SgemmNN computes C[m,n] (+)= A[m,k] · B[k,n], all row-major.
func SgemmNN(p *Pool, m, n, k int, a, b, c []float32, accumulate bool) {
	sgemm(p, false, false, m, n, k, a, k, b, n, c, n, accumulate)
}

// SgemmTN computes C[m,n] (+)= A[k,m]ᵀ · B[k,n], all row-major.
func SgemmTN(p *Pool, m, n, k int, a, b, c []float32, accumulate bool) {
	sgemm(p, true, false, m, n, k, a, m, b, n, c, n, accumulate)
}

var sgPool = sync.Pool{New: func() any { return new([]float32) }}

// sgemm: C[i,j] (+)= Σ_p opA[i,p]·opB[p,j] where opA[i,p] = a[i·lda+p]
// (a[p·lda+i] when transA) and opB[p,j] = b[p·ldb+j] (b[j·ldb+p] when transB).
func sgemm(p *Pool, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	if m <= 0 || n <= 0 {
		return
	}
	if len(c) < (m-1)*ldc+n {
		panic(fmt.Sprintf("cpu: sgemm C too short: %d < [%d, %d]", len(c), m, n))
	}
	if k <= 0 {
		if !accumulate {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	kern, kernS := sgemmKernel(), sgemmKernelStrided()
	// Full panels of a row-major A are read in place where a kernel can:
	// packing them costs about as much as the products when n is small.
	// Wide products (the in-place kernel runs some 5–10% slower) and very
	// long rows (their panels would alias in the caches) are packed.
	direct := kernS != nil && !transA && lda <= sgDirectLd && n < sgDirectN
	bufB := sgPool.Get().(*[]float32)
	bufA := sgPool.Get().(*[]float32)
	defer sgPool.Put(bufB)
	defer sgPool.Put(bufA)
	*bufB = grow(*bufB, sgKC*sgNC)
	*bufA = grow(*bufA, sgKC*min(sgMB, (m+sgMR-1)/sgMR*sgMR))
	bp, ap := *bufB, *bufA

	// A block (up to sgMB rows × sgKC) is packed once and used for every
	// column block; each B block (sgKC × sgNC) is packed once and used for
	// every row of the A block.
	for i0 := 0; i0 < m; i0 += sgMB {
		mb := min(sgMB, m-i0)
		nip := (mb + sgMR - 1) / sgMR
		for pc := 0; pc < k; pc += sgKC {
			kc := min(sgKC, k-pc)
			add := accumulate || pc > 0
			if direct {
				if ip := mb / sgMR; ip < nip { // the partial panel
					packA(ap[ip*kc*sgMR:(ip+1)*kc*sgMR], a, lda, transA, pc, kc, i0+ip*sgMR, mb-ip*sgMR)
				}
			} else {
				p.Run(nip, func(lo, hi int) {
					for ip := lo; ip < hi; ip++ {
						packA(ap[ip*kc*sgMR:(ip+1)*kc*sgMR], a, lda, transA, pc, kc, i0+ip*sgMR, min(sgMR, mb-ip*sgMR))
					}
				})
			}
			for jc := 0; jc < n; jc += sgNC {
				nc := min(sgNC, n-jc)
				njp := (nc + sgNR - 1) / sgNR
				p.Run(njp, func(lo, hi int) {
					for jp := lo; jp < hi; jp++ {
						packB(bp[jp*kc*sgNR:(jp+1)*kc*sgNR], b, ldb, transB, pc, kc, jc+jp*sgNR, min(sgNR, nc-jp*sgNR))
					}
				})
				// Tiles in column-panel order (a thread's chunk keeps its B
				// panel in L1 while the A panels stream from L2).
				p.Run(nip*njp, func(lo, hi int) {
					var tmp [sgMR * sgNR]float32
					for it := lo; it < hi; it++ {
						ip, jp := it%nip, it/nip
						i, j0 := i0+ip*sgMR, jc+jp*sgNR
						mr, nr := min(sgMR, m-i), min(sgNR, n-j0)
						bpan := bp[jp*kc*sgNR : (jp+1)*kc*sgNR]
						switch {
						case direct && mr == sgMR && nr == sgNR:
							kernS(kc, a[i*lda+pc:], lda, 1, bpan, c[i*ldc+j0:], ldc, add)
							continue
						case direct && mr == sgMR:
							kernS(kc, a[i*lda+pc:], lda, 1, bpan, tmp[:], sgNR, false)
						case mr == sgMR && nr == sgNR:
							kern(kc, ap[ip*kc*sgMR:(ip+1)*kc*sgMR], bpan, c[i*ldc+j0:], ldc, add)
							continue
						default:
							kern(kc, ap[ip*kc*sgMR:(ip+1)*kc*sgMR], bpan, tmp[:], sgNR, false)
						}
						for ii := 0; ii < mr; ii++ {
							row := c[(i+ii)*ldc+j0 : (i+ii)*ldc+j0+nr]
							if add {
								for j := range row {
									row[j] += tmp[ii*sgNR+j]
								}
							} else {
								copy(row, tmp[ii*sgNR:ii*sgNR+nr])
							}
						}
					}
				})
			}
		}
	}
}

// packB writes opB[pc:pc+kc, j0:j0+nr] as dst[p·32 + jj], zero-padding
// columns nr..31.
func packB(dst, b []float32, ldb int, transB bool, pc, kc, j0, nr int) {
	if nr < sgNR {
		clear(dst[:kc*sgNR])
	}
	if transB {
		if nr == sgNR && transPanel(dst, b[j0*ldb+pc:], ldb, kc) {
			return
		}
		for jj := 0; jj < nr; jj++ {
			src := b[(j0+jj)*ldb+pc : (j0+jj)*ldb+pc+kc]
			for p, v := range src {
				dst[p*sgNR+jj] = v
			}
		}
		return
	}
	if nr == sgNR && copyPanel(dst, b[pc*ldb+j0:], ldb, kc) {
		return
	}
	for p := 0; p < kc; p++ {
		copy(dst[p*sgNR:p*sgNR+nr], b[(pc+p)*ldb+j0:])
	}
}

// packA writes opA[i0:i0+mr, pc:pc+kc] as dst[p·12 + ii], zero-padding rows
// mr..11.
func packA(dst, a []float32, lda int, transA bool, pc, kc, i0, mr int) {
	if mr < sgMR {
		clear(dst[:kc*sgMR])
	}
	if transA {
		for p := 0; p < kc; p++ {
			copy(dst[p*sgMR:p*sgMR+mr], a[(pc+p)*lda+i0:])
		}
		return
	}
	if mr == sgMR && transPanelA(dst, a[i0*lda+pc:], lda, kc) {
		return
	}
	for ii := 0; ii < mr; ii++ {
		src := a[(i0+ii)*lda+pc : (i0+ii)*lda+pc+kc]
		for p, v := range src {
			dst[p*sgMR+ii] = v
		}
	}
}

// sgKern computes the 12×32 tile C[i, j] (+)= Σ_p a[p·12+i]·b[p·32+j];
// c holds row i at c[i·ldc:].
type sgKern func(kc int, a, b, c []float32, ldc int, add bool)

// sgKernS is sgKern reading A in place: A[i, p] = a[i·ra + p·ka] (the
// packed A of sgKern is ra = 1, ka = 12).
type sgKernS func(kc int, a []float32, ra, ka int, b, c []float32, ldc int, add bool)

// sgemmKernelGoS is the plain twin of sgemmKernAVX512S.
func sgemmKernelGoS(kc int, a []float32, ra, ka int, b, c []float32, ldc int, add bool) {
	var acc [sgMR][sgNR]float32
	for p := 0; p < kc; p++ {
		bp := b[p*sgNR : (p+1)*sgNR : (p+1)*sgNR]
		for i := range acc {
			av := a[i*ra+p*ka]
			row := &acc[i]
			for j, bv := range bp {
				row[j] += av * bv
			}
		}
	}
	for i := 0; i < sgMR; i++ {
		row := c[i*ldc : i*ldc+sgNR]
		if add {
			for j := range row {
				row[j] += acc[i][j]
			}
		} else {
			copy(row, acc[i][:])
		}
	}
}

// sgemmKernelGo is the plain twin of the micro-kernels.
func sgemmKernelGo(kc int, a, b, c []float32, ldc int, add bool) {
	var acc [sgMR][sgNR]float32
	for p := 0; p < kc; p++ {
		bp := b[p*sgNR : (p+1)*sgNR : (p+1)*sgNR]
		ap := a[p*sgMR : (p+1)*sgMR : (p+1)*sgMR]
		for i, av := range ap {
			row := &acc[i]
			for j, bv := range bp {
				row[j] += av * bv
			}
		}
	}
	for i := 0; i < sgMR; i++ {
		row := c[i*ldc : i*ldc+sgNR]
		if add {
			for j := range row {
				row[j] += acc[i][j]
			}
		} else {
			copy(row, acc[i][:])
		}
	}
}
