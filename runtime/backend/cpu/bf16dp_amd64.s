#include "textflag.h"

// The bf16 dot-product kernel for CPUs with AVX512-BF16 but no AMX (AMD Zen 4,
// Intel Cooper Lake): the same packed blocks as amxKernel (bf16.go), summed by
// VDPBF16PS, which the Go assembler does not know: each is spelled out as its
// EVEX bytes (as GNU as encodes it), with its mnemonic in AT&T order. Rows
// 8 at a time: row i's accumulators for column tiles 0 and 1 in Z(2i) and
// Z(2i+1), B's two tiles of one k pair in Z16–Z17, row i's pair broadcast
// in Z(18+i).

// func bf16dpKernel(ks int, a, b *uint16, c *float32, ldc int, acc bool)
//
// C[32, 32] (+)= A·B over ks packed steps; C rows ldc bytes apart.
TEXT ·bf16dpKernel(SB), NOSPLIT, $0-41
	MOVQ ks+0(FP), R8
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), R9
	MOVQ ldc+32(FP), R10
	MOVBLZX acc+40(FP), R11
	MOVQ $4, R12 // chunks of 8 rows
chunk:
	TESTQ R11, R11
	JZ zero
	MOVQ R9, R14
	VMOVUPS (R14), Z0
	VMOVUPS 64(R14), Z1
	ADDQ R10, R14
	VMOVUPS (R14), Z2
	VMOVUPS 64(R14), Z3
	ADDQ R10, R14
	VMOVUPS (R14), Z4
	VMOVUPS 64(R14), Z5
	ADDQ R10, R14
	VMOVUPS (R14), Z6
	VMOVUPS 64(R14), Z7
	ADDQ R10, R14
	VMOVUPS (R14), Z8
	VMOVUPS 64(R14), Z9
	ADDQ R10, R14
	VMOVUPS (R14), Z10
	VMOVUPS 64(R14), Z11
	ADDQ R10, R14
	VMOVUPS (R14), Z12
	VMOVUPS 64(R14), Z13
	ADDQ R10, R14
	VMOVUPS (R14), Z14
	VMOVUPS 64(R14), Z15
	JMP steps
zero:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
steps:
	MOVQ SI, AX
	MOVQ DI, BX
	MOVQ R8, CX
	TESTQ CX, CX
	JZ store
step:
	MOVQ $16, DX // k pairs of a step
pair:
	VMOVUPS (BX), Z16
	VMOVUPS 1024(BX), Z17
	VPBROADCASTD 0(AX), Z18
	VPBROADCASTD 64(AX), Z19
	VPBROADCASTD 128(AX), Z20
	VPBROADCASTD 192(AX), Z21
	VPBROADCASTD 256(AX), Z22
	VPBROADCASTD 320(AX), Z23
	VPBROADCASTD 384(AX), Z24
	VPBROADCASTD 448(AX), Z25
	BYTE $0x62; BYTE $0xB2; BYTE $0x6E; BYTE $0x40; BYTE $0x52; BYTE $0xC0 // vdpbf16ps %zmm16, %zmm18, %zmm0
	BYTE $0x62; BYTE $0xB2; BYTE $0x6E; BYTE $0x40; BYTE $0x52; BYTE $0xC9 // vdpbf16ps %zmm17, %zmm18, %zmm1
	BYTE $0x62; BYTE $0xB2; BYTE $0x66; BYTE $0x40; BYTE $0x52; BYTE $0xD0 // vdpbf16ps %zmm16, %zmm19, %zmm2
	BYTE $0x62; BYTE $0xB2; BYTE $0x66; BYTE $0x40; BYTE $0x52; BYTE $0xD9 // vdpbf16ps %zmm17, %zmm19, %zmm3
	BYTE $0x62; BYTE $0xB2; BYTE $0x5E; BYTE $0x40; BYTE $0x52; BYTE $0xE0 // vdpbf16ps %zmm16, %zmm20, %zmm4
	BYTE $0x62; BYTE $0xB2; BYTE $0x5E; BYTE $0x40; BYTE $0x52; BYTE $0xE9 // vdpbf16ps %zmm17, %zmm20, %zmm5
	BYTE $0x62; BYTE $0xB2; BYTE $0x56; BYTE $0x40; BYTE $0x52; BYTE $0xF0 // vdpbf16ps %zmm16, %zmm21, %zmm6
	BYTE $0x62; BYTE $0xB2; BYTE $0x56; BYTE $0x40; BYTE $0x52; BYTE $0xF9 // vdpbf16ps %zmm17, %zmm21, %zmm7
	BYTE $0x62; BYTE $0x32; BYTE $0x4E; BYTE $0x40; BYTE $0x52; BYTE $0xC0 // vdpbf16ps %zmm16, %zmm22, %zmm8
	BYTE $0x62; BYTE $0x32; BYTE $0x4E; BYTE $0x40; BYTE $0x52; BYTE $0xC9 // vdpbf16ps %zmm17, %zmm22, %zmm9
	BYTE $0x62; BYTE $0x32; BYTE $0x46; BYTE $0x40; BYTE $0x52; BYTE $0xD0 // vdpbf16ps %zmm16, %zmm23, %zmm10
	BYTE $0x62; BYTE $0x32; BYTE $0x46; BYTE $0x40; BYTE $0x52; BYTE $0xD9 // vdpbf16ps %zmm17, %zmm23, %zmm11
	BYTE $0x62; BYTE $0x32; BYTE $0x3E; BYTE $0x40; BYTE $0x52; BYTE $0xE0 // vdpbf16ps %zmm16, %zmm24, %zmm12
	BYTE $0x62; BYTE $0x32; BYTE $0x3E; BYTE $0x40; BYTE $0x52; BYTE $0xE9 // vdpbf16ps %zmm17, %zmm24, %zmm13
	BYTE $0x62; BYTE $0x32; BYTE $0x36; BYTE $0x40; BYTE $0x52; BYTE $0xF0 // vdpbf16ps %zmm16, %zmm25, %zmm14
	BYTE $0x62; BYTE $0x32; BYTE $0x36; BYTE $0x40; BYTE $0x52; BYTE $0xF9 // vdpbf16ps %zmm17, %zmm25, %zmm15
	ADDQ $4, AX
	ADDQ $64, BX
	DECQ DX
	JNZ pair
	ADDQ $1984, AX // to the next step: 2048 bytes on from the step's start
	ADDQ $1024, BX
	DECQ CX
	JNZ step
store:
	MOVQ R9, R14
	VMOVUPS Z0, (R14)
	VMOVUPS Z1, 64(R14)
	ADDQ R10, R14
	VMOVUPS Z2, (R14)
	VMOVUPS Z3, 64(R14)
	ADDQ R10, R14
	VMOVUPS Z4, (R14)
	VMOVUPS Z5, 64(R14)
	ADDQ R10, R14
	VMOVUPS Z6, (R14)
	VMOVUPS Z7, 64(R14)
	ADDQ R10, R14
	VMOVUPS Z8, (R14)
	VMOVUPS Z9, 64(R14)
	ADDQ R10, R14
	VMOVUPS Z10, (R14)
	VMOVUPS Z11, 64(R14)
	ADDQ R10, R14
	VMOVUPS Z12, (R14)
	VMOVUPS Z13, 64(R14)
	ADDQ R10, R14
	VMOVUPS Z14, (R14)
	VMOVUPS Z15, 64(R14)
	ADDQ R10, R14
	MOVQ R14, R9 // the next 8 rows of C
	ADDQ $512, SI // and of A
	DECQ R12
	JNZ chunk
	VZEROUPPER
	RET
