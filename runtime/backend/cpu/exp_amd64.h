// Macros shared by attn_amd64.s and rows_amd64.s.

// X = reduce16(Z) in the order of GCC's _mm512_reduce_add_ps (Y, X: the
// same register; T*: temporaries).
#define REDUCE16(Z, Y, X, TY, TX) \
	VEXTRACTF64X4 $1, Z, TY; \
	VADDPS        TY, Y, Y; \
	VEXTRACTF128  $1, Y, TX; \
	VADDPS        TX, X, X; \
	VPERMILPS     $0x4e, X, TX; \
	VADDPS        TX, X, X; \
	VMOVSHDUP     X, TX; \
	VADDSS        TX, X, X

// Constants of ggml_v_expf in Z16, Z18, Z20..Z31.
#define EXPCONSTS \
	MOVL $0x4b400000, AX; \
	VPBROADCASTD AX, Z20; \
	MOVL $0x3fb8aa3b, AX; \
	VPBROADCASTD AX, Z21; \
	MOVL $0x3f317200, AX; \
	VPBROADCASTD AX, Z22; \
	MOVL $0x35bfbe8e, AX; \
	VPBROADCASTD AX, Z23; \
	MOVL $0x3c072010, AX; \
	VPBROADCASTD AX, Z24; \
	MOVL $0x3d2b9f17, AX; \
	VPBROADCASTD AX, Z25; \
	MOVL $0x3e2aaf33, AX; \
	VPBROADCASTD AX, Z26; \
	MOVL $0x3efffedb, AX; \
	VPBROADCASTD AX, Z27; \
	MOVL $0x3f7ffff6, AX; \
	VPBROADCASTD AX, Z28; \
	MOVL $0x3f800000, AX; \
	VPBROADCASTD AX, Z29; \
	MOVL $0x43400000, AX; \
	VPBROADCASTD AX, Z30; \
	MOVL $0x7fffffff, AX; \
	VPBROADCASTD AX, Z31; \
	MOVL $0x7f800000, AX; \
	VPBROADCASTD AX, Z18; \
	VXORPS Z16, Z16, Z16

// Z6 = ggml_v_expf(Z0), the steps of fmath.ExpV (constants from EXPCONSTS:
// 0x1.8p23, log2 e, ln2 high and low, c5..c1, 1, 192, |·| mask, +Inf, 0);
// clobbers Z1..Z9, K1, K2. L names a local label.
#define EXPV(L) \
	VMOVAPS      Z20, Z1; \
	VFMADD231PS  Z21, Z0, Z1; \
	VSUBPS       Z20, Z1, Z2; \
	VMOVAPS      Z0, Z3; \
	VFNMADD231PS Z22, Z2, Z3; \
	VFNMADD231PS Z23, Z2, Z3; \
	VANDPS       Z31, Z2, Z4; \
	VCMPPS       $0x1e, Z30, Z4, K1; \
	VMULPS       Z3, Z3, Z5; \
	VMOVAPS      Z24, Z6; \
	VFMADD213PS  Z25, Z3, Z6; \
	VMOVAPS      Z26, Z7; \
	VFMADD213PS  Z27, Z3, Z7; \
	VFMADD213PS  Z7, Z5, Z6; \
	VMOVAPS      Z28, Z8; \
	VFMADD213PS  Z29, Z3, Z8; \
	VFMADD213PS  Z8, Z5, Z6; \
	VSCALEFPS    Z2, Z6, Z6; \
	KORTESTW     K1, K1; \
	JZ           L; \
	VCMPPS       $0x12, Z16, Z2, K2; \
	VMOVAPS      Z18, Z9; \
	VMOVAPS      Z16, K2, Z9; \
	VMOVAPS      Z9, K1, Z6; \
L:

