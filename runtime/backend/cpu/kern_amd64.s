#include "textflag.h"

// Integer tile kernels (AVX-512 VNNI); see kern_go.go for what they compute
// (llama.cpp's lane order) and Weight for the tile layout. One zmm holds a
// value for each of the tile's 16 rows. Per block and activation row, lane g
// (columns 4g..4g+3) gets its own int32 dot product from one VPDPBUSD, which
// is converted to float32 and fused into its own accumulator:
//   acc_g = fma(dw·dx, float32(isum_g), acc_g)
// and at the end out = ((acc_0+acc_4) + (acc_2+acc_6)) + ((acc_1+acc_5) +
// (acc_3+acc_7)) [+ accM, the Q4_1 and Q5_1 minimum term Σ mw·sx].
//
// High nibbles are used in place (16·q, masked with 0xf0) and their lanes
// scaled by dw·dx/16: fma(d/16, 16·isum, acc) = fma(d, isum, acc) exactly
// (d/16 is exact and 16·isum < 2^24), which saves the shifts.
//
// x1 kernels take one activation row; x2 kernels two rows at xq + xstride
// and meta + mstride (bytes).

// Low nibbles of the block at SI into Z2..Z5 (columns 4g..4g+3 of group g)
// and 16·high nibbles into Z6..Z9 (columns 16+4g..16+4g+3).
#define UNPACK4X16 \
	VMOVDQU64 0(SI), Z2; \
	VMOVDQU64 64(SI), Z3; \
	VMOVDQU64 128(SI), Z4; \
	VMOVDQU64 192(SI), Z5; \
	VPANDD    Z30, Z2, Z6; \
	VPANDD    Z30, Z3, Z7; \
	VPANDD    Z30, Z4, Z8; \
	VPANDD    Z30, Z5, Z9; \
	VPANDD    Z31, Z2, Z2; \
	VPANDD    Z31, Z3, Z3; \
	VPANDD    Z31, Z4, Z4; \
	VPANDD    Z31, Z5, Z5

// As UNPACK4X16 with the high nibbles shifted down (Q4_0, whose group
// corrections are for q, not 16·q).
#define UNPACK4 \
	VMOVDQU64 0(SI), Z2; \
	VMOVDQU64 64(SI), Z3; \
	VMOVDQU64 128(SI), Z4; \
	VMOVDQU64 192(SI), Z5; \
	VPSRLW    $4, Z2, Z6; \
	VPSRLW    $4, Z3, Z7; \
	VPSRLW    $4, Z4, Z8; \
	VPSRLW    $4, Z5, Z9; \
	VPANDD    Z31, Z2, Z2; \
	VPANDD    Z31, Z3, Z3; \
	VPANDD    Z31, Z4, Z4; \
	VPANDD    Z31, Z5, Z5; \
	VPANDD    Z31, Z6, Z6; \
	VPANDD    Z31, Z7, Z7; \
	VPANDD    Z31, Z8, Z8; \
	VPANDD    Z31, Z9, Z9

// Load the 8 column groups of a Q8_0 or Q5_1 block into Z2..Z9.
#define LOAD8 \
	VMOVDQU64 0(SI), Z2; \
	VMOVDQU64 64(SI), Z3; \
	VMOVDQU64 128(SI), Z4; \
	VMOVDQU64 192(SI), Z5; \
	VMOVDQU64 256(SI), Z6; \
	VMOVDQU64 320(SI), Z7; \
	VMOVDQU64 384(SI), Z8; \
	VMOVDQU64 448(SI), Z9

// The eight lane dot products of the block in Z2..Z9 with the activation
// block at XP into Z10..Z15, Z0, Z28 (initialised beforehand).
#define DOT8LANES(XP) \
	VPDPBUSD.BCST 0(XP), Z2, Z10; \
	VPDPBUSD.BCST 4(XP), Z3, Z11; \
	VPDPBUSD.BCST 8(XP), Z4, Z12; \
	VPDPBUSD.BCST 12(XP), Z5, Z13; \
	VPDPBUSD.BCST 16(XP), Z6, Z14; \
	VPDPBUSD.BCST 20(XP), Z7, Z15; \
	VPDPBUSD.BCST 24(XP), Z8, Z0; \
	VPDPBUSD.BCST 28(XP), Z9, Z28

