#include "textflag.h"

// AVX2 tile kernels (no VNNI): the 16-row tile is processed as two halves of
// 8 rows (one 32-byte half of each 64-byte column group). Products come from
// VPMADDUBSW (u8 × s8 → pairwise s16) and VPMADDWD with ones (→ s32).
// Y15 = 0x0f bytes, Y14 = 1 words.

// One half of a 4-bit block: Y12 = int32 dot per row (8 rows); Q0..Q3 are the
// offsets of this half inside the 4 column groups. The 8 int16 partial sums
// of a lane stay below 8·2·15·127 < 2^15, so they are added as words.
#define HALF4(Q0, Q1, Q2, Q3) \
	VMOVDQU      Q0(SI), Y4; \
	VPSRLW       $4, Y4, Y5; \
	VPAND        Y15, Y4, Y4; \
	VPAND        Y15, Y5, Y5; \
	VPBROADCASTD 0(DI), Y6; \
	VPMADDUBSW   Y6, Y4, Y12; \
	VPBROADCASTD 16(DI), Y6; \
	VPMADDUBSW   Y6, Y5, Y13; \
	VPADDW       Y13, Y12, Y12; \
	VMOVDQU      Q1(SI), Y4; \
	VPSRLW       $4, Y4, Y5; \
	VPAND        Y15, Y4, Y4; \
	VPAND        Y15, Y5, Y5; \
	VPBROADCASTD 4(DI), Y6; \
	VPMADDUBSW   Y6, Y4, Y13; \
	VPADDW       Y13, Y12, Y12; \
	VPBROADCASTD 20(DI), Y6; \
	VPMADDUBSW   Y6, Y5, Y13; \
	VPADDW       Y13, Y12, Y12; \
	VMOVDQU      Q2(SI), Y4; \
	VPSRLW       $4, Y4, Y5; \
	VPAND        Y15, Y4, Y4; \
	VPAND        Y15, Y5, Y5; \
	VPBROADCASTD 8(DI), Y6; \
	VPMADDUBSW   Y6, Y4, Y13; \
	VPADDW       Y13, Y12, Y12; \
	VPBROADCASTD 24(DI), Y6; \
	VPMADDUBSW   Y6, Y5, Y13; \
	VPADDW       Y13, Y12, Y12; \
	VMOVDQU      Q3(SI), Y4; \
	VPSRLW       $4, Y4, Y5; \
	VPAND        Y15, Y4, Y4; \
	VPAND        Y15, Y5, Y5; \
	VPBROADCASTD 12(DI), Y6; \
	VPMADDUBSW   Y6, Y4, Y13; \
	VPADDW       Y13, Y12, Y12; \
	VPBROADCASTD 28(DI), Y6; \
	VPMADDUBSW   Y6, Y5, Y13; \
	VPADDW       Y13, Y12, Y12; \
	VPMADDWD     Y14, Y12, Y12

// ACCD += float32(Y12) * (dw*dx), dw = 8 f16 at DO(DX), dx = (R9).
#define SCALED2(DO, ACCD) \
	VCVTDQ2PS    Y12, Y12; \
	VCVTPH2PS    DO(DX), Y7; \
	VBROADCASTSS (R9), Y8; \
	VMULPS       Y8, Y7, Y7; \
	VMULPS       Y7, Y12, Y12; \
	VADDPS       Y12, ACCD, ACCD

// ACCM += mw*sx, mw = 8 f16 at DO(R8), sx = 4(R9).
#define SCALEM2(DO, ACCM) \
	VCVTPH2PS    DO(R8), Y9; \
	VBROADCASTSS 4(R9), Y10; \
	VMULPS       Y10, Y9, Y9; \
	VADDPS       Y9, ACCM, ACCM

// One Q8_0 column group G for a half: Y12 += dot (sign trick: |w| · sign(w)x).
#define GROUP8(Q, XO) \
	VMOVDQU      Q(SI), Y4; \
	VPBROADCASTD XO(DI), Y5; \
	VPSIGNB      Y4, Y5, Y5; \
	VPABSB       Y4, Y4; \
	VPMADDUBSW   Y5, Y4, Y6; \
	VPMADDWD     Y14, Y6, Y6; \
	VPADDD       Y6, Y12, Y12

