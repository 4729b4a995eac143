package model

import "math"

// rmsNorm writes out[n, dim] = x / rms(x) · w for each row, computing like
// llama.cpp: the mean square in float64, the scale 1/sqrtf(mean+eps) in float32.
func rmsNorm(out, x, w []float32, n, dim int, eps float32) {
	for t := 0; t < n; t++ {
		xr := x[t*dim : (t+1)*dim]
		or := out[t*dim : (t+1)*dim]
		var sum float64
		for _, v := range xr {
			sum += float64(v) * float64(v)
		}
		mean := float32(sum / float64(dim))
		scale := float32(1 / math.Sqrt(float64(mean+eps)))
		for i, v := range xr {
			or[i] = (v * scale) * w[i]
		}
	}
}

// silu(x) = x·σ(x) = x / (1 + e^−x)
func silu(x float32) float32 { return x / (1 + float32(math.Exp(float64(-x)))) }

// swiglu writes a[i] = silu(g[i]) · u[i].
func swiglu(a, g, u []float32) {
	for i := range a {
		a[i] = silu(g[i]) * u[i]
	}
}
