#include "textflag.h"

// AVX2 tile kernels (no VNNI), same lane order as the VNNI kernels (see
// kern_amd64.s). The 16-row tile is processed as two halves of 8 rows (one
// 32-byte half of each 64-byte column group), one half after the other.
// Lane products come from VPMADDUBSW (u8 × s8 → pairwise s16) and VPMADDWD
// with ones (→ s32: the 4 products of the lane).
// Y0..Y7 lane accumulators, Y8 accM (Q4_1, Q5_1), Y9 d = dw·dx, Y10..Y13
// temporaries, Y14 = 1 words, Y15 = 0x0f bytes.

#define CONSTS \
	MOVL $0x0f0f0f0f, AX; \
	VMOVD AX, X15; \
	VPBROADCASTD X15, Y15; \
	MOVL $0x00010001, AX; \
	VMOVD AX, X14; \
	VPBROADCASTD X14, Y14

#define ZERO8 \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7

// hsum_float_8 of Y0..Y7 into Y0.
#define HSUM8 \
	VADDPS Y4, Y0, Y0; \
	VADDPS Y5, Y1, Y1; \
	VADDPS Y6, Y2, Y2; \
	VADDPS Y7, Y3, Y3; \
	VADDPS Y2, Y0, Y0; \
	VADDPS Y3, Y1, Y1; \
	VADDPS Y1, Y0, Y0

// 4-bit group at Q(SI): low nibbles with the activations at XL(DI) into
// ALO, high nibbles with XH(DI) into AHI.
#define NIB4(Q, XL, XH, ALO, AHI) \
	VMOVDQU      Q(SI), Y11; \
	VPSRLW       $4, Y11, Y12; \
	VPAND        Y15, Y11, Y11; \
	VPAND        Y15, Y12, Y12; \
	VPBROADCASTD XL(DI), Y13; \
	VPMADDUBSW   Y13, Y11, Y10; \
	VPMADDWD     Y14, Y10, Y10; \
	VCVTDQ2PS    Y10, Y10; \
	VFMADD231PS  Y10, Y9, ALO; \
	VPBROADCASTD XH(DI), Y13; \
	VPMADDUBSW   Y13, Y12, Y10; \
	VPMADDWD     Y14, Y10, Y10; \
	VCVTDQ2PS    Y10, Y10; \
	VFMADD231PS  Y10, Y9, AHI

// NIB4 with the group corrections at CL(R9), CH(R9) added to the ints.
#define NIB4C(Q, XL, XH, ALO, AHI, CL, CH) \
	VMOVDQU      Q(SI), Y11; \
	VPSRLW       $4, Y11, Y12; \
	VPAND        Y15, Y11, Y11; \
	VPAND        Y15, Y12, Y12; \
	VPBROADCASTD XL(DI), Y13; \
	VPMADDUBSW   Y13, Y11, Y10; \
	VPMADDWD     Y14, Y10, Y10; \
	VPBROADCASTD CL(R9), Y13; \
	VPADDD       Y13, Y10, Y10; \
	VCVTDQ2PS    Y10, Y10; \
	VFMADD231PS  Y10, Y9, ALO; \
	VPBROADCASTD XH(DI), Y13; \
	VPMADDUBSW   Y13, Y12, Y10; \
	VPMADDWD     Y14, Y10, Y10; \
	VPBROADCASTD CH(R9), Y13; \
	VPADDD       Y13, Y10, Y10; \
	VCVTDQ2PS    Y10, Y10; \
	VFMADD231PS  Y10, Y9, AHI

// Q8_0 group at Q(SI) (signed quants) with the activations at X(DI) into
// ACC: |w| · sign(w)·x.
#define GROUP8(Q, X, ACC) \
	VMOVDQU      Q(SI), Y11; \
	VPBROADCASTD X(DI), Y12; \
	VPSIGNB      Y11, Y12, Y12; \
	VPABSB       Y11, Y11; \
	VPMADDUBSW   Y12, Y11, Y10; \
	VPMADDWD     Y14, Y10, Y10; \
	VCVTDQ2PS    Y10, Y10; \
	VFMADD231PS  Y10, Y9, ACC

