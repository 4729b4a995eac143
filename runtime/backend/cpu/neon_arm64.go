package cpu

import (
	"fmt"

	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// NEON kernels (neon_arm64.s, generated from scripts/neon/kernels.S by
// scripts/neon_asm.sh), each with its plain Go twin: q80HalfNEON is
// tileQ80Go (quants not offset), q41HalfNEON is tileQ41Go, q4kDotNEON/q5kDotNEON/q6kDotNEON are
// q4kDotGo/q5kDotGo/q6kDotGo, f16ToF32NEON is half.F16ToF32 — bit for bit
// (neon_arm64_test.go). The other kernels run as their Go twins on arm64.

//go:noescape
func q80HalfNEON(tile *byte, nb int, x *int8, meta *uint32, h int, out *float32)

//go:noescape
func q41HalfNEON(tile *byte, nb int, x *int8, meta *uint32, h int, out *float32)

//go:noescape
func q4kDotNEON(row *byte, scm *uint8, x *int8, nb int, out *int32)

//go:noescape
func q5kDotNEON(row *byte, scm *uint8, x *int8, nb int, out *int32)

//go:noescape
func q6kDotNEON(row *byte, scm *uint8, x *int8, nb int, out *int32)

//go:noescape
func f16ToF32NEON(dst *float32, src *uint16, n int)

// asmKernel returns the NEON tile kernel for Q8_0 tiles (Q8_0 and Q5_0
// weights) and Q4_1 tiles where the CPU has the dot-product extension, else
// nil. lvl (an x86 level, always generic here) does not choose: useNEON and
// neonDot do, and TestNEONKernels switches them off for the Go twins.
func asmKernel(typ gguf.Type, q8off bool, lvl level) tileKernel {
	if !neonDot {
		return nil
	}
	var half func(tile *byte, nb int, x *int8, meta *uint32, h int, out *float32)
	var tileBytes int // per block
	switch {
	case typ == gguf.TypeQ8_0 && !q8off:
		half, tileBytes = q80HalfNEON, 512+2*tileRows
	case typ == gguf.TypeQ4_1:
		half, tileBytes = q41HalfNEON, 256+4*tileRows
	default:
		return nil
	}
	return func(tile []byte, nb int, xq []int8, meta []uint32, nx int, out []float32) {
		if nb <= 0 || nx <= 0 {
			return
		}
		if len(tile) < nb*tileBytes || len(xq) < nx*nb*blockQK || len(meta) < nx*2*nb || len(out) < nx*tileRows {
			panic(fmt.Sprintf("cpu: %v tile kernel over %d blocks × %d rows with len(tile)=%d len(xq)=%d len(meta)=%d len(out)=%d",
				typ, nb, nx, len(tile), len(xq), len(meta), len(out)))
		}
		for r := 0; r < nx; r++ {
			for h := 0; h < 2; h++ {
				half(&tile[0], nb, &xq[r*nb*blockQK], &meta[r*2*nb], h, &out[r*tileRows+8*h])
			}
		}
	}
}

// asmKDot returns the NEON dot kernel for a K-quant type where the CPU has
// the dot-product extension, else nil.
func asmKDot(t gguf.Type, lvl level) kdotKernel {
	if !neonDot {
		return nil
	}
	var f func(row *byte, scm *uint8, x *int8, nb int, out *int32)
	switch t {
	case gguf.TypeQ4_K:
		f = q4kDotNEON
	case gguf.TypeQ5_K:
		f = q5kDotNEON
	case gguf.TypeQ6_K:
		f = q6kDotNEON
	default:
		return nil
	}
	return kdotChecked(t, f)
}

func asmKDot4(t gguf.Type, lvl level) kdot4Kernel { return nil }

func dotAsm(a, b *float32, n int) float32                                { panic("no asm") }
func axpyAsm(alpha float32, x, y *float32, n int)                        { panic("no asm") }
func f32ToF16Asm(dst *uint16, src *float32, n int)                       { panic("no asm") }
func quantQ8Asm(x *float32, qs *int8, meta *uint32, nb int, mstride int) { panic("no asm") }

// f16ToF32Asm converts n (a multiple of 8) binary16 values on NEON.
func f16ToF32Asm(dst *float32, src *uint16, n int) { f16ToF32NEON(dst, src, n) }
