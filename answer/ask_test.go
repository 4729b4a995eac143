package answer

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/model"
)

// TestAskWindow: a question that cannot fit after the prefix is refused
// with ErrNoRoom; one that fits with little room left gets an answer cut
// to that room.
func TestAskWindow(t *testing.T) {
	m, _, chat := tinyChat(t, 1024)
	ctx := context.Background()
	const q = "What does Open return?"
	prompt, err := chat.User(q)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		o         Options
		refused   bool
		mostToken int
	}{
		{"no room", Options{Window: len(prompt), MaxTokens: 8}, true, 0},
		{"three tokens of room", Options{Window: len(prompt) + 3, MaxTokens: 50}, false, 3},
		{"room enough", Options{MaxTokens: 5}, false, 5},
		{"a window beyond the model's is the model's", Options{Window: 1 << 20, MaxTokens: 5}, false, 5},
	}
	// A question past MaxQuestionBytes is refused before it is tokenized.
	if _, err := Ask(ctx, m, chat, nil, strings.Repeat("x", 50<<20), Options{MaxTokens: 5}, nil); !errors.Is(err, ErrNoRoom) || !strings.Contains(err.Error(), "bytes") {
		t.Errorf("a 50 MB question: %v, want ErrNoRoom saying how long it is", err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := Ask(ctx, m, chat, nil, q, c.o, nil)
			if c.refused {
				if !errors.Is(err, ErrNoRoom) {
					t.Fatalf("Ask: %v, want ErrNoRoom", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Tokens) > c.mostToken || a.Source != SourceNone || a.PromptTokens != len(prompt) || a.Stop == "" {
				t.Errorf("answer %+v, want at most %d tokens", a, c.mostToken)
			}
			if len(a.Tokens) == c.mostToken && c.o.MaxTokens > c.mostToken && a.Stop != StopContext {
				t.Errorf("an answer cut by the window stops with %q, want %q", a.Stop, StopContext)
			}
		})
	}
}

// TestCorpusPrefix: a corpus is prefilled PrefillChunk tokens a pass, cut
// to what the window leaves whatever Tokens asks, and refused when the
// window leaves nothing.
func TestCorpusPrefix(t *testing.T) {
	m, _, chat := tinyChat(t, 4096)
	ctx := context.Background()
	corpus := testCorpus(12)
	whole, err := CorpusInContext(chat, corpus, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Tokens) <= 2*PrefillChunk || len(whole.Tokens) > 3000 {
		t.Fatalf("the test corpus takes %d tokens, want 2–6 chunks", len(whole.Tokens))
	}
	cases := []struct {
		name      string
		o         CorpusOptions
		wantN     int  // 0: at most the window less the reserve
		truncated bool // the corpus does not fit
	}{
		{"whole", CorpusOptions{}, len(whole.Tokens), false},
		{"absurd tokens are cut to the window", CorpusOptions{Tokens: 1 << 20, Window: 1000, Reserve: 200}, 0, true},
		{"tokens bound it", CorpusOptions{Tokens: 600}, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var calls [][2]int
			c.o.Progress = func(done, total int) { calls = append(calls, [2]int{done, total}) }
			p, err := CorpusPrefix(ctx, m, chat, nil, corpus, c.o)
			if err != nil {
				t.Fatal(err)
			}
			limit := Window(m, c.o.Window) - c.o.Reserve
			if c.o.Tokens > 0 {
				limit = min(limit, c.o.Tokens)
			}
			if c.wantN > 0 && p.N != c.wantN || p.N > limit || p.N != len(p.InContext.Tokens) ||
				p.InContext.Truncated != c.truncated || p.Source != SourceInContext {
				t.Errorf("prefix of %d tokens (limit %d), truncated %v", p.N, limit, p.InContext.Truncated)
			}
			chunks := (p.N + PrefillChunk - 1) / PrefillChunk
			if len(calls) != chunks || calls[len(calls)-1] != [2]int{p.N, p.N} {
				t.Errorf("progress %v, want %d chunks", calls, chunks)
			}
		})
	}
	if _, err := CorpusPrefix(ctx, m, chat, nil, corpus, CorpusOptions{Window: 100, Reserve: 100}); !errors.Is(err, ErrNoRoom) {
		t.Errorf("a window with no room: %v, want ErrNoRoom", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := CorpusPrefix(cctx, m, chat, nil, corpus, CorpusOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestChunkedPrefillMatchesOnePass: the keys and values of a corpus
// prefilled in chunks are those of one forward pass over it, so the
// answers after them are the same.
func TestChunkedPrefillMatchesOnePass(t *testing.T) {
	m, _, chat := tinyChat(t, 4096)
	ctx := context.Background()
	p, err := CorpusPrefix(ctx, m, chat, nil, testCorpus(8), CorpusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.N <= PrefillChunk {
		t.Fatalf("the corpus takes %d tokens, one chunk", p.N)
	}
	one := m.NewCache(1, p.N)
	if _, err := m.Forward(ctx, one, model.Batch{{Seq: 0, Tokens: p.InContext.Tokens, Logits: model.LogitsNone}}); err != nil {
		t.Fatal(err)
	}
	k, v := one.SeqKV(0)
	worst := 0.0
	for l := range k {
		for i := range k[l] {
			worst = max(worst, math.Abs(float64(k[l][i]-p.k[l][i])), math.Abs(float64(v[l][i]-p.v[l][i])))
		}
	}
	if worst > 1e-3 {
		t.Errorf("chunked and one-pass KV differ by up to %g", worst)
	}
	onePass := &Prefix{Source: SourceInContext, N: p.N, k: k, v: v}
	a, err := Ask(ctx, m, chat, p, "What is Port?", Options{MaxTokens: 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Ask(ctx, m, chat, onePass, "What is Port?", Options{MaxTokens: 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Tokens, b.Tokens) || a.Source != SourceInContext {
		t.Errorf("after the chunked prefill %v, after one pass %v", a.Tokens, b.Tokens)
	}
}
