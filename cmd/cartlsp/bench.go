package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"syscall"
	"time"

	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/sample"
)

// benchResult is one configuration's figures (medians over repetitions).
type benchResult struct {
	Backend        string  `json:"backend"`
	Threads        int     `json:"threads"`
	PromptTokens   int     `json:"prompt_tokens"`
	GenTokens      int     `json:"gen_tokens"`
	PrefillTokPerS float64 `json:"prefill_tok_per_s"`
	DecodeTokPerS  float64 `json:"decode_tok_per_s"`
	PeakRSSMiB     float64 `json:"peak_rss_mib"`
	Reps           int     `json:"reps"`
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "bench [--model F.gguf] [--threads N] [--prompt 512] [--gen 128] [--reps 3] [--json]", stderr)
	var mf modelFlags
	mf.register(fs)
	promptN := fs.Int("prompt", 512, "prompt tokens to prefill (one batch)")
	genN := fs.Int("gen", 128, "tokens to decode one at a time after the prompt")
	reps := fs.Int("reps", 3, "repetitions; the median is reported")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *promptN < 1 || *genN < 1 || *reps < 1 {
		return fmt.Errorf("--prompt, --gen and --reps must be positive")
	}
	l, err := mf.load()
	if err != nil {
		return err
	}
	defer l.Close()
	// Deterministic pseudo-random prompt tokens (as llama-bench does).
	rng := rand.New(rand.NewPCG(1, 2))
	prompt := make([]int, *promptN)
	for i := range prompt {
		prompt[i] = rng.IntN(l.m.Vocab)
	}
	var pre, dec []float64
	for r := 0; r < *reps; r++ {
		p, d, err := benchOnce(ctx, l.m, prompt, *genN)
		if err != nil {
			return err
		}
		pre, dec = append(pre, p), append(dec, d)
	}
	res := benchResult{
		Backend: l.be.Name(), Threads: mf.threads, PromptTokens: *promptN, GenTokens: *genN,
		PrefillTokPerS: median(pre), DecodeTokPerS: median(dec), PeakRSSMiB: peakRSSMiB(), Reps: *reps,
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "| backend | threads | prefill %d tok/s | decode %d (after %d) tok/s | peak RSS MiB |\n", *promptN, *genN, *promptN)
	fmt.Fprintf(stdout, "|---|---|---|---|---|\n")
	fmt.Fprintf(stdout, "| %s | %d | %.1f | %.1f | %.0f |\n", res.Backend, res.Threads, res.PrefillTokPerS, res.DecodeTokPerS, res.PeakRSSMiB)
	return nil
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

// peakRSSMiB is the process's peak resident set size.
func peakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}
