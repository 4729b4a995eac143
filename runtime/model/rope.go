package model

import "math"

// ropeTable computes rotary-embedding angles the way llama.cpp does: for
// position p, θ_0 = p and θ_{i+1} = θ_i · base^(−2/d), iterated in float32.
type ropeTable struct {
	dims  int     // rotated dims per head
	scale float32 // base^(−2/d)
}

func newRopeTable(c Config) *ropeTable {
	return &ropeTable{
		dims:  c.RopeDims,
		scale: float32(math.Pow(float64(c.RopeBase), -2.0/float64(c.RopeDims))),
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
			row[2*i] = float32(math.Cos(float64(theta)))
			row[2*i+1] = float32(math.Sin(float64(theta)))
			theta *= r.scale
		}
	}
	return cs
}

// applyRope rotates x[n, heads, headDim] in place with cs from angles.
//
//	adjacent: (x[2i], x[2i+1]) ← (x0·cos − x1·sin, x0·sin + x1·cos)
//	half:     (x[i], x[i+d/2]) likewise
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
				v[a] = x0*cos - x1*sin
				v[b] = x0*sin + x1*cos
			}
		}
	}
}

// applyRopeBackward applies the transpose rotation (angle −θ) to a gradient
// dx[n, heads, headDim] in place: the backward of applyRope.
func applyRopeBackward(layout RopeLayout, dx []float32, n, heads, headDim, dims int, cs []float32) {
	half := dims / 2
	for t := 0; t < n; t++ {
		c := cs[t*half*2 : (t+1)*half*2]
		for h := 0; h < heads; h++ {
			v := dx[(t*heads+h)*headDim : (t*heads+h+1)*headDim]
			for i := 0; i < half; i++ {
				cos, sin := c[2*i], c[2*i+1]
				var a, b int
				if layout == RopeAdjacent {
					a, b = 2*i, 2*i+1
				} else {
					a, b = i, i+half
				}
				// forward: y0 = x0·cos − x1·sin ; y1 = x0·sin + x1·cos
				g0, g1 := v[a], v[b]
				v[a] = g0*cos + g1*sin
				v[b] = -g0*sin + g1*cos
			}
		}
	}
}