#define ZEROINTS \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; \
	VPXORD Z13, Z13, Z13; \
	VPXORD Z14, Z14, Z14; \
	VPXORD Z15, Z15, Z15; \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z28, Z28, Z28

// The ints start at the eight group corrections of the meta record at MP.
#define CORRINTS(MP) \
	VPBROADCASTD 4(MP), Z10; \
	VPBROADCASTD 8(MP), Z11; \
	VPBROADCASTD 12(MP), Z12; \
	VPBROADCASTD 16(MP), Z13; \
	VPBROADCASTD 20(MP), Z14; \
	VPBROADCASTD 24(MP), Z15; \
	VPBROADCASTD 28(MP), Z0; \
	VPBROADCASTD 32(MP), Z28

// Z16..Z23 (lanes 0..7) += float32(ints) · scale (DLO for lanes 0..3, DHI
// for lanes 4..7).
#define FMA8LANES(DLO, DHI) \
	VCVTDQ2PS   Z10, Z10; \
	VCVTDQ2PS   Z11, Z11; \
	VCVTDQ2PS   Z12, Z12; \
	VCVTDQ2PS   Z13, Z13; \
	VCVTDQ2PS   Z14, Z14; \
	VCVTDQ2PS   Z15, Z15; \
	VCVTDQ2PS   Z0, Z0; \
	VCVTDQ2PS   Z28, Z28; \
	VFMADD231PS Z10, DLO, Z16; \
	VFMADD231PS Z11, DLO, Z17; \
	VFMADD231PS Z12, DLO, Z18; \
	VFMADD231PS Z13, DLO, Z19; \
	VFMADD231PS Z14, DHI, Z20; \
	VFMADD231PS Z15, DHI, Z21; \
	VFMADD231PS Z0, DHI, Z22; \
	VFMADD231PS Z28, DHI, Z23

// hsum_float_8 of the lane accumulators A0..A7 into A0.
#define HSUM8(A0, A1, A2, A3, A4, A5, A6, A7) \
	VADDPS A4, A0, A0; \
	VADDPS A5, A1, A1; \
	VADDPS A6, A2, A2; \
	VADDPS A7, A3, A3; \
	VADDPS A2, A0, A0; \
	VADDPS A3, A1, A1; \
	VADDPS A1, A0, A0

#define ZEROACC \
	VPXORD Z16, Z16, Z16; \
	VPXORD Z17, Z17, Z17; \
	VPXORD Z18, Z18, Z18; \
	VPXORD Z19, Z19, Z19; \
	VPXORD Z20, Z20, Z20; \
	VPXORD Z21, Z21, Z21; \
	VPXORD Z22, Z22, Z22; \
	VPXORD Z23, Z23, Z23

#define ZEROACC2 \
	ZEROACC; \
	VPXORD Z8, Z8, Z8; \
	VPXORD Z9, Z9, Z9; \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; \
	VPXORD Z13, Z13, Z13; \
	VPXORD Z14, Z14, Z14; \
	VPXORD Z15, Z15, Z15

// Two-row kernels: the weights of four groups sit in Z2..Z5; row 0's lanes
// accumulate in Z16..Z23, row 1's in Z8..Z15. LANE2 does one group W for
// both rows: Z6/Z7 hold the initial ints (zero or the group corrections),
// X0/X1 address the activation groups, D0/D1 are the scales.
#define LANE2(W, X0, X1, D0, D1, A0, A1) \
	VPDPBUSD.BCST X0, W, Z6; \
	VPDPBUSD.BCST X1, W, Z7; \
	VCVTDQ2PS     Z6, Z6; \
	VCVTDQ2PS     Z7, Z7; \
	VFMADD231PS   Z6, D0, A0; \
	VFMADD231PS   Z7, D1, A1

// func q41x1VNNI(tile *byte, nb int, xq *int8, meta *uint32, out *float32)
// Z2..Z9 quants, Z24 dw, Z25 mw, Z26 d = dw·dx, Z27 d/16, Z29 = 1/16,
// Z16..Z23 lanes, Z1 accM.
TEXT ·q41x1VNNI(SB), NOSPLIT, $0-40
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
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z31
	MOVL $0xf0f0f0f0, AX
	VPBROADCASTD AX, Z30
	MOVL $0x3d800000, AX // 1/16
	VPBROADCASTD AX, Z29
	ZEROACC
	VPXORD Z1, Z1, Z1
	TESTQ CX, CX
	JZ q41x1done

