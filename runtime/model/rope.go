package model

import (
	"math"

	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/fmath"
)

// RopeAngles returns the rotary-embedding table cs [len(pos), RopeDims/2·2]
// of (cos θ_i, sin θ_i) for each position, computed the way llama.cpp does:
// θ_0 = p and θ_{i+1} = θ_i · base^(−2/d), iterated in float32, with cos θ
// and sin θ from glibc's sincosf (fmath.Sincosf), which is what llama.cpp
// calls and is not always the correctly rounded value. The student trains
// with the same table, so a Cartridge meets at decode time exactly the
// rotations it was trained with.
func (c Config) RopeAngles(pos []int) []float32 {
	// llama.cpp's powf(base, −2.0f/d): glibc's powf gives the correctly
	// rounded result here (checked for bases 10^4..10^7, d = 32..256).
	scale := float32(math.Pow(float64(c.RopeBase), float64(float32(-2)/float32(c.RopeDims))))
	half := c.RopeDims / 2
	cs := make([]float32, len(pos)*half*2)
	for t, p := range pos {
		theta := float32(p)
		row := cs[t*half*2 : (t+1)*half*2]
		for i := 0; i < half; i++ {
			row[2*i+1], row[2*i] = fmath.Sincosf(theta)
			theta *= scale
		}
	}
	return cs
}

// RopeShape is how RoPE rotates tensors of heads heads of this model.
func (c Config) RopeShape(heads int) backend.RopeShape {
	return backend.RopeShape{Heads: heads, HeadDim: c.HeadDim, Dims: c.RopeDims, Half: c.Rope == RopeHalf}
}

// AttnShape is the model's attention geometry.
func (c Config) AttnShape() backend.AttnShape {
	return backend.AttnShape{Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim}
}
