package cpu

//go:noescape
func dotAsm(a, b *float32, n int) float32

//go:noescape
func axpyAsm(alpha float32, x, y *float32, n int)

// f16ToF32Asm converts n (a multiple of 8) F16 values.
//
//go:noescape
func f16ToF32Asm(dst *float32, src *uint16, n int)

// f32ToF16Asm rounds n (a multiple of 8) float32 values to F16, to nearest
// even.
//
//go:noescape
func f32ToF16Asm(dst *uint16, src *float32, n int)

// quantQ8Asm quantizes nb blocks as quantQ8Go with corr == 0, the meta of
// block b at meta + b·mstride bytes (AVX-512).
//
//go:noescape
func quantQ8Asm(x *float32, qs *int8, meta *uint32, nb int, mstride int)
