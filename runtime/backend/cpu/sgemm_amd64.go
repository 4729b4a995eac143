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
