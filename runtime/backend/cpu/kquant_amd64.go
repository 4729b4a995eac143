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
	bb, needScm := t.BlockBytes(), t != gguf.TypeQ6_K
	return func(row []byte, scm []uint8, x []int8, nb int, out []int32) {
		if nb <= 0 {
			return
		}
		if len(row) < nb*bb || len(x) < nb*blockQK_K || len(out) < nb || needScm && len(scm) < 16*nb {
			panic(fmt.Sprintf("cpu: %v dot over %d super-blocks with len(row)=%d len(x)=%d len(out)=%d len(scm)=%d", t, nb, len(row), len(x), len(out), len(scm)))
		}
		var s *uint8
		if needScm {
			s = &scm[0]
		}
		f(&row[0], s, &x[0], nb, &out[0])
	}
}
