package generate_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/generate"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
	"github.com/cartlsp/cartlsp/runtime/sample"
	"github.com/cartlsp/cartlsp/runtime/tokenizer"
)

// realModel is the small real model: the point here is the generator.
func realModel(t *testing.T) (*model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	_, m, tok := modeltest.Small(t, 2)
	return m, tok
}

func TestRun(t *testing.T) {
	m, tok := realModel(t)
	prompt, err := tok.ApplyChat([]tokenizer.Message{{Role: "user", Content: "What is the capital of France? Answer in one word."}}, true)
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode(prompt, true)
	ctx := context.Background()

	t.Run("greedy answers and ends its turn", func(t *testing.T) {
		var streamed strings.Builder
		res, err := generate.Run(ctx, m, tok, m.NewCache(1, 512), 0, ids, generate.Options{MaxTokens: 64},
			func(s string) error { streamed.WriteString(s); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(res.Text, "Paris") {
			t.Errorf("answer %q does not name Paris", res.Text)
		}
		if streamed.String() != res.Text {
			t.Errorf("streamed %q, result %q", streamed.String(), res.Text)
		}
		if res.Reason != generate.StopEOG {
			t.Errorf("stop reason %s, want eog", res.Reason)
		}
		// Greedy is deterministic.
		res2, _ := generate.Run(ctx, m, tok, m.NewCache(1, 512), 0, ids, generate.Options{MaxTokens: 64}, nil)
		if res2.Text != res.Text {
			t.Errorf("greedy runs differ: %q vs %q", res.Text, res2.Text)
		}
	})
	t.Run("max tokens", func(t *testing.T) {
		res, err := generate.Run(ctx, m, tok, m.NewCache(1, 512), 0, ids, generate.Options{MaxTokens: 3}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Tokens) != 3 || res.Reason != generate.StopMaxTokens {
			t.Errorf("%d tokens, reason %s", len(res.Tokens), res.Reason)
		}
	})
	t.Run("stop string is cut and never streamed", func(t *testing.T) {
		var streamed strings.Builder
		res, err := generate.Run(ctx, m, tok, m.NewCache(1, 512), 0, ids,
			generate.Options{MaxTokens: 64, StopStrings: []string{"Paris"}},
			func(s string) error { streamed.WriteString(s); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if res.Reason != generate.StopToken || strings.Contains(res.Text, "Paris") || strings.Contains(streamed.String(), "Par") {
			t.Errorf("reason %s, text %q, streamed %q", res.Reason, res.Text, streamed.String())
		}
	})
	t.Run("seeded sampling is reproducible", func(t *testing.T) {
		o := generate.Options{MaxTokens: 24, Sample: sample.Params{Temperature: 0.9, TopK: 40, TopP: 0.95, Seed: 11}}
		a, _ := generate.Run(ctx, m, tok, m.NewCache(1, 512), 0, ids, o, nil)
		b, _ := generate.Run(ctx, m, tok, m.NewCache(1, 512), 0, ids, o, nil)
		if a.Text != b.Text {
			t.Errorf("same seed, different text: %q vs %q", a.Text, b.Text)
		}
	})
	t.Run("cancel stops cleanly", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		n := 0
		res, err := generate.Run(cctx, m, tok, m.NewCache(1, 512), 0, ids, generate.Options{MaxTokens: 200},
			func(s string) error {
				if n++; n == 2 {
					cancel()
				}
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		if res.Reason != generate.StopCancelled || len(res.Tokens) > 4 {
			t.Errorf("reason %s after %d tokens", res.Reason, len(res.Tokens))
		}
	})
	t.Run("prompt too long", func(t *testing.T) {
		if _, err := generate.Run(ctx, m, tok, m.NewCache(1, 8), 0, ids, generate.Options{}, nil); err == nil {
			t.Error("a prompt longer than the context was accepted")
		}
	})
}
