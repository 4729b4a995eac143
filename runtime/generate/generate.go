// Package generate owns the decoding loop: prompt tokens in, a stream of
// sampled tokens (and their text) out, with stop conditions and timings.
package generate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/sample"
	"github.com/cartlsp/cartlsp/runtime/tokenizer"
)

// Options configure one generation.
type Options struct {
	MaxTokens   int           // most new tokens; ≤ 0 means up to the cache's room
	Sample      sample.Params // temperature 0 = greedy
	StopTokens  []int         // extra stop ids (end-of-generation tokens always stop)
	StopStrings []string      // stop when the text contains one (it is cut off)
	// StopRepeats, when > 0, stops when a line of at least this many
	// bytes (without surrounding white space) repeats an earlier line of
	// the text: a small model's answer that starts looping ends there, after
	// the first repeated line.
	StopRepeats int
}

// StopReason says why generation ended.
type StopReason string

const (
	StopEOG       StopReason = "eog"       // the model ended its turn
	StopToken     StopReason = "stop"      // a stop token or string
	StopMaxTokens StopReason = "length"    // MaxTokens reached
	StopContext   StopReason = "context"   // the cache is full
	StopCancelled StopReason = "cancelled" // ctx was cancelled
	StopRepeat    StopReason = "repeat"    // a line repeated an earlier one (Options.StopRepeats)
)

// Result summarises a generation.
type Result struct {
	Tokens       []int
	Text         string
	Reason       StopReason
	PromptTokens int
	Prefill      time.Duration
	Decode       time.Duration // from the first new token to the last
}

// DecodeRate is generated tokens per second after the first token.
func (r Result) DecodeRate() float64 {
	if len(r.Tokens) < 2 || r.Decode <= 0 {
		return 0
	}
	return float64(len(r.Tokens)-1) / r.Decode.Seconds()
}

// PrefillRate is prompt tokens per second.
func (r Result) PrefillRate() float64 {
	if r.Prefill <= 0 {
		return 0
	}
	return float64(r.PromptTokens) / r.Prefill.Seconds()
}

