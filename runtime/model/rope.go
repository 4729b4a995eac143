package model

import (
	"math"

	"github.com/cartlsp/cartlsp/runtime/fmath"
)

// ropeTable computes rotary-embedding angles the way llama.cpp does: for
// position p, θ_0 = p and θ_{i+1} = θ_i · base^(−2/d), iterated in float32,
// with cos θ and sin θ from glibc's sincosf (fmath.Sincosf), which is what
// llama.cpp calls and is not always the correctly rounded value.
type ropeTable struct {
	dims  int     // rotated dims per head
	scale float32 // base^(−2/d)
}

func newRopeTable(c Config) *ropeTable {
	return &ropeTable{
		dims: c.RopeDims,
		// llama.cpp's powf(base, −2.0f/d): glibc's powf gives the correctly
		// rounded result here (checked for bases 10^4..10^7, d = 32..256).
		scale: float32(math.Pow(float64(c.RopeBase), float64(float32(-2)/float32(c.RopeDims)))),
	}
}

// angles fills cs[n, dims/2, 2] with (cos θ_i, sin θ_i) for each position.
func (r *ropeTable) angles(pos []int) []float32 {
	half := r.dims / 2
	cs := make([]float32, len(pos)*half*2)
	for t, p := range pos {
		theta := float32(p)
		row := cs[t*half*2 : (t+1)*half*2]
		for i := 0; i < half; i++ {
			row[2*i+1], row[2*i] = fmath.Sincosf(theta)
			theta *= r.scale
		}
	}
	return cs
}

// applyRope rotates x[n, heads, headDim] in place with cs from angles.
//
//	adjacent: (x[2i], x[2i+1]) ← (x0·cos − x1·sin, x0·sin + x1·cos)
//	half:     (x[i], x[i+d/2]) likewise
//
// rounded as ggml's compiled rope: fma(cos, x0, −(x1·sin)) and
// fma(sin, x0, x1·cos).
func applyRope(layout RopeLayout, x []float32, n, heads, headDim, dims int, cs []float32) {
	half := dims / 2
	for t := 0; t < n; t++ {
		c := cs[t*half*2 : (t+1)*half*2]
		for h := 0; h < heads; h++ {
			v := x[(t*heads+h)*headDim : (t*heads+h+1)*headDim]
			for i := 0; i < half; i++ {
				cos, sin := c[2*i], c[2*i+1]
				var a, b int
				if layout == RopeAdjacent {
					a, b = 2*i, 2*i+1
				} else {
					a, b = i, i+half
				}
				x0, x1 := v[a], v[b]
				v[a] = fmath.FMA32(cos, x0, -(x1 * sin))
				v[b] = fmath.FMA32(sin, x0, x1*cos)
			}
		}
	}
}