q41x1loop:
	UNPACK4X16
	ZEROINTS
	DOT8LANES(DI)
	VCVTPH2PS (DX), Z24
	VCVTPH2PS (R8), Z25
	VMULPS.BCST 0(R9), Z24, Z26
	VMULPS Z29, Z26, Z27
	FMA8LANES(Z26, Z27)
	VFMADD231PS.BCST 4(R9), Z25, Z1
	ADDQ $256, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, DI
	ADDQ $8, R9
	DECQ CX
	JNZ  q41x1loop

q41x1done:
	HSUM8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	VADDPS  Z1, Z16, Z16
	VMOVUPS Z16, (R10)
	VZEROUPPER
	RET

// func q41x2VNNI(tile *byte, nb int, xq *int8, xstride int, meta *uint32, mstride int, out *float32)
// Two activation rows; out: [2, 16]. Z26/Z27 hold d (then d/16) of rows
// 0/1, Z0/Z1 their accM.
TEXT ·q41x2VNNI(SB), NOSPLIT, $0-56
	MOVQ tile+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ xstride+24(FP), BX
	MOVQ meta+32(FP), R9
	MOVQ mstride+40(FP), AX
	MOVQ out+48(FP), R10
	ADDQ DI, BX
	ADDQ R9, AX
	// x rows: DI BX; meta rows: R9 AX
	MOVQ CX, DX
	SHLQ $8, DX
	ADDQ SI, DX
	MOVQ CX, R8
	SHLQ $5, R8
	ADDQ DX, R8
	MOVL $0x0f0f0f0f, R11
	VPBROADCASTD R11, Z31
	MOVL $0xf0f0f0f0, R11
	VPBROADCASTD R11, Z30
	MOVL $0x3d800000, R11
	VPBROADCASTD R11, Z29
	ZEROACC2
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	TESTQ CX, CX
	JZ q41x2done

q41x2loop:
	VCVTPH2PS (DX), Z24
	VCVTPH2PS (R8), Z25
	VMULPS.BCST 0(R9), Z24, Z26
	VMULPS.BCST 0(AX), Z24, Z27
	VFMADD231PS.BCST 4(R9), Z25, Z0
	VFMADD231PS.BCST 4(AX), Z25, Z1
	VPANDD 0(SI), Z31, Z2
	VPANDD 64(SI), Z31, Z3
	VPANDD 128(SI), Z31, Z4
	VPANDD 192(SI), Z31, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	LANE2(Z2, 0(DI), 0(BX), Z26, Z27, Z16, Z8)
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	LANE2(Z3, 4(DI), 4(BX), Z26, Z27, Z17, Z9)
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	LANE2(Z4, 8(DI), 8(BX), Z26, Z27, Z18, Z10)
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	LANE2(Z5, 12(DI), 12(BX), Z26, Z27, Z19, Z11)
	VPANDD 0(SI), Z30, Z2
	VPANDD 64(SI), Z30, Z3
	VPANDD 128(SI), Z30, Z4
	VPANDD 192(SI), Z30, Z5
	VMULPS Z29, Z26, Z26
	VMULPS Z29, Z27, Z27
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	LANE2(Z2, 16(DI), 16(BX), Z26, Z27, Z20, Z12)
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	LANE2(Z3, 20(DI), 20(BX), Z26, Z27, Z21, Z13)
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	LANE2(Z4, 24(DI), 24(BX), Z26, Z27, Z22, Z14)
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	LANE2(Z5, 28(DI), 28(BX), Z26, Z27, Z23, Z15)
	ADDQ $256, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, DI
	ADDQ $32, BX
	ADDQ $8, R9
	ADDQ $8, AX
	DECQ CX
	JNZ  q41x2loop

