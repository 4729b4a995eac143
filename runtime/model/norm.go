package model

import (
	"math"

	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
)

// rmsNorm writes out[n, dim] = x / rms(x) · w for each row, computing like
// llama.cpp: squares in float32 summed in float64, the mean rounded to
// float32, the scale 1/sqrtf(mean+eps) in float32, then (x·scale)·w.
func rmsNorm(out, x, w []float32, n, dim int, eps float32) {
	for t := 0; t < n; t++ {
		xr := x[t*dim : (t+1)*dim]
		or := out[t*dim : (t+1)*dim]
		var sum float64
		for _, v := range xr {
			sum += float64(v * v)
		}
		mean := float32(sum / float64(dim))
		scale := 1 / float32(math.Sqrt(float64(mean+eps))) // sqrtf: float64 sqrt rounds correctly to float32
		for i, v := range xr {
			or[i] = (v * scale) * w[i]
		}
	}
}

// swiglu writes a[t, i] = silu(g[t, i]) · u[t, i] for n rows, silu as
// ggml's vector SiLU (see cpu.SwiGLU), row by row as ggml_vec_swiglu_f32.
func swiglu(a, g, u []float32, n int) {
	c := len(a) / n
	for t := 0; t < n; t++ {
		cpu.SwiGLU(a[t*c:(t+1)*c], g[t*c:(t+1)*c], u[t*c:(t+1)*c])
	}
}
