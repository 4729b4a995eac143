package cpu

// amxConfig is the tile configuration of amxKernel: palette 1, tiles 0–7
// of 16 rows × 64 bytes (C: 16 × 16 float32; A: 16 × 32 bf16; B: 16 pairs
// rows × 16 columns × 2 bf16).
var amxConfig = func() (c [64]byte) {
	c[0] = 1
	for t := 0; t < 8; t++ {
		c[16+2*t] = 64
		c[48+t] = 16
	}
	return c
}()

// amxKernel is the 32×32 bf16 tile product (amx_amd64.s; Go twin
// amxKernelGo).
//
//go:noescape
func amxKernel(ks int, a, b *uint16, c *float32, ldc int, acc bool, pf *uint16)

// bf16dpKernel is amxKernel's product by AVX512-BF16 dot products
// (bf16dp_amd64.s; Go twin amxKernelGo).
//
//go:noescape
func bf16dpKernel(ks int, a, b *uint16, c *float32, ldc int, acc bool)

// bf16dpTile runs bf16dpKernel on slices (pf is not used).
func bf16dpTile(ks int, a, b []uint16, c []float32, ldc int, acc bool, pf []uint16) {
	_ = a[ks*1024-1]
	_ = b[ks*1024-1]
	_ = c[31*ldc+31]
	bf16dpKernel(ks, &a[0], &b[0], &c[0], 4*ldc, acc)
}

// amxPeak runs n rounds of four tile products on zeroed tiles.
//
//go:noescape
func amxPeak(n int)

// bf16PackAVX512 converts steps·32 floats to bf16, 32 per stride bytes
// (Go twin bf16PackGo).
//
//go:noescape
func bf16PackAVX512(dst *uint16, src *float32, steps, stride int)

// detectBF16 reports the bf16 product units next to AVX-512 (level l):
// AMX-TILE and AMX-BF16 with the tile state saved by the OS (XCR0 bits
// 17–18) and granted to this process, and AVX512-BF16 (CPUID leaf 7
// subleaf 1, EAX bit 5).
func detectBF16(l level) (amx, dp bool) {
	if l < levelAVX512 {
		return false, false
	}
	_, _, _, edx7 := cpuid(7, 0)
	const (
		amxBF16 = 1 << 22
		amxTile = 1 << 24
	)
	xcr0, _ := xgetbv()
	amx = edx7&(amxBF16|amxTile) == amxBF16|amxTile && xcr0&(3<<17) == 3<<17 && amxPermit()
	eax71, _, _, _ := cpuid(7, 1)
	return amx, eax71&(1<<5) != 0
}

func amxTile(ks int, a, b []uint16, c []float32, ldc int, acc bool, pf []uint16) {
	_ = a[ks*1024-1]
	_ = b[ks*1024-1]
	_ = c[31*ldc+31]
	p := &b[0]
	if len(pf) >= 64*ks {
		p = &pf[0]
	}
	amxKernel(ks, &a[0], &b[0], &c[0], 4*ldc, acc, p)
}

func bf16Pack(dst []uint16, src []float32, steps, stride int) {
	if steps == 0 {
		return
	}
	if active >= levelAVX512 {
		_ = src[32*steps-1]
		_ = dst[(steps-1)*stride+31]
		bf16PackAVX512(&dst[0], &src[0], steps, 2*stride)
		return
	}
	bf16PackGo(dst, src, steps, stride)
}
