package lsp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/modelfile"
)

// Where an answer's context comes from, as status and answers say it.
const (
	sourceCartridge = string(answer.SourceCartridge) // the repository's Cartridge (and the dependency Cartridges)
	sourceInContext = string(answer.SourceInContext) // the corpus in the prompt, before the first Cartridge exists
	sourceNone      = string(answer.SourceNone)      // the model alone (dependency Cartridges only, if any)
)

// engine is a loaded model and the prefix answers decode after. Requests
// hold it (acquire/release) so that a configuration change can load another
// model and close this one once its last request is done.
type engine struct {
	l    *modelfile.Loaded
	chat *answer.Chat
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
	chat, err := answer.NewChat(l.Tokenizer)
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
	deps      []string // dependency Cartridge files
	depNames  []string // their names for answers (module@version or the file)
	cartridge string   // the repository's Cartridge file ("" when there is none yet)
	commit    string   // the commit it (or the corpus) was made from
	// corpus, when there is no Cartridge, loads the corpus to put in
	// context (nil: none); inContextTokens bounds it, and reserve is the
	// room the window keeps after it for a request (answer.CorpusOptions).
	corpus          func(ctx context.Context) (*indexer.Corpus, error)
	inContextTokens int
	reserve         int
	filter          string // the corpus filter, as it keys the prefix
	why             string // why there is no Cartridge, for the answer's note
	// sources loads the files answers cite (the commit's or the
	// directory's; nil: none), whose paths are relative to root.
	sources func(ctx context.Context) (*indexer.Corpus, error)
	root    string
}

func (s contextSpec) id() string {
	src := "none"
	switch {
	case s.cartridge != "":
		src = "cart:" + s.cartridge
	case s.corpus != nil && s.inContextTokens > 0:
		src = fmt.Sprintf("icl:%s:%d:%d:%s", s.commit, s.inContextTokens, s.reserve, s.filter)
	}
	return strings.Join(s.deps, "\x00") + "\x01" + src
}

// prefix is what answers decode after (nil Prefix: nothing) and where it
// comes from.
type prefix struct {
	*answer.Prefix
	id                      string
	source                  string // source*: a dependency Cartridge alone is "none"
	dependencies            []string
	commit, cartridge, note string

	// The files answers cite (contextSpec.sources, under root), indexed
	// on the first answer that needs them.
	sources   func(ctx context.Context) (*indexer.Corpus, error)
	root      string
	declsOnce sync.Once
	decls     answer.Declarations
}

// declarations are the names the prefix's files declare (none when it has
// no files, or they cannot be read).
func (p *prefix) declarations(ctx context.Context) answer.Declarations {
	p.declsOnce.Do(func() {
		if p.sources == nil {
			return
		}
		// Not the first asker's cancellation: the index serves every answer after it.
		c, err := p.sources(context.WithoutCancel(ctx))
		if err != nil {
			return
		}
		p.decls = answer.IndexDeclarations(c)
	})
	return p.decls
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
	p := &prefix{source: sourceNone, commit: spec.commit, dependencies: spec.depNames, sources: spec.sources, root: spec.root}
	files := spec.deps
	if spec.cartridge != "" {
		files = append(files[:len(files):len(files)], spec.cartridge)
	}
	if len(files) > 0 {
		c, err := answer.LoadCartridges(e.model(), files...)
		if err != nil {
			return nil, err
		}
		p.Prefix = c
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
	if e.onPrefill != nil {
		e.onPrefill(ctx)
	}
	ic, err := answer.CorpusPrefix(ctx, e.model(), e.chat, p.Prefix, corpus,
		answer.CorpusOptions{Tokens: spec.inContextTokens, Reserve: spec.reserve})
	if errors.Is(err, answer.ErrNoRoom) {
		p.note = strings.TrimSpace(spec.why + " The corpus cannot be put in context: " + err.Error() + ".")
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	p.Prefix = ic
	p.source = sourceInContext
	p.note = strings.TrimSpace(spec.why + " " + "Answering with the corpus in context: " + ic.InContext.Note() + ".")
	return p, nil
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
