package cpu

import (
	"os"

	"golang.org/x/sys/cpu"
)

// On arm64 the kernel level stays generic (the x86 levels do not apply);
// the NEON kernels (neon_arm64.s) run where the CPU has what they need:
// useNEON for Advanced SIMD (every arm64 CPU), neonDot for the dot-product
// extension (FEAT_DotProd: Apple M1 and later, Neoverse N1/Graviton2 and
// later, Cortex-A76 and later). CARTLSP_NOASM=1 and CARTLSP_KERNELS=generic
// turn them off.
func detectLevel() level { return levelGeneric }

func init() {
	off := os.Getenv("CARTLSP_NOASM") == "1" || os.Getenv("CARTLSP_KERNELS") == "generic"
	useNEON = cpu.ARM64.HasASIMD && !off
	neonDot = useNEON && cpu.ARM64.HasASIMDDP
}
