package generate

import (
	"context"

	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/tokenizer"
)

// Chat is a conversation with the model in its chat template. Each turn
// re-encodes the whole conversation and the cache keeps the longest common
// prefix with what it already holds, so earlier turns are not recomputed.
type Chat struct {
	m      *model.Model
	tok    *tokenizer.Tokenizer
	cache  *model.KVCache
	cached []int // the tokens held in the cache
	msgs   []tokenizer.Message
}

// NewChat starts a conversation in a cache of ctxLen tokens; a non-empty
// system replaces the chat template's own system message.
func NewChat(m *model.Model, tok *tokenizer.Tokenizer, ctxLen int, system string) *Chat {
	c := &Chat{m: m, tok: tok, cache: m.NewCache(1, ctxLen)}
	if system != "" {
		c.msgs = append(c.msgs, tokenizer.Message{Role: "system", Content: system})
	}
	return c
}

// Say adds the user's message, streams the answer to onText and adds it to
// the conversation (a cancelled answer too, as far as it got).
func (c *Chat) Say(ctx context.Context, user string, o Options, onText func(string) error) (Result, error) {
	c.msgs = append(c.msgs, tokenizer.Message{Role: "user", Content: user})
	prompt, err := c.tok.ApplyChat(c.msgs, true)
	if err != nil {
		return Result{}, err
	}
	ids := c.tok.Encode(prompt, true)
	keep := commonPrefix(c.cached, ids)
	if keep == len(ids) { // always feed at least one token to get logits
		keep--
	}
	c.cache.Truncate(0, keep)
	c.cached = c.cached[:keep]
	res, err := Run(ctx, c.m, c.tok, c.cache, 0, ids[keep:], o, onText)
	if err != nil {
		return res, err
	}
	c.cached = append(append(c.cached, ids[keep:]...), res.Tokens...)
	// The cache holds what was fed; the last sampled token was never fed.
	c.cached = c.cached[:c.cache.Len(0)]
	c.msgs = append(c.msgs, tokenizer.Message{Role: "assistant", Content: res.Text})
	return res, nil
}

func commonPrefix(a, b []int) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
