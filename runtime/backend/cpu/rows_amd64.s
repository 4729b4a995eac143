#include "textflag.h"
#include "exp_amd64.h"

// AVX-512 twins of rows.go.

// func expRowAVX512(x *float32, n int, a, b float32, acc *[16]float64)
// x = ggml_v_expf(a·x − b) per chunk of 16 (the last n mod 16 under a
// mask); lane sums in float64 added into acc (Z10: lanes 0..7, Z11: lanes
// 8..15).
TEXT ·expRowAVX512(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS a+16(FP), Z19
	VBROADCASTSS b+20(FP), Z17
	MOVQ         acc+24(FP), DI
	EXPCONSTS
	VMOVUPD      (DI), Z10
	VMOVUPD      64(DI), Z11
	SHRQ         $4, CX
	JZ           xdone

xloop:
	VMOVUPS       (SI), Z0
	VFMSUB213PS   Z17, Z19, Z0 // a·x − b
	EXPV(xok)
	VMOVUPS       Z6, (SI)
	VCVTPS2PD     Y6, Z12
	VEXTRACTF64X4 $1, Z6, Y13
	VCVTPS2PD     Y13, Z13
	VADDPD        Z12, Z10, Z10
	VADDPD        Z13, Z11, Z11
	ADDQ          $64, SI
	DECQ          CX
	JNZ           xloop

xdone:
	MOVQ n+8(FP), CX
	ANDQ $15, CX
	JZ   xstore
	MOVL $1, AX // tail: lanes 0..n%16−1 under K3
	SHLL CX, AX
	DECL AX
	KMOVW AX, K3
	VMOVUPS.Z     (SI), K3, Z0
	VFMSUB213PS   Z17, Z19, Z0
	EXPV(xtok)
	VMOVUPS       Z6, K3, (SI)
	VMOVAPS.Z     Z6, K3, Z6
	VCVTPS2PD     Y6, Z12
	VEXTRACTF64X4 $1, Z6, Y13
	VCVTPS2PD     Y13, Z13
	VADDPD        Z12, Z10, Z10
	VADDPD        Z13, Z11, Z11

xstore:
	VMOVUPD Z10, (DI)
	VMOVUPD Z11, 64(DI)
	VZEROUPPER
	RET

// func maxRowAVX512(x *float32, n int, lanes *[16]float32)
// lanes[l] = max over i ≡ l (mod 16) of x[i], in order: m = m > v ? m : v
// (VMAXPS), lanes starting at their value on entry; n ≥ 1.
TEXT ·maxRowAVX512(SB), NOSPLIT, $0-24
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), CX
	MOVQ    lanes+16(FP), DI
	VMOVUPS (DI), Z0
	MOVQ    CX, DX
	SHRQ    $4, CX
	JZ      mtail

mloop:
	VMOVUPS (SI), Z1
	VMAXPS  Z1, Z0, Z0
	ADDQ    $64, SI
	DECQ    CX
	JNZ     mloop

mtail:
	ANDQ  $15, DX
	JZ    mdone
	MOVQ  DX, CX
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K3
	VMOVAPS Z0, Z2
	VMOVUPS (SI), K3, Z2 // masked lanes keep m
	VMAXPS  Z2, Z0, Z0

mdone:
	VMOVUPS Z0, (DI)
	VZEROUPPER
	RET

// func softmaxBackAVX512(ds, a *float32, n int, delta, scale float32)
// ds = a·(ds − delta)·scale for n a multiple of 16.
TEXT ·softmaxBackAVX512(SB), NOSPLIT, $0-32
	MOVQ         ds+0(FP), DI
	MOVQ         a+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS delta+24(FP), Z1
	VBROADCASTSS scale+28(FP), Z2
	SHRQ         $4, CX
	JZ           bdone

bloop:
	VMOVUPS (DI), Z0
	VSUBPS  Z1, Z0, Z0
	VMULPS  (SI), Z0, Z0
	VMULPS  Z2, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     bloop

bdone:
	VZEROUPPER
	RET

// func swigluBackAVX512(dg, du, da, g, u *float32, n int)
// s = 1/(1 + e^(0−g)); du = (da·g)·s; dg = ((da·u)·s)·(1 + g·(1 − s)).
TEXT ·swigluBackAVX512(SB), NOSPLIT, $0-48
	MOVQ dg+0(FP), DI
	MOVQ du+8(FP), R8
	MOVQ da+16(FP), R9
	MOVQ gate+24(FP), SI
	MOVQ up+32(FP), DX
	MOVQ n+40(FP), CX
	EXPCONSTS
	SHRQ $4, CX
	JZ   sbdone

sbloop:
	VMOVUPS (SI), Z10
	VSUBPS  Z10, Z16, Z0 // 0 − g
	EXPV(sbok)
	VADDPS  Z29, Z6, Z6   // 1 + e^−g
	VDIVPS  Z6, Z29, Z12  // s
	VMOVUPS (R9), Z13     // da
	VMULPS  Z10, Z13, Z14 // da·g
	VMULPS  Z12, Z14, Z14
	VMOVUPS Z14, (R8)     // du
	VMULPS  (DX), Z13, Z13 // da·u
	VMULPS  Z12, Z13, Z13
	VSUBPS  Z12, Z29, Z15  // 1 − s
	VMULPS  Z10, Z15, Z15  // g·(1 − s)
	VADDPS  Z29, Z15, Z15
	VMULPS  Z15, Z13, Z13
	VMOVUPS Z13, (DI)      // dg
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, R9
	ADDQ    $64, R8
	ADDQ    $64, DI
	DECQ    CX
	JNZ     sbloop

sbdone:
	VZEROUPPER
	RET
