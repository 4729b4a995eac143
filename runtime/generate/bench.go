package generate

import (
	"context"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/sample"
)

// BenchResult is the speed of one configuration: medians over Reps
// repetitions of prefilling PromptTokens in one batch, then decoding
// GenTokens one at a time.
type BenchResult struct {
	Backend        string  `json:"backend"`
	Threads        int     `json:"threads"`
	PromptTokens   int     `json:"prompt_tokens"`
	GenTokens      int     `json:"gen_tokens"`
	PrefillTokPerS float64 `json:"prefill_tok_per_s"`
	DecodeTokPerS  float64 `json:"decode_tok_per_s"`
	PeakRSSMiB     float64 `json:"peak_rss_mib"` // the process's peak resident set
	Reps           int     `json:"reps"`
}

// Bench measures m as llama-bench does: deterministic pseudo-random prompt
// tokens prefilled in one batch, then gen tokens decoded greedily, reps
// times. Backend and Threads are left for the caller to fill in.
func Bench(ctx context.Context, m *model.Model, promptTokens, gen, reps int) (BenchResult, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	prompt := make([]int, promptTokens)
	for i := range prompt {
		prompt[i] = rng.IntN(m.Vocab)
	}
	var pre, dec []float64
	for range reps {
		p, d, err := benchOnce(ctx, m, prompt, gen)
		if err != nil {
			return BenchResult{}, err
		}
		pre, dec = append(pre, p), append(dec, d)
	}
	return BenchResult{PromptTokens: promptTokens, GenTokens: gen, PrefillTokPerS: median(pre), DecodeTokPerS: median(dec),
		PeakRSSMiB: peakRSSMiB(), Reps: reps}, nil
}

// benchOnce prefills prompt in one batch, then decodes gen tokens greedily,
// returning prefill and decode tokens per second.
func benchOnce(ctx context.Context, m *model.Model, prompt []int, gen int) (float64, float64, error) {
	cache := m.NewCache(1, len(prompt)+gen+1)
	t0 := time.Now()
	logits, err := m.Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: prompt, Logits: model.LogitsLast}})
	if err != nil {
		return 0, 0, err
	}
	prefill := time.Since(t0)
	t1 := time.Now()
	for i := 0; i < gen; i++ {
		id := sample.Greedy(logits)
		if logits, err = m.Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: []int{id}, Logits: model.LogitsLast}}); err != nil {
			return 0, 0, err
		}
	}
	decode := time.Since(t1)
	return float64(len(prompt)) / prefill.Seconds(), float64(gen) / decode.Seconds(), nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
