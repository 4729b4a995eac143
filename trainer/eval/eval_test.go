package eval

import (
	"bytes"
	"context"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/runtime/model"
)

var testQuestions = []Question{
	{ID: "port", Question: "What port?", Answer: "7341", Distractors: []string{"80", "8080", "the port"}, Kind: "fact"},
	{ID: "open", Question: "Who calls Open?", Answer: "the main function", Distractors: []string{"init", "Close", "nobody"}},
	{ID: "err", Question: "What does Load return?", Answer: "an error", Distractors: []string{"a map", "nil", "x"}},
}

func testCorpus() *indexer.Corpus {
	return &indexer.Corpus{Kind: "dir", Source: "/src/demo", Files: []indexer.File{
		{Path: "a.go", Text: "package demo\n\nconst Port = 7341\n"},
		{Path: "b.go", Text: "package demo\n\nfunc Open() error { return nil }\n"},
		{Path: "c/d.go", Text: "package d\n\n// Load reads the config.\nfunc Load() error { return nil }\n"},
		{Path: "e.go", Text: "package demo\n\nvar names = []string{\"héllo\", \"wörld\"}\n"},
	}}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-4*max(1, math.Abs(a), math.Abs(b)) }

// directNLL forwards an exchange on a fresh cache (after prefix) and sums
// the NLL of the answer's tokens.
func directNLL(t *testing.T, m *model.Model, prefix []int, tr answer.Turns) float64 {
	t.Helper()
	cache := m.NewCache(1, m.ContextLen)
	ctx := context.Background()
	if len(prefix) > 0 {
		if _, err := m.Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: prefix, Logits: model.LogitsNone}}); err != nil {
			t.Fatal(err)
		}
	}
	logits, err := m.Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: tr.Tokens, Logits: model.LogitsAll}})
	if err != nil {
		t.Fatal(err)
	}
	var nll float64
	for i := tr.AnsStart; i < tr.AnsEnd; i++ {
		nll -= logProb(logits[(i-1)*m.Vocab:i*m.Vocab], tr.Tokens[i])
	}
	return nll
}

