package cpu

import (
	"math"

	"github.com/cartlsp/cartlsp/runtime/fmath"
)

// Row kernels for training (the student's softmaxes and SwiGLU backward):
// vectorised exponentials with ggml's ExpV (within 2.5 float32 ulps of
// e^x; 0 for −Inf and below −104, +Inf above 89). The assembly versions
// (AVX-512; ExpRow also AVX2) compute exactly what the Go twins compute,
// bit for bit.

// ExpRow sets x[i] = e^(a·x[i] − b) (a·x − b rounded once, as a fused
// multiply-add) and returns Σ x[i]. The sum is formed in float64 over 16
// lanes (element i in lane i mod 16, added in order), the lanes then added
// 0..15.
func ExpRow(x []float32, a, b float32) float64 {
	var acc [16]float64
	i := 0 // elements the kernels took; the rest as the twin
	switch {
	case active == levelAVX512 && len(x) > 0:
		expRowAVX512(&x[0], len(x), a, b, &acc)
		i = len(x)
	case active == levelAVX2 && len(x) >= 16:
		i = len(x) &^ 15
		expRowAVX2(&x[0], i, a, b, &acc)
	}
	return expRowLanes(x, i, a, b, &acc)
}

// expRowGo is ExpRow's plain twin.
func expRowGo(x []float32, a, b float32) float64 {
	var acc [16]float64
	return expRowLanes(x, 0, a, b, &acc)
}

// expRowLanes does ExpRow's work for x[i0:] (i0 a multiple of 16 or
// len(x)) into the lane sums acc, and returns the lanes added 0..15.
func expRowLanes(x []float32, i0 int, a, b float32, acc *[16]float64) float64 {
	for i := i0; i < len(x); i++ {
		e := fmath.ExpV(fmath.FMA32(a, x[i], -b))
		x[i] = e
		acc[i&15] += float64(e)
	}
	var s float64
	for _, v := range acc {
		s += v
	}
	return s
}

// MaxRow returns the largest x[i] (−Inf for an empty row), found over 16
// lanes (element i in lane i mod 16) and then across lanes 0..15, each step
// m = (m > v ? m : v): a NaN is kept only where it is the last value a lane
// or the final fold meets.
func MaxRow(x []float32) float32 {
	lanes := [16]float32{}
	for l := range lanes {
		lanes[l] = float32(math.Inf(-1))
	}
	if active == levelAVX512 && len(x) > 0 {
		maxRowAVX512(&x[0], len(x), &lanes)
	} else {
		for i, v := range x {
			if !(lanes[i&15] > v) {
				lanes[i&15] = v
			}
		}
	}
	m := lanes[0]
	for _, v := range lanes[1:] {
		if !(m > v) {
			m = v
		}
	}
	return m
}

// SoftmaxBack writes ds[j] = a[j]·(ds[j] − delta)·scale: the softmax
// backward dS = A·(dA − Σ A·dA) with a factor folded in (ds holds dA on
// entry; a may not alias it).
func SoftmaxBack(ds, a []float32, delta, scale float32) {
	a = a[:len(ds)]
	i := 0
	if active == levelAVX512 && len(ds) >= 16 {
		i = len(ds) &^ 15
		softmaxBackAVX512(&ds[0], &a[0], i, delta, scale)
	}
	for ; i < len(ds); i++ {
		ds[i] = float32(a[i]*(ds[i]-delta)) * scale
	}
}

// SwiGLUBack is the backward of a = silu(g)·u = g·σ(g)·u: with
// s = 1/(1 + e^−g) (the SwiGLU forward's exponential),
//
//	du = da·g·s,  dg = da·u·s·(1 + g·(1 − s))
//
// (overwrites dg, du; all slices as long as dg).
func SwiGLUBack(dg, du, da, g, u []float32) {
	n := len(dg)
	du, da, g, u = du[:n], da[:n], g[:n], u[:n]
	i := 0
	if active == levelAVX512 && n >= 16 {
		i = n &^ 15
		swigluBackAVX512(&dg[0], &du[0], &da[0], &g[0], &u[0], i)
	}
	for ; i < n; i++ {
		s := 1 / (1 + fmath.ExpV(0-g[i]))
		du[i] = float32(da[i]*g[i]) * s
		dg[i] = float32(float32(da[i]*u[i])*s) * (1 + float32(g[i]*(1-s)))
	}
}
