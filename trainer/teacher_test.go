package trainer

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
	"github.com/cartlsp/cartlsp/runtime/student"
)

// TestJobTeacher: a Job's Teacher writes the conversations when synthesis
// has work to do (and only then), its name goes into the dataset's header,
// and a teacher loaded from another file is refused.
func TestJobTeacher(t *testing.T) {
	tt := newTiny(t)
	ctx := context.Background()
	dir := t.TempDir()
	b, err := LookupBudget("tiny")
	if err != nil {
		t.Fatal(err)
	}
	b.Synth = SynthConfig{Conversations: 4, ChunkMin: 48, ChunkMax: 96, MaxUser: 8, MaxAnswer: 8, UserTemp: 0.6, TopK: 4, SeedTypes: SeedTypes}
	b.Train = TrainConfig{P: 8, Frozen: 1, Init: InitFirstTokens, LR: 2e-2, Epochs: 1, Batch: 4, MicroTokens: 512, Holdout: 1}
	calls := 0
	job := func(teacher func() (*model.Model, error)) (*JobResult, error) {
		j := &Job{Corpus: testCorpus(), Infer: tt.m, Chat: tt.chat, Budget: b, WorkDir: filepath.Join(dir, "w"), Out: filepath.Join(dir, "c.cart"),
			Student: func() (*student.Model, error) { return tt.student(t), nil }, Teacher: teacher, TeacherName: "tiny-teacher"}
		return j.Run(ctx)
	}
	same := func() (*model.Model, error) {
		calls++
		return model.New(tt.f, tt.be)
	}
	res, err := job(same)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("the teacher was made %d times, want 1", calls)
	}
	h, _, err := ReadDataset(res.DatasetPath, tt.m.Vocab)
	if err != nil {
		t.Fatal(err)
	}
	if h.Extra["teacher"] != "tiny-teacher" {
		t.Errorf("dataset header extra %v lacks the teacher", h.Extra)
	}
	if _, err := job(same); err != nil { // the dataset is complete: no teacher needed
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("the teacher was made again for a complete dataset (%d calls)", calls)
	}

	dir = t.TempDir()
	other := func() (*model.Model, error) {
		return model.New(modeltest.ParseChat(t, modeltest.Options{Context: 4096, Seed: 5}), tt.be)
	}
	if _, err := job(other); err == nil || !strings.Contains(err.Error(), "model's own file") {
		t.Errorf("a teacher from another file: %v", err)
	}
}

// TestJobSelectedInit: with InitSelected a Job starts the Cartridge from
// tokens chosen across the corpus, prefilled by the teacher, and the
// Cartridge's first rows are the system turn's opening as a prefill makes
// them (the header a Job finds).
func TestJobSelectedInit(t *testing.T) {
	tt := newTiny(t)
	ctx := context.Background()
	dir := t.TempDir()
	b, err := LookupBudget("tiny")
	if err != nil {
		t.Fatal(err)
	}
	c := testCorpus()
	sys := mustSystem(t, tt, c.Render())
	opening := mustSystem(t, tt, "")
	const p = 320 // past the tiny tokenizer's opening of one token a byte, below the corpus
	if len(opening) >= p || len(sys) <= p+64 {
		t.Fatalf("the test corpus (%d tokens, opening %d) does not fit p = %d", len(sys), len(opening), p)
	}
	b.Synth = SynthConfig{Conversations: 2, ChunkMin: 48, ChunkMax: 96, MaxUser: 8, MaxAnswer: 8, UserTemp: 0.6, TopK: 4, SeedTypes: SeedTypes}
	b.Train = TrainConfig{P: p, Frozen: 1, Init: InitSelected, LR: 1e-6, Epochs: 1, Batch: 4, MicroTokens: 2048}
	calls := 0
	j := &Job{Corpus: c, Infer: tt.m, Chat: tt.chat, Budget: b, WorkDir: filepath.Join(dir, "w"), Out: filepath.Join(dir, "c.cart"),
		Student: func() (*student.Model, error) { return tt.student(t), nil },
		Teacher: func() (*model.Model, error) { calls++; return model.New(tt.f, tt.be) }}
	res, err := j.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 { // synthesis and the init
		t.Errorf("the teacher was made %d times, want 2", calls)
	}
	if res.Cartridge.Meta.Recipe.Init != InitSelected || res.Cartridge.Meta.P != p {
		t.Errorf("recipe init %q, p %d", res.Cartridge.Meta.Recipe.Init, res.Cartridge.Meta.P)
	}
	// The opening, less its last token (its BPE may merge with the corpus), is the prefill's.
	h := len(opening) - 1
	cache := tt.m.NewCache(1, h)
	if _, err := tt.m.Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: sys[:h], Logits: model.LogitsNone}}); err != nil {
		t.Fatal(err)
	}
	_, v := cache.SeqKV(0)
	hd, kvh := tt.m.HeadDim, tt.m.KVHeads
	for l := range v {
		got := res.Cartridge.Values[l]
		for j := 1; j < h; j++ { // row 0 is the trained-frozen sink, the same
			for g := range kvh {
				for e := range hd {
					if d := got[(g*p+j)*hd+e] - v[l][(j*kvh+g)*hd+e]; d > 1e-3 || d < -1e-3 {
						t.Fatalf("layer %d row %d head %d: value %g, want the opening's %g", l, j, g, got[(g*p+j)*hd+e], v[l][(j*kvh+g)*hd+e])
					}
				}
			}
		}
	}
}
