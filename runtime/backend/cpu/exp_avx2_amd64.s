#include "textflag.h"

// AVX2 (+FMA, F16C) twins of SwiGLU's and ExpRow's AVX-512 loops: the same
// steps as fmath.ExpV (ggml_v_expf) on 8 lanes, its VSCALEFPS done in
// float64 — j widened, multiplied by 2^n (exact), rounded once to float32,
// as fmath.ExpV's Ldexp is — so each lane equals ExpV bit for bit.

// The constants of ExpV, 8 copies each (32-byte rows): 0x1.8p23, log2 e,
// ln2 high and low, c5..c1, 1, 192, the |·| mask, +Inf, and 1023 (int32).
DATA expc<>+0(SB)/4, $0x4b400000
DATA expc<>+4(SB)/4, $0x4b400000
DATA expc<>+8(SB)/4, $0x4b400000
DATA expc<>+12(SB)/4, $0x4b400000
DATA expc<>+16(SB)/4, $0x4b400000
DATA expc<>+20(SB)/4, $0x4b400000
DATA expc<>+24(SB)/4, $0x4b400000
DATA expc<>+28(SB)/4, $0x4b400000
DATA expc<>+32(SB)/4, $0x3fb8aa3b
DATA expc<>+36(SB)/4, $0x3fb8aa3b
DATA expc<>+40(SB)/4, $0x3fb8aa3b
DATA expc<>+44(SB)/4, $0x3fb8aa3b
DATA expc<>+48(SB)/4, $0x3fb8aa3b
DATA expc<>+52(SB)/4, $0x3fb8aa3b
DATA expc<>+56(SB)/4, $0x3fb8aa3b
DATA expc<>+60(SB)/4, $0x3fb8aa3b
DATA expc<>+64(SB)/4, $0x3f317200
DATA expc<>+68(SB)/4, $0x3f317200
DATA expc<>+72(SB)/4, $0x3f317200
DATA expc<>+76(SB)/4, $0x3f317200
DATA expc<>+80(SB)/4, $0x3f317200
DATA expc<>+84(SB)/4, $0x3f317200
DATA expc<>+88(SB)/4, $0x3f317200
DATA expc<>+92(SB)/4, $0x3f317200
DATA expc<>+96(SB)/4, $0x35bfbe8e
DATA expc<>+100(SB)/4, $0x35bfbe8e
DATA expc<>+104(SB)/4, $0x35bfbe8e
DATA expc<>+108(SB)/4, $0x35bfbe8e
DATA expc<>+112(SB)/4, $0x35bfbe8e
DATA expc<>+116(SB)/4, $0x35bfbe8e
DATA expc<>+120(SB)/4, $0x35bfbe8e
DATA expc<>+124(SB)/4, $0x35bfbe8e
DATA expc<>+128(SB)/4, $0x3c072010
DATA expc<>+132(SB)/4, $0x3c072010
DATA expc<>+136(SB)/4, $0x3c072010
DATA expc<>+140(SB)/4, $0x3c072010
DATA expc<>+144(SB)/4, $0x3c072010
DATA expc<>+148(SB)/4, $0x3c072010
DATA expc<>+152(SB)/4, $0x3c072010
DATA expc<>+156(SB)/4, $0x3c072010
DATA expc<>+160(SB)/4, $0x3d2b9f17
DATA expc<>+164(SB)/4, $0x3d2b9f17
DATA expc<>+168(SB)/4, $0x3d2b9f17
DATA expc<>+172(SB)/4, $0x3d2b9f17
DATA expc<>+176(SB)/4, $0x3d2b9f17
DATA expc<>+180(SB)/4, $0x3d2b9f17
DATA expc<>+184(SB)/4, $0x3d2b9f17
DATA expc<>+188(SB)/4, $0x3d2b9f17
DATA expc<>+192(SB)/4, $0x3e2aaf33
DATA expc<>+196(SB)/4, $0x3e2aaf33
DATA expc<>+200(SB)/4, $0x3e2aaf33
DATA expc<>+204(SB)/4, $0x3e2aaf33
DATA expc<>+208(SB)/4, $0x3e2aaf33
DATA expc<>+212(SB)/4, $0x3e2aaf33
DATA expc<>+216(SB)/4, $0x3e2aaf33
DATA expc<>+220(SB)/4, $0x3e2aaf33
DATA expc<>+224(SB)/4, $0x3efffedb
DATA expc<>+228(SB)/4, $0x3efffedb
DATA expc<>+232(SB)/4, $0x3efffedb
DATA expc<>+236(SB)/4, $0x3efffedb
DATA expc<>+240(SB)/4, $0x3efffedb
DATA expc<>+244(SB)/4, $0x3efffedb
DATA expc<>+248(SB)/4, $0x3efffedb
DATA expc<>+252(SB)/4, $0x3efffedb
DATA expc<>+256(SB)/4, $0x3f7ffff6
DATA expc<>+260(SB)/4, $0x3f7ffff6
DATA expc<>+264(SB)/4, $0x3f7ffff6
DATA expc<>+268(SB)/4, $0x3f7ffff6
DATA expc<>+272(SB)/4, $0x3f7ffff6
DATA expc<>+276(SB)/4, $0x3f7ffff6
DATA expc<>+280(SB)/4, $0x3f7ffff6
DATA expc<>+284(SB)/4, $0x3f7ffff6
DATA expc<>+288(SB)/4, $0x3f800000
DATA expc<>+292(SB)/4, $0x3f800000
DATA expc<>+296(SB)/4, $0x3f800000
DATA expc<>+300(SB)/4, $0x3f800000
DATA expc<>+304(SB)/4, $0x3f800000
DATA expc<>+308(SB)/4, $0x3f800000
DATA expc<>+312(SB)/4, $0x3f800000
DATA expc<>+316(SB)/4, $0x3f800000
DATA expc<>+320(SB)/4, $0x43400000
DATA expc<>+324(SB)/4, $0x43400000
DATA expc<>+328(SB)/4, $0x43400000
DATA expc<>+332(SB)/4, $0x43400000
DATA expc<>+336(SB)/4, $0x43400000
DATA expc<>+340(SB)/4, $0x43400000
DATA expc<>+344(SB)/4, $0x43400000
DATA expc<>+348(SB)/4, $0x43400000
DATA expc<>+352(SB)/4, $0x7fffffff
DATA expc<>+356(SB)/4, $0x7fffffff
DATA expc<>+360(SB)/4, $0x7fffffff
DATA expc<>+364(SB)/4, $0x7fffffff
DATA expc<>+368(SB)/4, $0x7fffffff
DATA expc<>+372(SB)/4, $0x7fffffff
DATA expc<>+376(SB)/4, $0x7fffffff
DATA expc<>+380(SB)/4, $0x7fffffff
DATA expc<>+384(SB)/4, $0x7f800000
DATA expc<>+388(SB)/4, $0x7f800000
DATA expc<>+392(SB)/4, $0x7f800000
DATA expc<>+396(SB)/4, $0x7f800000
DATA expc<>+400(SB)/4, $0x7f800000
DATA expc<>+404(SB)/4, $0x7f800000
DATA expc<>+408(SB)/4, $0x7f800000
DATA expc<>+412(SB)/4, $0x7f800000
DATA expc<>+416(SB)/4, $0x000003ff
DATA expc<>+420(SB)/4, $0x000003ff
DATA expc<>+424(SB)/4, $0x000003ff
DATA expc<>+428(SB)/4, $0x000003ff
DATA expc<>+432(SB)/4, $0x000003ff
DATA expc<>+436(SB)/4, $0x000003ff
DATA expc<>+440(SB)/4, $0x000003ff
DATA expc<>+444(SB)/4, $0x000003ff
GLOBL expc<>(SB), RODATA|NOPTR, $448

