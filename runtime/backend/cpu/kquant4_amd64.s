#include "textflag.h"

// AVX2 K-quant kernels for four activation rows at once (see kquant4.go):
// for one weight row, the whole dot product with each of four Q8_K rows,
// the super-block combination included. The quants of a chunk are decoded
// and its scales broadcast once and meet the four rows' activations in turn
// (at (DI), (DI)(R9*1), (DI)(R9*2), (DI)(R10*1)); the integer sums of a
// super-block are gathered into one int32 lane per row (a VPHADDD tree,
// exact), and the float combination runs on the four rows as the four lanes
// of X10 — per lane the very operations of kCombine, in its order:
//
//	Q4_K, Q5_K: acc += (xd·d)·sumi − (xd·dmin)·summ
//	Q6_K:       acc += (xd·d)·(sumi − 32·corr)
//
// func q4kDot4AVX2(row *byte, scm *uint8, x *int8, xstride int, nb int, xd4 *float32, bs4 *int16, out *float32)
// func q5kDot4AVX2(row *byte, scm *uint8, x *int8, xstride int, nb int, xd4 *float32, bs4 *int16, out *float32)
// func q6kDot4AVX2(row *byte, scm *uint8, x *int8, xstride int, nb int, xd4 *float32, bs4 *int16, out *float32)
//
// SI row block, R8 scales and mins (scm), DI activations of row 0, R9 the
// activation row stride, R10 3·R9, CX count, R11 xd4 ([nb][4] float32),
// R13 bs4 ([nb][4][16] int16), DX out ([4] float32).
// Y0–Y3 int32 sums of rows 0–3, Y5 quant bytes, Y6 decoded quants, Y7 the
// scale words, Y8 scratch, X10 the four float sums, Y14 0x0f bytes.

// Decoded quants Y6 times the four rows' activations at offset XO, scaled
// by the words of Y7, added to Y0–Y3.
#define ACT4(XO) \
	VPMADDUBSW XO(DI), Y6, Y8; \
	VPMADDWD   Y7, Y8, Y8; \
	VPADDD     Y8, Y0, Y0; \
	VPMADDUBSW XO(DI)(R9*1), Y6, Y8; \
	VPMADDWD   Y7, Y8, Y8; \
	VPADDD     Y8, Y1, Y1; \
	VPMADDUBSW XO(DI)(R9*2), Y6, Y8; \
	VPMADDWD   Y7, Y8, Y8; \
	VPADDD     Y8, Y2, Y2; \
	VPMADDUBSW XO(DI)(R10*1), Y6, Y8; \
	VPMADDWD   Y7, Y8, Y8; \
	VPADDD     Y8, Y3, Y3

// Y7 = the byte at SO(R8) (unsigned) as 16 words.
#define SCALEU(SO) \
	MOVBLZX      SO(R8), AX; \
	VMOVD        AX, X7; \
	VPBROADCASTW X7, Y7

// X4 = the sums of Y0, Y1, Y2, Y3's eight lanes, one per lane (int32).
#define HSUM4 \
	VPHADDD      Y1, Y0, Y4; \
	VPHADDD      Y3, Y2, Y5; \
	VPHADDD      Y5, Y4, Y4; \
	VEXTRACTI128 $1, Y4, X5; \
	VPADDD       X5, X4, X4

// The mins' sums of a Q4_K or Q5_K super-block into X5 (int32 per row): the
// 8 mins (bytes at 8(R8)) doubled to 16 words against each row's 16 bsums.
#define MINS4 \
	VPMOVZXBW    8(R8), X9; \
	VPUNPCKHWD   X9, X9, X7; \
	VPUNPCKLWD   X9, X9, X9; \
	VINSERTI128  $1, X7, Y9, Y9; \
	VPMADDWD     0(R13), Y9, Y0; \
	VPMADDWD     32(R13), Y9, Y1; \
	VPMADDWD     64(R13), Y9, Y2; \
	VPMADDWD     96(R13), Y9, Y3; \
	HSUM4; \
	VMOVDQA      X4, X5

