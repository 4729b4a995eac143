package answer

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cartlsp/cartlsp/indexer"
)

// iclPrefix is the corpus in a system turn, whole or truncated to fit a
// budget.
type iclPrefix struct {
	tokens       []int // the system turn
	corpusTokens int   // tokens the corpus text adds to the system turn
	wholeFiles   int   // files kept whole
	cutFile      string
	truncated    bool
}

// systemTurn is the tokens of the system turn holding text.
func systemTurn(chat *Chat, text string) ([]int, error) {
	t, err := chat.System(SystemPrompt(text))
	if err != nil {
		return nil, fmt.Errorf("answer: system turn: %w", err)
	}
	return t, nil
}

// corpusPrefix is the whole corpus in a system turn.
func corpusPrefix(chat *Chat, c *indexer.Corpus) (*iclPrefix, error) {
	toks, err := systemTurn(chat, c.Render())
	if err != nil {
		return nil, err
	}
	empty, err := systemTurn(chat, "")
	if err != nil {
		return nil, err
	}
	return &iclPrefix{tokens: toks, corpusTokens: len(toks) - len(empty), wholeFiles: len(c.Files)}, nil
}

// fitICL returns full when it holds at most budget tokens; otherwise the
// corpus truncated to fit: whole files in their (lexical) order while they
// fit, then the next file cut at a token boundary.
func fitICL(chat *Chat, c *indexer.Corpus, full *iclPrefix, budget int) (*iclPrefix, error) {
	if len(full.tokens) <= budget {
		return full, nil
	}
	tok := chat.Tokenizer()
	var head string
	if c.Description != "" {
		head = c.Description + "\n\n"
	}
	docs := make([]string, len(c.Files))
	for i, f := range c.Files {
		docs[i] = indexer.Document(f)
	}
	render := func(k int, part string) string {
		var b strings.Builder
		b.WriteString(head)
		for _, d := range docs[:k] {
			b.WriteString(d)
		}
		b.WriteString(part)
		return b.String()
	}
	empty, err := systemTurn(chat, "")
	if err != nil {
		return nil, err
	}
	base, err := systemTurn(chat, head)
	if err != nil {
		return nil, err
	}
	if len(base) >= budget {
		return nil, fmt.Errorf("the context window leaves %d tokens for the corpus's system turn, which alone takes %d; "+
			"use a larger window or shorter questions: %w", budget, len(base), ErrNoRoom)
	}
	// Whole files while their tokens, counted one by one, fit; then the
	// exact count of the joined text, dropping files if joining added some.
	used, k := len(base), 0
	for k < len(docs) {
		d := len(tok.Encode(docs[k], true))
		if used+d > budget {
			break
		}
		used += d
		k++
	}
	toks, err := systemTurn(chat, render(k, ""))
	if err != nil {
		return nil, err
	}
	for len(toks) > budget && k > 0 {
		k--
		if toks, err = systemTurn(chat, render(k, "")); err != nil {
			return nil, err
		}
	}
	ip := &iclPrefix{tokens: toks, wholeFiles: k, truncated: true}
	// The next file, cut at a token boundary where the rest of the room ends.
	if k < len(docs) && len(toks) < budget {
		ids := tok.Encode(docs[k], true)
		for cut := min(budget-len(toks), len(ids)); cut > 0; {
			part := validPrefix(tok.Decode(ids[:cut]))
			t, err := systemTurn(chat, render(k, part))
			if err != nil {
				return nil, err
			}
			if len(t) <= budget {
				if part != "" {
					ip.tokens, ip.cutFile = t, c.Files[k].Path
				}
				break
			}
			cut -= max(1, len(t)-budget)
		}
	}
	ip.corpusTokens = len(ip.tokens) - len(empty)
	return ip, nil
}

// validPrefix drops an incomplete UTF-8 sequence at the end of s (a cut
// inside a character's bytes).
func validPrefix(s string) string {
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if r != utf8.RuneError || size != 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}

// InContext is a corpus in a system turn, for answering with the corpus in
// context (the language server before a Cartridge exists; the ICL
// condition of cartlsp eval).
type InContext struct {
	Tokens       []int // the system turn
	CorpusTokens int   // corpus tokens kept
	FullTokens   int   // corpus tokens of the whole corpus
	Files        int   // files in the corpus
	WholeFiles   int   // files kept whole
	CutFile      string
	Truncated    bool
}

// CorpusInContext is the corpus in a system turn of at most budget tokens:
// whole when it fits, else whole files in path order and the next one cut.
func CorpusInContext(chat *Chat, c *indexer.Corpus, budget int) (*InContext, error) {
	full, err := corpusPrefix(chat, c)
	if err != nil {
		return nil, err
	}
	ip, err := fitICL(chat, c, full, budget)
	if err != nil {
		return nil, err
	}
	return &InContext{Tokens: ip.tokens, CorpusTokens: ip.corpusTokens, FullTokens: full.corpusTokens,
		Files: len(c.Files), WholeFiles: ip.wholeFiles, CutFile: ip.cutFile, Truncated: ip.truncated}, nil
}

// Note says how much of the corpus is in context.
func (ic *InContext) Note() string {
	if !ic.Truncated {
		return fmt.Sprintf("the whole corpus is in context (%d tokens in %d files)", ic.CorpusTokens, ic.Files)
	}
	kept := fmt.Sprintf("%d of %d files whole", ic.WholeFiles, ic.Files)
	if ic.CutFile != "" {
		kept += " and the start of " + ic.CutFile
	}
	pct := 0.0
	if ic.FullTokens > 0 {
		pct = 100 * float64(ic.CorpusTokens) / float64(ic.FullTokens)
	}
	return fmt.Sprintf("the corpus is truncated to fit: %d of its %d tokens (%.1f%%) are in context: %s", ic.CorpusTokens, ic.FullTokens, pct, kept)
}
