#include "textflag.h"
#include "exp_amd64.h"

// AVX-512 attention products; see attn.go for the orders they follow.

// func attnScoresAVX512(q, k *float32, stride, n, hd int, vec bool, out *float32)
TEXT ·attnScoresAVX512(SB), NOSPLIT, $0-56
	MOVQ    q+0(FP), SI
	MOVQ    k+8(FP), DI
	MOVQ    stride+16(FP), R8
	MOVQ    n+24(FP), CX
	MOVQ    hd+32(FP), R9
	MOVBQZX vec+40(FP), R11
	MOVQ    out+48(FP), R10
	SHLQ    $2, R9 // hd in bytes
	TESTQ   CX, CX
	JZ      sdone
	TESTQ   R11, R11
	JNZ     svec

slanes:
	VXORPS Z0, Z0, Z0
	XORQ   AX, AX

slanesin:
	VMOVUPS     (DI)(AX*1), Z1
	VFMADD231PS (SI)(AX*1), Z1, Z0
	ADDQ        $64, AX
	CMPQ        AX, R9
	JLT         slanesin
	REDUCE16(Z0, Y0, X0, Y1, X1)
	VMOVSS X0, (R10)
	ADDQ   $4, R10
	ADDQ   R8, DI
	DECQ   CX
	JNZ    slanes
	JMP    sdone

svec:
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	XORQ   AX, AX

svecin:
	VMOVUPS     0(DI)(AX*1), Z4
	VMOVUPS     64(DI)(AX*1), Z5
	VMOVUPS     128(DI)(AX*1), Z6
	VMOVUPS     192(DI)(AX*1), Z7
	VFMADD231PS 0(SI)(AX*1), Z4, Z0
	VFMADD231PS 64(SI)(AX*1), Z5, Z1
	VFMADD231PS 128(SI)(AX*1), Z6, Z2
	VFMADD231PS 192(SI)(AX*1), Z7, Z3
	ADDQ        $256, AX
	CMPQ        AX, R9
	JLT         svecin
	VADDPS Z2, Z0, Z0
	VADDPS Z3, Z1, Z1
	VADDPS Z1, Z0, Z0
	REDUCE16(Z0, Y0, X0, Y1, X1)
	VMOVSS X0, (R10)
	ADDQ   $4, R10
	ADDQ   R8, DI
	DECQ   CX
	JNZ    svec

sdone:
	VZEROUPPER
	RET

