//go:build !amd64

package cpu

func detectBF16(l level) (amx, dp bool) { return false, false }

func amxTile(ks int, a, b []uint16, c []float32, ldc int, acc bool, pf []uint16) {
	amxKernelGo(ks, a, b, c, ldc, acc, pf)
}

func bf16Pack(dst []uint16, src []float32, steps, stride int) { bf16PackGo(dst, src, steps, stride) }

func amxPeak(n int) {}

func bf16dpTile(ks int, a, b []uint16, c []float32, ldc int, acc bool, pf []uint16) {
	amxKernelGo(ks, a, b, c, ldc, acc, pf)
}
