package lsp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/runtime/generate"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/modelfile"
	"github.com/cartlsp/cartlsp/trainer"
	"github.com/cartlsp/cartlsp/trainer/eval"
)

// Where an answer's context comes from.
const (
	sourceCartridge = "cartridge"  // the repository's Cartridge (and the dependency Cartridges)
	sourceInContext = "in-context" // the corpus in the prompt, before the first Cartridge exists
	sourceNone      = "none"       // the model alone (dependency Cartridges only, if any)
)

// engine is a loaded model and the prefix answers decode after. Requests
// hold it (acquire/release) so that a configuration change can load another
// model and close this one once its last request is done.
type engine struct {
	l    *modelfile.Loaded
	chat *trainer.Chat
	key  string // Config.modelKey it was loaded for
	cfg  Config // the configuration it was loaded with

	refMu   sync.Mutex
	users   int
	retired bool

	// base is the context prefixes are built under: a build outlives the
	// request that started it (the next one will want the same prefix).
	base     context.Context
	prefixMu sync.Mutex
	prefix   *prefix                 // the last one built
	building map[string]*prefixBuild // in flight, by spec id
	// onPrefill, a test hook, runs before the corpus is prefilled.
	onPrefill func(ctx context.Context)
}

// prefixBuild is a prefix being built; done is closed when p or err is set.
type prefixBuild struct {
	done chan struct{}
	p    *prefix
	err  error
}

func loadEngine(cfg Config) (*engine, error) {
	l, err := modelfile.Load(cfg.Model, cfg.Device, cfg.Threads)
	if err != nil {
		return nil, err
	}
	chat, err := trainer.NewChat(l.Tokenizer)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("model %s: %w", l.Path, err)
	}
	return &engine{l: l, chat: chat, key: cfg.modelKey(), cfg: cfg}, nil
}

func (e *engine) model() *model.Model { return e.l.Model }

// acquire marks a request using the engine; false when it is retired.
func (e *engine) acquire() bool {
	e.refMu.Lock()
	defer e.refMu.Unlock()
	if e.retired {
		return false
	}
	e.users++
	return true
}

func (e *engine) release() {
	e.refMu.Lock()
	defer e.refMu.Unlock()
	e.users--
	if e.retired && e.users == 0 {
		e.l.Close()
	}
}

// retire closes the engine once no request uses it.
func (e *engine) retire() {
	e.refMu.Lock()
	defer e.refMu.Unlock()
	if e.retired {
		return
	}
	e.retired = true
	if e.users == 0 {
		e.l.Close()
	}
}

// contextSpec says what goes before a prompt: the dependency Cartridges,
// then the repository's Cartridge, or else the corpus in context.
type contextSpec struct {
	deps      []string
	cartridge string // the repository's Cartridge file ("" when there is none yet)
	commit    string // the commit it (or the corpus) was made from
	// corpus, when there is no Cartridge, loads the corpus to put in
	// context (nil: none); inContextTokens bounds it.
	corpus          func(ctx context.Context) (*indexer.Corpus, error)
	inContextTokens int
	filter          string // the corpus filter, as it keys the prefix
	why             string // why there is no Cartridge, for the answer's note
}

func (s contextSpec) id() string {
	src := "none"
	switch {
	case s.cartridge != "":
		src = "cart:" + s.cartridge
	case s.corpus != nil && s.inContextTokens > 0:
		src = fmt.Sprintf("icl:%s:%d:%s", s.commit, s.inContextTokens, s.filter)
	}
	return strings.Join(s.deps, "\x00") + "\x01" + src
}

// prefix is the keys and values an answer decodes after.
type prefix struct {
	id                      string
	source                  string
	commit, cartridge, note string
	k, v                    [][]float32 // per layer, the cache's layout [n][kvDim]
	n                       int         // tokens (virtual tokens for a Cartridge)
}

