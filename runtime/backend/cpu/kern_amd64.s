#include "textflag.h"

// Integer tile kernels; see kern_go.go for what they compute and Weight for
// the tile layout. Register use in the VNNI kernels:
//   SI quants, DX d (f16), R8 m (f16), CX blocks left,
//   Z31 = 0x0f bytes, Z2..Z9 the block's 8 column groups of 16 rows.
// Every kernel keeps the twin's order of float32 operations:
//   accD += float32(isum) * (dw*dx);  accM += mw*sx;  out = accD + accM.

// Unpack the 4 chunks of a 4-bit block into Z2..Z5 (low nibbles, groups 0..3:
// columns 4g..4g+3) and Z6..Z9 (high nibbles: columns 16+4g..16+4g+3).
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

// Unpack for the one-row kernels: Z2..Z5 low nibbles, Z6..Z9 high nibbles
// left in place (16·q, masked with Z30 = 0xf0): their products are summed in
// a separate accumulator, shifted right by 4 once per block. This trades
// four shifts per block for one (shifts and VPDPBUSD share port 0).
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

// LO += low nibbles · x, HI += 16·high nibbles · x (block at XP), with
// LO2/HI2 (zeroed here) splitting the dependency chains.
#define DOT4X16(XP, LO, HI, LO2, HI2) \
	VPXORD LO2, LO2, LO2; \
	VPXORD HI2, HI2, HI2; \
	VPDPBUSD.BCST 0(XP), Z2, LO; \
	VPDPBUSD.BCST 16(XP), Z6, HI; \
	VPDPBUSD.BCST 4(XP), Z3, LO2; \
	VPDPBUSD.BCST 20(XP), Z7, HI2; \
	VPDPBUSD.BCST 8(XP), Z4, LO; \
	VPDPBUSD.BCST 24(XP), Z8, HI; \
	VPDPBUSD.BCST 12(XP), Z5, LO2; \
	VPDPBUSD.BCST 28(XP), Z9, HI2; \
	VPADDD LO2, LO, LO; \
	VPADDD HI2, HI, HI

// IACC += 4-bit block (Z2..Z9) · activation block at XP.
#define DOT4(XP, IACC) \
	VPDPBUSD.BCST 0(XP), Z2, IACC; \
	VPDPBUSD.BCST 4(XP), Z3, IACC; \
	VPDPBUSD.BCST 8(XP), Z4, IACC; \
	VPDPBUSD.BCST 12(XP), Z5, IACC; \
	VPDPBUSD.BCST 16(XP), Z6, IACC; \
	VPDPBUSD.BCST 20(XP), Z7, IACC; \
	VPDPBUSD.BCST 24(XP), Z8, IACC; \
	VPDPBUSD.BCST 28(XP), Z9, IACC

// Load the 8 chunks of a Q8_0 block into Z2..Z9.
#define LOAD8 \
	VMOVDQU64 0(SI), Z2; \
	VMOVDQU64 64(SI), Z3; \
	VMOVDQU64 128(SI), Z4; \
	VMOVDQU64 192(SI), Z5; \
	VMOVDQU64 256(SI), Z6; \
	VMOVDQU64 320(SI), Z7; \
	VMOVDQU64 384(SI), Z8; \
	VMOVDQU64 448(SI), Z9

// IACC += Q8_0 block (Z2..Z9) · activation block at XP.
#define DOT8(XP, IACC) \
	VPDPBUSD.BCST 0(XP), Z2, IACC; \
	VPDPBUSD.BCST 4(XP), Z3, IACC; \
	VPDPBUSD.BCST 8(XP), Z4, IACC; \
	VPDPBUSD.BCST 12(XP), Z5, IACC; \
	VPDPBUSD.BCST 16(XP), Z6, IACC; \
	VPDPBUSD.BCST 20(XP), Z7, IACC; \
	VPDPBUSD.BCST 24(XP), Z8, IACC; \
	VPDPBUSD.BCST 28(XP), Z9, IACC

// ACCD += float32(IACC) * (Z24 * dx), dx = [MP]; IACC is clobbered.
#define SCALED(MP, IACC, ACCD) \
	VCVTDQ2PS   IACC, IACC; \
	VMULPS.BCST 0(MP), Z24, Z26; \
	VMULPS      Z26, IACC, IACC; \
	VADDPS      IACC, ACCD, ACCD

// ACCM += Z25 * sx, sx = [MP+4].
#define SCALEM(MP, ACCM) \
	VMULPS.BCST 4(MP), Z25, Z27; \
	VADDPS      Z27, ACCM, ACCM

