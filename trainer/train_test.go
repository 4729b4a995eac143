package trainer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/runtime/student"
)

func tinyExamples(t *testing.T, tt *tiny) []student.Example {
	t.Helper()
	ds, err := synthesize(t, tt, filepath.Join(t.TempDir(), "ds.bin"), 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	return examplesFrom(ds.Sorted())
}

func tinyTrainConfig() TrainConfig {
	return TrainConfig{P: 8, Frozen: 1, Init: InitFirstTokens, LR: 0.05, Epochs: 2, Batch: 2, MicroTokens: 64, Holdout: 1, EvalEvery: 2, Seed: 4}
}

// An interrupted training resumed from its checkpoint ends exactly where an
// uninterrupted one does; the loss falls; frozen rows never move.
func TestTrainResumeExact(t *testing.T) {
	for _, relative := range []bool{false, true} {
		t.Run(fmt.Sprintf("relative=%v", relative), func(t *testing.T) { testTrainResumeExact(t, relative) })
	}
}

func testTrainResumeExact(t *testing.T, relative bool) {
	cfg := tinyTrainConfig()
	cfg.RelativeLR = relative
	tt := newTiny(t)
	s := tt.student(t)
	examples := tinyExamples(t, tt)
	train, held := Split(examples, 1, 4)
	initToks, _ := tt.chat.System(answer.SystemPrompt(testCorpus().Render()))
	run := func(ckpt string, stopAt int) (*TrainResult, error) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		tr := &Trainer{Student: s, Infer: tt.m, InitTokens: initToks, Cfg: cfg, Checkpoint: ckpt, CheckpointEvery: time.Hour,
			Progress: func(p TrainProgress) {
				if stopAt > 0 && p.Step == stopAt {
					cancel()
				}
			}}
		return tr.Run(ctx, train, held)
	}
	dir := t.TempDir()
	full, err := run(filepath.Join(dir, "a.ckpt"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if full.Steps != 2*((len(train)+1)/2) || len(full.Losses) != full.Steps+1 {
		t.Fatalf("%d steps, %d loss points", full.Steps, len(full.Losses))
	}
	if math.IsNaN(full.EvalLoss) || math.IsNaN(full.Losses[0].EvalLoss) {
		t.Fatalf("no held-out loss: %v", full.Losses)
	}
	ck := filepath.Join(dir, "b.ckpt")
	if _, err := run(ck, 3); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	if _, err := os.Stat(ck); err != nil {
		t.Fatalf("no checkpoint after an interruption: %v", err)
	}
	resumed, err := run(ck, 0)
	if err != nil {
		t.Fatal(err)
	}
	for l := range full.Prefix.K {
		if !slices.Equal(full.Prefix.K[l], resumed.Prefix.K[l]) || !slices.Equal(full.Prefix.V[l], resumed.Prefix.V[l]) {
			t.Fatalf("layer %d: resumed training differs from uninterrupted training", l)
		}
	}
	if len(resumed.Losses) != len(full.Losses) || resumed.Losses[len(resumed.Losses)-1].Loss != full.Losses[len(full.Losses)-1].Loss {
		t.Errorf("loss history differs after resume")
	}
	// The sink (token 0 of every head) is the initial KV of the first token.
	init, err := (&Trainer{Infer: tt.m, InitTokens: initToks, Cfg: tinyTrainConfig()}).initPrefix(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	hd, p := init.HeadDim, init.P
	for l := range init.K {
		for h := 0; h < init.KVHeads; h++ {
			if !slices.Equal(init.K[l][h*p*hd:(h*p+1)*hd], full.Prefix.K[l][h*p*hd:(h*p+1)*hd]) {
				t.Fatalf("layer %d head %d: the frozen sink moved", l, h)
			}
		}
	}
	// A damaged checkpoint is reported, not silently used.
	os.WriteFile(ck, []byte("CARTCK\x00\x01garbage-garbage"), 0o644)
	if _, err := run(ck, 0); err == nil {
		t.Error("a damaged checkpoint was accepted")
	}
}

func TestTrainConfigErrors(t *testing.T) {
	for _, mut := range []func(*TrainConfig){
		func(c *TrainConfig) { c.P = 0 },
		func(c *TrainConfig) { c.Frozen = 8 },
		func(c *TrainConfig) { c.LR = 0 },
		func(c *TrainConfig) { c.Epochs = 0 },
		func(c *TrainConfig) { c.Batch = 0 },
		func(c *TrainConfig) { c.Init = "zeros" },
		func(c *TrainConfig) { c.Compress = -1 },
	} {
		c := tinyTrainConfig()
		mut(&c)
		if c.check() == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

func TestFitP(t *testing.T) {
	tests := []struct {
		p, compress, frozen, corpus, want int
	}{
		{384, 24, 1, 13671, 384}, // large enough: the budget's p
		{384, 24, 1, 3446, 136},  // 3446/24 = 143 → a multiple of 8
		{384, 24, 1, 100, 16},    // never below 16
		{384, 24, 20, 100, 21},   // nor below the frozen tokens + 1
		{384, 0, 1, 100, 384},    // compress off: p as set
		{8, 24, 1, 100000, 8},    // never above p
	}
	for _, tt := range tests {
		c := TrainConfig{P: tt.p, Compress: tt.compress, Frozen: tt.frozen}
		if got := c.FitP(tt.corpus).P; got != tt.want {
			t.Errorf("p %d, compress %d, frozen %d, corpus %d: p = %d, want %d", tt.p, tt.compress, tt.frozen, tt.corpus, got, tt.want)
		}
	}
	b, _ := LookupBudget("small")
	if got := b.Train.FitP(3446).P; 3446/got < 20 {
		t.Errorf("small budget on a 3,446-token corpus: p = %d, only %d× smaller", got, 3446/got)
	}
}

func TestMicroBatches(t *testing.T) {
	ex := func(n int) student.Example { return student.Example{Tokens: make([]int, n)} }
	mb := microBatches([]student.Example{ex(10), ex(20), ex(50), ex(100), ex(5)}, 60)
	var sizes [][]int
	for _, b := range mb {
		var s []int
		for _, e := range b {
			s = append(s, len(e.Tokens))
		}
		sizes = append(sizes, s)
	}
	want := [][]int{{10, 20}, {50}, {100}, {5}}
	if len(sizes) != len(want) {
		t.Fatalf("micro-batches %v, want %v", sizes, want)
	}
	for i := range want {
		if !slices.Equal(sizes[i], want[i]) {
			t.Fatalf("micro-batches %v, want %v", sizes, want)
		}
	}
}
