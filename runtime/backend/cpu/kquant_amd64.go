package cpu

import (
	"fmt"

	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// Assembly K-quant dot kernels (kquant_amd64.s); q4kDotGo, q5kDotGo and
// q6kDotGo are their twins.

//go:noescape
func q4kDotAVX2(row *byte, scm *uint8, x *int8, nb int, out *int32)

//go:noescape
func q5kDotAVX2(row *byte, scm *uint8, x *int8, nb int, out *int32)

//go:noescape
func q6kDotAVX2(row *byte, scm *uint8, x *int8, nb int, out *int32)

// asmKDot returns the assembly dot kernel for a K-quant type at a kernel
// level, or nil when there is none. The wrapper checks the slice lengths the
// assembly relies on.
func asmKDot(t gguf.Type, lvl level) kdotKernel {
	if lvl < levelAVX2 {
		return nil
	}
	var f func(row *byte, scm *uint8, x *int8, nb int, out *int32)
	switch t {
	case gguf.TypeQ4_K:
		f = q4kDotAVX2
	case gguf.TypeQ5_K:
		f = q5kDotAVX2
	case gguf.TypeQ6_K:
		f = q6kDotAVX2
	default:
		return nil
	}
	return kdotChecked(t, f)
}

// Four-row kernels (kquant4_amd64.s); kdot4Go is their twin.

//go:noescape
func q4kDot4AVX2(row *byte, scm *uint8, x *int8, xstride int, nb int, xd4 *float32, bs4 *int16, out *float32)

//go:noescape
func q5kDot4AVX2(row *byte, scm *uint8, x *int8, xstride int, nb int, xd4 *float32, bs4 *int16, out *float32)

//go:noescape
func q6kDot4AVX2(row *byte, scm *uint8, x *int8, xstride int, nb int, xd4 *float32, bs4 *int16, out *float32)

// asmKDot4 returns the assembly four-row kernel for a K-quant type at a
// kernel level, or nil. The wrapper checks the lengths the assembly relies on.
func asmKDot4(t gguf.Type, lvl level) kdot4Kernel {
	if lvl < levelAVX2 {
		return nil
	}
	var f func(row *byte, scm *uint8, x *int8, xstride int, nb int, xd4 *float32, bs4 *int16, out *float32)
	switch t {
	case gguf.TypeQ4_K:
		f = q4kDot4AVX2
	case gguf.TypeQ5_K:
		f = q5kDot4AVX2
	case gguf.TypeQ6_K:
		f = q6kDot4AVX2
	default:
		return nil
	}
	bb, needScm := t.BlockBytes(), t != gguf.TypeQ6_K
	return func(row []byte, scm []uint8, x []int8, xstride, nb int, xd4 []float32, bs4 []int16, out *[4]float32) {
		if nb <= 0 {
			*out = [4]float32{}
			return
		}
		if len(row) < nb*bb || xstride < nb*blockQK_K || len(x) < 3*xstride+nb*blockQK_K || len(xd4) < 4*nb ||
			len(bs4) < 64*nb || needScm && len(scm) < 16*nb {
			panic(fmt.Sprintf("cpu: %v four-row dot over %d super-blocks with len(row)=%d len(x)=%d stride %d len(xd4)=%d len(bs4)=%d len(scm)=%d",
				t, nb, len(row), len(x), xstride, len(xd4), len(bs4), len(scm)))
		}
		var s *uint8
		if needScm {
			s = &scm[0]
		}
		f(&row[0], s, &x[0], xstride, nb, &xd4[0], &bs4[0], &out[0])
	}
}