q41x2done:
	HSUM8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	HSUM8(Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
	VADDPS  Z0, Z16, Z16
	VADDPS  Z1, Z8, Z8
	VMOVUPS Z16, 0(R10)
	VMOVUPS Z8, 64(R10)
	VZEROUPPER
	RET

// LANE2 with zero initial ints (no correction: Q5_1's byte quants are
// unsigned as they are).
#define LANE2Z(W, X0, X1, D0, D1, A0, A1) \
	VPXORD Z6, Z6, Z6; \
	VPXORD Z7, Z7, Z7; \
	LANE2(W, X0, X1, D0, D1, A0, A1)

// func q51x1VNNI(tile *byte, nb int, xq *int8, meta *uint32, out *float32)
// Byte quants 0..31, the unsigned operand of VPDPBUSD as stored: no
// correction. Z2..Z9 quants, Z24 dw, Z25 mw, Z26 d = dw·dx, Z16..Z23 lanes,
// Z1 accM.
TEXT ·q51x1VNNI(SB), NOSPLIT, $0-40
	MOVQ tile+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ meta+24(FP), R9
	MOVQ out+32(FP), R10
	MOVQ CX, DX
	SHLQ $9, DX
	ADDQ SI, DX
	MOVQ CX, R8
	SHLQ $5, R8
	ADDQ DX, R8
	ZEROACC
	VPXORD Z1, Z1, Z1
	TESTQ CX, CX
	JZ q51x1done

q51x1loop:
	LOAD8
	ZEROINTS
	DOT8LANES(DI)
	VCVTPH2PS (DX), Z24
	VCVTPH2PS (R8), Z25
	VMULPS.BCST 0(R9), Z24, Z26
	FMA8LANES(Z26, Z26)
	VFMADD231PS.BCST 4(R9), Z25, Z1
	ADDQ $512, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, DI
	ADDQ $8, R9
	DECQ CX
	JNZ  q51x1loop

q51x1done:
	HSUM8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	VADDPS  Z1, Z16, Z16
	VMOVUPS Z16, (R10)
	VZEROUPPER
	RET

// func q51x2VNNI(tile *byte, nb int, xq *int8, xstride int, meta *uint32, mstride int, out *float32)
// Two activation rows; out: [2, 16]. Z26/Z27 hold d of rows 0/1, Z0/Z1
// their accM.
TEXT ·q51x2VNNI(SB), NOSPLIT, $0-56
	MOVQ tile+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ xstride+24(FP), BX
	MOVQ meta+32(FP), R9
	MOVQ mstride+40(FP), AX
	MOVQ out+48(FP), R10
	ADDQ DI, BX
	ADDQ R9, AX
	// x rows: DI BX; meta rows: R9 AX
	MOVQ CX, DX
	SHLQ $9, DX
	ADDQ SI, DX
	MOVQ CX, R8
	SHLQ $5, R8
	ADDQ DX, R8
	ZEROACC2
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	TESTQ CX, CX
	JZ q51x2done

q51x2loop:
	VCVTPH2PS (DX), Z24
	VCVTPH2PS (R8), Z25
	VMULPS.BCST 0(R9), Z24, Z26
	VMULPS.BCST 0(AX), Z24, Z27
	VFMADD231PS.BCST 4(R9), Z25, Z0
	VFMADD231PS.BCST 4(AX), Z25, Z1
	VMOVDQU64 0(SI), Z2
	VMOVDQU64 64(SI), Z3
	VMOVDQU64 128(SI), Z4
	VMOVDQU64 192(SI), Z5
	LANE2Z(Z2, 0(DI), 0(BX), Z26, Z27, Z16, Z8)
	LANE2Z(Z3, 4(DI), 4(BX), Z26, Z27, Z17, Z9)
	LANE2Z(Z4, 8(DI), 8(BX), Z26, Z27, Z18, Z10)
	LANE2Z(Z5, 12(DI), 12(BX), Z26, Z27, Z19, Z11)
	VMOVDQU64 256(SI), Z2
	VMOVDQU64 320(SI), Z3
	VMOVDQU64 384(SI), Z4
	VMOVDQU64 448(SI), Z5
	LANE2Z(Z2, 16(DI), 16(BX), Z26, Z27, Z20, Z12)
	LANE2Z(Z3, 20(DI), 20(BX), Z26, Z27, Z21, Z13)
	LANE2Z(Z4, 24(DI), 24(BX), Z26, Z27, Z22, Z14)
	LANE2Z(Z5, 28(DI), 28(BX), Z26, Z27, Z23, Z15)
	ADDQ $512, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, DI
	ADDQ $32, BX
	ADDQ $8, R9
	ADDQ $8, AX
	DECQ CX
	JNZ  q51x2loop

q51x2done:
	HSUM8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	HSUM8(Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
	VADDPS  Z0, Z16, Z16
	VADDPS  Z1, Z8, Z8
	VMOVUPS Z16, 0(R10)
	VMOVUPS Z8, 64(R10)
	VZEROUPPER
	RET

// func q40x1VNNI(tile *byte, nb int, xq *int8, meta *uint32, out *float32)
// Quants stored as q+8; each lane's int starts at its correction −8·Σq_x.
TEXT ·q40x1VNNI(SB), NOSPLIT, $0-40
	MOVQ tile+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ meta+24(FP), R9
	MOVQ out+32(FP), R10
	MOVQ CX, DX
	SHLQ $8, DX
	ADDQ SI, DX
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z31
	ZEROACC
	TESTQ CX, CX
	JZ q40x1done

q40x1loop:
	UNPACK4
	CORRINTS(R9)
	DOT8LANES(DI)
	VCVTPH2PS (DX), Z24
	VMULPS.BCST 0(R9), Z24, Z26
	FMA8LANES(Z26, Z26)
	ADDQ $256, SI
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $36, R9
	DECQ CX
	JNZ  q40x1loop

q40x1done:
	HSUM8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	VMOVUPS Z16, (R10)
	VZEROUPPER
	RET

// func q40x2VNNI(tile *byte, nb int, xq *int8, xstride int, meta *uint32, mstride int, out *float32)
TEXT ·q40x2VNNI(SB), NOSPLIT, $0-56
	MOVQ tile+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ xstride+24(FP), BX
	MOVQ meta+32(FP), R9
	MOVQ mstride+40(FP), AX
	MOVQ out+48(FP), R10
	ADDQ DI, BX
	ADDQ R9, AX
	MOVQ CX, DX
	SHLQ $8, DX
	ADDQ SI, DX
	MOVL $0x0f0f0f0f, R11
	VPBROADCASTD R11, Z31
	ZEROACC2
	TESTQ CX, CX
	JZ q40x2done

q40x2loop:
	VCVTPH2PS (DX), Z24
	VMULPS.BCST 0(R9), Z24, Z26
	VMULPS.BCST 0(AX), Z24, Z27
	VPANDD 0(SI), Z31, Z2
	VPANDD 64(SI), Z31, Z3
	VPANDD 128(SI), Z31, Z4
	VPANDD 192(SI), Z31, Z5
	VPBROADCASTD 4(R9), Z6
	VPBROADCASTD 4(AX), Z7
	LANE2(Z2, 0(DI), 0(BX), Z26, Z27, Z16, Z8)
	VPBROADCASTD 8(R9), Z6
	VPBROADCASTD 8(AX), Z7
	LANE2(Z3, 4(DI), 4(BX), Z26, Z27, Z17, Z9)
	VPBROADCASTD 12(R9), Z6
	VPBROADCASTD 12(AX), Z7
	LANE2(Z4, 8(DI), 8(BX), Z26, Z27, Z18, Z10)
	VPBROADCASTD 16(R9), Z6
	VPBROADCASTD 16(AX), Z7
	LANE2(Z5, 12(DI), 12(BX), Z26, Z27, Z19, Z11)
	VMOVDQU64 0(SI), Z2
	VMOVDQU64 64(SI), Z3
	VMOVDQU64 128(SI), Z4
	VMOVDQU64 192(SI), Z5
	VPSRLW $4, Z2, Z2
	VPSRLW $4, Z3, Z3
	VPSRLW $4, Z4, Z4
	VPSRLW $4, Z5, Z5
	VPANDD Z31, Z2, Z2
	VPANDD Z31, Z3, Z3
	VPANDD Z31, Z4, Z4
	VPANDD Z31, Z5, Z5
	VPBROADCASTD 20(R9), Z6
	VPBROADCASTD 20(AX), Z7
	LANE2(Z2, 16(DI), 16(BX), Z26, Z27, Z20, Z12)
	VPBROADCASTD 24(R9), Z6
	VPBROADCASTD 24(AX), Z7
	LANE2(Z3, 20(DI), 20(BX), Z26, Z27, Z21, Z13)
	VPBROADCASTD 28(R9), Z6
	VPBROADCASTD 28(AX), Z7
	LANE2(Z4, 24(DI), 24(BX), Z26, Z27, Z22, Z14)
	VPBROADCASTD 32(R9), Z6
	VPBROADCASTD 32(AX), Z7
	LANE2(Z5, 28(DI), 28(BX), Z26, Z27, Z23, Z15)
	ADDQ $256, SI
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $32, BX
	ADDQ $36, R9
	ADDQ $36, AX
	DECQ CX
	JNZ  q40x2loop

q40x2done:
	HSUM8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	HSUM8(Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
	VMOVUPS Z16, 0(R10)
	VMOVUPS Z8, 64(R10)
	VZEROUPPER
	RET

// func q80x1VNNI(tile *byte, nb int, xq *int8, meta *uint32, out *float32)
// Quants stored as q+128; each lane's int starts at its correction
// −128·Σq_x.
TEXT ·q80x1VNNI(SB), NOSPLIT, $0-40
	MOVQ tile+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ meta+24(FP), R9
	MOVQ out+32(FP), R10
	MOVQ CX, DX
	SHLQ $9, DX
	ADDQ SI, DX
	ZEROACC
	TESTQ CX, CX
	JZ q80x1done

q80x1loop:
	LOAD8
	CORRINTS(R9)
	DOT8LANES(DI)
	VCVTPH2PS (DX), Z24
	VMULPS.BCST 0(R9), Z24, Z26
	FMA8LANES(Z26, Z26)
	ADDQ $512, SI
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $36, R9
	DECQ CX
	JNZ  q80x1loop

q80x1done:
	HSUM8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	VMOVUPS Z16, (R10)
	VZEROUPPER
	RET

// func q80x2VNNI(tile *byte, nb int, xq *int8, xstride int, meta *uint32, mstride int, out *float32)
TEXT ·q80x2VNNI(SB), NOSPLIT, $0-56
	MOVQ tile+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ xstride+24(FP), BX
	MOVQ meta+32(FP), R9
	MOVQ mstride+40(FP), AX
	MOVQ out+48(FP), R10
	ADDQ DI, BX
	ADDQ R9, AX
	MOVQ CX, DX
	SHLQ $9, DX
	ADDQ SI, DX
	ZEROACC2
	TESTQ CX, CX
	JZ q80x2done

q80x2loop:
	VCVTPH2PS (DX), Z24
	VMULPS.BCST 0(R9), Z24, Z26
	VMULPS.BCST 0(AX), Z24, Z27
	VMOVDQU64 0(SI), Z2
	VMOVDQU64 64(SI), Z3
	VMOVDQU64 128(SI), Z4
	VMOVDQU64 192(SI), Z5
	VPBROADCASTD 4(R9), Z6
	VPBROADCASTD 4(AX), Z7
	LANE2(Z2, 0(DI), 0(BX), Z26, Z27, Z16, Z8)
	VPBROADCASTD 8(R9), Z6
	VPBROADCASTD 8(AX), Z7
	LANE2(Z3, 4(DI), 4(BX), Z26, Z27, Z17, Z9)
	VPBROADCASTD 12(R9), Z6
	VPBROADCASTD 12(AX), Z7
	LANE2(Z4, 8(DI), 8(BX), Z26, Z27, Z18, Z10)
	VPBROADCASTD 16(R9), Z6
	VPBROADCASTD 16(AX), Z7
	LANE2(Z5, 12(DI), 12(BX), Z26, Z27, Z19, Z11)
	VMOVDQU64 256(SI), Z2
	VMOVDQU64 320(SI), Z3
	VMOVDQU64 384(SI), Z4
	VMOVDQU64 448(SI), Z5
	VPBROADCASTD 20(R9), Z6
	VPBROADCASTD 20(AX), Z7
	LANE2(Z2, 16(DI), 16(BX), Z26, Z27, Z20, Z12)
	VPBROADCASTD 24(R9), Z6
	VPBROADCASTD 24(AX), Z7
	LANE2(Z3, 20(DI), 20(BX), Z26, Z27, Z21, Z13)
	VPBROADCASTD 28(R9), Z6
	VPBROADCASTD 28(AX), Z7
	LANE2(Z4, 24(DI), 24(BX), Z26, Z27, Z22, Z14)
	VPBROADCASTD 32(R9), Z6
	VPBROADCASTD 32(AX), Z7
	LANE2(Z5, 28(DI), 28(BX), Z26, Z27, Z23, Z15)
	ADDQ $512, SI
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $32, BX
	ADDQ $36, R9
	ADDQ $36, AX
	DECQ CX
	JNZ  q80x2loop

q80x2done:
	HSUM8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	HSUM8(Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
	VMOVUPS Z16, 0(R10)
	VMOVUPS Z8, 64(R10)
	VZEROUPPER
	RET