// func attnValuesAVX512(w, v *float32, stride, n, hd, R int, acc, out *float32)
// For each block of 64 output columns: lane r (r < R) accumulates
// w[j]·v[j] over j ≡ r (mod R) into Z0..Z3 and is stored at acc + r·256;
// the lanes are then combined (R = 64: folded to 16 first) and reduced.
TEXT ·attnValuesAVX512(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ v+8(FP), DI
	MOVQ stride+16(FP), R8
	MOVQ n+24(FP), CX
	MOVQ hd+32(FP), R9
	MOVQ R+40(FP), R11
	MOVQ acc+48(FP), R12
	MOVQ out+56(FP), R10
	MOVQ R8, R13
	IMULQ R11, R13 // R·stride: from j to j+R
	SHRQ $6, R9    // column blocks of 64

vblock:
	XORQ BX, BX // lane r

vlane:
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	MOVQ   BX, DX       // j
	MOVQ   R8, AX
	IMULQ  BX, AX
	ADDQ   DI, AX       // &v[j·stride]
	CMPQ   DX, CX
	JGE    vstore

vj:
	VBROADCASTSS (SI)(DX*4), Z4
	VFMADD231PS  0(AX), Z4, Z0
	VFMADD231PS  64(AX), Z4, Z1
	VFMADD231PS  128(AX), Z4, Z2
	VFMADD231PS  192(AX), Z4, Z3
	ADDQ         R11, DX
	ADDQ         R13, AX
	CMPQ         DX, CX
	JLT          vj

vstore:
	MOVQ    BX, AX
	SHLQ    $8, AX
	ADDQ    R12, AX
	VMOVUPS Z0, 0(AX)
	VMOVUPS Z1, 64(AX)
	VMOVUPS Z2, 128(AX)
	VMOVUPS Z3, 192(AX)
	INCQ    BX
	CMPQ    BX, R11
	JLT     vlane

	// combine, 16 columns at a time: Z8..Z23 = the 16 lanes
	XORQ AX, AX

vcomb:
	LEAQ (R12)(AX*1), DX
	CMPQ R11, $16
	JEQ  vload16
	// R = 64: lane i = (i + 32+i) + (16+i + 48+i)
	XORQ BX, BX

vfold:
	VMOVUPS 0(DX), Z4
	VADDPS  8192(DX), Z4, Z4
	VMOVUPS 4096(DX), Z5
	VADDPS  12288(DX), Z5, Z5
	VADDPS  Z5, Z4, Z4
	VMOVUPS Z4, 0(DX) // fold in place into lane i
	ADDQ    $256, DX
	ADDQ    $256, BX
	CMPQ    BX, $4096
	JLT     vfold
	LEAQ (R12)(AX*1), DX

vload16:
	VMOVUPS 0(DX), Z8
	VMOVUPS 256(DX), Z9
	VMOVUPS 512(DX), Z10
	VMOVUPS 768(DX), Z11
	VMOVUPS 1024(DX), Z12
	VMOVUPS 1280(DX), Z13
	VMOVUPS 1536(DX), Z14
	VMOVUPS 1792(DX), Z15
	VADDPS  2048(DX), Z8, Z8
	VADDPS  2304(DX), Z9, Z9
	VADDPS  2560(DX), Z10, Z10
	VADDPS  2816(DX), Z11, Z11
	VADDPS  3072(DX), Z12, Z12
	VADDPS  3328(DX), Z13, Z13
	VADDPS  3584(DX), Z14, Z14
	VADDPS  3840(DX), Z15, Z15
	VADDPS  Z12, Z8, Z8
	VADDPS  Z13, Z9, Z9
	VADDPS  Z14, Z10, Z10
	VADDPS  Z15, Z11, Z11
	VADDPS  Z10, Z8, Z8
	VADDPS  Z11, Z9, Z9
	VADDPS  Z9, Z8, Z8
	VMOVUPS Z8, (R10)(AX*1)
	ADDQ    $64, AX
	CMPQ    AX, $256
	JLT     vcomb

	ADDQ $256, R10 // next 64 columns
	ADDQ $256, DI
	DECQ R9
	JNZ  vblock
	VZEROUPPER
	RET

// func expSumAVX512(w *float32, n int, mx float32) float64
// ggml_v_expf on each chunk of 16 of w − mx, stored back; returns the sum of
// the chunks' reduce16 in float64.
TEXT ·expSumAVX512(SB), NOSPLIT, $0-32
	MOVQ w+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS mx+16(FP), Z19
	EXPCONSTS
	VXORPS X17, X17, X17 // float64 sum
	SHRQ $4, CX
	JZ   edone

eloop:
	VMOVUPS (SI), Z0
	VSUBPS  Z19, Z0, Z0
	EXPV(eok)
	VMOVUPS Z6, (SI)
	REDUCE16(Z6, Y6, X6, Y7, X7)
	VCVTSS2SD X6, X6, X6
	VADDSD    X6, X17, X17
	ADDQ      $64, SI
	DECQ      CX
	JNZ       eloop

edone:
	VMOVSD X17, ret+24(FP)
	VZEROUPPER
	RET

// func swigluAVX512(dst, gate, up *float32, n int)
// a = g / (1 + e^(0−g)) · u (ggml_v_silu times u) for n a multiple of 16.
TEXT ·swigluAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ n+24(FP), CX
	EXPCONSTS
	SHRQ $4, CX
	JZ   gdone

gloop:
	VMOVUPS (SI), Z10
	VSUBPS  Z10, Z16, Z0 // 0 − g
	EXPV(gok)
	VADDPS  Z29, Z6, Z6  // 1 + e^−g
	VDIVPS  Z6, Z10, Z10 // g / (1 + e^−g)
	VMULPS  (DX), Z10, Z10
	VMOVUPS Z10, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	DECQ    CX
	JNZ     gloop

gdone:
	VZEROUPPER
	RET

// func roundF16AVX512(x *float32, n int)
// x = float32(f16(x)), round to nearest even, for n a multiple of 16.
TEXT ·roundF16AVX512(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	SHRQ $4, CX
	JZ   rdone

rloop:
	VMOVUPS   (SI), Z0
	VCVTPS2PH $0, Z0, Y1
	VCVTPH2PS Y1, Z0
	VMOVUPS   Z0, (SI)
	ADDQ      $64, SI
	DECQ      CX
	JNZ       rloop

rdone:
	VZEROUPPER
	RET
