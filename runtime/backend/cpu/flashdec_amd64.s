#include "textflag.h"

// AVX-512 kernels of the blocked attention's decoding path (flashdec.go):
// scores and the weighted sum of values read straight from the binary16
// cache, for the few query rows of one KV head. scoresF16Go and pvF16Go are
// their twins, bit for bit.

// func scoresF16AVX512(q *float32, rows, hd int, k *uint16, kstrideB, nk4 int, s *float32, sstrideB int)
//
// s[r·sstride + j] = q_r · k_j for r < rows, j < nk4 (a multiple of 4),
// hd a multiple of 16: per key 16 lanes, lane i summing q[16c+i]·k[16c+i]
// over the chunks c by fused multiply-adds from 0, then the lanes folded as
// y_i = acc_i + acc_{i+8} and ((y0+y1)+(y2+y3)) + ((y4+y5)+(y6+y7)).
// Four keys at a time (Z0–Z3), folded together.
TEXT ·scoresF16AVX512(SB), NOSPLIT, $0-64
	MOVQ q+0(FP), SI
	MOVQ rows+8(FP), R8
	MOVQ hd+16(FP), R9
	SHRQ $4, R9
	MOVQ k+24(FP), DI
	MOVQ kstrideB+32(FP), R10
	LEAQ (R10)(R10*2), R12
	MOVQ s+48(FP), DX
	TESTQ R8, R8
	JLE  sdone
	TESTQ R9, R9
	JLE  sdone

srow:
	MOVQ DI, BX
	MOVQ DX, R13
	MOVQ nk4+40(FP), CX
	TESTQ CX, CX
	JLE  snext

skeys:
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	MOVQ SI, AX
	MOVQ BX, R14
	MOVQ R9, R11

schunk:
	VMOVUPS     (AX), Z4
	VCVTPH2PS   (R14), Z5
	VFMADD231PS Z4, Z5, Z0
	VCVTPH2PS   (R14)(R10*1), Z6
	VFMADD231PS Z4, Z6, Z1
	VCVTPH2PS   (R14)(R10*2), Z7
	VFMADD231PS Z4, Z7, Z2
	VCVTPH2PS   (R14)(R12*1), Z8
	VFMADD231PS Z4, Z8, Z3
	ADDQ $64, AX
	ADDQ $32, R14
	DECQ R11
	JNZ  schunk

	VEXTRACTF64X4 $1, Z0, Y4
	VADDPS        Y4, Y0, Y0
	VEXTRACTF64X4 $1, Z1, Y5
	VADDPS        Y5, Y1, Y1
	VEXTRACTF64X4 $1, Z2, Y6
	VADDPS        Y6, Y2, Y2
	VEXTRACTF64X4 $1, Z3, Y7
	VADDPS        Y7, Y3, Y3
	VHADDPS       Y1, Y0, Y0
	VHADDPS       Y3, Y2, Y2
	VHADDPS       Y2, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VMOVUPS       X0, (R13)
	ADDQ $16, R13
	LEAQ (BX)(R10*4), BX
	SUBQ $4, CX
	JNZ  skeys

snext:
	MOVQ R9, AX
	SHLQ $6, AX
	ADDQ AX, SI
	ADDQ sstrideB+56(FP), DX
	DECQ R8
	JNZ  srow

sdone:
	VZEROUPPER
	RET

// func pvF16AVX512(p *float32, pstrideB, rows int, v *uint16, vstrideB, nk, hd int, o *float32)
//
// o[r·hd + d] += Σ_j p[r·pstride + j]·v_j[d] for r < rows, j < nk, hd a
// multiple of 64: per (r, d) one fused multiply-add per key in key order,
// from o's value. Four 16-lane chunks at a time (Z0–Z3, four independent
// chains).
TEXT ·pvF16AVX512(SB), NOSPLIT, $0-64
	MOVQ p+0(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ v+24(FP), DI
	MOVQ vstrideB+32(FP), R10
	MOVQ hd+48(FP), R9
	SHRQ $6, R9
	MOVQ o+56(FP), DX
	MOVQ nk+40(FP), CX
	TESTQ CX, CX
	JLE  pdone
	TESTQ R8, R8
	JLE  pdone
	TESTQ R9, R9
	JLE  pdone

prow:
	MOVQ R9, R11
	MOVQ DI, BX

pquad:
	VMOVUPS (DX), Z0
	VMOVUPS 64(DX), Z1
	VMOVUPS 128(DX), Z2
	VMOVUPS 192(DX), Z3
	MOVQ SI, AX
	MOVQ BX, R14
	MOVQ nk+40(FP), CX

pkey:
	VCVTPH2PS        (R14), Z4
	VCVTPH2PS        32(R14), Z5
	VCVTPH2PS        64(R14), Z6
	VCVTPH2PS        96(R14), Z7
	VFMADD231PS.BCST (AX), Z4, Z0
	VFMADD231PS.BCST (AX), Z5, Z1
	VFMADD231PS.BCST (AX), Z6, Z2
	VFMADD231PS.BCST (AX), Z7, Z3
	ADDQ $4, AX
	ADDQ R10, R14
	DECQ CX
	JNZ  pkey

	VMOVUPS Z0, (DX)
	VMOVUPS Z1, 64(DX)
	VMOVUPS Z2, 128(DX)
	VMOVUPS Z3, 192(DX)
	ADDQ $256, DX
	ADDQ $128, BX
	DECQ R11
	JNZ  pquad

	ADDQ pstrideB+8(FP), SI
	DECQ R8
	JNZ  prow

pdone:
	VZEROUPPER
	RET