// X10 += (xd·d)·sumi − (xd·dmin)·summ for the four rows: sumi in X11 (int32),
// summ in X5 (int32), d and dmin the f16 at 0(SI) and 2(SI), xd at (R11).
#define COMBINE4MIN \
	VCVTDQ2PS    X11, X11; \
	VCVTDQ2PS    X5, X5; \
	MOVL         (SI), AX; \
	VMOVD        AX, X6; \
	VCVTPH2PS    X6, X6; \
	VBROADCASTSS X6, X7; \
	VPSHUFD      $0x55, X6, X6; \
	VMOVUPS      (R11), X8; \
	VMULPS       X7, X8, X7; \
	VMULPS       X6, X8, X6; \
	VMULPS       X11, X7, X7; \
	VMULPS       X5, X6, X6; \
	VSUBPS       X6, X7, X7; \
	VADDPS       X7, X10, X10

// Q4_K chunk c: 32 quant bytes at QO(SI); low nibbles are sub-block 2c
// (activations at XL, scale byte SL), high nibbles sub-block 2c+1 (XH, SH).
#define Q4KCHUNK4(QO, XL, XH, SL, SH) \
	VMOVDQU QO(SI), Y5; \
	VPAND   Y14, Y5, Y6; \
	SCALEU(SL); \
	ACT4(XL); \
	VPSRLW  $4, Y5, Y6; \
	VPAND   Y14, Y6, Y6; \
	SCALEU(SH); \
	ACT4(XH)

TEXT ·q4kDot4AVX2(SB), NOSPLIT, $0-64
	MOVQ row+0(FP), SI
	MOVQ scm+8(FP), R8
	MOVQ x+16(FP), DI
	MOVQ xstride+24(FP), R9
	MOVQ nb+32(FP), CX
	MOVQ xd4+40(FP), R11
	MOVQ bs4+48(FP), R13
	MOVQ out+56(FP), DX
	LEAQ (R9)(R9*2), R10
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	VXORPS X10, X10, X10
	TESTQ CX, CX
	JLE q4k4done

q4k4loop:
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	Q4KCHUNK4(16, 0, 32, 0, 1)
	Q4KCHUNK4(48, 64, 96, 2, 3)
	Q4KCHUNK4(80, 128, 160, 4, 5)
	Q4KCHUNK4(112, 192, 224, 6, 7)
	HSUM4
	VMOVDQA X4, X11
	MINS4
	COMBINE4MIN
	ADDQ $144, SI
	ADDQ $16, R8
	ADDQ $256, DI
	ADDQ $16, R11
	ADDQ $128, R13
	DECQ CX
	JNZ  q4k4loop

q4k4done:
	VMOVUPS X10, (DX)
	VZEROUPPER
	RET

// Q5_K chunk c: as Q4KCHUNK4 with the fifth bits from the qh bytes in Y12:
// bit 2c (shift LB) for the low nibbles, bit 2c+1 (shift HB) for the high;
// Y15 holds 0x01 bytes.
#define Q5KCHUNK4(QO, XL, XH, SL, SH, LB, HB) \
	VMOVDQU QO(SI), Y5; \
	VPAND   Y14, Y5, Y6; \
	VPSRLW  $LB, Y12, Y8; \
	VPAND   Y15, Y8, Y8; \
	VPSLLW  $4, Y8, Y8; \
	VPOR    Y8, Y6, Y6; \
	SCALEU(SL); \
	ACT4(XL); \
	VPSRLW  $4, Y5, Y6; \
	VPAND   Y14, Y6, Y6; \
	VPSRLW  $HB, Y12, Y8; \
	VPAND   Y15, Y8, Y8; \
	VPSLLW  $4, Y8, Y8; \
	VPOR    Y8, Y6, Y6; \
	SCALEU(SH); \
	ACT4(XH)

TEXT ·q5kDot4AVX2(SB), NOSPLIT, $0-64
	MOVQ row+0(FP), SI
	MOVQ scm+8(FP), R8
	MOVQ x+16(FP), DI
	MOVQ xstride+24(FP), R9
	MOVQ nb+32(FP), CX
	MOVQ xd4+40(FP), R11
	MOVQ bs4+48(FP), R13
	MOVQ out+56(FP), DX
	LEAQ (R9)(R9*2), R10
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x01010101, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	VXORPS X10, X10, X10
	TESTQ CX, CX
	JLE q5k4done

