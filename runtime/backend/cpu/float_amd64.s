#include "textflag.h"

// func dotAsm(a, b *float32, n int) float32
// AVX2+FMA: four 8-lane accumulators, then a scalar FMA tail.
TEXT ·dotAsm(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dot32:
	CMPQ CX, $32
	JL   dot8
	VMOVUPS     0(SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS 0(DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         dot32

dot8:
	CMPQ CX, $8
	JL   dotred
	VMOVUPS     0(SI), Y4
	VFMADD231PS 0(DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         dot8

dotred:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VPERMILPS    $0x4e, X0, X1
	VADDPS       X1, X0, X0
	VPERMILPS    $0xb1, X0, X1
	VADDSS       X1, X0, X0

dot1:
	TESTQ CX, CX
	JZ    dotdone
	VMOVSS      0(SI), X4
	VFMADD231SS 0(DI), X4, X0
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         dot1

dotdone:
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpyAsm(alpha float32, x, y *float32, n int)
TEXT ·axpyAsm(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Y15
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), CX

axpy32:
	CMPQ CX, $32
	JL   axpy8
	VMOVUPS     0(DI), Y0
	VMOVUPS     32(DI), Y1
	VMOVUPS     64(DI), Y2
	VMOVUPS     96(DI), Y3
	VFMADD231PS 0(SI), Y15, Y0
	VFMADD231PS 32(SI), Y15, Y1
	VFMADD231PS 64(SI), Y15, Y2
	VFMADD231PS 96(SI), Y15, Y3
	VMOVUPS     Y0, 0(DI)
	VMOVUPS     Y1, 32(DI)
	VMOVUPS     Y2, 64(DI)
	VMOVUPS     Y3, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         axpy32

axpy8:
	CMPQ CX, $8
	JL   axpy1
	VMOVUPS     0(DI), Y0
	VFMADD231PS 0(SI), Y15, Y0
	VMOVUPS     Y0, 0(DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         axpy8

axpy1:
	TESTQ CX, CX
	JZ    axpydone
	VMOVSS      0(DI), X0
	VFMADD231SS 0(SI), X15, X0
	VMOVSS      X0, 0(DI)
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         axpy1

axpydone:
	VZEROUPPER
	RET

// func f16ToF32Asm(dst *float32, src *uint16, n int)
TEXT ·f16ToF32Asm(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   f16done

f16loop:
	VCVTPH2PS (SI), Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       f16loop

f16done:
	VZEROUPPER
	RET

// func quantQ8Asm(x *float32, qs *int8, meta *uint32, nb int, mstride int)
// Per 32-block, as quantQ8Go: amax, d = amax/127, id = 127/amax (0 when
// amax = 0), q = cvtps2dq(x·id) (nearest even), saturated to int8; stores
// the f16-rounded d and s = d·Σq at meta, then advances meta by mstride bytes.
TEXT ·quantQ8Asm(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ qs+8(FP), DI
	MOVQ meta+16(FP), R9
	MOVQ nb+24(FP), CX
	MOVQ mstride+32(FP), R8
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z31
	MOVL $0x42fe0000, AX // 127.0
	VMOVD AX, X30
	VXORPS X29, X29, X29
	TESTQ CX, CX
	JZ    qdone

qloop:
	VMOVUPS 0(SI), Z0
	VMOVUPS 64(SI), Z1
	VANDPS  Z31, Z0, Z2
	VANDPS  Z31, Z1, Z3
	VMAXPS  Z3, Z2, Z2
	VEXTRACTF64X4 $1, Z2, Y3
	VMAXPS  Y3, Y2, Y2
	VEXTRACTF128 $1, Y2, X3
	VMAXPS  X3, X2, X2
	VPERMILPS $0x4e, X2, X3
	VMAXPS  X3, X2, X2
	VPERMILPS $0xb1, X2, X3
	VMAXSS  X3, X2, X2        // X2 = amax
	VDIVSS  X30, X2, X4       // X4 = d = amax/127
	VXORPS  X5, X5, X5
	VUCOMISS X29, X2
	JEQ     qzero
	VDIVSS  X2, X30, X5       // X5 = id = 127/amax

qzero:
	VBROADCASTSS X5, Z5
	VMULPS  Z5, Z0, Z0
	VMULPS  Z5, Z1, Z1
	VCVTPS2DQ Z0, Z0
	VCVTPS2DQ Z1, Z1
	VPMOVSDB Z0, 0(DI)
	VPMOVSDB Z1, 16(DI)
	VPADDD  Z1, Z0, Z6
	VEXTRACTI64X4 $1, Z6, Y7
	VPADDD  Y7, Y6, Y6
	VEXTRACTI128 $1, Y6, X7
	VPADDD  X7, X6, X6
	VPSHUFD $0x4e, X6, X7
	VPADDD  X7, X6, X6
	VPSHUFD $0xb1, X6, X7
	VPADDD  X7, X6, X6
	VMOVD   X6, AX            // AX = Σq
	VCVTPS2PH $0, X4, X9
	VCVTPH2PS X9, X9
	VMOVSS  X9, 0(R9)         // f16-rounded d
	VCVTSI2SSL AX, X10, X10
	VMULSS  X10, X4, X10      // d · Σq
	VCVTPS2PH $0, X10, X10
	VCVTPH2PS X10, X10
	VMOVSS  X10, 4(R9)
	ADDQ $128, SI
	ADDQ $32, DI
	ADDQ R8, R9
	DECQ CX
	JNZ  qloop

qdone:
	VZEROUPPER
	RET

// func f32ToF16Asm(dst *uint16, src *float32, n int)
// Round to nearest even (VCVTPS2PH imm 0), n a multiple of 8.
TEXT ·f32ToF16Asm(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   h16done

h16loop:
	VMOVUPS   (SI), Y0
	VCVTPS2PH $0, Y0, X1
	VMOVDQU   X1, (DI)
	ADDQ      $32, SI
	ADDQ      $16, DI
	DECQ      CX
	JNZ       h16loop

h16done:
	VZEROUPPER
	RET
