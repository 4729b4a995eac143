package model

import (
	"context"
	"fmt"

	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
)

// LogitsMode says at which of a sequence's new tokens logits are wanted.
type LogitsMode int

const (
	LogitsLast LogitsMode = iota // the last new token (prompt prefill, decoding)
	LogitsAll                    // every new token (training, scoring)
	LogitsNone                   // none (filling the cache only)
)

// SeqTokens are new tokens appended to one sequence of the cache.
type SeqTokens struct {
	Seq    int
	Tokens []int
	Logits LogitsMode
}

// Batch is one forward step over several sequences of different lengths.
type Batch []SeqTokens

// Forward appends the batch's tokens to their sequences in cache and returns
// logits [nOut, Vocab] for the requested positions, in batch order.
// The cache is left unchanged when an error is returned.
func (m *Model) Forward(ctx context.Context, cache *KVCache, b Batch) ([]float32, error) {
	// Flatten: token t belongs to sequence seq[t] at position pos[t].
	var toks, seq, pos, outRows []int
	seen := map[int]bool{}
	for _, st := range b {
		if st.Seq < 0 || st.Seq >= cache.Seqs() {
			return nil, fmt.Errorf("model: sequence %d is outside the cache's %d", st.Seq, cache.Seqs())
		}
		if seen[st.Seq] {
			return nil, fmt.Errorf("model: sequence %d appears twice in one batch", st.Seq)
		}
		seen[st.Seq] = true
		if cache.Len(st.Seq)+len(st.Tokens) > cache.MaxLen() {
			return nil, fmt.Errorf("model: sequence %d would hold %d tokens, more than the cache's %d",
				st.Seq, cache.Len(st.Seq)+len(st.Tokens), cache.MaxLen())
		}
		for i, tok := range st.Tokens {
			if tok < 0 || tok >= m.Vocab {
				return nil, fmt.Errorf("model: token id %d is outside the vocabulary of %d", tok, m.Vocab)
			}
			if st.Logits == LogitsAll || (st.Logits == LogitsLast && i == len(st.Tokens)-1) {
				outRows = append(outRows, len(toks))
			}
			toks = append(toks, tok)
			seq = append(seq, st.Seq)
			pos = append(pos, cache.Len(st.Seq)+i)
		}
	}
	n := len(toks)
	if n == 0 {
		return nil, nil
	}
	start := make(map[int]int, len(b))
	for _, st := range b {
		start[st.Seq] = cache.Len(st.Seq)
		if err := cache.reserve(st.Seq, len(st.Tokens)); err != nil {
			return nil, err
		}
	}
	undo := func() {
		for s, l := range start {
			cache.Truncate(s, l)
		}
	}

	D, KV, F := m.Dim, m.KVDim(), m.FFN
	x := make([]float32, n*D)  // x: [n, D] residual stream
	h := make([]float32, n*D)  // h: [n, D] normed input
	q := make([]float32, n*D)  // q: [n, Heads, HeadDim]
	k := make([]float32, n*KV) // k: [n, KVHeads, HeadDim]
	v := make([]float32, n*KV) // v: [n, KVHeads, HeadDim]
	att := make([]float32, n*D)
	o := make([]float32, n*D)
	g := make([]float32, n*F) // g, u: [n, FFN]
	u := make([]float32, n*F)
	cs := m.rope.angles(pos)

	for t, tok := range toks {
		m.Embed.Row(tok, x[t*D:(t+1)*D])
	}
	for li := range m.Layers {
		if err := backend.Yield(ctx); err != nil { // pauses background work for interactive work
			undo()
			return nil, err
		}
		l := &m.Layers[li]
		// Attention block.
		rmsNorm(h, x, l.AttnNorm, n, D, m.NormEps)
		l.Wq.MatMul(q, h, n)
		l.Wk.MatMul(k, h, n)
		l.Wv.MatMul(v, h, n)
		if l.Bq != nil {
			addBias(q, l.Bq, n)
			addBias(k, l.Bk, n)
			addBias(v, l.Bv, n)
		}
		applyRope(m.Rope, q, n, m.Heads, m.HeadDim, m.RopeDims, cs)
		applyRope(m.Rope, k, n, m.KVHeads, m.HeadDim, m.RopeDims, cs)
		for t := 0; t < n; t++ {
			sc := &cache.seqs[seq[t]]
			kd := sc.k[li][pos[t]*KV : (pos[t]+1)*KV]
			vd := sc.v[li][pos[t]*KV : (pos[t]+1)*KV]
			copy(kd, k[t*KV:(t+1)*KV])
			copy(vd, v[t*KV:(t+1)*KV])
			cpu.RoundF16(kd)
			cpu.RoundF16(vd)
		}
		m.attention(att, q, cache, li, seq, pos)
		l.Wo.MatMul(o, att, n)
		addInPlace(x, o)
		// Feed-forward block.
		rmsNorm(h, x, l.FFNNorm, n, D, m.NormEps)
		l.Wgate.MatMul(g, h, n)
		l.Wup.MatMul(u, h, n)
		swiglu(g, g, u, n)
		l.Wdown.MatMul(o, g, n)
		addInPlace(x, o)
	}
	nOut := len(outRows)
	if nOut == 0 {
		return nil, nil
	}
	// Gather the rows that want logits, norm them, project to the vocabulary.
	xo := make([]float32, nOut*D)
	for i, r := range outRows {
		copy(xo[i*D:(i+1)*D], x[r*D:(r+1)*D])
	}
	rmsNorm(xo, xo, m.OutNorm, nOut, D, m.NormEps)
	logits := make([]float32, nOut*m.Vocab)
	m.Output.MatMul(logits, xo, nOut)
	return logits, nil
}

func addInPlace(x, y []float32) {
	for i := range x {
		x[i] += y[i]
	}
}

// addBias adds b[cols] to each row of x[n, cols].
func addBias(x, b []float32, n int) {
	c := len(b)
	for t := 0; t < n; t++ {
		row := x[t*c : (t+1)*c]
		for i := range row {
			row[i] += b[i]
		}
	}
}