// Q5_1 group at Q(SI) (unsigned byte quants 0..31) with the activations at
// X(DI) into ACC; pairs stay below 2·31·127, so VPMADDUBSW never saturates.
#define GROUP5(Q, X, ACC) \
	VMOVDQU      Q(SI), Y11; \
	VPBROADCASTD X(DI), Y13; \
	VPMADDUBSW   Y13, Y11, Y10; \
	VPMADDWD     Y14, Y10, Y10; \
	VCVTDQ2PS    Y10, Y10; \
	VFMADD231PS  Y10, Y9, ACC

// Walk back to the first block for the second half. Saved pointers:
// R11 tile, R12 xq, R13 meta, R14 nb.
#define REWIND \
	MOVQ R11, SI; \
	MOVQ R12, DI; \
	MOVQ R13, R9; \
	MOVQ R14, CX

// func q41x1AVX2(tile *byte, nb int, xq *int8, meta *uint32, out *float32)
TEXT ·q41x1AVX2(SB), NOSPLIT, $0-40
	MOVQ tile+0(FP), R11
	MOVQ nb+8(FP), R14
	MOVQ xq+16(FP), R12
	MOVQ meta+24(FP), R13
	MOVQ out+32(FP), R10
	CONSTS
	XORQ BX, BX // half: byte offset 0 or 32 into each column group

q41a2half:
	REWIND
	MOVQ CX, DX
	SHLQ $8, DX
	ADDQ SI, DX // d region
	MOVQ CX, R8
	SHLQ $5, R8
	ADDQ DX, R8 // m region
	MOVQ BX, AX
	SHRQ $1, AX
	ADDQ AX, DX // this half's 8 f16
	ADDQ AX, R8
	ADDQ BX, SI
	ZERO8
	VXORPS Y8, Y8, Y8
	TESTQ CX, CX
	JZ q41a2store

q41a2loop:
	VCVTPH2PS    (DX), Y10
	VBROADCASTSS (R9), Y11
	VMULPS       Y11, Y10, Y9
	VCVTPH2PS    (R8), Y10
	VBROADCASTSS 4(R9), Y11
	VFMADD231PS  Y11, Y10, Y8
	NIB4(0, 0, 16, Y0, Y4)
	NIB4(64, 4, 20, Y1, Y5)
	NIB4(128, 8, 24, Y2, Y6)
	NIB4(192, 12, 28, Y3, Y7)
	ADDQ $256, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, DI
	ADDQ $8, R9
	DECQ CX
	JNZ  q41a2loop

q41a2store:
	HSUM8
	VADDPS  Y8, Y0, Y0
	VMOVUPS Y0, (R10)(BX*1)
	ADDQ $32, BX
	CMPQ BX, $64
	JLT  q41a2half
	VZEROUPPER
	RET

// func q51x1AVX2(tile *byte, nb int, xq *int8, meta *uint32, out *float32)
// Byte quants 0..31, the unsigned operand of VPMADDUBSW as stored; meta is
// Q8_1's [d, s] per block.
TEXT ·q51x1AVX2(SB), NOSPLIT, $0-40
	MOVQ tile+0(FP), R11
	MOVQ nb+8(FP), R14
	MOVQ xq+16(FP), R12
	MOVQ meta+24(FP), R13
	MOVQ out+32(FP), R10
	CONSTS
	XORQ BX, BX

q51a2half:
	REWIND
	MOVQ CX, DX
	SHLQ $9, DX
	ADDQ SI, DX // d region
	MOVQ CX, R8
	SHLQ $5, R8
	ADDQ DX, R8 // m region
	MOVQ BX, AX
	SHRQ $1, AX
	ADDQ AX, DX // this half's 8 f16
	ADDQ AX, R8
	ADDQ BX, SI
	ZERO8
	VXORPS Y8, Y8, Y8
	TESTQ CX, CX
	JZ q51a2store

