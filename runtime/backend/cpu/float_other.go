//go:build !amd64 && !arm64

package cpu

func dotAsm(a, b *float32, n int) float32                                { panic("no asm") }
func axpyAsm(alpha float32, x, y *float32, n int)                        { panic("no asm") }
func f16ToF32Asm(dst *float32, src *uint16, n int)                       { panic("no asm") }
func f32ToF16Asm(dst *uint16, src *float32, n int)                       { panic("no asm") }
func quantQ8Asm(x *float32, qs *int8, meta *uint32, nb int, mstride int) { panic("no asm") }
