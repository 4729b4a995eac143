package eval

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/tokenizer"
)

// CompletionCase is one held-out line: a document cut at a cursor inside a
// line, the rest of that line removed (as when it is being written), and
// that rest as the reference.
type CompletionCase struct {
	File   string `json:"file"`
	Line   int    `json:"line"` // 1-based
	Before string `json:"-"`    // the document up to the cursor
	After  string `json:"-"`    // from the end of the line on ("\n…")
	Want   string `json:"want"` // the rest of the line after the cursor
}

// minRest is the fewest non-space characters a case leaves to complete.
const minRest = 4

// CompletionCases draws n cases from files, the same for the same seed:
// lines with at least 8 non-space characters, a cursor drawn uniformly
// between the end of the line's indentation and minRest characters
// before its end (so the cursor is sometimes inside a word, as when
// typing), never at the very start of a file.
func CompletionCases(files []indexer.File, n int, seed uint64) []CompletionCase {
	type spot struct{ file, start, end, line int }
	var spots []spot
	for fi, f := range files {
		off := 0
		for i, l := range strings.SplitAfter(f.Text, "\n") {
			body := strings.TrimRight(l, "\r\n")
			if len(strings.Join(strings.Fields(body), "")) >= 8 {
				spots = append(spots, spot{fi, off, off + len(body), i + 1})
			}
			off += len(l)
		}
	}
	r := rand.New(rand.NewPCG(seed, 0x636f6d706c657465))
	r.Shuffle(len(spots), func(i, j int) { spots[i], spots[j] = spots[j], spots[i] })
	var out []CompletionCase
	for _, s := range spots {
		if len(out) == n {
			break
		}
		text := files[s.file].Text
		line := text[s.start:s.end]
		lo := len(line) - len(strings.TrimLeft(line, " \t"))
		hi := len(strings.TrimRight(line, " \t")) - minRest
		if hi < lo {
			continue
		}
		cur := lo + r.IntN(hi-lo+1)
		for cur > lo && !utf8.RuneStart(line[cur]) {
			cur--
		}
		if s.start+cur == 0 {
			continue // nothing before the cursor to complete from
		}
		out = append(out, CompletionCase{
			File: files[s.file].Path, Line: s.line,
			Before: text[:s.start+cur], After: text[s.end:], Want: line[cur:],
		})
	}
	return out
}

// CompletionCondition is one way of completing: after a prefix (nil: none),
// with or without the text after the cursor (fill-in-the-middle).
type CompletionCondition struct {
	Name   string
	Prefix *answer.Prefix
	FIM    bool
}

// CompletionOptions are the completions' sizes, as the server's
// completion.* settings give them (SuffixTokens applies to FIM
// conditions), and the latency budget a completion is cut at (0: none).
type CompletionOptions struct {
	answer.CompleteOptions
	Latency time.Duration
}

// CompletionResult is one case under one condition.
type CompletionResult struct {
	Case      int     `json:"case"`
	Got       string  `json:"got"`   // the rest of the line the completion gives
	Exact     bool    `json:"exact"` // Got == Want, white space at the ends aside
	EditSim   float64 `json:"edit_similarity"`
	NLL       float64 `json:"nll"` // of the reference's tokens, summed
	Tokens    int     `json:"tokens"`
	Cut       bool    `json:"cut"`                  // the latency budget ended it
	CutTokens int     `json:"cut_tokens,omitempty"` // PromptTime's cut: tokens of the text before the cursor, and with FIM after it
	PromptMs  float64 `json:"prompt_ms"`
	PredictMs float64 `json:"predict_ms"`
	TotalMs   float64 `json:"total_ms"`
}

// CompletionSummary is one condition over every case.
type CompletionSummary struct {
	Name        string             `json:"name"`
	Prefix      int                `json:"prefix_tokens"`
	FIM         bool               `json:"fim"`
	Cases       int                `json:"cases"`
	ExactMatch  float64            `json:"exact_match"`
	EditSim     float64            `json:"edit_similarity"`
	NLLPerToken float64            `json:"nll_per_token"`
	Empty       int                `json:"empty"`      // completions that offered nothing
	Cut         int                `json:"cut"`        // completions the latency budget ended
	PromptCut   int                `json:"prompt_cut"` // prompts PromptTime cut
	CutTokens   float64            `json:"cut_tokens"` // mean tokens cut from those
	TotalP50    float64            `json:"total_ms_p50"`
	TotalP95    float64            `json:"total_ms_p95"`
	PromptP50   float64            `json:"prompt_ms_p50"`
	PromptP95   float64            `json:"prompt_ms_p95"`
	PredictP50  float64            `json:"predict_ms_p50"`
	PredictP95  float64            `json:"predict_ms_p95"`
	Results     []CompletionResult `json:"results"`
}

