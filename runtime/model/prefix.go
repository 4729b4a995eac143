package model

import "fmt"

// Cache helpers for trained prefixes (Cartridges): reading a sequence's keys
// and values out of the cache to initialise one, and loading one into the
// cache so that decoding continues after it.

// SeqKV returns copies of sequence seq's keys and values, per layer
// [Len(seq)·KVDim] in the cache's layout [pos][kvHeads·headDim]: keys after
// RoPE for positions 0..Len(seq)−1, both rounded to binary16 as the cache
// holds them.
func (c *KVCache) SeqKV(seq int) (k, v [][]float32) {
	n := c.seqs[seq].n
	k = make([][]float32, c.layers)
	v = make([][]float32, c.layers)
	for l := 0; l < c.layers; l++ {
		k[l], v[l] = make([]float32, n*c.kvDim), make([]float32, n*c.kvDim)
		if n > 0 {
			c.be.Download(k[l], c.keys(seq, l, n))
			c.be.Download(v[l], c.values(seq, l, n))
		}
	}
	return k, v
}

// AppendKV appends ready keys and values to sequence seq, per layer
// [n·KVDim] in the cache's layout; keys must already be rotated for the
// positions Len(seq)..Len(seq)+n−1 they take. Both are rounded to binary16
// as the cache holds them. This is how a Cartridge becomes the prefix that
// decoding attends to.
func (c *KVCache) AppendKV(seq int, k, v [][]float32) error {
	if seq < 0 || seq >= len(c.seqs) {
		return fmt.Errorf("model: sequence %d is outside the cache's %d", seq, len(c.seqs))
	}
	if len(k) != c.layers || len(v) != c.layers {
		return fmt.Errorf("model: %d/%d layers of keys/values for a cache of %d layers", len(k), len(v), c.layers)
	}
	n := len(k[0]) / c.kvDim
	for l := 0; l < c.layers; l++ {
		if len(k[l]) != n*c.kvDim || len(v[l]) != n*c.kvDim || len(k[l])%c.kvDim != 0 {
			return fmt.Errorf("model: layer %d: %d keys and %d values are not %d tokens of width %d",
				l, len(k[l]), len(v[l]), n, c.kvDim)
		}
	}
	if n == 0 {
		return nil
	}
	start := c.seqs[seq].n
	if err := c.reserve(seq, n); err != nil {
		return err
	}
	sc := &c.seqs[seq]
	for l := 0; l < c.layers; l++ {
		kd, vd := sc.k[l].Slice(start, start+n), sc.v[l].Slice(start, start+n)
		c.be.Upload(kd, k[l])
		c.be.Upload(vd, v[l])
		c.be.RoundF16(kd)
		c.be.RoundF16(vd)
	}
	return nil
}