q51a2loop:
	VCVTPH2PS    (DX), Y10
	VBROADCASTSS (R9), Y11
	VMULPS       Y11, Y10, Y9
	VCVTPH2PS    (R8), Y10
	VBROADCASTSS 4(R9), Y11
	VFMADD231PS  Y11, Y10, Y8
	GROUP5(0, 0, Y0)
	GROUP5(64, 4, Y1)
	GROUP5(128, 8, Y2)
	GROUP5(192, 12, Y3)
	GROUP5(256, 16, Y4)
	GROUP5(320, 20, Y5)
	GROUP5(384, 24, Y6)
	GROUP5(448, 28, Y7)
	ADDQ $512, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, DI
	ADDQ $8, R9
	DECQ CX
	JNZ  q51a2loop

q51a2store:
	HSUM8
	VADDPS  Y8, Y0, Y0
	VMOVUPS Y0, (R10)(BX*1)
	ADDQ $32, BX
	CMPQ BX, $64
	JLT  q51a2half
	VZEROUPPER
	RET

// func q40x1AVX2(tile *byte, nb int, xq *int8, meta *uint32, out *float32)
// Quants stored as q+8; the group corrections −8·Σq_x are added to the ints.
TEXT ·q40x1AVX2(SB), NOSPLIT, $0-40
	MOVQ tile+0(FP), R11
	MOVQ nb+8(FP), R14
	MOVQ xq+16(FP), R12
	MOVQ meta+24(FP), R13
	MOVQ out+32(FP), R10
	CONSTS
	XORQ BX, BX

q40a2half:
	REWIND
	MOVQ CX, DX
	SHLQ $8, DX
	ADDQ SI, DX
	MOVQ BX, AX
	SHRQ $1, AX
	ADDQ AX, DX
	ADDQ BX, SI
	ZERO8
	TESTQ CX, CX
	JZ q40a2store

q40a2loop:
	VCVTPH2PS    (DX), Y10
	VBROADCASTSS (R9), Y11
	VMULPS       Y11, Y10, Y9
	NIB4C(0, 0, 16, Y0, Y4, 4, 20)
	NIB4C(64, 4, 20, Y1, Y5, 8, 24)
	NIB4C(128, 8, 24, Y2, Y6, 12, 28)
	NIB4C(192, 12, 28, Y3, Y7, 16, 32)
	ADDQ $256, SI
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $36, R9
	DECQ CX
	JNZ  q40a2loop

q40a2store:
	HSUM8
	VMOVUPS Y0, (R10)(BX*1)
	ADDQ $32, BX
	CMPQ BX, $64
	JLT  q40a2half
	VZEROUPPER
	RET

// func q80x1AVX2(tile *byte, nb int, xq *int8, meta *uint32, out *float32)
// Quants stored plain (signed); meta is [d, s] per block.
TEXT ·q80x1AVX2(SB), NOSPLIT, $0-40
	MOVQ tile+0(FP), R11
	MOVQ nb+8(FP), R14
	MOVQ xq+16(FP), R12
	MOVQ meta+24(FP), R13
	MOVQ out+32(FP), R10
	CONSTS
	XORQ BX, BX

q80a2half:
	REWIND
	MOVQ CX, DX
	SHLQ $9, DX
	ADDQ SI, DX
	MOVQ BX, AX
	SHRQ $1, AX
	ADDQ AX, DX
	ADDQ BX, SI
	ZERO8
	TESTQ CX, CX
	JZ q80a2store

q80a2loop:
	VCVTPH2PS    (DX), Y10
	VBROADCASTSS (R9), Y11
	VMULPS       Y11, Y10, Y9
	GROUP8(0, 0, Y0)
	GROUP8(64, 4, Y1)
	GROUP8(128, 8, Y2)
	GROUP8(192, 12, Y3)
	GROUP8(256, 16, Y4)
	GROUP8(320, 20, Y5)
	GROUP8(384, 24, Y6)
	GROUP8(448, 28, Y7)
	ADDQ $512, SI
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $8, R9
	DECQ CX
	JNZ  q80a2loop

q80a2store:
	HSUM8
	VMOVUPS Y0, (R10)(BX*1)
	ADDQ $32, BX
	CMPQ BX, $64
	JLT  q80a2half
	VZEROUPPER
	RET