// RunCompletion completes every case under every condition as the server
// does (answer.Completer, a fresh cache per case: the first suggestion of a
// typing run) and scores the reference's tokens after the same prompt.
func RunCompletion(ctx context.Context, m *model.Model, tok *tokenizer.Tokenizer, cases []CompletionCase,
	conds []CompletionCondition, o CompletionOptions, progress func(done, total int)) ([]CompletionSummary, error) {
	var out []CompletionSummary
	total := len(cases) * len(conds)
	for ci, c := range conds {
		sum := CompletionSummary{Name: c.Name, Prefix: c.Prefix.Len(), FIM: c.FIM, Cases: len(cases)}
		co := o.CompleteOptions
		if !c.FIM {
			co.SuffixTokens = 0
		}
		var nll float64
		var toks int
		// One Completer per condition, its cache forgotten before each case
		// but its prefill rate kept (PromptTime needs it): measured first on
		// the first case, untimed.
		var comp answer.Completer
		if co.PromptTime > 0 && len(cases) > 0 {
			if _, err := comp.Complete(ctx, m, tok, c.Prefix, cases[0].Before, cases[0].After, co); err != nil {
				return nil, err
			}
		}
		for i, k := range cases {
			comp.Forget()
			r, err := completeCase(ctx, m, tok, &comp, c.Prefix, k, co, o.Latency)
			if err != nil {
				return nil, fmt.Errorf("%s, %s:%d: %w", c.Name, k.File, k.Line, err)
			}
			r.Case = i
			sum.Results = append(sum.Results, r)
			nll += r.NLL
			toks += r.Tokens
			if progress != nil {
				progress(ci*len(cases)+i+1, total)
			}
		}
		summarize(&sum, nll, toks)
		out = append(out, sum)
	}
	return out, nil
}

func completeCase(ctx context.Context, m *model.Model, tok *tokenizer.Tokenizer, c *answer.Completer, pre *answer.Prefix,
	k CompletionCase, o answer.CompleteOptions, latency time.Duration) (CompletionResult, error) {
	var r CompletionResult
	cctx := ctx
	if latency > 0 {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(ctx, latency)
		defer cancel()
	}
	t0 := time.Now()
	got, err := c.Complete(cctx, m, tok, pre, k.Before, k.After, o)
	r.TotalMs = ms(time.Since(t0))
	if err != nil {
		return r, err
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	r.Cut = cctx.Err() != nil
	r.PromptMs, r.PredictMs = ms(got.Prefill), r.TotalMs-ms(got.Prefill)
	r.CutTokens = got.Cut + got.SuffixCut
	// The rest of the line the completion gives: Text continues Word, or
	// replaces Space (the white space before the cursor).
	r.Got = got.Text
	if got.Space != "" {
		r.Got = strings.TrimPrefix(got.Text, got.Space)
	}
	want := strings.TrimSpace(k.Want)
	r.Exact = strings.TrimSpace(r.Got) == want
	r.EditSim = editSimilarity(strings.TrimSpace(r.Got), want)

	// The reference's log-likelihood after the same prompt: its tokens as
	// they continue the prompt (the white space it dropped first).
	if got.PromptTokens == 0 {
		return r, nil
	}
	target := tok.Encode(got.Space+k.Want, false)
	if len(target) == 0 {
		return r, nil
	}
	if r.Cut || r.CutTokens > 0 {
		// Cut by the latency budget or PromptTime, the cache does not hold
		// the whole prompt: complete it again, uncut, to score after it
		// (the NLL measures the model, not the budget).
		c = &answer.Completer{}
		one := o
		one.MaxTokens, one.PromptTime = 1, 0
		if _, err := c.Complete(ctx, m, tok, pre, k.Before, k.After, one); err != nil {
			return r, err
		}
	}
	logits, err := c.LogitsAfter(ctx, m, target[:len(target)-1])
	if err != nil {
		return r, err
	}
	for j, id := range target {
		r.NLL -= logProb(logits[j*m.Vocab:(j+1)*m.Vocab], id)
	}
	r.Tokens = len(target)
	return r, nil
}

func summarize(s *CompletionSummary, nll float64, toks int) {
	var total, prompt, predict []float64
	exact, sim := 0, 0.0
	for _, r := range s.Results {
		if r.Exact {
			exact++
		}
		if strings.TrimSpace(r.Got) == "" {
			s.Empty++
		}
		if r.Cut {
			s.Cut++
		}
		if r.CutTokens > 0 {
			s.PromptCut++
			s.CutTokens += float64(r.CutTokens)
		}
		sim += r.EditSim
		total, prompt, predict = append(total, r.TotalMs), append(prompt, r.PromptMs), append(predict, r.PredictMs)
	}
	if n := len(s.Results); n > 0 {
		s.ExactMatch, s.EditSim = float64(exact)/float64(n), sim/float64(n)
	}
	if s.PromptCut > 0 {
		s.CutTokens /= float64(s.PromptCut)
	}
	if toks > 0 {
		s.NLLPerToken = nll / float64(toks)
	}
	s.TotalP50, s.TotalP95 = percentile(total, 50), percentile(total, 95)
	s.PromptP50, s.PromptP95 = percentile(prompt, 50), percentile(prompt, 95)
	s.PredictP50, s.PredictP95 = percentile(predict, 50), percentile(predict, 95)
}

// percentile is the q-th percentile of xs, interpolated between ranks.
func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := q / 100 * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// editSimilarity is 1 − Levenshtein distance / the longer length, over
// runes (1 for two empty strings).
func editSimilarity(a, b string) float64 {
	n := max(utf8.RuneCountInString(a), utf8.RuneCountInString(b))
	if n == 0 {
		return 1
	}
	return 1 - float64(EditDistance(a, b))/float64(n)
}

// EditDistance is the Levenshtein distance between a and b, over runes.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
