#include "textflag.h"

// AVX2 K-quant dot kernels (see kquant.go): for each of nb super-blocks of
// one weight row, the exact int32 Σ sc(e)·u(e)·x(e) over 256 elements. The
// unsigned quants u meet the signed Q8_K activations in VPMADDUBSW (pairs,
// no saturation: u ≤ 63, |x| ≤ 127), and VPMADDWD applies the sub-block
// scales: a 32-byte chunk of quants holds one 32-element sub-block (Q4_K,
// Q5_K: one scale broadcast) or two 16-element ones (Q6_K: the low 128-bit
// half takes the first scale, the high half the second).
//
// func q4kDotAVX2(row *byte, scm *uint8, x *int8, nb int, out *int32)
// func q5kDotAVX2(row *byte, scm *uint8, x *int8, nb int, out *int32)
// func q6kDotAVX2(row *byte, scm *uint8, x *int8, nb int, out *int32)
//
// SI row block, R8 scales (scm), DI activations, CX count, DX out.
// Y0 int32 accumulator, Y15 0x0f bytes, Y14 0x01 (Q5_K) or 0x03 (Q6_K) bytes.

// Y0's 8 int32 lanes summed into (DX).
#define HSUMD \
	VEXTRACTI128 $1, Y0, X1; \
	VPADDD       X1, X0, X0; \
	VPSHUFD      $0x4e, X0, X1; \
	VPADDD       X1, X0, X0; \
	VPSHUFD      $0xb1, X0, X1; \
	VPADDD       X1, X0, X0; \
	VMOVD        X0, (DX)

// Quants in Y1 times activations at XO(DI), scaled by the byte at SO(R8),
// added to Y0.
#define SCALED(XO, SO) \
	VMOVDQU      XO(DI), Y3; \
	VPMADDUBSW   Y3, Y1, Y1; \
	MOVBLZX      SO(R8), AX; \
	VMOVD        AX, X4; \
	VPBROADCASTW X4, Y4; \
	VPMADDWD     Y4, Y1, Y1; \
	VPADDD       Y1, Y0, Y0

// Q4_K chunk c: 32 quant bytes at QO(SI); low nibbles are sub-block 2c
// (activations XL, scale SL), high nibbles sub-block 2c+1 (XH, SH).
#define Q4KCHUNK(QO, XL, XH, SL, SH) \
	VMOVDQU QO(SI), Y5; \
	VPAND   Y15, Y5, Y1; \
	SCALED(XL, SL); \
	VPSRLW  $4, Y5, Y1; \
	VPAND   Y15, Y1, Y1; \
	SCALED(XH, SH)

TEXT ·q4kDotAVX2(SB), NOSPLIT, $0-40
	MOVQ row+0(FP), SI
	MOVQ scm+8(FP), R8
	MOVQ x+16(FP), DI
	MOVQ nb+24(FP), CX
	MOVQ out+32(FP), DX
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	TESTQ CX, CX
	JLE q4kdone

q4kloop:
	VPXOR Y0, Y0, Y0
	Q4KCHUNK(16, 0, 32, 0, 1)
	Q4KCHUNK(48, 64, 96, 2, 3)
	Q4KCHUNK(80, 128, 160, 4, 5)
	Q4KCHUNK(112, 192, 224, 6, 7)
	HSUMD
	ADDQ $144, SI
	ADDQ $16, R8
	ADDQ $256, DI
	ADDQ $4, DX
	DECQ CX
	JNZ  q4kloop

q4kdone:
	VZEROUPPER
	RET

// Q5_K chunk c: as Q4KCHUNK with the fifth bits from the qh bytes in Y6:
// bit 2c (shift LB) for the low nibbles, bit 2c+1 (shift HB) for the high.
#define Q5KCHUNK(QO, XL, XH, SL, SH, LB, HB) \
	VMOVDQU QO(SI), Y5; \
	VPAND   Y15, Y5, Y1; \
	VPSRLW  $LB, Y6, Y2; \
	VPAND   Y14, Y2, Y2; \
	VPSLLW  $4, Y2, Y2; \
	VPOR    Y2, Y1, Y1; \
	SCALED(XL, SL); \
	VPSRLW  $4, Y5, Y1; \
	VPAND   Y15, Y1, Y1; \
	VPSRLW  $HB, Y6, Y2; \
	VPAND   Y14, Y2, Y2; \
	VPSLLW  $4, Y2, Y2; \
	VPOR    Y2, Y1, Y1; \
	SCALED(XH, SH)

