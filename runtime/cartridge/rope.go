package cartridge

import (
	"fmt"
	"math"
)

// A key cached at position a holds, for each rotated pair (x0, x1) of a head,
// (x0·cos aθ_i − x1·sin aθ_i, x0·sin aθ_i + x1·cos aθ_i) with
// θ_i = base^(−2i/d), d the rotated dims. Rotating it once more by bθ_i moves
// it to position a+b: rotations by angles add. Which dims form pair i depends
// on the layout:
//
//	adjacent: (x[2i], x[2i+1])   — llama.cpp's NORM rope, GGUF Llama
//	half:     (x[i], x[i+d/2])   — NEOX rope, Qwen2 and Hugging Face Llama

// rotation is RoPE by a fixed number of positions for one model.
type rotation struct {
	layout   string
	cos, sin []float64 // [d/2]
}

// newRotation prepares a rotation by delta positions (delta may be negative).
func newRotation(m ModelInfo, delta int) (*rotation, error) {
	d := m.RopeDims
	if d == 0 {
		d = m.HeadDim
	}
	switch {
	case m.RopeLayout != RopeAdjacent && m.RopeLayout != RopeHalf:
		return nil, fmt.Errorf("cannot re-rotate keys: the RoPE layout %q is not %q or %q", m.RopeLayout, RopeAdjacent, RopeHalf)
	case !(m.RopeBase > 0):
		return nil, fmt.Errorf("cannot re-rotate keys: the RoPE base is %v", m.RopeBase)
	case d%2 != 0 || d > m.HeadDim:
		return nil, fmt.Errorf("cannot re-rotate keys: %d rotated dims of a %d-dim head", d, m.HeadDim)
	}
	r := &rotation{layout: m.RopeLayout, cos: make([]float64, d/2), sin: make([]float64, d/2)}
	for i := range r.cos {
		theta := math.Pow(m.RopeBase, -2*float64(i)/float64(d))
		r.sin[i], r.cos[i] = math.Sincos(float64(delta) * theta)
	}
	return r, nil
}

// apply rotates one head's key v [headDim] in place.
func (r *rotation) apply(v []float32) {
	half := len(r.cos)
	for i := 0; i < half; i++ {
		a, b := 2*i, 2*i+1
		if r.layout == RopeHalf {
			a, b = i, i+half
		}
		x0, x1 := float64(v[a]), float64(v[b])
		v[a] = float32(x0*r.cos[i] - x1*r.sin[i])
		v[b] = float32(x0*r.sin[i] + x1*r.cos[i])
	}
}

// Rotate moves keys k [kvHeads, n, headDim], cached with RoPE at some
// positions, delta positions further (negative delta moves them back).
func Rotate(m ModelInfo, k []float32, delta int) error {
	if m.HeadDim < 1 || len(k)%m.HeadDim != 0 {
		return fmt.Errorf("cannot re-rotate keys: %d values is not a whole number of %d-dim heads", len(k), m.HeadDim)
	}
	r, err := newRotation(m, delta)
	if err != nil {
		return err
	}
	for at := 0; at < len(k); at += m.HeadDim {
		r.apply(k[at : at+m.HeadDim])
	}
	return nil
}