func TestRunNone(t *testing.T) {
	m, _, chat := tinyChatModel(t, 512)
	var steps []string
	r, err := Run(context.Background(), m, chat, testQuestions, []Condition{None()},
		Options{Gen: 4, Progress: func(done, total int, what string) {
			if done > total {
				t.Errorf("progress %d of %d", done, total)
			}
			steps = append(steps, what)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) < 1+len(testQuestions) || steps[len(steps)-1] != "done" {
		t.Errorf("progress steps %q", steps)
	}
	s := r.Summary[0]
	if s.Condition != "none" || s.PrefixTokens != 0 || s.KVBytes != 0 || s.Truncated || r.Corpus != nil {
		t.Errorf("summary %+v", s)
	}
	var total float64
	var toks int
	for i, q := range testQuestions {
		res := r.Questions[i].Results[0]
		tr, err := chat.Exchange(q.Question, q.Answer)
		if err != nil {
			t.Fatal(err)
		}
		want := directNLL(t, m, nil, tr)
		if !near(res.NLL, want) || res.Tokens != tr.AnsEnd-tr.AnsStart || res.OptionLL[0] != -res.NLL {
			t.Errorf("%s: NLL %v over %d tokens, direct forward %v over %d", q.ID, res.NLL, res.Tokens, want, tr.AnsEnd-tr.AnsStart)
		}
		for k, opt := range q.Options() {
			tr, _ := chat.Exchange(q.Question, opt)
			if ll := -directNLL(t, m, nil, tr); !near(res.OptionLL[k], ll) || res.OptionTokens[k] != tr.AnsEnd-tr.AnsStart {
				t.Errorf("%s option %d: LL %v, direct %v", q.ID, k, res.OptionLL[k], ll)
			}
		}
		if res.GenTokens > 4 || res.Stop == "" {
			t.Errorf("%s: generated %d tokens, stop %q", q.ID, res.GenTokens, res.Stop)
		}
		total += res.NLL
		toks += res.Tokens
	}
	if !near(s.NLLPerToken, total/float64(toks)) || s.AnswerTokens != toks {
		t.Errorf("NLL/token %v, want %v", s.NLLPerToken, total/float64(toks))
	}

	// Reorder each question's options so that the answer is the option the
	// model likes best: multiple-choice accuracy must then be 1; then by
	// mean per-token log-likelihood, for the normalised figure.
	for _, norm := range []bool{false, true} {
		qs := slices.Clone(testQuestions)
		for i, q := range qs {
			res := r.Questions[i].Results[0]
			best := 0
			for k := range res.OptionLL {
				v, b := res.OptionLL[k], res.OptionLL[best]
				if norm {
					v, b = v/float64(res.OptionTokens[k]), b/float64(res.OptionTokens[best])
				}
				if v > b {
					best = k
				}
			}
			opts := q.Options()
			qs[i].Answer = opts[best]
			qs[i].Distractors = slices.Delete(slices.Clone(opts), best, best+1)
		}
		r2, err := Run(context.Background(), m, chat, qs, []Condition{None()}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		acc := r2.Summary[0].MCAccuracy
		if norm {
			acc = r2.Summary[0].MCAccuracyNorm
		}
		if acc != 1 || r2.Summary[0].DecodeTokS != 0 || r2.Questions[0].Results[0].Generated != "" {
			t.Errorf("norm=%v: accuracy %v with the best-scored option as the answer: %+v", norm, acc, r2.Summary[0])
		}
	}
}

func TestRunICLTruncates(t *testing.T) {
	m, tok, chat := tinyChatModel(t, 1024)
	corpus := testCorpus()
	conds := []Condition{ICL()}

	// A window that holds everything: not truncated.
	r, err := Run(context.Background(), m, chat, testQuestions[:1], conds, Options{Corpus: corpus, Gen: 2})
	if err != nil {
		t.Fatal(err)
	}
	full, _ := chat.System(answer.SystemPrompt(corpus.Render()))
	s := r.Summary[0]
	if s.Truncated || s.PrefixTokens != len(full) || s.CorpusTokensKept != r.Corpus.Tokens || s.CorpusFilesKept != 4 ||
		s.KVBytes != int64(len(full))*int64(m.NLayers)*2*int64(m.KVDim())*2 || r.Corpus.Files != 4 ||
		r.Corpus.Fingerprint != corpus.Fingerprint() {
		t.Errorf("untruncated: %+v, corpus %+v", s, r.Corpus)
	}

	// Windows that cut the corpus at several places: room for the system
	// turn without the corpus, plus some of the corpus.
	empty, _ := chat.System(answer.SystemPrompt(""))
	for _, n := range []int{10, 40, r.Corpus.Tokens / 2, r.Corpus.Tokens - 20} {
		cutAt := len(empty) + n
		window := 0
		var reserve int
		{ // reserve as Run computes it
			p, _ := chat.User(testQuestions[0].Question)
			reserve = len(p) + 2
			for _, o := range testQuestions[0].Options() {
				tr, _ := chat.Exchange(testQuestions[0].Question, o)
				reserve = max(reserve, len(tr.Tokens))
			}
		}
		window = reserve + cutAt
		r, err := Run(context.Background(), m, chat, testQuestions[:1], conds, Options{Corpus: corpus, Gen: 2, Window: window})
		if err != nil {
			t.Fatal(err)
		}
		s := r.Summary[0]
		if !s.Truncated || s.PrefixTokens > cutAt || s.PrefixTokens < cutAt-8 || s.CorpusFilesKept >= 4 ||
			s.CorpusTokensKept >= r.Corpus.Tokens || len(s.Notes) != 1 || !strings.Contains(s.Notes[0], "truncated") {
			t.Errorf("window %d (room %d): %+v", window, cutAt, s)
			continue
		}
		// The prefix holds the first files whole, then the start of the next.
		var kept strings.Builder
		for _, f := range corpus.Files[:s.CorpusFilesKept] {
			kept.WriteString(indexer.Document(f))
		}
		got := tok.Decode(prefixTokens(t, chat, corpus, window-reserve))
		intro := answer.SystemPrompt("")
		at := strings.Index(got, intro)
		if at < 0 || !strings.HasPrefix(got[at+len(intro):], kept.String()) || !strings.HasSuffix(got, "<|im_end|>\n") {
			t.Errorf("window %d: the prefix does not hold the first %d files whole: %q", window, s.CorpusFilesKept, got)
			continue
		}
		rest := strings.TrimSuffix(got[at+len(intro)+kept.Len():], "<|im_end|>\n")
		t.Logf("window %d: %d prefix tokens, %d whole files, then %q", window, s.PrefixTokens, s.CorpusFilesKept, rest)
		next := indexer.Document(corpus.Files[s.CorpusFilesKept])
		if (rest == "") != (s.CutFile == "") || !strings.HasPrefix(next, rest) || rest == next ||
			s.CutFile != "" && s.CutFile != corpus.Files[s.CorpusFilesKept].Path {
			t.Errorf("window %d: cut file %q, after the whole files %q", window, s.CutFile, rest)
		}
		var md bytes.Buffer
		if err := WriteMarkdown(&md, r); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(md.String(), "icl (truncated)") || !strings.Contains(md.String(), "icl: truncated") {
			t.Errorf("markdown does not say truncated:\n%s", md.String())
		}
	}

	// No room at all for the corpus.
	if _, err := Run(context.Background(), m, chat, testQuestions[:1], conds, Options{Corpus: corpus, Window: 100}); err == nil {
		t.Error("a window too small for the system turn was accepted")
	}
	if _, err := Run(context.Background(), m, chat, testQuestions[:1], conds, Options{}); err == nil {
		t.Error("icl without a corpus was accepted")
	}
}

// prefixTokens is the corpus's system turn for a budget.
func prefixTokens(t *testing.T, chat *answer.Chat, c *indexer.Corpus, budget int) []int {
	t.Helper()
	ic, err := answer.CorpusInContext(chat, c, budget)
	if err != nil {
		t.Fatal(err)
	}
	return ic.Tokens
}

// fileLayout converts one layer of cache-layout KV [p][kvHeads·hd] to a
// Cartridge file's [kvHeads, p, hd].
func fileLayout(x []float32, p, kvHeads, hd int) []float32 {
	out := make([]float32, len(x))
	for j := 0; j < p; j++ {
		for h := 0; h < kvHeads; h++ {
			copy(out[(h*p+j)*hd:(h*p+j+1)*hd], x[(j*kvHeads+h)*hd:(j*kvHeads+h+1)*hd])
		}
	}
	return out
}

// TestRunCartridgeMatchesICL builds a Cartridge from the KV of the ICL
// system turn itself: decoding after it must score exactly as ICL does.
func TestRunCartridgeMatchesICL(t *testing.T) {
	m, _, chat := tinyChatModel(t, 1024)
	corpus := testCorpus()
	sys, err := chat.System(answer.SystemPrompt(corpus.Render()))
	if err != nil {
		t.Fatal(err)
	}
	cache := m.NewCache(1, len(sys))
	if _, err := m.Forward(context.Background(), cache, model.Batch{{Seq: 0, Tokens: sys, Logits: model.LogitsNone}}); err != nil {
		t.Fatal(err)
	}
	k, v := cache.SeqKV(0)
	p := len(sys)
	c := &cartridge.Cartridge{Meta: cartridge.Meta{FormatVersion: cartridge.FormatVersion, Model: answer.ModelInfo(m), P: p, Frozen: 1,
		Recipe: cartridge.Recipe{Method: "test"}}}
	for l := range k {
		c.Keys = append(c.Keys, fileLayout(k[l], p, m.KVHeads, m.HeadDim))
		c.Values = append(c.Values, fileLayout(v[l], p, m.KVHeads, m.HeadDim))
	}
	path := filepath.Join(t.TempDir(), "icl.cart")
	if err := cartridge.Write(path, c, cartridge.F32); err != nil {
		t.Fatal(err)
	}
	loaded, err := cartridge.Load(m.Fingerprint(), path)
	if err != nil {
		t.Fatal(err)
	}
	conds := []Condition{None(), ICL(), WithCartridge("cartridge", path, loaded), WithCartridge("ntp", path, loaded)}
	r, err := Run(context.Background(), m, chat, testQuestions, conds, Options{Corpus: corpus, Gen: 3})
	if err != nil {
		t.Fatal(err)
	}
	icl, cart := r.Summary[1], r.Summary[2]
	if icl.PrefixTokens != p || cart.PrefixTokens != p || icl.KVBytes != cart.KVBytes || icl.KVBytes == 0 || icl.Truncated {
		t.Errorf("icl %+v\ncartridge %+v", icl, cart)
	}
	if !near(icl.NLLPerToken, cart.NLLPerToken) || icl.MCAccuracy != cart.MCAccuracy {
		t.Errorf("NLL/token: icl %v, cartridge %v", icl.NLLPerToken, cart.NLLPerToken)
	}
	for i, q := range r.Questions {
		a, b := q.Results[1], q.Results[2]
		if a.Condition != "icl" || b.Condition != "cartridge" || q.Results[3].Condition != "ntp" {
			t.Fatalf("result order %+v", q.Results)
		}
		for k := range a.OptionLL {
			if !near(a.OptionLL[k], b.OptionLL[k]) {
				t.Errorf("%s option %d: icl LL %v, cartridge %v", q.ID, k, a.OptionLL[k], b.OptionLL[k])
			}
		}
		if a.Generated != b.Generated {
			t.Errorf("%s: icl generated %q, cartridge %q", q.ID, a.Generated, b.Generated)
		}
		tr, _ := chat.Exchange(testQuestions[i].Question, testQuestions[i].Answer)
		if want := directNLL(t, m, sys, tr); !near(a.NLL, want) {
			t.Errorf("%s: icl NLL %v, direct forward after the system turn %v", q.ID, a.NLL, want)
		}
	}

	var md, js bytes.Buffer
	r.QuestionFile = "q.jsonl"
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| condition | prefix tokens | KV bytes | NLL/token | MC acc | MC acc (norm) | decode tok/s |",
		"| none | 0 | 0 B |", "| cartridge | ", "ICL / cartridge KV memory: 1.0×", "cartridge NLL / ICL NLL: 1.000",
		"ICL / ntp KV memory", "### 1. port (fact)", "**Reference:** 7341", "- **ntp** (NLL", "cartridge: p = "} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(&js)
	if err != nil {
		t.Fatal(err)
	}
	if back.Summary[2].NLLPerToken != cart.NLLPerToken || back.Questions[1].Results[3].OptionLL != r.Questions[1].Results[3].OptionLL ||
		back.QuestionFile != "q.jsonl" || back.Corpus.Tokens != r.Corpus.Tokens {
		t.Errorf("JSON round trip changed the report")
	}
}

func TestRunRefuses(t *testing.T) {
	m, _, chat := tinyChatModel(t, 512)
	ctx := context.Background()
	other := &cartridge.Cartridge{Meta: cartridge.Meta{Model: cartridge.ModelInfo{Fingerprint: "sha256:00", Layers: 2, KVHeads: 2, HeadDim: 16}, P: 1}}
	cases := []struct {
		name  string
		conds []Condition
		o     Options
		want  string
	}{
		{"no conditions", nil, Options{}, "no conditions"},
		{"twice", []Condition{None(), None()}, Options{}, "listed twice"},
		{"other model", []Condition{WithCartridge("cartridge", "x.cart", other)}, Options{}, "was trained for"},
		{"no cartridge", []Condition{{Name: "cartridge", Kind: KindCartridge}}, Options{}, "no Cartridge"},
		{"window", []Condition{None()}, Options{Window: 10}, "more than the 10-token window"},
		{"negative gen", []Condition{None()}, Options{Gen: -1}, "negative"},
	}
	for _, c := range cases {
		if _, err := Run(ctx, m, chat, testQuestions, c.conds, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Run(cctx, m, chat, testQuestions, []Condition{None()}, Options{Gen: 2}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestMarkdownEscapes(t *testing.T) {
	if got := mdText("a|b *c*\n`d` <x>", 200); got != "a\\|b \\*c\\* \\`d\\` \\<x\\>" {
		t.Errorf("mdText = %q", got)
	}
	if got := mdText(strings.Repeat("é", 250), 200); !strings.HasSuffix(got, "…") || len([]rune(got)) != 201 {
		t.Errorf("mdText did not cut at 200 characters: %d", len([]rune(got)))
	}
}