TEXT ·q5kDotAVX2(SB), NOSPLIT, $0-40
	MOVQ row+0(FP), SI
	MOVQ scm+8(FP), R8
	MOVQ x+16(FP), DI
	MOVQ nb+24(FP), CX
	MOVQ out+32(FP), DX
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x01010101, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	TESTQ CX, CX
	JLE q5kdone

q5kloop:
	VPXOR   Y0, Y0, Y0
	VMOVDQU 16(SI), Y6
	Q5KCHUNK(48, 0, 32, 0, 1, 0, 1)
	Q5KCHUNK(80, 64, 96, 2, 3, 2, 3)
	Q5KCHUNK(112, 128, 160, 4, 5, 4, 5)
	Q5KCHUNK(144, 192, 224, 6, 7, 6, 7)
	HSUMD
	ADDQ $176, SI
	ADDQ $16, R8
	ADDQ $256, DI
	ADDQ $4, DX
	DECQ CX
	JNZ  q5kloop

q5kdone:
	VZEROUPPER
	RET

// Q6_K chunk (n, k): 4 low bits from the ql bytes at QL(SI) (shifted by NS:
// 0 low nibble, 4 high), 2 high bits from the qh bytes at QH(SI) (shift
// HS = 2k); activations at XO(DI); the int8 scales of the chunk's two
// 16-element sub-blocks at SA(SI) and SA+1(SI).
#define Q6KCHUNK(QL, NS, QH, HS, XO, SA, SB) \
	VMOVDQU      QL(SI), Y1; \
	VPSRLW       $NS, Y1, Y1; \
	VPAND        Y15, Y1, Y1; \
	VMOVDQU      QH(SI), Y2; \
	VPSRLW       $HS, Y2, Y2; \
	VPAND        Y14, Y2, Y2; \
	VPSLLW       $4, Y2, Y2; \
	VPOR         Y2, Y1, Y1; \
	VMOVDQU      XO(DI), Y3; \
	VPMADDUBSW   Y3, Y1, Y1; \
	MOVBLSX      SA(SI), AX; \
	VMOVD        AX, X4; \
	VPBROADCASTW X4, Y4; \
	MOVBLSX      SB(SI), BX; \
	VMOVD        BX, X5; \
	VPBROADCASTW X5, X5; \
	VINSERTI128  $1, X5, Y4, Y4; \
	VPMADDWD     Y4, Y1, Y1; \
	VPADDD       Y1, Y0, Y0

TEXT ·q6kDotAVX2(SB), NOSPLIT, $0-40
	MOVQ row+0(FP), SI
	MOVQ x+16(FP), DI
	MOVQ nb+24(FP), CX
	MOVQ out+32(FP), DX
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x03030303, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	TESTQ CX, CX
	JLE q6kdone

q6kloop:
	VPXOR Y0, Y0, Y0
	Q6KCHUNK(0, 0, 128, 0, 0, 192, 193)
	Q6KCHUNK(32, 0, 128, 2, 32, 194, 195)
	Q6KCHUNK(0, 4, 128, 4, 64, 196, 197)
	Q6KCHUNK(32, 4, 128, 6, 96, 198, 199)
	Q6KCHUNK(64, 0, 160, 0, 128, 200, 201)
	Q6KCHUNK(96, 0, 160, 2, 160, 202, 203)
	Q6KCHUNK(64, 4, 160, 4, 192, 204, 205)
	Q6KCHUNK(96, 4, 160, 6, 224, 206, 207)
	HSUMD
	ADDQ $210, SI
	ADDQ $256, DI
	ADDQ $4, DX
	DECQ CX
	JNZ  q6kloop

q6kdone:
	VZEROUPPER
	RET
