package model

import (
	"context"
	"fmt"

	"github.com/cartlsp/cartlsp/runtime/backend"
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

// UBatch is the most tokens one step computes at once: a longer batch runs
// as several steps (llama.cpp's n_ubatch, and its default), so activation
// memory stays bounded whatever the prompt's length.
const UBatch = 512

// Forward appends the batch's tokens to their sequences in cache and returns
// logits [nOut, Vocab] for the requested positions, in batch order.
// The cache is left unchanged when an error is returned.
func (m *Model) Forward(ctx context.Context, cache *KVCache, b Batch) ([]float32, error) {
	if err := m.checkBatch(cache, b); err != nil {
		return nil, err
	}
	total := 0
	for _, st := range b {
		total += len(st.Tokens)
	}
	if total <= UBatch {
		return m.forward(ctx, cache, b)
	}
	start := make(map[int]int, len(b))
	for _, st := range b {
		start[st.Seq] = cache.Len(st.Seq)
	}
	// Cut the batch into steps of at most UBatch tokens, in order; a
	// sequence may span steps (its later tokens attend to the earlier ones
	// through the cache). Each piece asks for the logits its part of the
	// sequence owes.
	var logits []float32
	var step Batch
	n := 0
	flush := func() error {
		if len(step) == 0 {
			return nil
		}
		l, err := m.forward(ctx, cache, step)
		if err != nil {
			for s, p := range start {
				cache.Truncate(s, p)
			}
			return err
		}
		logits = append(logits, l...)
		step, n = step[:0], 0
		return nil
	}
	for _, st := range b {
		toks := st.Tokens
		for len(toks) > 0 {
			take := min(len(toks), UBatch-n)
			mode := st.Logits
			if mode == LogitsLast && take < len(toks) {
				mode = LogitsNone // the last token is in a later piece
			}
			step = append(step, SeqTokens{Seq: st.Seq, Tokens: toks[:take], Logits: mode})
			n += take
			toks = toks[take:]
			if n == UBatch {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return logits, nil
}

// checkBatch refuses a batch that would change the cache wrongly: a
// sequence outside it or twice in the batch, more tokens than a sequence may
// hold, a token outside the vocabulary.
func (m *Model) checkBatch(cache *KVCache, b Batch) error {
	seen := map[int]bool{}
	for _, st := range b {
		if st.Seq < 0 || st.Seq >= cache.Seqs() {
			return fmt.Errorf("model: sequence %d is outside the cache's %d", st.Seq, cache.Seqs())
		}
		if seen[st.Seq] {
			return fmt.Errorf("model: sequence %d appears twice in one batch", st.Seq)
		}
		seen[st.Seq] = true
		if cache.Len(st.Seq)+len(st.Tokens) > cache.MaxLen() {
			return fmt.Errorf("model: sequence %d would hold %d tokens, more than the cache's %d",
				st.Seq, cache.Len(st.Seq)+len(st.Tokens), cache.MaxLen())
		}
		for _, tok := range st.Tokens {
			if tok < 0 || tok >= m.Vocab {
				return fmt.Errorf("model: token id %d is outside the vocabulary of %d", tok, m.Vocab)
			}
		}
	}
	return nil
}

// forward is one step of Forward (any number of tokens).
func (m *Model) forward(ctx context.Context, cache *KVCache, b Batch) ([]float32, error) {
	// Flatten (the batch was checked by Forward): token t belongs to sequence seq[t] at position pos[t].
	var toks, pos, seqs, outRows []int
	for _, st := range b {
		for i, tok := range st.Tokens {
			seqs = append(seqs, st.Seq)
			if st.Logits == LogitsAll || (st.Logits == LogitsLast && i == len(st.Tokens)-1) {
				outRows = append(outRows, len(toks))
			}
			toks = append(toks, tok)
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

	be := m.Backend
	D, KV, F := m.Dim, m.KVDim(), m.FFN
	x := be.NewTensor(n, D)   // x: [n, D] residual stream
	h := be.NewTensor(n, D)   // h: [n, D] normed input
	q := be.NewTensor(n, D)   // q: [n, Heads·HeadDim]
	k := be.NewTensor(n, KV)  // k: [n, KVHeads·HeadDim]
	v := be.NewTensor(n, KV)  // v: [n, KVHeads·HeadDim]
	att := be.NewTensor(n, D) // att: [n, Heads·HeadDim]
	o := be.NewTensor(n, D)   // o: [n, D] block output
	g := be.NewTensor(n, F)   // g, u: [n, FFN]
	u := be.NewTensor(n, F)
	cs := be.FromHost(n, m.RopeDims, m.RopeAngles(pos)) // cs: [n, RopeDims/2·2]
	qShape, kShape, ash := m.RopeShape(m.Heads), m.RopeShape(m.KVHeads), m.AttnShape()

	tr := traceFrom(ctx)
	be.GetRows(x, m.Embed, toks)
	for li := range m.Layers {
		if err := backend.Yield(ctx); err != nil { // pauses background work for interactive work
			undo()
			return nil, err
		}
		l := &m.Layers[li]
		// Attention block.
		be.RMSNorm(h, nil, x, l.AttnNorm, m.NormEps)
		be.MatMul(q, h, l.Wq)
		be.MatMul(k, h, l.Wk)
		be.MatMul(v, h, l.Wv)
		if l.Bq != nil {
			be.AddRow(q, l.Bq)
			be.AddRow(k, l.Bk)
			be.AddRow(v, l.Bv)
		}
		be.RoPE(q, cs, qShape, false)
		be.RoPE(k, cs, kShape, false)
		be.RoundF16(k) // the F16 cache's precision
		be.RoundF16(v)
		// Each sequence's tokens are a run of rows: store their keys and
		// values, then attend over the sequence's cache.
		t0 := 0
		for _, st := range b {
			if len(st.Tokens) == 0 {
				continue
			}
			t1, p0 := t0+len(st.Tokens), start[st.Seq]
			p1 := p0 + len(st.Tokens)
			sc := &cache.seqs[st.Seq]
			be.Copy(sc.k[li].Slice(p0, p1), k.Slice(t0, t1))
			be.Copy(sc.v[li].Slice(p0, p1), v.Slice(t0, t1))
			be.Attention(att.Slice(t0, t1), q.Slice(t0, t1), cache.keys(st.Seq, li, p1), cache.values(st.Seq, li, p1), ash, p0, n > 1)
			t0 = t1
		}
		if tr != nil {
			hq := make([]float32, n*D)
			be.Download(hq, q)
			tr.Queries(li, seqs, pos, hq)
		}
		be.MatMul(o, att, l.Wo)
		be.Add(x, o)
		// Feed-forward block.
		be.RMSNorm(h, nil, x, l.FFNNorm, m.NormEps)
		be.MatMul(g, h, l.Wgate)
		be.MatMul(u, h, l.Wup)
		be.SwiGLU(g, g, u)
		be.MatMul(o, g, l.Wdown)
		be.Add(x, o)
	}
	nOut := len(outRows)
	if nOut == 0 {
		return nil, nil
	}
	// Gather the rows that want logits, norm them, project to the vocabulary.
	xo := be.NewTensor(nOut, D)
	be.GetRows(xo, x, outRows)
	be.RMSNorm(xo, nil, xo, m.OutNorm, m.NormEps)
	lt := be.NewTensor(nOut, m.Vocab)
	be.MatMul(lt, xo, m.Output)
	logits := make([]float32, nOut*m.Vocab)
	be.Download(logits, lt)
	return logits, nil
}
