// Package eval measures how well a model answers questions about a corpus
// with and without a Cartridge (DESIGN §6): on one question set it compares
// conditions — no context, the corpus in the prompt (ICL), a Cartridge
// trained by self-study and one trained by next-token prediction — by the
// negative log-likelihood of the reference answers, multiple-choice accuracy
// by log-likelihood over the answer and its distractors, greedy generated
// answers, the KV memory of each condition's prefix and its decode speed.
package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/runtime/generate"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/trainer"
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
	// together; 0 means the model's trained context length.
	Window int
	// Progress, when set, is called as work is done: done of total steps
	// (one prefill and one step per question for each condition).
	Progress func(done, total int, what string)
}

// prepared is a question tokenized once for every condition.
type prepared struct {
	q      Question
	prompt []int           // chat.User(question): the user turn and the assistant header
	turns  []trainer.Turns // one exchange per option, the answer first
}

// Run evaluates every condition on every question and returns the report.
// For each condition the prefix is prefilled once and every question is
// scored after it (the cache truncated back to the prefix in between). The
// model's path, the question file and settings beyond these options are the
// caller's to fill in. ctx is checked between forward passes; a cancelled
// run returns ctx's error.
func Run(ctx context.Context, m *model.Model, chat *trainer.Chat, qs []Question, conds []Condition, o Options) (*Report, error) {
	if len(qs) == 0 {
		return nil, errors.New("eval: no questions")
	}
	if len(conds) == 0 {
		return nil, errors.New("eval: no conditions")
	}
	if o.Gen < 0 {
		return nil, fmt.Errorf("eval: the generation budget %d is negative", o.Gen)
	}
	window := o.Window
	if window <= 0 {
		window = m.ContextLen
	}
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
	var full *iclPrefix // the untruncated corpus in a system turn
	if o.Corpus != nil {
		f, err := corpusPrefix(chat, o.Corpus)
		if err != nil {
			return nil, err
		}
		full = f
		r.Corpus = &CorpusRef{Kind: o.Corpus.Kind, Source: o.Corpus.Source, Commit: o.Corpus.Commit,
			Fingerprint: o.Corpus.Fingerprint(), Files: len(o.Corpus.Files), Tokens: full.corpusTokens}
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
		s, results, err := runCondition(ctx, m, chat, ps, c, o, window, reserve, full, &done, progress)
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
	mi := c.Cartridge.Meta.Model
	if err := c.Cartridge.Meta.CheckModelInfo(modelInfo(m)); err != nil {
		return fmt.Errorf("eval: condition %q (%s): %w", c.Name, c.Source, err)
	}
	if mi.Layers != m.NLayers || mi.KVHeads != m.KVHeads || mi.HeadDim != m.HeadDim || len(c.Cartridge.Keys) != m.NLayers {
		return fmt.Errorf("eval: condition %q (%s): the Cartridge has %d layers × %d KV heads × head dim %d, the model %d × %d × %d",
			c.Name, c.Source, mi.Layers, mi.KVHeads, mi.HeadDim, m.NLayers, m.KVHeads, m.HeadDim)
	}
	if c.Cartridge.Meta.P < 1 {
		return fmt.Errorf("eval: condition %q (%s): the Cartridge has no tokens", c.Name, c.Source)
	}
	return nil
}

// modelInfo describes m as a Cartridge records its model.
func modelInfo(m *model.Model) cartridge.ModelInfo {
	return cartridge.ModelInfo{Fingerprint: m.Fingerprint(), Arch: m.Arch, Layers: m.NLayers, KVHeads: m.KVHeads,
		HeadDim: m.HeadDim, Dim: m.Dim, RopeLayout: string(m.Rope), RopeBase: float64(m.RopeBase), RopeDims: m.RopeDims}
}

func modelRef(m *model.Model) ModelRef {
	return ModelRef{Fingerprint: m.Fingerprint(), Arch: m.Arch, Layers: m.NLayers, KVHeads: m.KVHeads,
		HeadDim: m.HeadDim, ContextLen: m.ContextLen}
}

// prefillChunk is how many prefix tokens one forward pass takes, so that
// long prefixes report progress and notice cancellation.
const prefillChunk = 512

// runCondition prefills c's prefix once and scores every question after it.
func runCondition(ctx context.Context, m *model.Model, chat *trainer.Chat, ps []prepared, c Condition, o Options,
	window, reserve int, full *iclPrefix, done *int, progress func(string)) (Summary, []Result, error) {
	start := time.Now()
	s := Summary{Condition: c.Name, Kind: c.Kind, Source: c.Source}
	cache := m.NewCache(1, window)

	// The prefix.
	var prefix []int // tokens to prefill (ICL)
	switch c.Kind {
	case KindICL:
		ip, err := fitICL(chat, o.Corpus, full, window-reserve)
		if err != nil {
			return s, nil, fmt.Errorf("eval: condition %q: %w", c.Name, err)
		}
		prefix = ip.tokens
		s.Truncated = ip.truncated
		s.CorpusTokensKept, s.CorpusFilesKept, s.CutFile = ip.corpusTokens, ip.wholeFiles, ip.cutFile
		if ip.truncated {
			s.Notes = append(s.Notes, truncationNote(c.Name, ip, full, window, reserve))
		}
	case KindCartridge:
		meta := c.Cartridge.Meta
		if meta.P+reserve > window {
			return s, nil, fmt.Errorf("eval: condition %q: the Cartridge's %d tokens and a question's %d do not fit the %d-token window",
				c.Name, meta.P, reserve, window)
		}
		k, v := c.Cartridge.CacheKV()
		if err := cache.AppendKV(0, k, v); err != nil {
			return s, nil, fmt.Errorf("eval: condition %q: %w", c.Name, err)
		}
		note := fmt.Sprintf("%s: p = %d (%d frozen)", c.Name, meta.P, meta.Frozen)
		if meta.Recipe.Method != "" {
			note += ", " + meta.Recipe.Method
		}
		if meta.Corpus.Source != "" {
			note += ", trained on " + meta.Corpus.Source
		}
		s.Notes = append(s.Notes, note)
	}
	progress(fmt.Sprintf("%s: prefill %d tokens", c.Name, len(prefix)))
	t0 := time.Now()
	for i := 0; i < len(prefix); i += prefillChunk {
		if err := ctx.Err(); err != nil {
			return s, nil, err
		}
		chunk := prefix[i:min(i+prefillChunk, len(prefix))]
		if _, err := m.Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: chunk, Logits: model.LogitsNone}}); err != nil {
			return s, nil, fmt.Errorf("eval: condition %q: prefill: %w", c.Name, err)
		}
		if len(prefix) > prefillChunk {
			progress(fmt.Sprintf("%s: prefill %d/%d tokens", c.Name, min(i+prefillChunk, len(prefix)), len(prefix)))
		}
	}
	s.PrefillSeconds = time.Since(t0).Seconds()
	prefixLen := cache.Len(0)
	s.PrefixTokens = prefixLen
	s.KVBytes = cartridge.ICLBytes(modelInfo(m), prefixLen, 2)
	*done++

	// The questions.
	results := make([]Result, len(ps))
	var nll float64
	var nTok, correct, correctNorm, genTok int
	var decode time.Duration
	for i, p := range ps {
		progress(fmt.Sprintf("%s: %s", c.Name, p.q.ID))
		res, dec, err := score(ctx, m, chat, cache, prefixLen, p, o.Gen)
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

// score measures one question after the prefix held in cache's first
// prefixLen tokens: the log-likelihood of every option, and the greedy
// answer. The prompt is prefilled once; each option continues it. It
// returns the decode time of the generated answer (after its first token).
func score(ctx context.Context, m *model.Model, chat *trainer.Chat, cache *model.KVCache, prefixLen int,
	p prepared, gen int) (Result, time.Duration, error) {
	var res Result
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

	// Greedy answer: the prompt is in the cache but for its last token,
	// which generation feeds again to get the first answer token's logits.
	cache.Truncate(0, promptEnd-1)
	g, err := generate.Run(ctx, m, chat.Tokenizer(), cache, 0, p.prompt[len(p.prompt)-1:],
		generate.Options{MaxTokens: gen, StopTokens: []int{chat.EndOfTurn()}}, nil)
	if err != nil {
		return res, 0, err
	}
	if g.Reason == generate.StopCancelled {
		return res, 0, ctx.Err()
	}
	res.Generated, res.GenTokens, res.Stop = g.Text, len(g.Tokens), string(g.Reason)
	return res, g.Decode, nil
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
