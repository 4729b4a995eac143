package cpu

// attnScoresAVX512 is AttnScores for hd a multiple of 64 (stride in bytes).
//
//go:noescape
func attnScoresAVX512(q, k *float32, stride, n, hd int, vec bool, out *float32)

// attnValuesAVX512 is AttnValues for hd a multiple of 64 (stride in bytes,
// R = 16 or 64 lanes; acc: [R, 64] scratch).
//
//go:noescape
func attnValuesAVX512(w, v *float32, stride, n, hd, R int, acc, out *float32)

// expSumAVX512 is SoftmaxExp's loop for n a multiple of 16.
//
//go:noescape
func expSumAVX512(w *float32, n int, mx float32) float64

// swigluAVX2 is SwiGLU for n a multiple of 8 (exp_avx2_amd64.s).
//
//go:noescape
func swigluAVX2(dst, gate, up *float32, n int)

// swigluAVX512 is SwiGLU for n a multiple of 16.
//
//go:noescape
func swigluAVX512(dst, gate, up *float32, n int)

// roundF16AVX512 is RoundF16 for n a multiple of 16.
//
//go:noescape
func roundF16AVX512(x *float32, n int)