// Run appends prompt to sequence seq of cache and samples up to
// o.MaxTokens tokens, calling onText with each piece of complete UTF-8 text
// as it is decided (nil to skip). A cancelled ctx ends generation cleanly:
// the Result so far is returned with Reason StopCancelled and a nil error.
func Run(ctx context.Context, m *model.Model, tok *tokenizer.Tokenizer, cache *model.KVCache, seq int,
	prompt []int, o Options, onText func(string) error) (Result, error) {
	res := Result{PromptTokens: len(prompt)}
	if len(prompt) == 0 {
		return res, errors.New("generate: empty prompt")
	}
	room := cache.MaxLen() - cache.Len(seq) - len(prompt)
	if room < 1 {
		return res, fmt.Errorf("generate: the prompt (%d tokens) does not fit the context (%d tokens, %d used)",
			len(prompt), cache.MaxLen(), cache.Len(seq))
	}
	limit := o.MaxTokens
	if limit <= 0 || limit > room {
		limit = room
	}
	sampler := sample.New(o.Sample)
	stops := make(map[int]bool, len(o.StopTokens))
	for _, id := range o.StopTokens {
		stops[id] = true
	}
	dec := tok.NewDecoder()
	var text strings.Builder
	emitted := 0 // bytes of text already passed to onText
	lines := repeats{min: o.StopRepeats}

	t0 := time.Now()
	logits, err := m.Forward(ctx, cache, model.Batch{{Seq: seq, Tokens: prompt, Logits: model.LogitsLast}})
	if err != nil {
		if ctx.Err() != nil {
			res.Reason = StopCancelled
			return res, nil
		}
		return res, err
	}
	res.Prefill = time.Since(t0)
	t1 := time.Now()
	res.Reason = StopMaxTokens
	for len(res.Tokens) < limit {
		if i := badLogit(logits); i >= 0 {
			return res, fmt.Errorf("%w: after %d tokens the logit of token %d is %v: the model file or the Cartridge holds numbers the forward pass cannot use (check them with cartlsp model info and cartlsp inspect --verify)",
				ErrNumerical, len(res.Tokens), i, logits[i])
		}
		id := sampler.Sample(logits)
		if tok.IsEOG(id) {
			res.Reason = StopEOG
			break
		}
		if stops[id] {
			res.Reason = StopToken
			break
		}
		res.Tokens = append(res.Tokens, id)
		text.WriteString(dec.Push(id))
		full := text.String()
		// A stop string cannot start inside text already emitted (held-back
		// text covers any partial match), so search only the new part.
		cut, hit := cutStop(full, emitted, o.StopStrings)
		// Hold back text that could be the start of a stop string.
		safe := len(cut)
		if !hit {
			safe = len(cut) - holdBack(cut, o.StopStrings)
		}
		if onText != nil && safe > emitted {
			if err := onText(cut[emitted:safe]); err != nil {
				return res, err
			}
			emitted = safe
		}
		if hit {
			res.Reason = StopToken
			text.Reset()
			text.WriteString(cut)
			break
		}
		if lines.repeated(full) {
			res.Reason = StopRepeat
			break
		}
		if len(res.Tokens) == limit {
			if cache.Len(seq) >= cache.MaxLen() {
				res.Reason = StopContext
			}
			break
		}
		if ctx.Err() != nil {
			res.Reason = StopCancelled
			break
		}
		logits, err = m.Forward(ctx, cache, model.Batch{{Seq: seq, Tokens: []int{id}, Logits: model.LogitsLast}})
		if err != nil {
			if ctx.Err() != nil {
				res.Reason = StopCancelled
				break
			}
			return res, err
		}
	}
	res.Decode = time.Since(t1)
	if res.Reason != StopToken {
		text.WriteString(dec.Flush())
	}
	res.Text = text.String()
	if onText != nil && len(res.Text) > emitted {
		if err := onText(res.Text[emitted:]); err != nil {
			return res, err
		}
	}
	return res, nil
}

// cutStop returns s cut before the first stop string that starts at or
// after from, and whether one was found.
func cutStop(s string, from int, stops []string) (string, bool) {
	at := -1
	for _, st := range stops {
		if st == "" {
			continue
		}
		if i := strings.Index(s[from:], st); i >= 0 && (at < 0 || from+i < at) {
			at = from + i
		}
	}
	if at < 0 {
		return s, false
	}
	return s[:at], true
}

// holdBack is the length of the longest suffix of s that is a proper prefix
// of a stop string.
func holdBack(s string, stops []string) int {
	best := 0
	for _, st := range stops {
		for n := min(len(st)-1, len(s)); n > best; n-- {
			if strings.HasSuffix(s, st[:n]) {
				best = n
				break
			}
		}
	}
	return best
}

// repeats finds a completed line that repeats an earlier one.
type repeats struct {
	min  int
	from int // the start of the line not yet complete
	seen map[string]bool
}

// repeated looks at the lines of text completed since the last call.
func (r *repeats) repeated(text string) bool {
	if r.min <= 0 {
		return false
	}
	for {
		i := strings.IndexByte(text[r.from:], '\n')
		if i < 0 {
			return false
		}
		line := strings.TrimSpace(text[r.from : r.from+i])
		r.from += i + 1
		if len(line) < r.min {
			continue
		}
		if r.seen[line] {
			return true
		}
		if r.seen == nil {
			r.seen = map[string]bool{}
		}
		r.seen[line] = true
	}
}

// ErrNumerical says a forward pass produced NaN or infinite logits: nothing
// decoded from them would mean anything, so generation stops with an error
// rather than an empty answer.
var ErrNumerical = errors.New("numerical fault")

// badLogit is the index of the first NaN or infinite logit, or -1.
func badLogit(logits []float32) int {
	for i, v := range logits {
		if v != v || v > math.MaxFloat32 || v < -math.MaxFloat32 {
			return i
		}
	}
	return -1
}
