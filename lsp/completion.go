package lsp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/generate"
	"github.com/cartlsp/cartlsp/runtime/model"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// completer runs completions: a new one cancels the one in flight
// (cancel-previous), and the cache of the last one is kept so that the
// next, usually the same document a few keystrokes later, prefills only
// the tokens that changed.
type completer struct {
	mu     sync.Mutex
	cancel context.CancelFunc // the completion in flight
	seq    uint64

	cacheMu sync.Mutex // one completion decodes at a time
	cache   *model.KVCache
	pre     *prefix // what cache holds first
	toks    []int   // the document tokens cache holds after pre
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
	text string // what replaces the word or the white space before the position
	word string // the identifier characters before the position
	// space is the white space before the position when there is no word:
	// the prompt ends before it (a prompt ending in white space makes the
	// model repeat it) and text, holding the model's own, replaces it.
	space  string
	source string
	commit string
	took   time.Duration
}

// errBlockEnd stops a generation at the end of the line or block.
var errBlockEnd = errors.New("end of the completion")

// continueAt continues the document at pos: the rest of the line, or with
// block the rest of the block. It answers with what it has when the latency
// budget is spent, and with nothing when a newer completion superseded it.
func (s *Server) continueAt(ctx context.Context, u uri.URI, pos protocol.Position, block bool) (*continuation, error) {
	t0 := time.Now()
	ctx, done := s.comp.start(ctx)
	defer done()
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
	before, cur, word, space := splitCursor(text[:off])
	out := &continuation{word: word, space: space}

	// The prefix (a Cartridge, or the corpus in context) is built in the
	// background when it is not ready: a completion never waits for it.
	spec, err := ss.spec(ctx)
	if err != nil {
		return nil, err
	}
	pre, ok := ss.eng.readyPrefix(ctx, spec)
	if !ok {
		go s.warm(ss.eng, spec)
		return out, nil
	}
	out.source, out.commit = pre.source, pre.commit
	cfg := ss.cfg.Completion
	budget, cancel := context.WithTimeout(ctx, time.Duration(cfg.LatencyMs)*time.Millisecond)
	defer cancel()

	tok := ss.eng.l.Tokenizer
	ids := tok.Encode(contextWindow(before, cfg.ContextTokens), false)
	if len(ids) > cfg.ContextTokens {
		ids = ids[len(ids)-cfg.ContextTokens:]
	}
	if len(ids) == 0 {
		return out, nil
	}
	var b strings.Builder
	stop := lineStop(cur, block, !isMarkdown(u))
	defer s.prio.hold()()
	_, err = s.comp.generate(budget, ss.eng, pre, ids, cfg.MaxTokens, func(piece string) error {
		b.WriteString(piece)
		if t, end := stop(b.String()); end {
			b.Reset()
			b.WriteString(t)
			return errBlockEnd
		}
		return nil
	})
	if err != nil && !errors.Is(err, errBlockEnd) {
		return nil, err
	}
	if ctx.Err() != nil {
		return &continuation{word: out.word, space: out.space}, nil // superseded or cancelled: nothing to show
	}
	t, _ := stop(b.String())
	out.text = strings.TrimRight(t, " \t\r\n")
	if strings.TrimSpace(out.text) == "" {
		out.text = ""
	}
	if !block {
		if i := strings.IndexByte(out.text, '\n'); i >= 0 {
			out.text = out.text[:i]
		}
	}
	out.took = time.Since(t0)
	return out, nil
}

// generate continues ids after pre, reusing the cache of the last
// completion for their common start.
func (c *completer) generate(ctx context.Context, eng *engine, pre *prefix, ids []int, maxTokens int, onText func(string) error) (generate.Result, error) {
	c.cacheMu.Lock()
	defer c.cacheMu.Unlock()
	keep := 0
	n := pre.Len()
	if c.cache != nil && c.pre == pre && c.cache.MaxLen() >= n+len(ids)+maxTokens+1 {
		for keep < len(ids) && keep < len(c.toks) && ids[keep] == c.toks[keep] {
			keep++
		}
		keep = min(keep, len(ids)-1) // the last token is fed again for its logits
		c.cache.Truncate(0, n+keep)
	} else {
		cache, err := pre.NewCache(eng.model(), 2*len(ids)+maxTokens+64)
		if err != nil {
			return generate.Result{}, err
		}
		c.cache, c.pre = cache, pre
	}
	c.toks = ids[:keep]
	res, err := generate.Run(ctx, eng.model(), eng.l.Tokenizer, c.cache, 0, ids[keep:], generate.Options{MaxTokens: maxTokens}, onText)
	if c.cache.Len(0) >= n+len(ids) {
		c.cache.Truncate(0, n+len(ids))
		c.toks = append([]int(nil), ids...)
	} else {
		// The prompt did not go in whole (cancelled during prefill): keep what is known.
		c.cache.Truncate(0, n+keep)
	}
	return res, err
}

