package model

import (
	"fmt"

	"github.com/cartlsp/cartlsp/runtime/backend"
)

// KVCache holds the keys and values of past tokens, for several independent
// sequences, as tensors of the model's backend. Keys are stored after RoPE.
// Keys and values are rounded to binary16 precision on write, as llama.cpp's
// default F16 cache does, so decoding here and there sees the same numbers,
// and held in the backend's cache tensors (binary16 on the CPU backend: 2
// bytes per element).
type KVCache struct {
	be                    backend.Backend
	layers, kvDim, maxLen int
	seqs                  []seqCache
}

type seqCache struct {
	k, v []backend.Tensor // [layer] → [capacity, kvDim]; rows 0..n−1 held
	cap  int              // rows allocated
	n    int              // tokens held
}

// NewCache makes a cache for nSeq sequences of at most maxLen tokens each.
// Memory is allocated as sequences grow.
func (m *Model) NewCache(nSeq, maxLen int) *KVCache {
	c := &KVCache{be: m.Backend, layers: m.NLayers, kvDim: m.KVDim(), maxLen: maxLen, seqs: make([]seqCache, nSeq)}
	for i := range c.seqs {
		c.seqs[i].k = make([]backend.Tensor, m.NLayers)
		c.seqs[i].v = make([]backend.Tensor, m.NLayers)
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

// Bytes is the memory the cache's held keys and values take, counted at the
// 2 bytes per element of an F16 cache (what the CPU backend stores).
func (c *KVCache) Bytes() int64 {
	var n int64
	for i := range c.seqs {
		n += int64(c.seqs[i].n) * int64(c.layers) * int64(c.kvDim) * 2 * 2
	}
	return n
}

// keys and values are rows 0..n−1 of sequence s's cache in layer l.
func (c *KVCache) keys(s, l, n int) backend.Tensor   { return c.seqs[s].k[l].Slice(0, n) }
func (c *KVCache) values(s, l, n int) backend.Tensor { return c.seqs[s].v[l].Slice(0, n) }

// reserve makes room in sequence s for extra more tokens and counts them as
// held; the caller fills them (or truncates on failure).
func (c *KVCache) reserve(s, extra int) error {
	sc := &c.seqs[s]
	need := sc.n + extra
	if need > c.maxLen {
		return fmt.Errorf("model: sequence %d would hold %d tokens, more than the cache's %d", s, need, c.maxLen)
	}
	if sc.cap < need {
		grow := max(need, min(c.maxLen, max(2*sc.n, need+256)))
		for l := 0; l < c.layers; l++ {
			nk, nv := c.be.NewCache(grow, c.kvDim), c.be.NewCache(grow, c.kvDim)
			if sc.n > 0 {
				c.be.Copy(nk.Slice(0, sc.n), sc.k[l].Slice(0, sc.n))
				c.be.Copy(nv.Slice(0, sc.n), sc.v[l].Slice(0, sc.n))
			}
			sc.k[l], sc.v[l] = nk, nv
		}
		sc.cap = grow
	}
	sc.n = need
	return nil
}

// CopySeq makes sequence dst hold the first n tokens of sequence src (what
// it held before is forgotten): several sequences that share a prompt
// prefill it once.
func (c *KVCache) CopySeq(dst, src, n int) error {
	if dst < 0 || dst >= len(c.seqs) || src < 0 || src >= len(c.seqs) {
		return fmt.Errorf("model: copy from sequence %d to %d of a cache of %d", src, dst, len(c.seqs))
	}
	if n < 0 || n > c.seqs[src].n {
		return fmt.Errorf("model: copy of %d tokens from sequence %d, which holds %d", n, src, c.seqs[src].n)
	}
	c.seqs[dst].n = 0
	if dst == src || n == 0 {
		c.seqs[dst].n = n
		return nil
	}
	if err := c.reserve(dst, n); err != nil {
		return err
	}
	d, s := &c.seqs[dst], &c.seqs[src]
	for l := 0; l < c.layers; l++ {
		c.be.Copy(d.k[l].Slice(0, n), s.k[l].Slice(0, n))
		c.be.Copy(d.v[l].Slice(0, n), s.v[l].Slice(0, n))
	}
	return nil
}
