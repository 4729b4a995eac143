package cartridge

// CacheKV returns the Cartridge's keys and values per layer in a KV
// cache's layout [pos][kvHeads·headDim] (model.KVCache.AppendKV takes
// them), converted from the file's [kvHeads, p, headDim].
func (c *Cartridge) CacheKV() (k, v [][]float32) {
	p, h, d := c.Meta.P, c.Meta.Model.KVHeads, c.Meta.Model.HeadDim
	k, v = make([][]float32, len(c.Keys)), make([][]float32, len(c.Values))
	for l := range c.Keys {
		k[l] = CacheLayout(c.Keys[l], p, h, d)
		v[l] = CacheLayout(c.Values[l], p, h, d)
	}
	return k, v
}

// CacheLayout converts one layer's keys or values from the file's
// [kvHeads, p, hd] to a KV cache's [p][kvHeads·hd] (for
// model.KVCache.AppendKV).
func CacheLayout(x []float32, p, kvHeads, hd int) []float32 {
	out := make([]float32, len(x))
	for j := 0; j < p; j++ {
		for h := 0; h < kvHeads; h++ {
			copy(out[(j*kvHeads+h)*hd:(j*kvHeads+h+1)*hd], x[(h*p+j)*hd:(h*p+j+1)*hd])
		}
	}
	return out
}