// Y6 = ExpV(Y0) for 8 lanes; clobbers Y1..Y5, Y7..Y11.
#define EXPV8 \
	VMOVUPS      expc<>+0(SB), Y1; \
	VFMADD231PS  expc<>+32(SB), Y0, Y1; \
	VSUBPS       expc<>+0(SB), Y1, Y2; \
	VMOVAPS      Y0, Y3; \
	VFNMADD231PS expc<>+64(SB), Y2, Y3; \
	VFNMADD231PS expc<>+96(SB), Y2, Y3; \
	VMULPS       Y3, Y3, Y4; \
	VMOVUPS      expc<>+128(SB), Y5; \
	VFMADD213PS  expc<>+160(SB), Y3, Y5; \
	VMOVUPS      expc<>+192(SB), Y6; \
	VFMADD213PS  expc<>+224(SB), Y3, Y6; \
	VFMADD213PS  Y6, Y4, Y5; \
	VMOVUPS      expc<>+256(SB), Y6; \
	VFMADD213PS  expc<>+288(SB), Y3, Y6; \
	VFMADD213PS  Y6, Y4, Y5; \
	VCVTTPS2DQ   Y2, Y7; \
	VPADDD       expc<>+416(SB), Y7, Y7; \
	VPMOVSXDQ    X7, Y8; \
	VPSLLQ       $52, Y8, Y8; \
	VCVTPS2PD    X5, Y9; \
	VMULPD       Y8, Y9, Y9; \
	VCVTPD2PSY   Y9, X6; \
	VEXTRACTI128 $1, Y7, X7; \
	VPMOVSXDQ    X7, Y8; \
	VPSLLQ       $52, Y8, Y8; \
	VEXTRACTF128 $1, Y5, X10; \
	VCVTPS2PD    X10, Y10; \
	VMULPD       Y8, Y10, Y10; \
	VCVTPD2PSY   Y10, X10; \
	VINSERTF128  $1, X10, Y6, Y6; \
	VANDPS       expc<>+352(SB), Y2, Y8; \
	VCMPPS       $0x1e, expc<>+320(SB), Y8, Y8; \
	VXORPS       Y9, Y9, Y9; \
	VCMPPS       $0x12, Y9, Y2, Y10; \
	VMOVUPS      expc<>+384(SB), Y11; \
	VBLENDVPS    Y10, Y9, Y11, Y11; \
	VBLENDVPS    Y8, Y11, Y6, Y6; \
	VCMPPS       $3, Y2, Y2, Y8; \
	VBLENDVPS    Y8, Y5, Y6, Y6

