// Package eval measures how well a model answers questions about a corpus
// with and without a Cartridge: on one question set it compares
// conditions — no context, the corpus in the prompt (ICL), a Cartridge
// trained by self-study and one trained by next-token prediction — by the
// negative log-likelihood of the reference answers, multiple-choice accuracy
// by log-likelihood over the answer and its distractors, greedy generated
// answers, the KV memory of each condition's prefix and its decode speed.
//
// Prefixes, prompts and generated answers come from package answer, as the
// language server's do: the generated answers are what an editor gets.
package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/runtime/model"
)

// Kind is what a condition puts in the KV cache before each question.
type Kind string

const (
	KindNone      Kind = "none"      // nothing: the question starts the conversation
	KindICL       Kind = "icl"       // the corpus in a system turn (in-context learning)
	KindCartridge Kind = "cartridge" // a Cartridge's keys and values
)

// Condition is one way of answering, named in the report.
type Condition struct {
	Name      string // "none", "icl", "cartridge", "ntp", …
	Kind      Kind
	Cartridge *cartridge.Cartridge // KindCartridge: the Cartridge, loaded for the model
	Source    string               // KindCartridge: where it came from (its file), for the report
}

// None is the condition without context.
func None() Condition { return Condition{Name: "none", Kind: KindNone} }

// ICL is the condition with the corpus (Options.Corpus) in a system turn.
func ICL() Condition { return Condition{Name: "icl", Kind: KindICL} }

// WithCartridge is a condition that decodes after Cartridge c, labelled name
// ("cartridge" for self-study, "ntp" for next-token prediction).
func WithCartridge(name, source string, c *cartridge.Cartridge) Condition {
	return Condition{Name: name, Kind: KindCartridge, Cartridge: c, Source: source}
}

// Options configure Run.
type Options struct {
	// Corpus is the corpus the questions are about: ICL conditions put it in
	// their system turn, and the report describes it. Required for ICL.
	Corpus *indexer.Corpus
	// Gen is the most tokens generated greedily per answer; 0 skips generation.
	Gen int
	// Window is the context the prefix, a question and its answer must fit
	// together; 0 (or more than the model's) means the model's trained
	// context length (answer.Window).
	Window int
	// Progress, when set, is called as work is done: done of total steps
	// (one prefill and one step per question for each condition).
	Progress func(done, total int, what string)
}

// prepared is a question tokenized once for every condition.
type prepared struct {
	q      Question
	prompt []int          // chat.User(question): the user turn and the assistant header
	turns  []answer.Turns // one exchange per option, the answer first
}

// Run evaluates every condition on every question and returns the report.
// For each condition the prefix is prefilled once and every question is
// scored after it (the cache truncated back to the prefix in between). The
// model's path, the question file and settings beyond these options are the
// caller's to fill in. ctx is checked between forward passes; a cancelled
// run returns ctx's error.
func Run(ctx context.Context, m *model.Model, chat *answer.Chat, qs []Question, conds []Condition, o Options) (*Report, error) {
	if len(qs) == 0 {
		return nil, errors.New("eval: no questions")
	}
	if len(conds) == 0 {
		return nil, errors.New("eval: no conditions")
	}
	if o.Gen < 0 {
		return nil, fmt.Errorf("eval: the generation budget %d is negative", o.Gen)
	}
	window := answer.Window(m, o.Window)
	names := map[string]bool{}
	for _, c := range conds {
		if names[c.Name] {
			return nil, fmt.Errorf("eval: condition %q is listed twice", c.Name)
		}
		names[c.Name] = true
		switch c.Kind {
		case KindNone:
		case KindICL:
			if o.Corpus == nil {
				return nil, fmt.Errorf("eval: condition %q needs a corpus", c.Name)
			}
		case KindCartridge:
			if err := checkCartridge(m, c); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("eval: condition %q has unknown kind %q", c.Name, c.Kind)
		}
	}

	// Tokenize every question and option once; reserve is the room one
	// question needs after a prefix: its longest exchange, or its prompt
	// and the generation budget.
	ps := make([]prepared, len(qs))
	reserve := 0
	for i, q := range qs {
		p := prepared{q: q}
		var err error
		if p.prompt, err = chat.User(q.Question); err != nil {
			return nil, fmt.Errorf("eval: question %s: %w", q.ID, err)
		}
		reserve = max(reserve, len(p.prompt)+o.Gen)
		for _, opt := range q.Options() {
			t, err := chat.Exchange(q.Question, opt)
			if err != nil {
				return nil, fmt.Errorf("eval: question %s: %w", q.ID, err)
			}
			if t.AnsEnd <= t.AnsStart || t.AnsStart != len(p.prompt) {
				return nil, fmt.Errorf("eval: question %s: option %q tokenizes to no answer tokens", q.ID, opt)
			}
			reserve = max(reserve, len(t.Tokens))
			p.turns = append(p.turns, t)
		}
		ps[i] = p
	}
	if reserve > window {
		return nil, fmt.Errorf("eval: a question with its answer or generation budget takes %d tokens, more than the %d-token window",
			reserve, window)
	}

	r := &Report{
		Created:      time.Now().UTC(),
		Model:        modelRef(m),
		NumQuestions: len(qs),
		Settings:     Settings{Gen: o.Gen, Window: window},
	}
	for _, c := range conds {
		r.Settings.Conditions = append(r.Settings.Conditions, c.Name)
	}
	if o.Corpus != nil {
		full, err := answer.CorpusInContext(chat, o.Corpus, math.MaxInt) // the untruncated corpus in a system turn
		if err != nil {
			return nil, err
		}
		r.Corpus = &CorpusRef{Kind: o.Corpus.Kind, Source: o.Corpus.Source, Commit: o.Corpus.Commit,
			Fingerprint: o.Corpus.Fingerprint(), Files: len(o.Corpus.Files), Tokens: full.CorpusTokens}
	}
	for _, q := range qs {
		r.Questions = append(r.Questions, QuestionReport{ID: q.ID, Kind: q.Kind, Source: q.Source,
			Question: q.Question, Answer: q.Answer})
	}

	total, done := len(conds)*(len(qs)+1), 0
	progress := func(what string) {
		if o.Progress != nil {
			o.Progress(done, total, what)
		}
	}
	for _, c := range conds {
		s, results, err := runCondition(ctx, m, chat, ps, c, o, window, reserve, &done, progress)
		if err != nil {
			return nil, err
		}
		r.Summary = append(r.Summary, s)
		for i := range results {
			r.Questions[i].Results = append(r.Questions[i].Results, results[i])
		}
	}
	progress("done")
	return r, nil
}

