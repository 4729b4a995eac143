package trainer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
)

// TestSynthReal synthesizes a few conversations with the real model about
// a small real corpus and checks their shape (and reports the speed).
func TestSynthReal(t *testing.T) {
	_, m, tok := modeltest.Real(t, 2)
	dir := os.Getenv("CARTLSP_SYNTH_DIR")
	if dir == "" {
		t.Skip("set CARTLSP_SYNTH_DIR")
	}
	ctx := context.Background()
	c, err := indexer.LoadDir(ctx, dir, indexer.Filter{Exclude: []string{"*_test.go"}})
	if err != nil {
		t.Fatal(err)
	}
	chat, err := NewChat(tok)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := SplitLines(ctx, c, tok)
	if err != nil {
		t.Fatal(err)
	}
	cfg := SynthConfig{Conversations: 8, ChunkMin: 256, ChunkMax: 768, MaxUser: 96, MaxAnswer: 192, UserTemp: 0.6, TopK: 20, Seed: 1}
	ds, err := OpenDataset(filepath.Join(t.TempDir(), "ds.bin"), DatasetHeader{Model: m.Fingerprint(), Corpus: c.Fingerprint(), Synth: cfg}, m.Vocab)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	s := &Synthesizer{Model: m, Chat: chat, Lines: ls, Cfg: cfg, Batch: 8}
	t0 := time.Now()
	if err := s.Run(ctx, ds); err != nil {
		t.Fatal(err)
	}
	el := time.Since(t0)
	toks := 0
	for _, cv := range ds.Sorted() {
		toks += len(cv.Tokens)
		t.Logf("#%d %s/%d chunk %d tok; %d tokens, %d targets\nUSER: %s\nANSWER: %s", cv.Index, cv.Seed, cv.Variant, cv.ChunkTokens, len(cv.Tokens), len(cv.Targets), cv.User, cv.Answer)
	}
	t.Logf("%d conversations in %v (%.1f s each), %d student tokens", len(ds.Convs), el, el.Seconds()/float64(len(ds.Convs)), toks)
}