// func swigluAVX2(dst, gate, up *float32, n int)
// a = g / (1 + ExpV(0−g)) · u for n a multiple of 8.
TEXT ·swigluAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ   sdone

sloop:
	VMOVUPS (SI), Y12
	VXORPS  Y0, Y0, Y0
	VSUBPS  Y12, Y0, Y0 // 0 − g
	EXPV8
	VADDPS  expc<>+288(SB), Y6, Y6 // 1 + e^−g
	VDIVPS  Y6, Y12, Y12     // g / (1 + e^−g)
	VMULPS  (DX), Y12, Y12
	VMOVUPS Y12, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     sloop

sdone:
	VZEROUPPER
	RET

// func expRowAVX2(x *float32, n int, a, b float32, acc *[16]float64)
// x = ExpV(a·x − b) (one fused multiply-subtract) for n a multiple of 16;
// element i's value added in float64 to acc[i mod 16] (Y12..Y15: lanes
// 0..3, 4..7, 8..11, 12..15).
TEXT ·expRowAVX2(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	MOVQ         acc+24(FP), DI
	VMOVUPD      (DI), Y12
	VMOVUPD      32(DI), Y13
	VMOVUPD      64(DI), Y14
	VMOVUPD      96(DI), Y15
	SHRQ         $4, CX
	JZ           xdone

xloop:
	VBROADCASTSS a+16(FP), Y0
	VBROADCASTSS b+20(FP), Y1
	VMOVUPS      (SI), Y2
	VFMSUB132PS  Y0, Y1, Y2
	VMOVAPS      Y2, Y0
	EXPV8
	VMOVUPS      Y6, (SI)
	VCVTPS2PD    X6, Y7
	VADDPD       Y7, Y12, Y12
	VEXTRACTF128 $1, Y6, X7
	VCVTPS2PD    X7, Y7
	VADDPD       Y7, Y13, Y13
	VBROADCASTSS a+16(FP), Y0
	VBROADCASTSS b+20(FP), Y1
	VMOVUPS      32(SI), Y2
	VFMSUB132PS  Y0, Y1, Y2
	VMOVAPS      Y2, Y0
	EXPV8
	VMOVUPS      Y6, 32(SI)
	VCVTPS2PD    X6, Y7
	VADDPD       Y7, Y14, Y14
	VEXTRACTF128 $1, Y6, X7
	VCVTPS2PD    X7, Y7
	VADDPD       Y7, Y15, Y15
	ADDQ         $64, SI
	DECQ         CX
	JNZ          xloop

xdone:
	VMOVUPD Y12, (DI)
	VMOVUPD Y13, 32(DI)
	VMOVUPD Y14, 64(DI)
	VMOVUPD Y15, 96(DI)
	VZEROUPPER
	RET
