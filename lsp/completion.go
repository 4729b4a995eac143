package lsp

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/indexer"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// completer runs completions: a new one cancels the one in flight
// (cancel-previous); answer.Completer keeps the cache of the last one.
type completer struct {
	mu     sync.Mutex
	cancel context.CancelFunc // the completion in flight
	seq    uint64

	answer.Completer
}

// start cancels the completion in flight and makes ctx this one's.
func (c *completer) start(ctx context.Context) (context.Context, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	c.seq++
	seq := c.seq
	c.cancel = cancel
	return ctx, func() {
		c.mu.Lock()
		if c.seq == seq {
			c.cancel = nil
		}
		c.mu.Unlock()
		cancel()
	}
}

// continuation is the model's continuation of a document at a position.
type continuation struct {
	answer.Completion
	source string
	commit string
	took   time.Duration
}

// continueAt continues the document at pos: the rest of the line, or with
// block the rest of the block. Requests the editor sent as you type
// (automatic) wait completion.debounceMs first, so that a burst of
// keystrokes runs the model once, for the last. It answers with what it
// has when the latency budget is spent, and with nothing when a newer
// completion superseded it.
func (s *Server) continueAt(ctx context.Context, u uri.URI, pos protocol.Position, block, automatic bool) (*continuation, error) {
	t0 := time.Now()
	ctx, done := s.comp.start(ctx)
	defer done()
	if d := time.Duration(s.config().Completion.DebounceMs) * time.Millisecond; automatic && d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return &continuation{}, nil // superseded while waiting
		}
	}
	ss, release, err := s.session(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	text, err := s.docs.text(u, s.workspaceDir())
	if err != nil {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, fmt.Sprintf("cartlsp: reading %s: %v", u, err))
	}
	off, err := offset(text, pos)
	if err != nil {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, "cartlsp: "+err.Error())
	}
	out := &continuation{} // empty until the model answers: the handlers offer nothing then

	cfg := ss.cfg.Completion
	// With completion.cartridge the completion decodes after the prefix
	// answers use (a Cartridge, or the corpus in context), built in the
	// background when it is not ready: a completion never waits for it.
	// Without (the default), after nothing: on the default model the
	// Cartridge made completions worse than the model alone with
	// fill-in-the-middle (docs/BENCHMARKS.md, "Completion").
	pre := &prefix{source: sourceNone}
	if cfg.Cartridge {
		spec, err := ss.spec(ctx)
		if err != nil {
			return nil, err
		}
		p, ok := ss.eng.readyPrefix(ctx, spec)
		if !ok {
			go s.warm(ss.eng, spec)
			return out, nil
		}
		pre = p
	}
	out.source, out.commit = pre.source, pre.commit
	budget, cancel := context.WithTimeout(ctx, time.Duration(cfg.LatencyMs)*time.Millisecond)
	defer cancel()
	o := answer.CompleteOptions{
		MaxTokens:     cfg.MaxTokens,
		ContextTokens: cfg.ContextTokens,
		Block:         block,
		Fences:        !isMarkdown(u),
		PromptTime:    time.Duration(cfg.PromptMs) * time.Millisecond,
	}
	if cfg.FIM && pre.Len() == 0 {
		// Not after a prefix: a Cartridge trained on conversations turns a
		// fill-in-the-middle prompt after it into chat (measured).
		o.SuffixTokens = cfg.SuffixTokens
	}
	defer s.prio.hold()()
	c, err := s.comp.Complete(budget, ss.eng.model(), ss.eng.l.Tokenizer, pre.Prefix, text[:off], text[off:], o)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return &continuation{}, nil // superseded or cancelled: nothing to show
	}
	out.Completion = c
	out.took = time.Since(t0)
	return out, nil
}

// isMarkdown says whether a document is Markdown (where a fence is text).
func isMarkdown(u uri.URI) bool {
	p := strings.ToLower(string(u))
	return strings.HasSuffix(p, ".md") || strings.HasSuffix(p, ".markdown")
}

// completes reports whether completions are on for the document:
// completion.enable, and its language not in completion.disabledLanguages.
func (s *Server) completes(u uri.URI) bool {
	c := s.config().Completion
	return c.Enable && !slices.Contains(c.DisabledLanguages, s.docs.language(u))
}

// Completion offers the rest of the line as one item.
func (s *Server) Completion(ctx context.Context, p *protocol.CompletionParams) (protocol.CompletionResult, error) {
	if !s.completes(p.TextDocument.URI) {
		return &protocol.CompletionList{Items: []protocol.CompletionItem{}}, nil
	}
	automatic := p.Context.TriggerKind == protocol.CompletionTriggerKindTriggerCharacter ||
		p.Context.TriggerKind == protocol.CompletionTriggerKindTriggerForIncompleteCompletions
	c, err := s.continueAt(ctx, p.TextDocument.URI, p.Position, false, automatic)
	if err != nil {
		return nil, err
	}
	list := &protocol.CompletionList{IsIncomplete: true, Items: []protocol.CompletionItem{}}
	if strings.TrimSpace(c.Text) == "" {
		return list, nil
	}
	insert := c.Word + c.Text
	start := p.Position
	start.Character -= utf16Len(c.Word) + utf16Len(c.Space)
	label := strings.TrimSpace(insert)
	if utf8.RuneCountInString(label) > 80 {
		label = string([]rune(label)[:79]) + "…"
	}
	list.Items = append(list.Items, protocol.CompletionItem{
		Label:      label,
		Kind:       protocol.CompletionItemKindText,
		Detail:     protocol.NewOptional(c.detail()),
		FilterText: protocol.NewOptional(insert),
		SortText:   protocol.NewOptional("0"),
		TextEdit:   &protocol.TextEdit{Range: protocol.Range{Start: start, End: p.Position}, NewText: insert},
	})
	return list, nil
}

// InlineCompletion (LSP 3.18) offers the rest of the block as ghost text.
func (s *Server) InlineCompletion(ctx context.Context, p *protocol.InlineCompletionParams) (protocol.InlineCompletionResult, error) {
	if !s.completes(p.TextDocument.URI) {
		return &protocol.InlineCompletionList{Items: []protocol.InlineCompletionItem{}}, nil
	}
	automatic := p.Context.TriggerKind == protocol.InlineCompletionTriggerKindAutomatic
	c, err := s.continueAt(ctx, p.TextDocument.URI, p.Position, true, automatic)
	if err != nil {
		return nil, err
	}
	list := &protocol.InlineCompletionList{Items: []protocol.InlineCompletionItem{}}
	if c.Text != "" {
		start := p.Position
		start.Character -= utf16Len(c.Space)
		list.Items = append(list.Items, protocol.InlineCompletionItem{
			InsertText: protocol.String(c.Text),
			Range:      &protocol.Range{Start: start, End: p.Position},
		})
	}
	return list, nil
}

func (c *continuation) detail() string {
	src := c.source
	if c.commit != "" {
		src += " @" + indexer.ShortHash(c.commit)
	}
	return fmt.Sprintf("cartlsp · %s · %d ms", src, c.took.Milliseconds())
}

func utf16Len(s string) uint32 {
	n := uint32(0)
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}