// prefixFor returns the prefix spec describes: the one held, or one being
// built for the same spec (waited for), or a new build. Builds of different
// specs run side by side, so that a question with a Cartridge never waits
// for the corpus of the in-context fallback to be prefilled.
func (e *engine) prefixFor(ctx context.Context, spec contextSpec) (*prefix, error) {
	id := spec.id()
	e.prefixMu.Lock()
	if e.prefix != nil && e.prefix.id == id {
		p := e.prefix
		e.prefixMu.Unlock()
		return p, nil
	}
	b, ok := e.building[id]
	if !ok {
		if !e.acquire() { // the build holds the model until it ends
			e.prefixMu.Unlock()
			return nil, errors.New("the model was unloaded")
		}
		b = &prefixBuild{done: make(chan struct{})}
		if e.building == nil {
			e.building = map[string]*prefixBuild{}
		}
		e.building[id] = b
		go e.build(id, spec, b)
	}
	e.prefixMu.Unlock()
	select {
	case <-b.done:
		return b.p, b.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// build builds a prefix under the engine's base context and keeps it.
func (e *engine) build(id string, spec contextSpec, b *prefixBuild) {
	defer e.release()
	base := e.base
	if base == nil {
		base = context.Background()
	}
	p, err := e.buildPrefix(base, spec)
	e.prefixMu.Lock()
	delete(e.building, id)
	if err == nil {
		p.id = id
		e.prefix = p
	}
	e.prefixMu.Unlock()
	b.p, b.err = p, err
	close(b.done)
}

func (e *engine) buildPrefix(ctx context.Context, spec contextSpec) (*prefix, error) {
	fp := e.model().Fingerprint()
	p := &prefix{source: sourceNone, commit: spec.commit}
	files := spec.deps
	if spec.cartridge != "" {
		files = append(files[:len(files):len(files)], spec.cartridge)
	}
	if len(files) > 0 {
		c, err := cartridge.Load(fp, files...)
		if err != nil {
			return nil, err
		}
		p.k, p.v = c.CacheKV()
		p.n = c.Meta.P
	}
	if spec.cartridge != "" {
		p.source, p.cartridge = sourceCartridge, spec.cartridge
		return p, nil
	}
	p.note = spec.why
	if spec.corpus == nil || spec.inContextTokens <= 0 {
		return p, nil
	}
	corpus, err := spec.corpus(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the corpus to answer with it in context: %w", err)
	}
	ic, err := eval.CorpusInContext(e.chat, corpus, spec.inContextTokens)
	if err != nil {
		return nil, err
	}
	if e.onPrefill != nil {
		e.onPrefill(ctx)
	}
	cache := e.model().NewCache(1, p.n+len(ic.Tokens))
	if p.n > 0 {
		if err := cache.AppendKV(0, p.k, p.v); err != nil {
			return nil, err
		}
	}
	if _, err := e.model().Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: ic.Tokens, Logits: model.LogitsNone}}); err != nil {
		return nil, err
	}
	p.k, p.v = cache.SeqKV(0)
	p.n = cache.Len(0)
	p.source = sourceInContext
	p.note = strings.TrimSpace(spec.why + " " + "Answering with the corpus in context: " + ic.Note() + ".")
	return p, nil
}

// newCache is a cache holding the prefix with room for extra tokens.
func (e *engine) newCache(p *prefix, extra int) (*model.KVCache, error) {
	cache := e.model().NewCache(1, p.n+extra)
	if p.n > 0 {
		if err := cache.AppendKV(0, p.k, p.v); err != nil {
			return nil, err
		}
	}
	return cache, nil
}

// decode generates after the prefix and prompt.
func (e *engine) decode(ctx context.Context, p *prefix, prompt []int, o generate.Options, onText func(string) error) (generate.Result, error) {
	cache, err := e.newCache(p, len(prompt)+o.MaxTokens+1)
	if err != nil {
		return generate.Result{}, err
	}
	return generate.Run(ctx, e.model(), e.l.Tokenizer, cache, 0, prompt, o, onText)
}

// readyPrefix is the prefix spec describes when it is built (or cheap to
// build: Cartridge files only); false while it is being built or would
// need the corpus prefilled.
func (e *engine) readyPrefix(ctx context.Context, spec contextSpec) (*prefix, bool) {
	if spec.cartridge != "" || spec.corpus == nil || spec.inContextTokens <= 0 {
		p, err := e.prefixFor(ctx, spec)
		return p, err == nil
	}
	e.prefixMu.Lock()
	defer e.prefixMu.Unlock()
	if e.prefix != nil && e.prefix.id == spec.id() {
		return e.prefix, true
	}
	return nil, false
}