// func q41x1VNNI(tile *byte, nb int, xq *int8, meta *uint32, out *float32)
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
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	TESTQ CX, CX
	JZ q41x1done

q41x1loop:
	UNPACK4X16
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	DOT4X16(DI, Z10, Z11, Z12, Z13)
	VPSRAD $4, Z11, Z11
	VPADDD Z11, Z10, Z10
	VCVTPH2PS (DX), Z24
	VCVTPH2PS (R8), Z25
	SCALED(R9, Z10, Z0)
	SCALEM(R9, Z1)
	ADDQ $256, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, DI
	ADDQ $8, R9
	DECQ CX
	JNZ  q41x1loop

q41x1done:
	VADDPS  Z1, Z0, Z0
	VMOVUPS Z0, (R10)
	VZEROUPPER
	RET

// func q41x4VNNI(tile *byte, nb int, xq *int8, xstride int, meta *uint32, mstride int, out *float32)
// Four activation rows at xq + r·xstride (meta + r·mstride); out: [4, 16].
TEXT ·q41x4VNNI(SB), NOSPLIT, $0-56
	MOVQ tile+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ xstride+24(FP), R11
	MOVQ meta+32(FP), R9
	MOVQ mstride+40(FP), R13
	MOVL $0x0f0f0f0f, R10
	VPBROADCASTD R10, Z31
	MOVQ out+48(FP), R10
	LEAQ (DI)(R11*1), BX
	LEAQ (BX)(R11*1), R12
	LEAQ (R12)(R11*1), R11
	LEAQ (R9)(R13*1), AX
	LEAQ (AX)(R13*1), R14
	LEAQ (R14)(R13*1), R13
	// x rows: DI BX R12 R11; meta rows: R9 AX R14 R13
	MOVQ CX, DX
	SHLQ $8, DX
	ADDQ SI, DX
	MOVQ CX, R8
	SHLQ $5, R8
	ADDQ DX, R8
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	TESTQ CX, CX
	JZ q41x4done

q41x4loop:
	UNPACK4
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	DOT4(DI, Z10)
	DOT4(BX, Z11)
	DOT4(R12, Z12)
	DOT4(R11, Z13)
	VCVTPH2PS (DX), Z24
	VCVTPH2PS (R8), Z25
	SCALED(R9, Z10, Z16)
	SCALED(AX, Z11, Z17)
	SCALED(R14, Z12, Z18)
	SCALED(R13, Z13, Z19)
	SCALEM(R9, Z20)
	SCALEM(AX, Z21)
	SCALEM(R14, Z22)
	SCALEM(R13, Z23)
	ADDQ $256, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, DI
	ADDQ $32, BX
	ADDQ $32, R12
	ADDQ $32, R11
	ADDQ $8, R9
	ADDQ $8, AX
	ADDQ $8, R14
	ADDQ $8, R13
	DECQ CX
	JNZ  q41x4loop

q41x4done:
	VADDPS  Z20, Z16, Z16
	VADDPS  Z21, Z17, Z17
	VADDPS  Z22, Z18, Z18
	VADDPS  Z23, Z19, Z19
	VMOVUPS Z16, 0(R10)
	VMOVUPS Z17, 64(R10)
	VMOVUPS Z18, 128(R10)
	VMOVUPS Z19, 192(R10)
	VZEROUPPER
	RET

// func q40x1VNNI(tile *byte, nb int, xq *int8, meta *uint32, out *float32)
// The integer accumulator starts at meta's correction −8·Σq_x.
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
	MOVL $0xf0f0f0f0, AX
	VPBROADCASTD AX, Z30
	VPXORD Z0, Z0, Z0
	TESTQ CX, CX
	JZ q40x1done

q40x1loop:
	UNPACK4X16
	VPXORD Z11, Z11, Z11
	VPBROADCASTD 4(R9), Z10
	DOT4X16(DI, Z10, Z11, Z12, Z13)
	VPSRAD $4, Z11, Z11
	VPADDD Z11, Z10, Z10
	VCVTPH2PS (DX), Z24
	SCALED(R9, Z10, Z0)
	ADDQ $256, SI
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $8, R9
	DECQ CX
	JNZ  q40x1loop

q40x1done:
	VMOVUPS Z0, (R10)
	VZEROUPPER
	RET

