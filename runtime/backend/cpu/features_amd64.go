package cpu

// cpuid executes CPUID with the given leaf and subleaf.
func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

// xgetbv reads XCR0 (the register state the OS saves on context switch).
func xgetbv() (eax, edx uint32)

func detectLevel() level {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return levelGeneric
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const (
		fma     = 1 << 12
		osxsave = 1 << 27
		avx     = 1 << 28
		f16c    = 1 << 29
	)
	if ecx1&(fma|osxsave|avx|f16c) != fma|osxsave|avx|f16c {
		return levelGeneric
	}
	xcr0, _ := xgetbv()
	if xcr0&0x6 != 0x6 { // XMM and YMM state
		return levelGeneric
	}
	_, ebx7, ecx7, _ := cpuid(7, 0)
	const (
		avx2     = 1 << 5
		avx512f  = 1 << 16
		avx512bw = 1 << 30
		avx512vl = 1 << 31
		vnni     = 1 << 11 // ecx
	)
	if ebx7&avx2 == 0 {
		return levelGeneric
	}
	if ebx7&(avx512f|avx512bw|avx512vl) == avx512f|avx512bw|avx512vl &&
		ecx7&vnni != 0 && xcr0&0xe0 == 0xe0 { // opmask, ZMM_Hi256, Hi16_ZMM state
		return levelAVX512
	}
	return levelAVX2
}