q5k4loop:
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VMOVDQU 16(SI), Y12
	Q5KCHUNK4(48, 0, 32, 0, 1, 0, 1)
	Q5KCHUNK4(80, 64, 96, 2, 3, 2, 3)
	Q5KCHUNK4(112, 128, 160, 4, 5, 4, 5)
	Q5KCHUNK4(144, 192, 224, 6, 7, 6, 7)
	HSUM4
	VMOVDQA X4, X11
	MINS4
	COMBINE4MIN
	ADDQ $176, SI
	ADDQ $16, R8
	ADDQ $256, DI
	ADDQ $16, R11
	ADDQ $128, R13
	DECQ CX
	JNZ  q5k4loop

q5k4done:
	VMOVUPS X10, (DX)
	VZEROUPPER
	RET

// Q6_K chunk (n, k): 4 low bits from the ql bytes at QL(SI) (shifted by NS:
// 0 low nibble, 4 high), 2 high bits from the qh bytes at QH(SI) (shift
// HS = 2k); activations at XO; the int8 scales of the chunk's two
// 16-element sub-blocks at SA(SI) and SB(SI). Y15 holds 0x03 bytes.
#define Q6KCHUNK4(QL, NS, QH, HS, XO, SA, SB) \
	VMOVDQU      QL(SI), Y6; \
	VPSRLW       $NS, Y6, Y6; \
	VPAND        Y14, Y6, Y6; \
	VMOVDQU      QH(SI), Y8; \
	VPSRLW       $HS, Y8, Y8; \
	VPAND        Y15, Y8, Y8; \
	VPSLLW       $4, Y8, Y8; \
	VPOR         Y8, Y6, Y6; \
	MOVBLSX      SA(SI), AX; \
	VMOVD        AX, X7; \
	VPBROADCASTW X7, Y7; \
	MOVBLSX      SB(SI), BX; \
	VMOVD        BX, X8; \
	VPBROADCASTW X8, X8; \
	VINSERTI128  $1, X8, Y7, Y7; \
	ACT4(XO)

TEXT ·q6kDot4AVX2(SB), NOSPLIT, $0-64
	MOVQ row+0(FP), SI
	MOVQ x+16(FP), DI
	MOVQ xstride+24(FP), R9
	MOVQ nb+32(FP), CX
	MOVQ xd4+40(FP), R11
	MOVQ bs4+48(FP), R13
	MOVQ out+56(FP), DX
	LEAQ (R9)(R9*2), R10
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x03030303, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	VXORPS X10, X10, X10
	TESTQ CX, CX
	JLE q6k4done

q6k4loop:
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	Q6KCHUNK4(0, 0, 128, 0, 0, 192, 193)
	Q6KCHUNK4(32, 0, 128, 2, 32, 194, 195)
	Q6KCHUNK4(0, 4, 128, 4, 64, 196, 197)
	Q6KCHUNK4(32, 4, 128, 6, 96, 198, 199)
	Q6KCHUNK4(64, 0, 160, 0, 128, 200, 201)
	Q6KCHUNK4(96, 0, 160, 2, 160, 202, 203)
	Q6KCHUNK4(64, 4, 160, 4, 192, 204, 205)
	Q6KCHUNK4(96, 4, 160, 6, 224, 206, 207)
	HSUM4
	VMOVDQA X4, X11

	// corr = Σ_s sc_s·bs_s per row: the 16 int8 scales at 192(SI) as words.
	VPMOVSXBW 192(SI), Y9
	VPMADDWD  0(R13), Y9, Y0
	VPMADDWD  32(R13), Y9, Y1
	VPMADDWD  64(R13), Y9, Y2
	VPMADDWD  96(R13), Y9, Y3
	HSUM4

	// X10 += (xd·d)·(sumi − 32·corr), d the f16 at 208(SI).
	VPSLLD       $5, X4, X4
	VPSUBD       X4, X11, X11
	VCVTDQ2PS    X11, X11
	MOVWLZX      208(SI), AX
	VMOVD        AX, X6
	VCVTPH2PS    X6, X6
	VBROADCASTSS X6, X7
	VMOVUPS      (R11), X8
	VMULPS       X7, X8, X7
	VMULPS       X11, X7, X7
	VADDPS       X7, X10, X10
	ADDQ $210, SI
	ADDQ $256, DI
	ADDQ $16, R11
	ADDQ $128, R13
	DECQ CX
	JNZ  q6k4loop

q6k4done:
	VMOVUPS X10, (DX)
	VZEROUPPER
	RET
