package cpu

// expRowAVX2 is ExpRow's loop for n a multiple of 16 on AVX2 (exp_avx2_amd64.s);
// it adds the lanes' float64 sums into acc.
//
//go:noescape
func expRowAVX2(x *float32, n int, a, b float32, acc *[16]float64)

// expRowAVX512 is ExpRow's loop for n a multiple of 16; it adds the lanes'
// sums into acc.
//
//go:noescape
func expRowAVX512(x *float32, n int, a, b float32, acc *[16]float64)

// softmaxBackAVX512 is SoftmaxBack for n a multiple of 16.
//
//go:noescape
func softmaxBackAVX512(ds, a *float32, n int, delta, scale float32)

// swigluBackAVX512 is SwiGLUBack for n a multiple of 16.
//
//go:noescape
func swigluBackAVX512(dg, du, da, gate, up *float32, n int)

// maxRowAVX512 is MaxRow's loop for n ≥ 1 (lanes as in MaxRow).
//
//go:noescape
func maxRowAVX512(x *float32, n int, lanes *[16]float32)