// checkCartridge refuses a Cartridge whose shape or model is not m's.
func checkCartridge(m *model.Model, c Condition) error {
	if c.Cartridge == nil {
		return fmt.Errorf("eval: condition %q has no Cartridge", c.Name)
	}
	if _, err := answer.CartridgePrefix(m, c.Cartridge); err != nil {
		return fmt.Errorf("eval: condition %q (%s): %w", c.Name, c.Source, err)
	}
	return nil
}

func modelRef(m *model.Model) ModelRef {
	return ModelRef{Fingerprint: m.Fingerprint(), Arch: m.Arch, Layers: m.NLayers, KVHeads: m.KVHeads,
		HeadDim: m.HeadDim, ContextLen: m.ContextLen}
}

// runCondition builds c's prefix once and scores every question after it.
func runCondition(ctx context.Context, m *model.Model, chat *answer.Chat, ps []prepared, c Condition, o Options,
	window, reserve int, done *int, progress func(string)) (Summary, []Result, error) {
	start := time.Now()
	s := Summary{Condition: c.Name, Kind: c.Kind, Source: c.Source}

	// The prefix.
	var prefix *answer.Prefix // nil: none
	switch c.Kind {
	case KindICL:
		progress(fmt.Sprintf("%s: prefill", c.Name))
		p, err := answer.CorpusPrefix(ctx, m, chat, nil, o.Corpus, answer.CorpusOptions{Reserve: reserve, Window: window,
			Progress: func(n, total int) {
				if total > answer.PrefillChunk {
					progress(fmt.Sprintf("%s: prefill %d/%d tokens", c.Name, n, total))
				}
			}})
		if err != nil {
			if ctx.Err() != nil {
				return s, nil, ctx.Err()
			}
			return s, nil, fmt.Errorf("eval: condition %q: %w", c.Name, err)
		}
		prefix = p
		ic := p.InContext
		s.Truncated = ic.Truncated
		s.CorpusTokensKept, s.CorpusFilesKept, s.CutFile = ic.CorpusTokens, ic.WholeFiles, ic.CutFile
		if ic.Truncated {
			s.Notes = append(s.Notes, truncationNote(c.Name, ic, window, reserve))
		}
		s.PrefillSeconds = p.Prefill.Seconds()
	case KindCartridge:
		meta := c.Cartridge.Meta
		if meta.P+reserve > window {
			return s, nil, fmt.Errorf("eval: condition %q: the Cartridge's %d tokens and a question's %d do not fit the %d-token window",
				c.Name, meta.P, reserve, window)
		}
		p, err := answer.CartridgePrefix(m, c.Cartridge)
		if err != nil {
			return s, nil, fmt.Errorf("eval: condition %q: %w", c.Name, err)
		}
		prefix = p
		note := fmt.Sprintf("%s: p = %d (%d frozen)", c.Name, meta.P, meta.Frozen)
		if meta.Recipe.Method != "" {
			note += ", " + meta.Recipe.Method
		}
		if meta.Corpus.Source != "" {
			note += ", trained on " + meta.Corpus.Source
		}
		s.Notes = append(s.Notes, note)
	}
	cache, err := prefix.NewCache(m, reserve)
	if err != nil {
		return s, nil, fmt.Errorf("eval: condition %q: %w", c.Name, err)
	}
	prefixLen := prefix.Len()
	s.PrefixTokens = prefixLen
	s.KVBytes = cartridge.ICLBytes(answer.ModelInfo(m), prefixLen, 2)
	*done++

	// The questions.
	results := make([]Result, len(ps))
	var nll float64
	var nTok, correct, correctNorm, genTok int
	var decode time.Duration
	for i, p := range ps {
		progress(fmt.Sprintf("%s: %s", c.Name, p.q.ID))
		res, dec, err := score(ctx, m, chat, cache, prefix, p, o.Gen, window)
		if err != nil {
			return s, nil, fmt.Errorf("eval: condition %q, question %s: %w", c.Name, p.q.ID, err)
		}
		res.Condition = c.Name
		results[i] = res
		nll += res.NLL
		nTok += res.Tokens
		if res.MCCorrect {
			correct++
		}
		if res.MCCorrectNorm {
			correctNorm++
		}
		if res.GenTokens > 1 {
			genTok += res.GenTokens - 1
			decode += dec
		}
		*done++
	}
	s.AnswerTokens = nTok
	s.NLLPerToken = nll / float64(nTok)
	s.MCCorrect, s.MCCorrectNorm = correct, correctNorm
	s.MCAccuracy = float64(correct) / float64(len(ps))
	s.MCAccuracyNorm = float64(correctNorm) / float64(len(ps))
	if genTok > 0 && decode > 0 {
		s.DecodeTokS = float64(genTok) / decode.Seconds()
	}
	s.Seconds = time.Since(start).Seconds()
	return s, results, nil
}