#define HALF8(Q0, Q1, Q2, Q3, Q4, Q5, Q6, Q7) \
	VPXOR Y12, Y12, Y12; \
	GROUP8(Q0, 0); \
	GROUP8(Q1, 4); \
	GROUP8(Q2, 8); \
	GROUP8(Q3, 12); \
	GROUP8(Q4, 16); \
	GROUP8(Q5, 20); \
	GROUP8(Q6, 24); \
	GROUP8(Q7, 28)

#define CONSTS \
	MOVL $0x0f0f0f0f, AX; \
	VMOVD AX, X15; \
	VPBROADCASTD X15, Y15; \
	MOVL $0x00010001, AX; \
	VMOVD AX, X14; \
	VPBROADCASTD X14, Y14

// func q41x1AVX2(tile *byte, nb int, xq *int8, meta *uint32, out *float32)
TEXT ·q41x1AVX2(SB), NOSPLIT, $0-40
	MOVQ tile+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ meta+24(FP), R9
	MOVQ out+32(FP), R10
	MOVQ CX, DX
	SHLQ $8, DX
	ADDQ SI, DX
	MOVQ CX, R8
	SHLQ $5, R8
	ADDQ DX, R8
	CONSTS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ CX, CX
	JZ q41a2done

q41a2loop:
	HALF4(0, 64, 128, 192)
	SCALED2(0, Y0)
	SCALEM2(0, Y2)
	HALF4(32, 96, 160, 224)
	SCALED2(16, Y1)
	SCALEM2(16, Y3)
	ADDQ $256, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, DI
	ADDQ $8, R9
	DECQ CX
	JNZ  q41a2loop

q41a2done:
	VADDPS  Y2, Y0, Y0
	VADDPS  Y3, Y1, Y1
	VMOVUPS Y0, 0(R10)
	VMOVUPS Y1, 32(R10)
	VZEROUPPER
	RET

// func q40x1AVX2(tile *byte, nb int, xq *int8, meta *uint32, out *float32)
TEXT ·q40x1AVX2(SB), NOSPLIT, $0-40
	MOVQ tile+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ meta+24(FP), R9
	MOVQ out+32(FP), R10
	MOVQ CX, DX
	SHLQ $8, DX
	ADDQ SI, DX
	CONSTS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	TESTQ CX, CX
	JZ q40a2done

q40a2loop:
	VPBROADCASTD 4(R9), Y11
	HALF4(0, 64, 128, 192)
	VPADDD Y11, Y12, Y12
	SCALED2(0, Y0)
	HALF4(32, 96, 160, 224)
	VPADDD Y11, Y12, Y12
	SCALED2(16, Y1)
	ADDQ $256, SI
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $8, R9
	DECQ CX
	JNZ  q40a2loop

q40a2done:
	VMOVUPS Y0, 0(R10)
	VMOVUPS Y1, 32(R10)
	VZEROUPPER
	RET

// func q80x1AVX2(tile *byte, nb int, xq *int8, meta *uint32, out *float32)
// Quants stored plain (signed).
TEXT ·q80x1AVX2(SB), NOSPLIT, $0-40
	MOVQ tile+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ meta+24(FP), R9
	MOVQ out+32(FP), R10
	MOVQ CX, DX
	SHLQ $9, DX
	ADDQ SI, DX
	CONSTS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	TESTQ CX, CX
	JZ q80a2done

q80a2loop:
	HALF8(0, 64, 128, 192, 256, 320, 384, 448)
	SCALED2(0, Y0)
	HALF8(32, 96, 160, 224, 288, 352, 416, 480)
	SCALED2(16, Y1)
	ADDQ $512, SI
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $8, R9
	DECQ CX
	JNZ  q80a2loop

q80a2done:
	VMOVUPS Y0, 0(R10)
	VMOVUPS Y1, 32(R10)
	VZEROUPPER
	RET
