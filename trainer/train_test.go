package trainer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
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

// TestTrainBeside trains a Cartridge behind a frozen "dependency" prefix:
// the dependency never moves, the result is the Cartridge alone (p tokens,
// the sink in front), and its held-out loss is the loss of the
// composition [dependency | Cartridge without its sink], which is what
// cartridge.Compose serves.
func TestTrainBeside(t *testing.T) {
	cfg := tinyTrainConfig()
	tt := newTiny(t)
	s := tt.student(t)
	initToks, _ := tt.chat.System(answer.SystemPrompt(testCorpus().Render()))
	var examples []student.Example // next-token prediction: losses far from 0
	for i := 0; i+40 <= len(initToks) && len(examples) < 7; i += 40 {
		examples = append(examples, student.NextToken(initToks[i:i+40]))
	}
	train, held := Split(examples, 1, 4)
	depCfg := cfg
	depCfg.P = 6
	dep, err := (&Trainer{Infer: tt.m, InitTokens: initToks[3:], Cfg: depCfg}).initPrefix(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dep.Frozen = dep.P
	before := dep.Clone()
	tr := &Trainer{Student: s, Infer: tt.m, InitTokens: initToks, Cfg: cfg, Beside: dep}
	res, err := tr.Run(context.Background(), train, held)
	if err != nil {
		t.Fatal(err)
	}
	if res.Prefix.P != cfg.P || res.Prefix.Frozen != cfg.Frozen {
		t.Fatalf("the result has p = %d (%d frozen), want %d (%d)", res.Prefix.P, res.Prefix.Frozen, cfg.P, cfg.Frozen)
	}
	for l := range dep.K {
		if !slices.Equal(dep.K[l], before.K[l]) || !slices.Equal(dep.V[l], before.V[l]) {
			t.Fatalf("layer %d: the prefix trained beside was changed", l)
		}
	}
	own, err := res.Prefix.Slice(cfg.Frozen, cfg.P, 0)
	if err != nil {
		t.Fatal(err)
	}
	composed, err := student.Concat(dep, own)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := tr.meanLoss(context.Background(), composed, held, cfg.MicroTokens)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(loss-res.EvalLoss) > 1e-9 {
		t.Errorf("held-out loss of the composition %g, the training's %g: it did not train the composed arrangement", loss, res.EvalLoss)
	}
	if res.EvalLoss >= res.Losses[0].EvalLoss {
		t.Errorf("held-out loss did not fall beside the prefix: %g → %g", res.Losses[0].EvalLoss, res.EvalLoss)
	}
	alone, err := tr.meanLoss(context.Background(), res.Prefix, held, cfg.MicroTokens)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(alone-res.EvalLoss) < 1e-6 {
		t.Errorf("the Cartridge alone has the composition's loss %g: the check cannot tell arrangements apart", alone)
	}
	sink, _ := dep.Slice(0, 1, 1)
	head, _ := res.Prefix.Slice(0, 1, 1)
	for l := range sink.K {
		if !slices.Equal(sink.K[l], head.K[l]) {
			t.Fatalf("layer %d: the result's sink is not the first Cartridge's", l)
		}
	}
}

// TestTrainGuard drives the guard's undo: a step whose loss exceeds 1.05 ×
// the first step's trips it.
// Each undo halves the rate (the loss log says so), the run finishes with
// finite losses, and an interrupted run resumes to the same end (the
// lowered rate is restored from the log) when the guard does not trip in
// its first two steps.
func TestTrainGuard(t *testing.T) {
	tt := newTiny(t)
	s := tt.student(t)
	initToks, _ := tt.chat.System(answer.SystemPrompt(testCorpus().Render()))
	var examples []student.Example
	for i := 0; i+40 <= len(initToks) && len(examples) < 9; i += 40 {
		examples = append(examples, student.NextToken(initToks[i:i+40]))
	}
	cfg := tinyTrainConfig()
	cfg.LR, cfg.Epochs, cfg.Batch, cfg.Guard = 0.5, 3, 1, 1.05
	// No held-out set: the reference is the first step's loss. The example
	// the first step draws is made the easiest, so harder ones after it
	// exceed it and trip the guard.
	pre0, err := (&Trainer{Infer: tt.m, InitTokens: initToks, Cfg: cfg}).initPrefix(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	easiest, low := 0, math.Inf(1)
	for i, ex := range examples {
		l, err := (&Trainer{Student: s}).meanLoss(context.Background(), pre0, []student.Example{ex}, cfg.MicroTokens)
		if err != nil {
			t.Fatal(err)
		}
		if l < low {
			easiest, low = i, l
		}
	}
	first := rand.New(rand.NewPCG(cfg.Seed, 0)).Perm(len(examples))[0]
	examples[first], examples[easiest] = examples[easiest], examples[first]
	train, held := examples, []student.Example(nil)
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
	if full.Undone == 0 {
		t.Fatalf("no undo: step losses %v", full.Losses)
	}
	lr, halvings := cfg.LR, 0
	for _, p := range full.Losses {
		if math.IsNaN(p.Loss) || math.IsInf(p.Loss, 0) {
			t.Fatalf("step %d: loss %g", p.Step, p.Loss)
		}
		if p.LR < lr {
			if p.LR != lr/2 {
				t.Fatalf("step %d: lr %g after %g, want halved", p.Step, p.LR, lr)
			}
			lr, halvings = p.LR, halvings+1
		}
	}
	if halvings != full.Undone {
		t.Errorf("%d undos but the log halves the rate %d times", full.Undone, halvings)
	}
	stop := 0 // a step the next two of which keep the rate
	for i := 2; i+2 < len(full.Losses) && stop == 0; i++ {
		if full.Losses[i+1].LR == full.Losses[i].LR && full.Losses[i+2].LR == full.Losses[i].LR {
			stop = full.Losses[i].Step
		}
	}
	if stop == 0 {
		t.Fatalf("no step to interrupt at: %v", full.Losses)
	}
	ck := filepath.Join(dir, "b.ckpt")
	if _, err := run(ck, stop); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	resumed, err := run(ck, 0)
	if err != nil {
		t.Fatal(err)
	}
	for l := range full.Prefix.K {
		if !slices.Equal(full.Prefix.K[l], resumed.Prefix.K[l]) {
			t.Fatalf("layer %d: the resumed guarded run differs from the uninterrupted one", l)
		}
	}
	cfg.Guard = 0.5
	if err := cfg.check(); err == nil {
		t.Error("a guard of 0.5 passed the check")
	}
}
