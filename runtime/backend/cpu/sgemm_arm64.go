package cpu

import "fmt"

//go:noescape
func sgemmKernNEON(kc int, a *float32, b *float32, c *float32, ldc int, add int)

// sgemmKernel is the NEON micro-kernel (neon_arm64.s) where Advanced SIMD
// runs, else its Go twin: sgemmKernelGo, which on arm64 (Go fuses its
// multiply-adds there) it equals bit for bit (TestNEONSgemm).
func sgemmKernel() sgKern {
	if !useNEON {
		return sgemmKernelGo
	}
	return func(kc int, a, b, c []float32, ldc int, add bool) {
		if len(a) < kc*sgMR || len(b) < kc*sgNR || ldc < sgNR || len(c) < (sgMR-1)*ldc+sgNR {
			panic(fmt.Sprintf("cpu: sgemm micro-kernel over %d steps with len(a)=%d len(b)=%d len(c)=%d ldc=%d", kc, len(a), len(b), len(c), ldc))
		}
		ad := 0
		if add {
			ad = 1
		}
		var ap, bp *float32
		if kc > 0 {
			ap, bp = &a[0], &b[0]
		}
		sgemmKernNEON(kc, ap, bp, &c[0], ldc, ad)
	}
}

func sgemmKernelStrided() sgKernS { return nil }

func copyPanel(dst, src []float32, ld, kc int) bool { return false }

func transPanel(dst, src []float32, ld, kc int) bool { return false }

func transPanelA(dst, src []float32, ld, kc int) bool { return false }
