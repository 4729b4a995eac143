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
