package trainer

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
)

func tinySynthConfig() SynthConfig {
	return SynthConfig{Conversations: 6, ChunkMin: 48, ChunkMax: 96, MaxUser: 12, MaxAnswer: 20, UserTemp: 0.6, TopK: 4, SeedTypes: SeedTypes, Seed: 3}
}

func synthesize(t *testing.T, tt *tiny, path string, batch int, cancelAfter int) (*Dataset, error) {
	t.Helper()
	return synthesizeWith(t, tt, path, tinySynthConfig(), batch, cancelAfter, false)
}

func synthesizeWith(t *testing.T, tt *tiny, path string, cfg SynthConfig, batch int, cancelAfter int, prefillShared bool) (*Dataset, error) {
	t.Helper()
	ds, err := OpenDataset(path, DatasetHeader{Model: tt.m.Fingerprint(), Corpus: "c", Synth: cfg}, tt.m.Vocab)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &Synthesizer{Model: tt.m, Chat: tt.chat, Lines: testLines(t, tt.tok), Cfg: cfg, Batch: batch,
		Progress: func(done, total int) {
			if cancelAfter > 0 && done >= cancelAfter {
				cancel()
			}
		}, prefillShared: prefillShared}
	err = s.Run(ctx, ds)
	ds.Close()
	return ds, err
}

// Conversation i depends on the seed and i only: the batch size does not
// change it, and an interrupted run resumed gives the same dataset.
func TestSynthDeterministicAndResumable(t *testing.T) {
	tt := newTiny(t)
	dir := t.TempDir()
	a, err := synthesize(t, tt, filepath.Join(dir, "a.bin"), 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Convs) != 6 {
		t.Fatalf("%d conversations", len(a.Convs))
	}
	for _, c := range a.Convs {
		if c.User == "" || len(c.Targets) == 0 || c.AnsStart <= c.UserStart || c.AnsEnd < c.AnsStart {
			t.Fatalf("conversation %d is malformed: %+v", c.Index, c)
		}
		for _, tg := range c.Targets {
			if tg.Pos < c.UserStart-1 || tg.Pos >= len(c.Tokens)-1+boolInt(c.AnsEnd == len(c.Tokens)) || len(tg.IDs) != 4 {
				t.Fatalf("conversation %d: target at %d of %d tokens", c.Index, tg.Pos, len(c.Tokens))
			}
			if tg.LogProbs[0] < tg.LogProbs[3] {
				t.Fatalf("targets not sorted: %v", tg.LogProbs)
			}
		}
	}
	b, err := synthesize(t, tt, filepath.Join(dir, "b.bin"), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Sorted(), b.Sorted()) {
		t.Error("batch size 3 and 1 give different conversations")
	}
	path := filepath.Join(dir, "c.bin")
	if _, err := synthesize(t, tt, path, 2, 2); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	c, err := synthesize(t, tt, path, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Sorted(), c.Sorted()) {
		t.Error("an interrupted and resumed synthesis differs from an uninterrupted one")
	}
}

// Conversations that share a chunk (PerChunk) get it prefilled once and
// copied: the same conversations as prefilling it for each, whatever the
// batch size, resumed or not; each group shares one chunk.
func TestSynthSharedChunks(t *testing.T) {
	tt := newTiny(t)
	dir := t.TempDir()
	cfg := tinySynthConfig()
	cfg.Conversations, cfg.PerChunk, cfg.Spread = 8, 3, true
	ref, err := synthesizeWith(t, tt, filepath.Join(dir, "ref.bin"), cfg, 4, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	convs := ref.Sorted()
	if len(convs) != 8 {
		t.Fatalf("%d conversations", len(convs))
	}
	for _, c := range convs {
		if lead := convs[c.Index/3*3]; c.ChunkStart != lead.ChunkStart || c.ChunkTokens != lead.ChunkTokens {
			t.Errorf("conversation %d: chunk at %d (%d tokens), its group's first at %d (%d)", c.Index, c.ChunkStart, c.ChunkTokens, lead.ChunkStart, lead.ChunkTokens)
		}
	}
	if convs[0].ChunkStart == convs[3].ChunkStart && convs[3].ChunkStart == convs[6].ChunkStart {
		t.Error("every group has the same chunk")
	}
	for _, batch := range []int{4, 1, 5} {
		got, err := synthesizeWith(t, tt, filepath.Join(dir, fmt.Sprintf("b%d.bin", batch)), cfg, batch, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Sorted(), convs) {
			t.Errorf("batch %d: copied chunks give other conversations than prefilled ones", batch)
		}
	}
	path := filepath.Join(dir, "resumed.bin")
	if _, err := synthesizeWith(t, tt, path, cfg, 2, 4, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	got, err := synthesizeWith(t, tt, path, cfg, 2, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Sorted(), convs) {
		t.Error("an interrupted and resumed synthesis with shared chunks differs")
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestRepeatStart(t *testing.T) {
	for _, c := range []struct {
		toks []int
		n    int
		want int
	}{
		{[]int{1, 2, 3, 4}, 2, -1},
		{[]int{1, 2, 3, 1, 2}, 2, 3},
		{[]int{5, 1, 2, 1, 2, 1}, 3, 3},
		{[]int{7, 7, 7}, 2, 1},
		{[]int{1, 2}, 2, -1},
	} {
		if got := repeatStart(c.toks, c.n); got != c.want {
			t.Errorf("repeatStart(%v, %d) = %d, want %d", c.toks, c.n, got, c.want)
		}
	}
}

func TestCleanUserMessage(t *testing.T) {
	for in, want := range map[string]string{
		"  What does `F` return?  ": "What does `F` return?",
		"Question: why?":            "why?",
		`"quoted message"`:          "quoted message",
		"":                          "",
	} {
		if got := cleanUserMessage(in); got != want {
			t.Errorf("cleanUserMessage(%q) = %q, want %q", in, got, want)
		}
	}
}
