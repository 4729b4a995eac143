package answer

import (
	"context"
	"fmt"
	"time"

	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/runtime/model"
)

// Prefix is the keys and values a question decodes after. It is read-only
// once built: any number of questions may decode after it at once, each in
// a cache of its own (NewCache). A nil *Prefix is the empty prefix.
type Prefix struct {
	Source Source
	// N is the tokens the prefix holds: a Cartridge's p (virtual tokens),
	// then the corpus's system turn.
	N int
	// Cartridge is the metadata of the Cartridge (composed, when several)
	// the prefix starts with; nil without one.
	Cartridge *cartridge.Meta
	// InContext says what of the corpus the prefix holds (SourceInContext).
	InContext *InContext
	// Prefill is how long the corpus's prefill took.
	Prefill time.Duration

	k, v [][]float32 // per layer, the cache's layout [N][kvDim]
}

// Len is the tokens p holds (0 for nil).
func (p *Prefix) Len() int {
	if p == nil {
		return 0
	}
	return p.N
}

func (p *Prefix) source() Source {
	if p == nil || p.Source == "" {
		return SourceNone
	}
	return p.Source
}

// NewCache is a cache for one sequence holding p, with room for extra more
// tokens.
func (p *Prefix) NewCache(m *model.Model, extra int) (*model.KVCache, error) {
	cache := m.NewCache(1, p.Len()+extra)
	if p.Len() > 0 {
		if err := cache.AppendKV(0, p.k, p.v); err != nil {
			return nil, fmt.Errorf("answer: loading the prefix: %w", err)
		}
	}
	return cache, nil
}

// CartridgePrefix is the prefix of Cartridge c, refused unless it was
// trained for m and has m's shape.
func CartridgePrefix(m *model.Model, c *cartridge.Cartridge) (*Prefix, error) {
	if err := c.Meta.CheckModelInfo(ModelInfo(m)); err != nil {
		return nil, err
	}
	mi := c.Meta.Model
	if mi.Layers != m.NLayers || mi.KVHeads != m.KVHeads || mi.HeadDim != m.HeadDim || len(c.Keys) != m.NLayers || len(c.Values) != m.NLayers {
		return nil, fmt.Errorf("the Cartridge has %d layers × %d KV heads × head dim %d, the model %d × %d × %d",
			mi.Layers, mi.KVHeads, mi.HeadDim, m.NLayers, m.KVHeads, m.HeadDim)
	}
	if c.Meta.P < 1 {
		return nil, fmt.Errorf("the Cartridge has no tokens")
	}
	if w := Window(m, 0); c.Meta.P >= w {
		return nil, fmt.Errorf("the Cartridge's %d tokens leave no room for a question in the model's %d-token window: %w", c.Meta.P, w, ErrNoRoom)
	}
	k, v := c.CacheKV()
	meta := c.Meta
	return &Prefix{Source: SourceCartridge, N: meta.P, Cartridge: &meta, k: k, v: v}, nil
}

// LoadCartridges reads Cartridge files made for m and composes them in
// order (runtime/cartridge.Load) into one prefix.
func LoadCartridges(m *model.Model, files ...string) (*Prefix, error) {
	c, err := cartridge.Load(m.Fingerprint(), files...)
	if err != nil {
		return nil, err
	}
	p, err := CartridgePrefix(m, c)
	if err != nil {
		return nil, fmt.Errorf("cartridge %v: %w", files, err)
	}
	return p, nil
}

// ModelInfo describes m as a Cartridge records its model.
func ModelInfo(m *model.Model) cartridge.ModelInfo {
	return cartridge.ModelInfo{Fingerprint: m.Fingerprint(), Arch: m.Arch, Layers: m.NLayers, KVHeads: m.KVHeads,
		HeadDim: m.HeadDim, Dim: m.Dim, RopeLayout: string(m.Rope), RopeBase: float64(m.RopeBase), RopeDims: m.RopeDims}
}

// CorpusOptions size a corpus in context.
type CorpusOptions struct {
	// Tokens is the most tokens the corpus's system turn may take; 0, or
	// more than the window leaves, is as many as the window leaves.
	Tokens int
	// Reserve is the room kept in the window after the prefix for a
	// question and its answer.
	Reserve int
	// Window is the context window (see Window; 0: the model's).
	Window int
	// Progress, when set, is called after each chunk of the prefill: done
	// of total tokens.
	Progress func(done, total int)
}

// CorpusPrefix is corpus in a system turn after base (nil: nothing),
// prefilled PrefillChunk tokens a forward pass. The system turn holds as
// much of the corpus as o's budget allows: all of it, else whole files in
// path order and the start of the next (CorpusInContext). The error wraps
// ErrNoRoom when the window leaves no room for the system turn; ctx's
// error when it is cancelled.
func CorpusPrefix(ctx context.Context, m *model.Model, chat *Chat, base *Prefix, corpus *indexer.Corpus, o CorpusOptions) (*Prefix, error) {
	w := Window(m, o.Window)
	room := w - base.Len() - max(o.Reserve, 0)
	if room <= 0 {
		return nil, fmt.Errorf("answer: the %d-token window holds no corpus after a %d-token prefix and %d tokens kept for a question: %w",
			w, base.Len(), o.Reserve, ErrNoRoom)
	}
	budget := room
	if o.Tokens > 0 {
		budget = min(budget, o.Tokens)
	}
	ic, err := CorpusInContext(chat, corpus, budget)
	if err != nil {
		return nil, err
	}
	cache, err := base.NewCache(m, len(ic.Tokens))
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := prefill(ctx, m, cache, ic.Tokens, o.Progress); err != nil {
		return nil, err
	}
	p := &Prefix{Source: SourceInContext, InContext: ic, Prefill: time.Since(t0)}
	if base != nil {
		p.Cartridge = base.Cartridge
	}
	p.k, p.v = cache.SeqKV(0)
	p.N = cache.Len(0)
	return p, nil
}

// prefill appends tokens to cache's sequence 0, PrefillChunk a forward
// pass.
func prefill(ctx context.Context, m *model.Model, cache *model.KVCache, tokens []int, progress func(done, total int)) error {
	for i := 0; i < len(tokens); i += PrefillChunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(i+PrefillChunk, len(tokens))
		if _, err := m.Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: tokens[i:end], Logits: model.LogitsNone}}); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("answer: prefilling the corpus: %w", err)
		}
		if progress != nil {
			progress(end, len(tokens))
		}
	}
	return nil
}
