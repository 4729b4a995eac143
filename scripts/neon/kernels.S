// NEON kernels of runtime/backend/cpu for arm64, in GNU assembler syntax.
// scripts/neon_asm.sh assembles this file with binutils' aarch64 assembler
// and writes runtime/backend/cpu/neon_arm64.s: for each function below a Go
// TEXT block that loads the arguments of its "// go:" line into x0, x1, …
// in order, then the function's instructions as WORDs (the Go assembler
// lacks most of these NEON instructions), then RET. Bodies use x0–x17 and
// v0–v31 only, branch only within themselves, and end by falling through to
// the next "// go:" line or the end of the file (no ret). Each kernel
// computes exactly what its plain Go twin computes (neon_arm64_test.go).
	.arch armv8.2-a+dotprod
	.text

// ---------------------------------------------------------------------
// One activation row against half a Q8_0 tile (rows 8h..8h+7 of 16; the
// layout is Weight's in weight.go, quants not offset), as tileQ80Go: per
// row and lane group g (columns 4g..4g+3 of each block) the exact int32 sum
// (SDOT), then acc_g = fma(dw·dx, float(isum_g), acc_g) block by block, and
// out = ((acc_0+acc_4) + (acc_2+acc_6)) + ((acc_1+acc_5) + (acc_3+acc_7)).
// v16+g: rows 8h..8h+3 of group g; v24+g: rows 8h+4..8h+7.
// go: func q80HalfNEON(tile *byte, nb int, x *int8, meta *uint32, h int, out *float32)
q80HalfNEON:
	add	x7, x0, x1, lsl #9	// the d region: tile + nb·512
	add	x7, x7, x4, lsl #4	// + 2 bytes × 8h
	add	x6, x0, x4, lsl #5	// quants of rows 8h..: + 32h
	.irp r, 16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	movi	v\r\().16b, #0
	.endr
	cbz	x1, 9f
