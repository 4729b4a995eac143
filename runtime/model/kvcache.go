package model

import "fmt"

// KVCache holds the keys and values of past tokens, for several independent
// sequences. Keys are stored after RoPE. Keys and values are rounded to
// binary16 precision on write, as llama.cpp's default F16 cache does, so
// decoding here and there sees the same numbers; they are kept as float32 so
// attention needs no conversion.
type KVCache struct {
	layers, kvDim, maxLen int
	seqs                  []seqCache
}

type seqCache struct {
	k, v [][]float32 // [layer][len·kvDim]
	n    int         // tokens held
}

// NewCache makes a cache for nSeq sequences of at most maxLen tokens each.
// Memory is allocated as sequences grow.
func (m *Model) NewCache(nSeq, maxLen int) *KVCache {
	c := &KVCache{layers: m.NLayers, kvDim: m.KVDim(), maxLen: maxLen, seqs: make([]seqCache, nSeq)}
	for i := range c.seqs {
		c.seqs[i].k = make([][]float32, m.NLayers)
		c.seqs[i].v = make([][]float32, m.NLayers)
	}
	return c
}

// Seqs is the number of sequences the cache holds.
func (c *KVCache) Seqs() int { return len(c.seqs) }

// MaxLen is the most tokens one sequence may hold.
func (c *KVCache) MaxLen() int { return c.maxLen }

// Len is the number of tokens held for sequence s.
func (c *KVCache) Len(s int) int { return c.seqs[s].n }

// Truncate forgets the tokens of sequence s from position n on.
func (c *KVCache) Truncate(s, n int) {
	if n < c.seqs[s].n {
		c.seqs[s].n = n
	}
}

// Bytes is the memory held by the cache's keys and values, counted at the
// 2 bytes per element of an F16 cache.
func (c *KVCache) Bytes() int64 {
	var n int64
	for i := range c.seqs {
		n += int64(c.seqs[i].n) * int64(c.layers) * int64(c.kvDim) * 2 * 2
	}
	return n
}

// reserve makes room in sequence s for extra more tokens and counts them as
// held; the caller fills them (or truncates on failure).
func (c *KVCache) reserve(s, extra int) error {
	sc := &c.seqs[s]
	need := sc.n + extra
	if need > c.maxLen {
		return fmt.Errorf("model: sequence %d would hold %d tokens, more than the cache's %d", s, need, c.maxLen)
	}
	for l := 0; l < c.layers; l++ {
		if cap(sc.k[l]) < need*c.kvDim {
			grow := max(need, min(c.maxLen, max(2*sc.n, need+256)))
			nk := make([]float32, sc.n*c.kvDim, grow*c.kvDim)
			copy(nk, sc.k[l][:sc.n*c.kvDim])
			nv := make([]float32, sc.n*c.kvDim, grow*c.kvDim)
			copy(nv, sc.v[l][:sc.n*c.kvDim])
			sc.k[l], sc.v[l] = nk, nv
		}
		sc.k[l] = sc.k[l][:need*c.kvDim]
		sc.v[l] = sc.v[l][:need*c.kvDim]
	}
	sc.n = need
	return nil
}
