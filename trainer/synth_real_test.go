package trainer

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
)

// TestSynthReal synthesizes conversations with the real model about a
// small Go package (or the directory $CARTLSP_SYNTH_DIR, with
// $CARTLSP_SYNTH_N conversations, to look at what synthesis makes and how
// fast) and checks their shape.
func TestSynthReal(t *testing.T) {
	_, m, tok := modeltest.Real(t, 2)
	ctx := context.Background()
	c := &indexer.Corpus{Kind: "dir", Source: "ring", Files: []indexer.File{{Path: "ring/ring.go", Text: ringSource}}}
	n, maxAnswer := 2, 48
	if dir := os.Getenv("CARTLSP_SYNTH_DIR"); dir != "" {
		var err error
		if c, err = indexer.LoadDir(ctx, dir, indexer.Filter{Exclude: []string{"*_test.go"}}); err != nil {
			t.Fatal(err)
		}
		n, maxAnswer = 8, 160
		if v, err := strconv.Atoi(os.Getenv("CARTLSP_SYNTH_N")); err == nil {
			n = v
		}
	}
	chat, err := answer.NewChat(tok)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := SplitLines(ctx, c, tok)
	if err != nil {
		t.Fatal(err)
	}
	cfg := SynthConfig{Conversations: n, ChunkMin: 256, ChunkMax: 768, MaxUser: 64, MaxAnswer: maxAnswer, UserTemp: 0.6, TopK: 20, Seed: 1}
	ds, err := OpenDataset(filepath.Join(t.TempDir(), "ds.bin"), DatasetHeader{Model: m.Fingerprint(), Corpus: c.Fingerprint(), Synth: cfg}, m.Vocab)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	s := &Synthesizer{Model: m, Chat: chat, Lines: ls, Cfg: cfg, Batch: min(n, 8)}
	t0 := time.Now()
	if err := s.Run(ctx, ds); err != nil {
		t.Fatal(err)
	}
	el := time.Since(t0)
	toks := 0
	for _, cv := range ds.Sorted() {
		toks += len(cv.Tokens)
		if len(cv.User) < 10 || cv.AnsEnd <= cv.AnsStart || len(cv.Targets) < cv.AnsEnd-cv.UserStart {
			t.Errorf("conversation %d: user %q, answer %d..%d, %d targets", cv.Index, cv.User, cv.AnsStart, cv.AnsEnd, len(cv.Targets))
		}
		if tok.Decode(cv.Tokens[cv.AnsStart:cv.AnsEnd]) != cv.Answer {
			t.Errorf("conversation %d: the answer text is not its tokens", cv.Index)
		}
		t.Logf("#%d %s/%d chunk %d tok; %d tokens, %d targets\nUSER: %s\nANSWER: %s", cv.Index, cv.Seed, cv.Variant, cv.ChunkTokens, len(cv.Tokens), len(cv.Targets), cv.User, cv.Answer)
	}
	t.Logf("%d conversations in %v (%.1f s each), %d student tokens", len(ds.Convs), el, el.Seconds()/float64(len(ds.Convs)), toks)
}

const ringSource = `// Package ring implements a fixed-size ring buffer of ints.
package ring

import "errors"

// ErrEmpty is returned by Pop on an empty ring.
var ErrEmpty = errors.New("ring: empty")

// Ring holds the last n values pushed.
type Ring struct {
	buf  []int
	next int
	full bool
}

// New returns a ring of capacity n; it panics when n < 1.
func New(n int) *Ring {
	if n < 1 {
		panic("ring: capacity must be positive")
	}
	return &Ring{buf: make([]int, n)}
}

// Push adds v, overwriting the oldest value when the ring is full.
func (r *Ring) Push(v int) {
	r.buf[r.next] = v
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}

// Len is the number of values held.
func (r *Ring) Len() int {
	if r.full {
		return len(r.buf)
	}
	return r.next
}

// Pop removes and returns the newest value, or ErrEmpty.
func (r *Ring) Pop() (int, error) {
	if r.Len() == 0 {
		return 0, ErrEmpty
	}
	r.next = (r.next - 1 + len(r.buf)) % len(r.buf)
	r.full = false
	return r.buf[r.next], nil
}
`
