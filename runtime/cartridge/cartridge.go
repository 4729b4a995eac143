// Package cartridge holds a Cartridge — a small trained KV cache: per layer,
// keys and values for P virtual tokens — and its file format.
//
// A Cartridge file is a safetensors file (format.go): tensors layers.{i}.keys
// and layers.{i}.values of shape [n_kv_heads, p, head_dim], keys stored after
// RoPE for positions 0..p−1, and the description of the Cartridge (Meta, in
// meta.go) as string values of the safetensors __metadata__, so any
// safetensors tool can open it. Write (writer.go) replaces a file atomically;
// Read, Decode and ReadHeader (reader.go) check everything a file claims
// before believing it. Compose (compose.go) concatenates Cartridges along the
// token axis; rope.go re-rotates keys when asked to.
package cartridge

import (
	"fmt"
	"math"
)

// FormatVersion is the Cartridge file format this package writes and the
// newest one it reads.
const FormatVersion = 1

// Cartridge is a trained KV prefix for one model.
type Cartridge struct {
	Meta   Meta
	Keys   [][]float32 // [layer][kvHeads·p·headDim], file layout [n_kv_heads, p, head_dim]; post-RoPE at positions 0..p−1
	Values [][]float32 // [layer][kvHeads·p·headDim], same layout
}

// layerLen is the number of float32s in one layer's keys (or values):
// kvHeads·p·headDim. It is -1 when the product overflows.
func (m Meta) layerLen() int64 {
	n, ok := mulDims(int64(m.Model.KVHeads), int64(m.P), int64(m.Model.HeadDim))
	if !ok {
		return -1
	}
	return n
}

// checkMeta checks the numbers a Cartridge's shape rests on.
func (m Meta) checkMeta() error {
	switch {
	case m.Model.Layers < 1:
		return fmt.Errorf("the model has %d layers; want at least 1", m.Model.Layers)
	case m.Model.KVHeads < 1:
		return fmt.Errorf("the model has %d KV heads; want at least 1", m.Model.KVHeads)
	case m.Model.HeadDim < 1:
		return fmt.Errorf("the head dim is %d; want at least 1", m.Model.HeadDim)
	case m.P < 1:
		return fmt.Errorf("p is %d virtual tokens; want at least 1", m.P)
	case m.Frozen < 0 || m.Frozen > m.P:
		return fmt.Errorf("%d frozen tokens do not fit p = %d", m.Frozen, m.P)
	case m.Model.RopeDims < 0 || m.Model.RopeDims > m.Model.HeadDim:
		return fmt.Errorf("RoPE dims %d does not fit head dim %d", m.Model.RopeDims, m.Model.HeadDim)
	case m.layerLen() < 0:
		return fmt.Errorf("%d KV heads × %d tokens × head dim %d overflows",
			m.Model.KVHeads, m.P, m.Model.HeadDim)
	}
	return nil
}

// checkShape checks that Keys and Values have the shape Meta describes.
func (c *Cartridge) checkShape() error {
	if c == nil {
		return fmt.Errorf("nil Cartridge")
	}
	if err := c.Meta.checkMeta(); err != nil {
		return err
	}
	L := c.Meta.Model.Layers
	if len(c.Keys) != L || len(c.Values) != L {
		return fmt.Errorf("%d key layers and %d value layers, but the model has %d layers",
			len(c.Keys), len(c.Values), L)
	}
	want := c.Meta.layerLen()
	for l := 0; l < L; l++ {
		if int64(len(c.Keys[l])) != want || int64(len(c.Values[l])) != want {
			return fmt.Errorf("layer %d holds %d keys and %d values; want %d (%d KV heads × %d tokens × head dim %d)",
				l, len(c.Keys[l]), len(c.Values[l]), want, c.Meta.Model.KVHeads, c.Meta.P, c.Meta.Model.HeadDim)
		}
	}
	return nil
}

// MaxMagnitude bounds a Cartridge's values: f16's largest, what the KV
// cache holds. Trained keys and values stay within tens; a larger one is a
// corrupt file or a diverged training, and would overflow attention.
const MaxMagnitude = 65504

// Validate checks that the tensors have the shape Meta describes and that
// every value is finite and within ±MaxMagnitude.
func (c *Cartridge) Validate() error {
	if err := c.checkShape(); err != nil {
		return fmt.Errorf("cartridge: %w", err)
	}
	for l := range c.Keys {
		for _, t := range [2]struct {
			kind string
			x    []float32
		}{{"keys", c.Keys[l]}, {"values", c.Values[l]}} {
			if i := firstNonFinite(t.x); i >= 0 {
				return fmt.Errorf("cartridge: tensor %q: %s", tensorName(l, t.kind), c.Meta.describeBad(t.x, i))
			}
		}
	}
	return nil
}

// firstNonFinite returns the index of the first NaN, ±Inf or value beyond
// ±MaxMagnitude in x, or -1.
func firstNonFinite(x []float32) int {
	for i, v := range x {
		if math.IsNaN(float64(v)) || v > MaxMagnitude || v < -MaxMagnitude {
			return i
		}
	}
	return -1
}

// describeBad names the non-finite element i of a [kvHeads, p, headDim] tensor.
func (m Meta) describeBad(x []float32, i int) string {
	hd, p := m.Model.HeadDim, m.P
	return fmt.Sprintf("element %d (KV head %d, token %d, dim %d) is %v, not a finite number within ±65504; the Cartridge is corrupt or its training diverged",
		i, i/(p*hd), (i/hd)%p, i%hd, x[i])
}

// mulDims multiplies non-negative dimensions, reporting overflow.
func mulDims(dims ...int64) (int64, bool) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, false
		}
		if d != 0 && n > math.MaxInt64/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}
