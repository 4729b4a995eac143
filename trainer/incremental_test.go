package trainer

import (
	"context"
	"github.com/cartlsp/cartlsp/answer"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/runtime/student"
)

func TestChunkFocus(t *testing.T) {
	tt := newTiny(t)
	ls := testLines(t, tt.tok)
	for _, files := range []map[string][]int{{"beta.go": nil}, {"a/alpha.go": nil}, {"gamma.go": nil, "a/alpha.go": nil}, {"beta.go": {7}}, {"gamma.go": {0, 30}}} {
		f, n := ls.Focus(files)
		if n == 0 || n >= ls.Tokens() {
			t.Fatalf("%v: %d focused tokens of %d", files, n, ls.Tokens())
		}
		rng := rand.New(rand.NewPCG(3, 4))
		for i := 0; i < 200; i++ {
			c := f.Sample(rng, 40, 120)
			if !slices.ContainsFunc(c.Files, func(p string) bool { _, ok := files[p]; return ok }) {
				t.Fatalf("%v: chunk %d shows %v", files, i, c.Files)
			}
		}
	}
	// No file of the corpus: the whole corpus, as Sample draws it.
	f, n := ls.Focus(map[string][]int{"gone.go": nil, "beta.go": {}})
	a := f.Sample(rand.New(rand.NewPCG(1, 1)), 40, 120)
	b := ls.Sample(rand.New(rand.NewPCG(1, 1)), 40, 120)
	if n != 0 || a.Start != b.Start || a.Tokens != b.Tokens {
		t.Errorf("an empty focus changes sampling: %d tokens, %d/%d vs %d/%d", n, a.Start, a.Tokens, b.Start, b.Tokens)
	}
}

func TestChangedLines(t *testing.T) {
	tests := []struct {
		old, new string
		want     []int
		bytes    int
	}{
		{"a\nb\nc\n", "a\nb\nc\n", []int{}, 0},
		{"a\nb\nc\n", "a\nBB\nc\n", []int{1}, 3},
		{"a\nb\nc\n", "x\na\nb\nc\nyy\n", []int{0, 4}, 5},
		{"a\nb\nc\n", "a\nc\n", []int{}, 0},    // a deletion: nothing new
		{"a\nb\nc\n", "c\nb\na\n", []int{}, 0}, // moved lines
		{"", "package x\n", []int{0}, 10},
	}
	for _, tc := range tests {
		if got, n := ChangedLines(tc.old, tc.new); !slices.Equal(got, tc.want) || n != tc.bytes {
			t.Errorf("ChangedLines(%q, %q) = %v, %d bytes; want %v, %d", tc.old, tc.new, got, n, tc.want, tc.bytes)
		}
	}
	old := &indexer.Corpus{Files: []indexer.File{{Path: "a.go", Text: "x\ny\n"}, {Path: "b.go", Text: "b\n"}, {Path: "gone.go", Text: "g\n"}}}
	cur := &indexer.Corpus{Files: []indexer.File{{Path: "a.go", Text: "x\nz\n"}, {Path: "b.go", Text: "b\n"}, {Path: "new.go", Text: "n1\nn2\n"}}}
	changed, n := Changes(old, cur)
	if len(changed) != 2 || !slices.Equal(changed["a.go"], []int{1}) || changed["new.go"] != nil || n != 2+6 {
		t.Errorf("Changes = %v, %d bytes", changed, n)
	}
	if _, ok := changed["new.go"]; !ok {
		t.Error("a new file is not among the changes")
	}
}