1:
	ldp	q0, q1, [x2], #32	// the block's 32 activations
	ldr	s8, [x3], #8		// dx (meta: 2 words per block)
	ldr	d2, [x7]		// dw of rows 8h..8h+3
	ldr	d3, [x7, #8]		// rows 8h+4..8h+7
	add	x7, x7, #32
	fcvtl	v2.4s, v2.4h
	fcvtl	v3.4s, v3.4h
	fmul	v2.4s, v2.4s, v8.s[0]
	fmul	v3.4s, v3.4s, v8.s[0]
	.macro	Q80GROUP off, xv, lane, a0, a1
	ldp	q4, q5, [x6, #\off]
	movi	v6.16b, #0
	movi	v7.16b, #0
	sdot	v6.4s, v4.16b, \xv\().4b[\lane]
	sdot	v7.4s, v5.16b, \xv\().4b[\lane]
	scvtf	v6.4s, v6.4s
	scvtf	v7.4s, v7.4s
	fmla	\a0\().4s, v6.4s, v2.4s
	fmla	\a1\().4s, v7.4s, v3.4s
	.endm
	Q80GROUP 0, v0, 0, v16, v24
	Q80GROUP 64, v0, 1, v17, v25
	Q80GROUP 128, v0, 2, v18, v26
	Q80GROUP 192, v0, 3, v19, v27
	Q80GROUP 256, v1, 0, v20, v28
	Q80GROUP 320, v1, 1, v21, v29
	Q80GROUP 384, v1, 2, v22, v30
	Q80GROUP 448, v1, 3, v23, v31
	add	x6, x6, #512
	subs	x1, x1, #1
	b.ne	1b
9:
	fadd	v0.4s, v16.4s, v20.4s
	fadd	v1.4s, v17.4s, v21.4s
	fadd	v2.4s, v18.4s, v22.4s
	fadd	v3.4s, v19.4s, v23.4s
	fadd	v0.4s, v0.4s, v2.4s
	fadd	v1.4s, v1.4s, v3.4s
	fadd	v0.4s, v0.4s, v1.4s
	fadd	v4.4s, v24.4s, v28.4s
	fadd	v5.4s, v25.4s, v29.4s
	fadd	v6.4s, v26.4s, v30.4s
	fadd	v7.4s, v27.4s, v31.4s
	fadd	v4.4s, v4.4s, v6.4s
	fadd	v5.4s, v5.4s, v7.4s
	fadd	v4.4s, v4.4s, v5.4s
	stp	q0, q4, [x5]

// ---------------------------------------------------------------------
// One activation row against half a Q4_1 tile, as tileQ41Go: 4-bit group g
// (g < 4) of a block holds columns 4g..4g+3 in its low nibbles (lane g,
// activations x[4g..]) and 16+4g..16+4g+3 in its high nibbles (lane 4+g,
// x[16+4g..]); acc_lane = fma(dw·dx, float(isum), acc_lane) block by block,
// accM += mw·sx, out = hsum8(acc) + accM. v16+l: rows 8h..8h+3 of lane l,
// v24+l: rows 8h+4..8h+7; v11, v12: accM of the two row quads.
// go: func q41HalfNEON(tile *byte, nb int, x *int8, meta *uint32, h int, out *float32)
q41HalfNEON:
	add	x7, x0, x1, lsl #8	// the d region: tile + nb·256
	add	x8, x7, x1, lsl #5	// the m region: + nb·32
	add	x7, x7, x4, lsl #4	// + 2 bytes × 8h
	add	x8, x8, x4, lsl #4
	add	x6, x0, x4, lsl #5	// quants of rows 8h..: + 32h
	.irp r, 11,12,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	movi	v\r\().16b, #0
	.endr
	cbz	x1, 9f
1:
	ldp	q0, q1, [x2], #32	// the block's 32 activations
	ldr	d8, [x3], #8		// dx, sx (meta: 2 words per block)
	ldr	d2, [x7]		// dw of rows 8h..8h+3
	ldr	d3, [x7, #8]		// rows 8h+4..8h+7
	add	x7, x7, #32
	ldr	d13, [x8]		// mw
	ldr	d14, [x8, #8]
	add	x8, x8, #32
	fcvtl	v2.4s, v2.4h
	fcvtl	v3.4s, v3.4h
	fcvtl	v13.4s, v13.4h
	fcvtl	v14.4s, v14.4h
	fmul	v2.4s, v2.4s, v8.s[0]
	fmul	v3.4s, v3.4s, v8.s[0]
	fmla	v11.4s, v13.4s, v8.s[1]
	fmla	v12.4s, v14.4s, v8.s[1]
	.macro	Q41GROUP off, lane, lo0, lo1, hi0, hi1
	ldp	q4, q5, [x6, #\off]
	shl	v9.16b, v4.16b, #4
	shl	v10.16b, v5.16b, #4
	ushr	v9.16b, v9.16b, #4
	ushr	v10.16b, v10.16b, #4
	ushr	v4.16b, v4.16b, #4
	ushr	v5.16b, v5.16b, #4
	movi	v6.16b, #0
	movi	v7.16b, #0
	sdot	v6.4s, v9.16b, v0.4b[\lane]
	sdot	v7.4s, v10.16b, v0.4b[\lane]
	scvtf	v6.4s, v6.4s
	scvtf	v7.4s, v7.4s
	fmla	\lo0\().4s, v6.4s, v2.4s
	fmla	\lo1\().4s, v7.4s, v3.4s
	movi	v6.16b, #0
	movi	v7.16b, #0
	sdot	v6.4s, v4.16b, v1.4b[\lane]
	sdot	v7.4s, v5.16b, v1.4b[\lane]
	scvtf	v6.4s, v6.4s
	scvtf	v7.4s, v7.4s
	fmla	\hi0\().4s, v6.4s, v2.4s
	fmla	\hi1\().4s, v7.4s, v3.4s
	.endm
	Q41GROUP 0, 0, v16, v24, v20, v28
	Q41GROUP 64, 1, v17, v25, v21, v29
	Q41GROUP 128, 2, v18, v26, v22, v30
	Q41GROUP 192, 3, v19, v27, v23, v31
	add	x6, x6, #256
	subs	x1, x1, #1
	b.ne	1b
9:
	fadd	v0.4s, v16.4s, v20.4s
	fadd	v1.4s, v17.4s, v21.4s
	fadd	v2.4s, v18.4s, v22.4s
	fadd	v3.4s, v19.4s, v23.4s
	fadd	v0.4s, v0.4s, v2.4s
	fadd	v1.4s, v1.4s, v3.4s
	fadd	v0.4s, v0.4s, v1.4s
	fadd	v0.4s, v0.4s, v11.4s
	fadd	v4.4s, v24.4s, v28.4s
	fadd	v5.4s, v25.4s, v29.4s
	fadd	v6.4s, v26.4s, v30.4s
	fadd	v7.4s, v27.4s, v31.4s
	fadd	v4.4s, v4.4s, v6.4s
	fadd	v5.4s, v5.4s, v7.4s
	fadd	v4.4s, v4.4s, v5.4s
	fadd	v4.4s, v4.4s, v12.4s
	stp	q0, q4, [x5]

// ---------------------------------------------------------------------
// The f32 GEMM's 12×32 micro-kernel (sgemm.go), as sgemmKernelGo on arm64
// (where Go fuses its multiply-adds): C[i, j] (+)= Σ_p a[p·12+i]·b[p·32+j],
// one fused multiply-add per p in order from 0, then added to C or stored.
// Four passes of 8 columns, each with 12 × 8 accumulators in v8–v31
// (row i: v8+2i, v9+2i), A's 12 values of a step in v0–v2, B's 8 in v3, v4.
// go: func sgemmKernNEON(kc int, a *float32, b *float32, c *float32, ldc int, add int)
sgemmKernNEON:
	lsl	x4, x4, #2		// ldc in bytes
	mov	x9, #0			// pass: columns 8·x9..
1:
	movi	v8.16b, #0
	movi	v9.16b, #0
	movi	v10.16b, #0
	movi	v11.16b, #0
	movi	v12.16b, #0
	movi	v13.16b, #0
	movi	v14.16b, #0
	movi	v15.16b, #0
	movi	v16.16b, #0
	movi	v17.16b, #0
	movi	v18.16b, #0
	movi	v19.16b, #0
	movi	v20.16b, #0
	movi	v21.16b, #0
	movi	v22.16b, #0
	movi	v23.16b, #0
	movi	v24.16b, #0
	movi	v25.16b, #0
	movi	v26.16b, #0
	movi	v27.16b, #0
	movi	v28.16b, #0
	movi	v29.16b, #0
	movi	v30.16b, #0
	movi	v31.16b, #0
	mov	x6, x1
	add	x7, x2, x9, lsl #5
	mov	x10, x0
	cbz	x10, 3f
2:
	ld1	{v0.4s, v1.4s, v2.4s}, [x6], #48
	ldp	q3, q4, [x7]
	add	x7, x7, #128
	fmla	v8.4s, v3.4s, v0.s[0]
	fmla	v9.4s, v4.4s, v0.s[0]
	fmla	v10.4s, v3.4s, v0.s[1]
	fmla	v11.4s, v4.4s, v0.s[1]
	fmla	v12.4s, v3.4s, v0.s[2]
	fmla	v13.4s, v4.4s, v0.s[2]
	fmla	v14.4s, v3.4s, v0.s[3]
	fmla	v15.4s, v4.4s, v0.s[3]
	fmla	v16.4s, v3.4s, v1.s[0]
	fmla	v17.4s, v4.4s, v1.s[0]
	fmla	v18.4s, v3.4s, v1.s[1]
	fmla	v19.4s, v4.4s, v1.s[1]
	fmla	v20.4s, v3.4s, v1.s[2]
	fmla	v21.4s, v4.4s, v1.s[2]
	fmla	v22.4s, v3.4s, v1.s[3]
	fmla	v23.4s, v4.4s, v1.s[3]
	fmla	v24.4s, v3.4s, v2.s[0]
	fmla	v25.4s, v4.4s, v2.s[0]
	fmla	v26.4s, v3.4s, v2.s[1]
	fmla	v27.4s, v4.4s, v2.s[1]
	fmla	v28.4s, v3.4s, v2.s[2]
	fmla	v29.4s, v4.4s, v2.s[2]
	fmla	v30.4s, v3.4s, v2.s[3]
	fmla	v31.4s, v4.4s, v2.s[3]
	subs	x10, x10, #1
	b.ne	2b
3:
	add	x11, x3, x9, lsl #5
	cbnz	x5, 4f
	stp	q8, q9, [x11]
	add	x11, x11, x4
	stp	q10, q11, [x11]
	add	x11, x11, x4
	stp	q12, q13, [x11]
	add	x11, x11, x4
	stp	q14, q15, [x11]
	add	x11, x11, x4
	stp	q16, q17, [x11]
	add	x11, x11, x4
	stp	q18, q19, [x11]
	add	x11, x11, x4
	stp	q20, q21, [x11]
	add	x11, x11, x4
	stp	q22, q23, [x11]
	add	x11, x11, x4
	stp	q24, q25, [x11]
	add	x11, x11, x4
	stp	q26, q27, [x11]
	add	x11, x11, x4
	stp	q28, q29, [x11]
	add	x11, x11, x4
	stp	q30, q31, [x11]
	add	x11, x11, x4
	b	5f
4:
	ldp	q5, q6, [x11]
	fadd	v5.4s, v5.4s, v8.4s
	fadd	v6.4s, v6.4s, v9.4s
	stp	q5, q6, [x11]
	add	x11, x11, x4
	ldp	q5, q6, [x11]
	fadd	v5.4s, v5.4s, v10.4s
	fadd	v6.4s, v6.4s, v11.4s
	stp	q5, q6, [x11]
	add	x11, x11, x4
	ldp	q5, q6, [x11]
	fadd	v5.4s, v5.4s, v12.4s
	fadd	v6.4s, v6.4s, v13.4s
	stp	q5, q6, [x11]
	add	x11, x11, x4
	ldp	q5, q6, [x11]
	fadd	v5.4s, v5.4s, v14.4s
	fadd	v6.4s, v6.4s, v15.4s
	stp	q5, q6, [x11]
	add	x11, x11, x4
	ldp	q5, q6, [x11]
	fadd	v5.4s, v5.4s, v16.4s
	fadd	v6.4s, v6.4s, v17.4s
	stp	q5, q6, [x11]
	add	x11, x11, x4
	ldp	q5, q6, [x11]
	fadd	v5.4s, v5.4s, v18.4s
	fadd	v6.4s, v6.4s, v19.4s
	stp	q5, q6, [x11]
	add	x11, x11, x4
	ldp	q5, q6, [x11]
	fadd	v5.4s, v5.4s, v20.4s
	fadd	v6.4s, v6.4s, v21.4s
	stp	q5, q6, [x11]
	add	x11, x11, x4
	ldp	q5, q6, [x11]
	fadd	v5.4s, v5.4s, v22.4s
	fadd	v6.4s, v6.4s, v23.4s
	stp	q5, q6, [x11]
	add	x11, x11, x4
	ldp	q5, q6, [x11]
	fadd	v5.4s, v5.4s, v24.4s
	fadd	v6.4s, v6.4s, v25.4s
	stp	q5, q6, [x11]
	add	x11, x11, x4
	ldp	q5, q6, [x11]
	fadd	v5.4s, v5.4s, v26.4s
	fadd	v6.4s, v6.4s, v27.4s
	stp	q5, q6, [x11]
	add	x11, x11, x4
	ldp	q5, q6, [x11]
	fadd	v5.4s, v5.4s, v28.4s
	fadd	v6.4s, v6.4s, v29.4s
	stp	q5, q6, [x11]
	add	x11, x11, x4
	ldp	q5, q6, [x11]
	fadd	v5.4s, v5.4s, v30.4s
	fadd	v6.4s, v6.4s, v31.4s
	stp	q5, q6, [x11]
	add	x11, x11, x4
5:
	add	x9, x9, #1
	cmp	x9, #4
	b.ne	1b

// ---------------------------------------------------------------------
// n binary16 values to float32 (n a positive multiple of 8), exactly.
// go: func f16ToF32NEON(dst *float32, src *uint16, n int)
f16ToF32NEON:
1:
	ldr	q0, [x1], #16
	fcvtl	v1.4s, v0.4h
	fcvtl2	v2.4s, v0.8h
	stp	q1, q2, [x0], #32
	subs	x2, x2, #8
	b.gt	1b

// ---------------------------------------------------------------------
// K-quant dot kernels (kquant.go): for each of nb super-blocks of one
// weight row, the exact int32 Σ sc(e)·u(e)·x(e) over 256 elements, as
// q4kDotGo, q5kDotGo, q6kDotGo. The unsigned quants (≤ 63) are valid int8,
// so SDOT multiplies them by the activations; the sub-block scales apply
// to each SDOT's four lanes (MLA by element), summed at the end (ADDV).

// Q4_K chunk c: quant bytes in \q0, \q1 (low nibbles: sub-block 2c with
// activations at x2+64c, scale \sl; high nibbles: 2c+1 at x2+64c+32, \sh).
	.macro	Q4KCHUNK q0, q1, xoff, sl, sh
	ldp	q8, q9, [x2, #\xoff]
	ldp	q10, q11, [x2, #(\xoff+32)]
	and	v12.16b, \q0\().16b, v31.16b
	and	v13.16b, \q1\().16b, v31.16b
	ushr	v14.16b, \q0\().16b, #4
	ushr	v15.16b, \q1\().16b, #4
	movi	v16.16b, #0
	movi	v17.16b, #0
	sdot	v16.4s, v12.16b, v8.16b
	sdot	v16.4s, v13.16b, v9.16b
	sdot	v17.4s, v14.16b, v10.16b
	sdot	v17.4s, v15.16b, v11.16b
	mla	v20.4s, v16.4s, \sl
	mla	v20.4s, v17.4s, \sh
	.endm

// go: func q4kDotNEON(row *byte, scm *uint8, x *int8, nb int, out *int32)
q4kDotNEON:
	movi	v31.16b, #0x0f
	cbz	x3, 9f
1:
	ldr	d21, [x1]		// the 8 scales (scm: 8 scales, 8 mins)
	uxtl	v21.8h, v21.8b
	uxtl	v22.4s, v21.4h		// sc0..sc3
	uxtl2	v23.4s, v21.8h		// sc4..sc7
	ldp	q0, q1, [x0, #16]
	ldp	q2, q3, [x0, #48]
	ldp	q4, q5, [x0, #80]
	ldp	q6, q7, [x0, #112]
	movi	v20.16b, #0
	Q4KCHUNK v0, v1, 0, v22.s[0], v22.s[1]
	Q4KCHUNK v2, v3, 64, v22.s[2], v22.s[3]
	Q4KCHUNK v4, v5, 128, v23.s[0], v23.s[1]
	Q4KCHUNK v6, v7, 192, v23.s[2], v23.s[3]
	addv	s20, v20.4s
	str	s20, [x4], #4
	add	x0, x0, #144
	add	x1, x1, #16
	add	x2, x2, #256
	subs	x3, x3, #1
	b.ne	1b
9:

// Q5_K chunk c: as Q4KCHUNK with the fifth bits from the qh bytes in v18,
// v19: bit 2c (shift \lb) of the low nibbles, 2c+1 (\hb) of the high.
	.macro	Q5KCHUNK q0, q1, xoff, sl, sh, lb, hb
	ldp	q8, q9, [x2, #\xoff]
	ldp	q10, q11, [x2, #(\xoff+32)]
	.if \lb
	ushr	v14.16b, v18.16b, #\lb
	ushr	v15.16b, v19.16b, #\lb
	and	v14.16b, v14.16b, v30.16b
	and	v15.16b, v15.16b, v30.16b
	.else
	and	v14.16b, v18.16b, v30.16b
	and	v15.16b, v19.16b, v30.16b
	.endif
	and	v12.16b, \q0\().16b, v31.16b
	and	v13.16b, \q1\().16b, v31.16b
	sli	v12.16b, v14.16b, #4
	sli	v13.16b, v15.16b, #4
	movi	v16.16b, #0
	sdot	v16.4s, v12.16b, v8.16b
	sdot	v16.4s, v13.16b, v9.16b
	mla	v20.4s, v16.4s, \sl
	ushr	v14.16b, v18.16b, #\hb
	ushr	v15.16b, v19.16b, #\hb
	and	v14.16b, v14.16b, v30.16b
	and	v15.16b, v15.16b, v30.16b
	ushr	v12.16b, \q0\().16b, #4
	ushr	v13.16b, \q1\().16b, #4
	sli	v12.16b, v14.16b, #4
	sli	v13.16b, v15.16b, #4
	movi	v17.16b, #0
	sdot	v17.4s, v12.16b, v10.16b
	sdot	v17.4s, v13.16b, v11.16b
	mla	v20.4s, v17.4s, \sh
	.endm

// go: func q5kDotNEON(row *byte, scm *uint8, x *int8, nb int, out *int32)
q5kDotNEON:
	movi	v31.16b, #0x0f
	movi	v30.16b, #0x01
	cbz	x3, 9f
1:
	ldr	d21, [x1]
	uxtl	v21.8h, v21.8b
	uxtl	v22.4s, v21.4h
	uxtl2	v23.4s, v21.8h
	ldp	q18, q19, [x0, #16]	// qh
	ldp	q0, q1, [x0, #48]	// qs
	ldp	q2, q3, [x0, #80]
	ldp	q4, q5, [x0, #112]
	ldp	q6, q7, [x0, #144]
	movi	v20.16b, #0
	Q5KCHUNK v0, v1, 0, v22.s[0], v22.s[1], 0, 1
	Q5KCHUNK v2, v3, 64, v22.s[2], v22.s[3], 2, 3
	Q5KCHUNK v4, v5, 128, v23.s[0], v23.s[1], 4, 5
	Q5KCHUNK v6, v7, 192, v23.s[2], v23.s[3], 6, 7
	addv	s20, v20.4s
	str	s20, [x4], #4
	add	x0, x0, #176
	add	x1, x1, #16
	add	x2, x2, #256
	subs	x3, x3, #1
	b.ne	1b
9:

// Q6_K: elements 128n+32k+l (l < 32) take 4 low bits from ql[64n+l+32(k&1)]
// (low nibble for k < 2), 2 high bits from qh[32n+l] bits 2k..2k+1 (see
// q6kQuants); each 16-element sub-block sb its int8 scale. \lo0, \lo1: the
// ql bytes, \lsh: 0 or 4; \h0, \h1: the qh bytes, \hsh: 2k; sub-blocks
// 8n+2k and 8n+2k+1 at x2 + 16·sb with scales \s0, \s1.
	.macro	Q6KCHUNK lo0, lo1, lsh, h0, h1, hsh, xoff, s0, s1
	ldp	q8, q9, [x2, #\xoff]
	.if \lsh
	ushr	v12.16b, \lo0\().16b, #4
	ushr	v13.16b, \lo1\().16b, #4
	.else
	and	v12.16b, \lo0\().16b, v31.16b
	and	v13.16b, \lo1\().16b, v31.16b
	.endif
	.if \hsh
	ushr	v14.16b, \h0\().16b, #\hsh
	ushr	v15.16b, \h1\().16b, #\hsh
	and	v14.16b, v14.16b, v30.16b
	and	v15.16b, v15.16b, v30.16b
	.else
	and	v14.16b, \h0\().16b, v30.16b
	and	v15.16b, \h1\().16b, v30.16b
	.endif
	sli	v12.16b, v14.16b, #4
	sli	v13.16b, v15.16b, #4
	movi	v16.16b, #0
	movi	v17.16b, #0
	sdot	v16.4s, v12.16b, v8.16b
	sdot	v17.4s, v13.16b, v9.16b
	mla	v20.4s, v16.4s, \s0
	mla	v20.4s, v17.4s, \s1
	.endm

// go: func q6kDotNEON(row *byte, scm *uint8, x *int8, nb int, out *int32)
q6kDotNEON:
	movi	v31.16b, #0x0f
	movi	v30.16b, #0x03
	cbz	x3, 9f
1:
	ldr	q24, [x0, #192]		// the 16 int8 scales
	sxtl	v25.8h, v24.8b
	sxtl2	v26.8h, v24.16b
	sxtl	v27.4s, v25.4h		// sc0..3
	sxtl2	v28.4s, v25.8h		// sc4..7
	sxtl	v29.4s, v26.4h		// sc8..11
	sxtl2	v26.4s, v26.8h		// sc12..15
	movi	v20.16b, #0
	ldp	q0, q1, [x0]		// ql[0:32]
	ldp	q2, q3, [x0, #32]	// ql[32:64]
	ldp	q4, q5, [x0, #128]	// qh[0:32]
	Q6KCHUNK v0, v1, 0, v4, v5, 0, 0, v27.s[0], v27.s[1]
	Q6KCHUNK v2, v3, 0, v4, v5, 2, 32, v27.s[2], v27.s[3]
	Q6KCHUNK v0, v1, 4, v4, v5, 4, 64, v28.s[0], v28.s[1]
	Q6KCHUNK v2, v3, 4, v4, v5, 6, 96, v28.s[2], v28.s[3]
	ldp	q0, q1, [x0, #64]	// ql[64:96]
	ldp	q2, q3, [x0, #96]	// ql[96:128]
	ldp	q4, q5, [x0, #160]	// qh[32:64]
	Q6KCHUNK v0, v1, 0, v4, v5, 0, 128, v29.s[0], v29.s[1]
	Q6KCHUNK v2, v3, 0, v4, v5, 2, 160, v29.s[2], v29.s[3]
	Q6KCHUNK v0, v1, 4, v4, v5, 4, 192, v26.s[0], v26.s[1]
	Q6KCHUNK v2, v3, 4, v4, v5, 6, 224, v26.s[2], v26.s[3]
	addv	s20, v20.4s
	str	s20, [x4], #4
	add	x0, x0, #210
	add	x2, x2, #256
	subs	x3, x3, #1
	b.ne	1b
9:
