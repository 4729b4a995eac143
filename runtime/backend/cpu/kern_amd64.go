package cpu

import "github.com/cartlsp/cartlsp/runtime/gguf"

// Assembly tile kernels (kern_amd64.s, kern_avx2_amd64.s). x1 kernels take
// one activation row, x2 kernels two rows at xq + r·xstride and
// meta + r·mstride (strides in bytes). out: [nx, 16].

//go:noescape
func q41x1VNNI(tile *byte, nb int, xq *int8, meta *uint32, out *float32)

//go:noescape
func q41x2VNNI(tile *byte, nb int, xq *int8, xstride int, meta *uint32, mstride int, out *float32)

//go:noescape
func q51x1VNNI(tile *byte, nb int, xq *int8, meta *uint32, out *float32)

//go:noescape
func q51x2VNNI(tile *byte, nb int, xq *int8, xstride int, meta *uint32, mstride int, out *float32)

//go:noescape
func q40x1VNNI(tile *byte, nb int, xq *int8, meta *uint32, out *float32)

//go:noescape
func q40x2VNNI(tile *byte, nb int, xq *int8, xstride int, meta *uint32, mstride int, out *float32)

//go:noescape
func q80x1VNNI(tile *byte, nb int, xq *int8, meta *uint32, out *float32)

//go:noescape
func q80x2VNNI(tile *byte, nb int, xq *int8, xstride int, meta *uint32, mstride int, out *float32)

//go:noescape
func q41x1AVX2(tile *byte, nb int, xq *int8, meta *uint32, out *float32)

//go:noescape
func q51x1AVX2(tile *byte, nb int, xq *int8, meta *uint32, out *float32)

//go:noescape
func q40x1AVX2(tile *byte, nb int, xq *int8, meta *uint32, out *float32)

//go:noescape
func q80x1AVX2(tile *byte, nb int, xq *int8, meta *uint32, out *float32)

type (
	asm1 func(tile *byte, nb int, xq *int8, meta *uint32, out *float32)
	asm2 func(tile *byte, nb int, xq *int8, xstride int, meta *uint32, mstride int, out *float32)
)

// asmKernel returns the assembly tile kernel for a weight type, its Q8_0
// layout and a kernel level, or nil when there is none.
func asmKernel(typ gguf.Type, q8off bool, lvl level) tileKernel {
	var k1 asm1
	var k2 asm2
	switch {
	case lvl == levelAVX512 && typ == gguf.TypeQ4_1:
		k1, k2 = q41x1VNNI, q41x2VNNI
	case lvl == levelAVX512 && typ == gguf.TypeQ5_1:
		k1, k2 = q51x1VNNI, q51x2VNNI
	case lvl == levelAVX512 && typ == gguf.TypeQ4_0:
		k1, k2 = q40x1VNNI, q40x2VNNI
	case lvl == levelAVX512 && typ == gguf.TypeQ8_0 && q8off:
		k1, k2 = q80x1VNNI, q80x2VNNI
	case lvl >= levelAVX2 && typ == gguf.TypeQ4_1:
		k1 = q41x1AVX2
	case lvl >= levelAVX2 && typ == gguf.TypeQ5_1:
		k1 = q51x1AVX2
	case lvl >= levelAVX2 && typ == gguf.TypeQ4_0:
		k1 = q40x1AVX2
	case lvl >= levelAVX2 && typ == gguf.TypeQ8_0 && !q8off:
		k1 = q80x1AVX2
	default:
		return nil
	}
	return func(tile []byte, nb int, xq []int8, meta []uint32, nx int, out []float32) {
		xs, ms := nb*blockQK, len(meta)/nx
		r := 0
		if k2 != nil {
			for ; r+2 <= nx; r += 2 {
				k2(&tile[0], nb, &xq[r*xs], xs, &meta[r*ms], 4*ms, &out[r*tileRows])
			}
		}
		for ; r < nx; r++ {
			k1(&tile[0], nb, &xq[r*xs], &meta[r*ms], &out[r*tileRows])
		}
	}
}