// TestIncrementalJob trains a Cartridge from scratch, changes one file and
// trains the next one incrementally: the new conversations are about the
// changed file, the still-true ones are carried into the new dataset and
// replayed, and the Cartridge starts from the parent's values.
func TestIncrementalJob(t *testing.T) {
	tt := newTiny(t)
	ctx := context.Background()
	dir := t.TempDir()
	b, err := LookupBudget("tiny")
	if err != nil {
		t.Fatal(err)
	}
	b.Synth = SynthConfig{Conversations: 12, ChunkMin: 48, ChunkMax: 96, MaxUser: 12, MaxAnswer: 16, UserTemp: 0.6, TopK: 4, SeedTypes: SeedTypes}
	b.Train = TrainConfig{P: 8, Frozen: 1, Init: InitFirstTokens, LR: 2e-2, Epochs: 1, Batch: 4, MicroTokens: 512, Holdout: 2}
	job := func(c *indexer.Corpus, name string, warm *Warm) (*JobResult, error) {
		j := &Job{Corpus: c, Infer: tt.m, Chat: tt.chat, Budget: b, WorkDir: filepath.Join(dir, name), Out: filepath.Join(dir, name+".cart"),
			Student: func() (*student.Model, error) { return tt.student(t), nil }, Warm: warm}
		return j.Run(ctx)
	}
	c0 := testCorpus()
	r0, err := job(c0, "c0", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, pool, err := ReadDataset(r0.DatasetPath, tt.m.Vocab)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range pool {
		if len(c.Sources) == 0 {
			t.Fatalf("conversation %d has no sources", c.Index)
		}
	}

	c1 := testCorpus()
	c1.Files[2].Text = strings.Replace(c1.Files[2].Text, "return 200", "return -200", 1) // gamma.go
	changed, _ := Changes(c0, c1)
	if len(changed["gamma.go"]) != 1 {
		t.Fatalf("changed lines of gamma.go: %v", changed["gamma.go"])
	}
	var wantCarried int
	for _, c := range pool {
		if !slices.ContainsFunc(c.Sources, func(s Source) bool { return s.Path == "gamma.go" }) {
			wantCarried++
		}
	}
	if wantCarried == 0 || wantCarried == len(pool) {
		t.Fatalf("%d of %d conversations avoid gamma.go; the test needs some of both", wantCarried, len(pool))
	}
	parent, err := cartridge.Read(filepath.Join(dir, "c0.cart"))
	if err != nil {
		t.Fatal(err)
	}
	start := (&student.Prefix{P: parent.Meta.P, Frozen: parent.Meta.Frozen, KVHeads: parent.Meta.Model.KVHeads,
		HeadDim: parent.Meta.Model.HeadDim, K: parent.Keys, V: parent.Values}).Clone()
	for l := range start.K {
		for i := range start.K[l] {
			if i%(start.P*start.HeadDim) >= start.Frozen*start.HeadDim { // not the frozen token of a head
				start.K[l][i] += 0.25
			}
		}
	}
	warm := &Warm{Prefix: start, Pool: pool, Changed: changed, From: "c0",
		Cfg: IncrementalConfig{Scale: 1, MinNew: 4, MaxNew: 6, Replay: 1, Epochs: 1}}
	r1, err := job(c1, "c1", warm)
	if err != nil {
		t.Fatal(err)
	}
	if r1.NewExamples == 0 || r1.Replayed == 0 || r1.ChangedTokens == 0 {
		t.Errorf("new %d, replayed %d, changed tokens %d", r1.NewExamples, r1.Replayed, r1.ChangedTokens)
	}
	h, convs, err := ReadDataset(r1.DatasetPath, tt.m.Vocab)
	if err != nil {
		t.Fatal(err)
	}
	if h.Corpus != c1.Fingerprint() {
		t.Error("the incremental dataset is not for the new corpus")
	}
	nNew := 0
	carried := int(h.Extra["carried"].(float64))
	if carried == 0 || carried > wantCarried {
		t.Errorf("%d conversations carried; %d avoid the changed file", carried, wantCarried)
	}
	for _, c := range convs {
		switch {
		case c.Index < carried:
			if slices.ContainsFunc(c.Sources, func(s Source) bool { return s.Path == "gamma.go" }) {
				t.Errorf("carried conversation %d shows the changed file", c.Index)
			}
		default:
			nNew++
			if !slices.ContainsFunc(c.Sources, func(s Source) bool { return s.Path == "gamma.go" }) {
				t.Errorf("new conversation %d does not show the changed file: %v", c.Index, c.Sources)
			}
		}
	}
	if len(convs) != carried+nNew || nNew < 4 || nNew > 6 {
		t.Errorf("dataset: %d conversations, %d carried, %d new", len(convs), carried, nNew)
	}
	m := r1.Cartridge.Meta
	if m.Recipe.Init != "warm-start" || m.Metrics["incremental_new"] == 0 || m.Corpus.Tree != c1.Fingerprint() {
		t.Errorf("meta: init %q, metrics %v", m.Recipe.Init, m.Metrics)
	}
	// Training starts from the warm prefix (shifted below so that it differs
	// from what a fresh initialisation gives); the tiny model's gradients
	// are too small to move it far.
	for l := range start.K {
		for i, v := range start.K[l] {
			if d := r1.Cartridge.Keys[l][i] - v; d > 1e-3 || d < -1e-3 {
				t.Fatalf("layer %d key %d: %g, the warm start had %g", l, i, r1.Cartridge.Keys[l][i], v)
			}
		}
	}
	if slices.Equal(r1.Cartridge.Keys[1], parent.Keys[1]) {
		t.Error("the Cartridge is the parent's, not the warm start's")
	}
	// Run again: the dataset is complete and nothing is synthesized.
	r2, err := job(c1, "c1", warm)
	if err != nil {
		t.Fatal(err)
	}
	if !r2.UsedDataset || r2.ResumedAtStep != r1.Train.Steps {
		t.Errorf("rerun: used dataset %v, resumed at step %d of %d", r2.UsedDataset, r2.ResumedAtStep, r1.Train.Steps)
	}
}

// TestOutlineInit: with InitOutline the Cartridge's first tokens are the
// corpus's outline, as detailed as fits in p, then the corpus; a Job sizes p
// to the corpus (FitP).
func TestOutlineInit(t *testing.T) {
	tt := newTiny(t)
	c := testCorpus()
	text := c.Render()
	// The tiny model's tokenizer is one token per byte; its system prompt
	// takes 242.
	if got := tt.tok.Decode(mustOutline(t, tt, c, 300)); got != tt.tok.Decode(mustSystem(t, tt, text)) {
		t.Errorf("p 300: nothing of the outline fits, the corpus should start right away:\n%.400s", got)
	}
	for _, p := range []int{450, 2100} {
		j := &Job{Corpus: c, Chat: tt.chat}
		toks, err := j.outlineTokens(text, p)
		if err != nil {
			t.Fatal(err)
		}
		got := tt.tok.Decode(toks)
		head := tt.tok.Decode(toks[:min(p, len(toks))])
		out := indexer.Outline(c, func(string) bool { return true })
		switch {
		case !strings.Contains(got, answer.SystemPrompt("### Outline\n```\n// a/alpha.go\n")):
			t.Errorf("p %d: the system turn does not start with the outline:\n%.300s", p, got)
		case !strings.Contains(got, "```\n\n"+text):
			t.Errorf("p %d: the corpus does not follow the outline", p)
		case p < 2100 && strings.Contains(head, text[:40]):
			t.Errorf("p %d: the first p tokens reach the corpus; the outline should fill them", p)
		case p == 2100 && !strings.Contains(got, out):
			t.Errorf("p %d: the whole outline fits but is not there", p)
		}
	}
}

func mustOutline(t *testing.T, tt *tiny, c *indexer.Corpus, p int) []int {
	toks, err := (&Job{Corpus: c, Chat: tt.chat}).outlineTokens(c.Render(), p)
	if err != nil {
		t.Fatal(err)
	}
	return toks
}

func mustSystem(t *testing.T, tt *tiny, text string) []int {
	toks, err := tt.chat.System(answer.SystemPrompt(text))
	if err != nil {
		t.Fatal(err)
	}
	return toks
}
