package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/cartlsp/cartlsp/runtime/generate"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "bench [--model F.gguf] [--threads N] [--prompt 512] [--gen 128] [--reps 3] [--json] [--cpuprofile F]", stderr)
	var mf modelFlags
	mf.register(fs)
	promptN := fs.Int("prompt", 512, "prompt tokens to prefill (one batch)")
	genN := fs.Int("gen", 128, "tokens to decode one at a time after the prompt")
	reps := fs.Int("reps", 3, "repetitions; the median is reported")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
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
	stopProfile, err := startCPUProfile(*cpuprofile)
	if err != nil {
		return err
	}
	res, err := generate.Bench(ctx, l.m, *promptN, *genN, *reps)
	stopProfile()
	if err != nil {
		return err
	}
	res.Backend, res.Threads = l.be.Name(), mf.threads
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "| backend | threads | prefill %d tok/s | decode %d (after %d) tok/s | peak RSS MiB |\n", *promptN, *genN, *promptN)
	fmt.Fprintf(stdout, "|---|---|---|---|---|\n")
	fmt.Fprintf(stdout, "| %s | %d | %.1f | %.1f | %.0f |\n", res.Backend, res.Threads, res.PrefillTokPerS, res.DecodeTokPerS, res.PeakRSSMiB)
	return nil
}
