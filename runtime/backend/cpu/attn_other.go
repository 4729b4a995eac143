//go:build !amd64

package cpu

func attnScoresAVX512(q, k *float32, stride, n, hd int, vec bool, out *float32) {
	panic("unreachable")
}
func attnValuesAVX512(w, v *float32, stride, n, hd, R int, acc, out *float32) { panic("unreachable") }
func expSumAVX512(w *float32, n int, mx float32) float64                      { panic("unreachable") }
func swigluAVX2(dst, gate, up *float32, n int)                                { panic("unreachable") }
func swigluAVX512(dst, gate, up *float32, n int)                              { panic("unreachable") }
func roundF16AVX512(x *float32, n int)                                        { panic("unreachable") }