// truncationNote explains what the ICL condition kept of the corpus.
func truncationNote(name string, ic *answer.InContext, window, reserve int) string {
	kept := fmt.Sprintf("%d whole file", ic.WholeFiles)
	if ic.WholeFiles != 1 {
		kept += "s"
	}
	if ic.CutFile != "" {
		kept += " and the start of " + ic.CutFile
	}
	pct := 0.0
	if ic.FullTokens > 0 {
		pct = 100 * float64(ic.CorpusTokens) / float64(ic.FullTokens)
	}
	return fmt.Sprintf("%s: truncated — the corpus (%d tokens in %d files) does not fit the %d-token window with %d tokens "+
		"kept for a question, its answer and generation; kept %d corpus tokens (%.1f%%): %s",
		name, ic.FullTokens, ic.Files, window, reserve, ic.CorpusTokens, pct, kept)
}

// score measures one question after prefix, which cache holds first: the
// log-likelihood of every option, and the answer an editor would get
// (answer.Ask after the same prefix). The prompt is prefilled once; each
// option continues it. It returns the decode time of the generated answer
// (after its first token).
func score(ctx context.Context, m *model.Model, chat *answer.Chat, cache *model.KVCache, prefix *answer.Prefix,
	p prepared, gen, window int) (Result, time.Duration, error) {
	var res Result
	prefixLen := prefix.Len()
	if err := ctx.Err(); err != nil {
		return res, 0, err
	}
	cache.Truncate(0, prefixLen)
	first, err := m.Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: p.prompt, Logits: model.LogitsLast}})
	if err != nil {
		return res, 0, err
	}
	promptEnd := prefixLen + len(p.prompt)
	for k, t := range p.turns {
		if err := ctx.Err(); err != nil {
			return res, 0, err
		}
		cache.Truncate(0, promptEnd)
		ans := t.Tokens[t.AnsStart:t.AnsEnd]
		ll := logProb(first, ans[0])
		if len(ans) > 1 {
			logits, err := m.Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: ans[:len(ans)-1], Logits: model.LogitsAll}})
			if err != nil {
				return res, 0, err
			}
			for j := 1; j < len(ans); j++ {
				ll += logProb(logits[(j-1)*m.Vocab:j*m.Vocab], ans[j])
			}
		}
		res.OptionLL[k], res.OptionTokens[k] = ll, len(ans)
		if k == 0 {
			res.NLL, res.Tokens = -ll, len(ans)
		}
	}
	// Correct only when the answer beats every distractor (a tie is wrong).
	res.MCCorrect, res.MCCorrectNorm = true, true
	for k := 1; k < len(p.turns); k++ {
		if res.OptionLL[k] >= res.OptionLL[0] {
			res.MCCorrect = false
		}
		if res.OptionLL[k]/float64(res.OptionTokens[k]) >= res.OptionLL[0]/float64(res.OptionTokens[0]) {
			res.MCCorrectNorm = false
		}
	}
	if gen == 0 {
		return res, 0, nil
	}

	a, err := answer.Ask(ctx, m, chat, prefix, p.q.Question, answer.Options{MaxTokens: gen, Window: window}, nil)
	if err != nil {
		return res, 0, err
	}
	if a.Stop == answer.StopCancelled {
		return res, 0, ctx.Err()
	}
	res.Generated, res.GenTokens, res.Stop, res.GenIDs = a.Text, len(a.Tokens), string(a.Stop), a.Tokens
	return res, a.Timings.Decode, nil
}

// logProb is log softmax(logits)[id] in float64.
func logProb(logits []float32, id int) float64 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = max(mx, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - mx)
	}
	return float64(logits[id]) - mx - math.Log(sum)
}