// func q40x4VNNI(tile *byte, nb int, xq *int8, xstride int, meta *uint32, mstride int, out *float32)
TEXT ·q40x4VNNI(SB), NOSPLIT, $0-56
	MOVQ tile+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ xstride+24(FP), R11
	MOVQ meta+32(FP), R9
	MOVQ mstride+40(FP), R13
	MOVQ out+48(FP), R10
	LEAQ (DI)(R11*1), BX
	LEAQ (BX)(R11*1), R12
	LEAQ (R12)(R11*1), R11
	LEAQ (R9)(R13*1), AX
	LEAQ (AX)(R13*1), R14
	LEAQ (R14)(R13*1), R13
	MOVQ CX, DX
	SHLQ $8, DX
	ADDQ SI, DX
	MOVL $0x0f0f0f0f, R8
	VPBROADCASTD R8, Z31
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	TESTQ CX, CX
	JZ q40x4done

q40x4loop:
	UNPACK4
	VPBROADCASTD 4(R9), Z10
	VPBROADCASTD 4(AX), Z11
	VPBROADCASTD 4(R14), Z12
	VPBROADCASTD 4(R13), Z13
	DOT4(DI, Z10)
	DOT4(BX, Z11)
	DOT4(R12, Z12)
	DOT4(R11, Z13)
	VCVTPH2PS (DX), Z24
	SCALED(R9, Z10, Z16)
	SCALED(AX, Z11, Z17)
	SCALED(R14, Z12, Z18)
	SCALED(R13, Z13, Z19)
	ADDQ $256, SI
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $32, BX
	ADDQ $32, R12
	ADDQ $32, R11
	ADDQ $8, R9
	ADDQ $8, AX
	ADDQ $8, R14
	ADDQ $8, R13
	DECQ CX
	JNZ  q40x4loop

q40x4done:
	VMOVUPS Z16, 0(R10)
	VMOVUPS Z17, 64(R10)
	VMOVUPS Z18, 128(R10)
	VMOVUPS Z19, 192(R10)
	VZEROUPPER
	RET

// func q80x1VNNI(tile *byte, nb int, xq *int8, meta *uint32, out *float32)
// Quants are stored as q+128; the accumulator starts at −128·Σq_x.
TEXT ·q80x1VNNI(SB), NOSPLIT, $0-40
	MOVQ tile+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ meta+24(FP), R9
	MOVQ out+32(FP), R10
	MOVQ CX, DX
	SHLQ $9, DX
	ADDQ SI, DX
	VPXORD Z0, Z0, Z0
	TESTQ CX, CX
	JZ q80x1done

q80x1loop:
	LOAD8
	VPBROADCASTD 4(R9), Z10
	DOT8(DI, Z10)
	VCVTPH2PS (DX), Z24
	SCALED(R9, Z10, Z0)
	ADDQ $512, SI
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $8, R9
	DECQ CX
	JNZ  q80x1loop

q80x1done:
	VMOVUPS Z0, (R10)
	VZEROUPPER
	RET

// func q80x4VNNI(tile *byte, nb int, xq *int8, xstride int, meta *uint32, mstride int, out *float32)
TEXT ·q80x4VNNI(SB), NOSPLIT, $0-56
	MOVQ tile+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ xstride+24(FP), R11
	MOVQ meta+32(FP), R9
	MOVQ mstride+40(FP), R13
	MOVQ out+48(FP), R10
	LEAQ (DI)(R11*1), BX
	LEAQ (BX)(R11*1), R12
	LEAQ (R12)(R11*1), R11
	LEAQ (R9)(R13*1), AX
	LEAQ (AX)(R13*1), R14
	LEAQ (R14)(R13*1), R13
	MOVQ CX, DX
	SHLQ $9, DX
	ADDQ SI, DX
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	TESTQ CX, CX
	JZ q80x4done

q80x4loop:
	LOAD8
	VPBROADCASTD 4(R9), Z10
	VPBROADCASTD 4(AX), Z11
	VPBROADCASTD 4(R14), Z12
	VPBROADCASTD 4(R13), Z13
	DOT8(DI, Z10)
	DOT8(BX, Z11)
	DOT8(R12, Z12)
	DOT8(R11, Z13)
	VCVTPH2PS (DX), Z24
	SCALED(R9, Z10, Z16)
	SCALED(AX, Z11, Z17)
	SCALED(R14, Z12, Z18)
	SCALED(R13, Z13, Z19)
	ADDQ $512, SI
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $32, BX
	ADDQ $32, R12
	ADDQ $32, R11
	ADDQ $8, R9
	ADDQ $8, AX
	ADDQ $8, R14
	ADDQ $8, R13
	DECQ CX
	JNZ  q80x4loop

q80x4done:
	VMOVUPS Z16, 0(R10)
	VMOVUPS Z17, 64(R10)
	VMOVUPS Z18, 128(R10)
	VMOVUPS Z19, 192(R10)
	VZEROUPPER
	RET