// splitCursor splits the text before the cursor into the prompt (without
// the white space that ends it, when no word does), the prompt's last line,
// the word before the cursor and that white space.
func splitCursor(before string) (prompt, line, word, space string) {
	cur := before[strings.LastIndexByte(before, '\n')+1:]
	word = wordBefore(cur)
	if word == "" {
		space = cur[len(strings.TrimRight(cur, " \t")):]
	}
	return before[:len(before)-len(space)], cur[:len(cur)-len(space)], word, space
}

// contextWindow is the end of before that a completion sees: about
// tokens·4 bytes, starting at a line start that moves in steps of 1 KiB so
// that the next keystroke's window starts at the same place (and reuses
// the cache).
func contextWindow(before string, tokens int) string {
	window := tokens * 4
	if len(before) <= window {
		return before
	}
	const stride = 1024
	start := (len(before) - window + stride - 1) / stride * stride
	if i := strings.IndexByte(before[start:], '\n'); i >= 0 && start+i+1 < len(before) {
		start += i + 1
	}
	return before[start:]
}

// lineStop returns the rule that ends a completion of the line that begins
// with prefix: at the end of the line, or with block at the end of the block
// (a blank line, a line indented less than the completed line, eight
// lines, or — with fences — a Markdown fence, which a model that saw the
// corpus as Markdown may write). It returns the text to keep and whether
// the completion has ended.
func lineStop(prefix string, block, fences bool) func(string) (string, bool) {
	return func(t string) (string, bool) {
		lines := strings.Split(t, "\n")
		if !block {
			if len(lines) > 1 {
				return lines[0], true
			}
			return t, false
		}
		indent := indentOf(prefix + lines[0])
		// Only lines followed by a newline are complete; the first is the
		// rest of the cursor's line.
		for i := 1; i < len(lines); i++ {
			l := lines[i]
			fence := fences && strings.HasPrefix(strings.TrimSpace(l), "```")
			if fence || i < len(lines)-1 && (strings.TrimSpace(l) == "" || indentOf(l) < indent || i >= 8) {
				return strings.Join(lines[:i], "\n"), true
			}
		}
		return t, false
	}
}

// isMarkdown says whether a document is Markdown (where a fence is text).
func isMarkdown(u uri.URI) bool {
	p := strings.ToLower(string(u))
	return strings.HasSuffix(p, ".md") || strings.HasSuffix(p, ".markdown")
}

// indentOf is the width of a line's leading white space (a tab counts 4).
func indentOf(line string) int {
	n := 0
	for _, r := range line {
		switch r {
		case ' ':
			n++
		case '\t':
			n += 4
		default:
			return n
		}
	}
	return n
}

// wordBefore is the identifier that ends the line text.
func wordBefore(line string) string {
	i := len(line)
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(line[:i])
		if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			break
		}
		i -= size
	}
	return line[i:]
}

// Completion offers the rest of the line as one item.
// completes reports whether completions are on for the document:
// completion.enable, and its language not in completion.disabledLanguages.
func (s *Server) completes(u uri.URI) bool {
	c := s.config().Completion
	return c.Enable && !slices.Contains(c.DisabledLanguages, s.docs.language(u))
}

func (s *Server) Completion(ctx context.Context, p *protocol.CompletionParams) (protocol.CompletionResult, error) {
	if !s.completes(p.TextDocument.URI) {
		return &protocol.CompletionList{Items: []protocol.CompletionItem{}}, nil
	}
	c, err := s.continueAt(ctx, p.TextDocument.URI, p.Position, false)
	if err != nil {
		return nil, err
	}
	list := &protocol.CompletionList{IsIncomplete: true, Items: []protocol.CompletionItem{}}
	if strings.TrimSpace(c.text) == "" {
		return list, nil
	}
	insert := c.word + c.text
	start := p.Position
	start.Character -= utf16Len(c.word) + utf16Len(c.space)
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
	c, err := s.continueAt(ctx, p.TextDocument.URI, p.Position, true)
	if err != nil {
		return nil, err
	}
	list := &protocol.InlineCompletionList{Items: []protocol.InlineCompletionItem{}}
	if c.text != "" {
		start := p.Position
		start.Character -= utf16Len(c.space)
		list.Items = append(list.Items, protocol.InlineCompletionItem{
			InsertText: protocol.String(c.text),
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
