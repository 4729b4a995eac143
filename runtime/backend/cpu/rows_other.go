//go:build !amd64

package cpu

func expRowAVX512(x *float32, n int, a, b float32, acc *[16]float64) { panic("unreachable") }
func expRowAVX2(x *float32, n int, a, b float32, acc *[16]float64)   { panic("unreachable") }
func softmaxBackAVX512(ds, a *float32, n int, delta, scale float32)  { panic("unreachable") }
func swigluBackAVX512(dg, du, da, gate, up *float32, n int)          { panic("unreachable") }
func maxRowAVX512(x *float32, n int, lanes *[16]float32)             { panic("unreachable") }
