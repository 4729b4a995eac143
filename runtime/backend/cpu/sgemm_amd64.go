package cpu

// sgemmKernAVX512 is the 12×32 micro-kernel (24 zmm accumulators).
//
//go:noescape
func sgemmKernAVX512(kc int, a, b, c *float32, ldc int, add bool)

// sgemmKernAVX2 is a 6×16 micro-kernel reading A with stride 12 and B with
// stride 32 floats, so four calls cover a 12×32 tile of the shared packing.
//
//go:noescape
func sgemmKernAVX2(kc int, a, b, c *float32, ldc int, add bool)

func sgemmKernel() sgKern {
	switch active {
	case levelAVX512:
		return func(kc int, a, b, c []float32, ldc int, add bool) {
			_ = c[(sgMR-1)*ldc+sgNR-1]
			_ = a[kc*sgMR-1]
			_ = b[kc*sgNR-1]
			sgemmKernAVX512(kc, &a[0], &b[0], &c[0], ldc, add)
		}
	case levelAVX2:
		return func(kc int, a, b, c []float32, ldc int, add bool) {
			_ = c[(sgMR-1)*ldc+sgNR-1]
			_ = a[kc*sgMR-1]
			_ = b[kc*sgNR-1]
			sgemmKernAVX2(kc, &a[0], &b[0], &c[0], ldc, add)
			sgemmKernAVX2(kc, &a[0], &b[16], &c[16], ldc, add)
			sgemmKernAVX2(kc, &a[6], &b[0], &c[6*ldc], ldc, add)
			sgemmKernAVX2(kc, &a[6], &b[16], &c[6*ldc+16], ldc, add)
		}
	}
	return sgemmKernelGo
}

// sgemmKernAVX512S is sgemmKernAVX512 reading A in place: A[i, p] at
// a + i·ra + p·ka (bytes; packed A is ra = 4, ka = 48).
//
//go:noescape
func sgemmKernAVX512S(kc int, a *float32, ra, ka int, b, c *float32, ldc int, add bool)

// sgemmKernelStrided returns the kernel that reads A in place, or nil where
// A is always packed.
func sgemmKernelStrided() sgKernS {
	if active != levelAVX512 {
		return nil
	}
	return func(kc int, a []float32, ra, ka int, b, c []float32, ldc int, add bool) {
		_ = c[(sgMR-1)*ldc+sgNR-1]
		_ = a[(sgMR-1)*ra+(kc-1)*ka]
		_ = b[kc*sgNR-1]
		sgemmKernAVX512S(kc, &a[0], 4*ra, 4*ka, &b[0], &c[0], ldc, add)
	}
}

// copyPanelAVX2 copies kc rows of 32 floats, ld bytes apart, into a packed
// B panel.
//
//go:noescape
func copyPanelAVX2(dst, src *float32, ld, kc int)

// copyPanel is packB's copy of a full panel of a row-major B: dst[p·32 + j]
// = src[p·ld + j]; it reports whether an assembly version ran.
func copyPanel(dst, src []float32, ld, kc int) bool {
	if active < levelAVX2 || kc <= 0 {
		return false
	}
	_ = dst[kc*sgNR-1]
	_ = src[(kc-1)*ld+sgNR-1]
	copyPanelAVX2(&dst[0], &src[0], 4*ld, kc)
	return true
}

// transHalfAVX512 transposes 16 rows (ld bytes apart) of 16·nblk floats
// into half of a packed B panel: dst[q·32 + r] = src[r·ld + q].
//
//go:noescape
func transHalfAVX512(dst, src *float32, ld, nblk int)

// transPanel is packB's transposing pack of a full panel, dst[p·32 + jj] =
// src[jj·ld + p] for p < kc, jj < 32, by 16×16 blocks (kc a multiple of
// 16); it reports whether an assembly version ran.
func transPanel(dst, src []float32, ld, kc int) bool {
	if active != levelAVX512 || kc <= 0 || kc%16 != 0 {
		return false
	}
	_ = dst[kc*sgNR-1]
	_ = src[(sgNR-1)*ld+kc-1]
	transHalfAVX512(&dst[0], &src[0], 4*ld, kc/16)
	transHalfAVX512(&dst[16], &src[16*ld], 4*ld, kc/16)
	return true
}

// transA12AVX512 transposes 12 rows (ld bytes apart) of 16·nblk floats into
// a packed A panel: dst[q·12 + r] = src[r·ld + q].
//
//go:noescape
func transA12AVX512(dst, src *float32, ld, nblk int)

// transPanelA is packA's pack of a full panel of a row-major A,
// dst[p·12 + ii] = src[ii·ld + p] for p < kc, ii < 12 (kc a multiple of 16);
// it reports whether an assembly version ran.
func transPanelA(dst, src []float32, ld, kc int) bool {
	if active != levelAVX512 || kc <= 0 || kc%16 != 0 {
		return false
	}
	_ = dst[kc*sgMR-1]
	_ = src[(sgMR-1)*ld+kc-1]
	transA12AVX512(&dst[0], &src[0], 4*ld, kc/16)
	return true
}
