#include "textflag.h"

// Intel AMX (tile registers, TDPBF16PS), which the Go assembler does not
// know: the instructions are spelled out as bytes, each with its mnemonic.
// Only legacy registers (no REX) appear in them, so every VEX prefix is the
// three-byte C4 E2 form with vvvv = 1111 unless an operand sits there.

// func amxKernel(ks int, a, b *uint16, c *float32, ldc int, acc bool, pf *uint16)
//
// C[32, 32] (+)= A[32, 32·ks] · B[32·ks, 32] in bf16 with float32 sums.
// a and b are packed blocks (bf16.go): step s holds A's 32 rows × 32 k at
// a + 2048·s (rows 0–15 then 16–31, 64 bytes a row) and B's two 16-column
// tiles in pair layout at b + 2048·s; C rows are ldc bytes apart. The tile
// configuration is loaded and released within the call, so no tile state
// lives across a Go preemption point. Each step also prefetches 128 bytes
// from pf on (the next panel of B, 1/16 of it for each of 16 calls).
TEXT ·amxKernel(SB), NOSPLIT, $0-56
	LEAQ ·amxConfig(SB), DI
	BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0x07 // ldtilecfg [rdi]
	MOVQ ks+0(FP), R8
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), R9
	MOVQ ldc+32(FP), R10
	MOVBLZX acc+40(FP), R11
	MOVQ pf+48(FP), R13
	MOVQ R10, DX
	MOVQ R10, R12
	SHLQ $4, R12  // 16 rows of C
	TESTQ R11, R11
	JZ zero
	MOVQ R9, AX
	LEAQ 64(R9), BX
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x04; BYTE $0x10 // tileloadd tmm0, [rax+rdx]
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x0C; BYTE $0x13 // tileloadd tmm1, [rbx+rdx]
	ADDQ R12, AX
	ADDQ R12, BX
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x14; BYTE $0x10 // tileloadd tmm2, [rax+rdx]
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x1C; BYTE $0x13 // tileloadd tmm3, [rbx+rdx]
	JMP steps
zero:
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xC0 // tilezero tmm0
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xC8 // tilezero tmm1
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xD0 // tilezero tmm2
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xD8 // tilezero tmm3
steps:
	MOVQ $64, CX
	TESTQ R8, R8
	JZ store
step:
	LEAQ 1024(SI), BX
	LEAQ 1024(DI), AX
	PREFETCHT0 (R13)
	PREFETCHT0 64(R13)
	ADDQ $128, R13
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x24; BYTE $0x0E // tileloadd tmm4, [rsi+rcx]
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x2C; BYTE $0x0B // tileloadd tmm5, [rbx+rcx]
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x34; BYTE $0x0F // tileloadd tmm6, [rdi+rcx]
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x3C; BYTE $0x08 // tileloadd tmm7, [rax+rcx]
	BYTE $0xC4; BYTE $0xE2; BYTE $0x4A; BYTE $0x5C; BYTE $0xC4 // tdpbf16ps tmm0, tmm4, tmm6
	BYTE $0xC4; BYTE $0xE2; BYTE $0x42; BYTE $0x5C; BYTE $0xCC // tdpbf16ps tmm1, tmm4, tmm7
	BYTE $0xC4; BYTE $0xE2; BYTE $0x4A; BYTE $0x5C; BYTE $0xD5 // tdpbf16ps tmm2, tmm5, tmm6
	BYTE $0xC4; BYTE $0xE2; BYTE $0x42; BYTE $0x5C; BYTE $0xDD // tdpbf16ps tmm3, tmm5, tmm7
	ADDQ $2048, SI
	ADDQ $2048, DI
	DECQ R8
	JNZ step
store:
	MOVQ R9, AX
	LEAQ 64(R9), BX
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7A; BYTE $0x4B; BYTE $0x04; BYTE $0x10 // tilestored [rax+rdx], tmm0
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7A; BYTE $0x4B; BYTE $0x0C; BYTE $0x13 // tilestored [rbx+rdx], tmm1
	ADDQ R12, AX
	ADDQ R12, BX
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7A; BYTE $0x4B; BYTE $0x14; BYTE $0x10 // tilestored [rax+rdx], tmm2
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7A; BYTE $0x4B; BYTE $0x1C; BYTE $0x13 // tilestored [rbx+rdx], tmm3
	BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0xC0 // tilerelease
	RET

// func bf16PackAVX512(dst *uint16, src *float32, steps, stride int)
//
// Converts steps·32 consecutive floats of src to bf16, rounded to nearest
// even (bits + 0x7FFF + bit 16 of bits, then the high half), writing each
// 32 of them as 64 bytes at dst + stride·step.
TEXT ·bf16PackAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ steps+16(FP), CX
	MOVQ stride+24(FP), DX
	MOVL $0x7FFF, AX
	VPBROADCASTD AX, Z6
	MOVL $1, AX
	VPBROADCASTD AX, Z7
	TESTQ CX, CX
	JZ done
loop:
	VMOVDQU32 (SI), Z0
	VMOVDQU32 64(SI), Z1
	VPSRLD $16, Z0, Z2
	VPSRLD $16, Z1, Z3
	VPANDD Z7, Z2, Z2
	VPANDD Z7, Z3, Z3
	VPADDD Z6, Z2, Z2
	VPADDD Z6, Z3, Z3
	VPADDD Z2, Z0, Z0
	VPADDD Z3, Z1, Z1
	VPSRLD $16, Z0, Z0
	VPSRLD $16, Z1, Z1
	VPMOVDW Z0, (DI)
	VPMOVDW Z1, 32(DI)
	ADDQ $128, SI
	ADDQ DX, DI
	DECQ CX
	JNZ loop
done:
	VZEROUPPER
	RET

// func amxPeak(n int)
//
// n rounds of four TDPBF16PS on zeroed tiles (BenchmarkAMXPeak).
TEXT ·amxPeak(SB), NOSPLIT, $0-8
	LEAQ ·amxConfig(SB), DI
	BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0x07 // ldtilecfg [rdi]
	MOVQ n+0(FP), R8
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xC0 // tilezero tmm0
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xC8 // tilezero tmm1
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xD0 // tilezero tmm2
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xD8 // tilezero tmm3
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xE0 // tilezero tmm4
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xE8 // tilezero tmm5
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xF0 // tilezero tmm6
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xF8 // tilezero tmm7
	TESTQ R8, R8
	JZ peakdone
peak:
	BYTE $0xC4; BYTE $0xE2; BYTE $0x4A; BYTE $0x5C; BYTE $0xC4 // tdpbf16ps tmm0, tmm4, tmm6
	BYTE $0xC4; BYTE $0xE2; BYTE $0x42; BYTE $0x5C; BYTE $0xCC // tdpbf16ps tmm1, tmm4, tmm7
	BYTE $0xC4; BYTE $0xE2; BYTE $0x4A; BYTE $0x5C; BYTE $0xD5 // tdpbf16ps tmm2, tmm5, tmm6
	BYTE $0xC4; BYTE $0xE2; BYTE $0x42; BYTE $0x5C; BYTE $0xDD // tdpbf16ps tmm3, tmm5, tmm7
	DECQ R8
	JNZ peak
peakdone:
	BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0xC0 // tilerelease
	RET
