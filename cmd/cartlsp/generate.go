package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/cartlsp/cartlsp/runtime/generate"
	"github.com/cartlsp/cartlsp/runtime/sample"
	"github.com/cartlsp/cartlsp/runtime/tokenizer"
)

// genFlags are the sampling flags of generate and chat.
type genFlags struct {
	maxTokens int
	temp      float64
	topK      int
	topP      float64
	seed      uint64
	ctxLen    int
	stats     bool
}

func (g *genFlags) register(fs *flag.FlagSet, defTemp float64) {
	fs.IntVar(&g.maxTokens, "n", 256, "most tokens to generate")
	fs.Float64Var(&g.temp, "temp", defTemp, "sampling temperature; 0 = greedy")
	fs.IntVar(&g.topK, "top-k", 40, "sample among the k most likely tokens (0 = all)")
	fs.Float64Var(&g.topP, "top-p", 0.95, "sample among the most likely tokens whose probability sums to p (1 = all)")
	fs.Uint64Var(&g.seed, "seed", 0, "random seed for sampling")
	fs.IntVar(&g.ctxLen, "ctx", 2048, "context length (tokens) of the KV cache")
	fs.BoolVar(&g.stats, "stats", false, "print timings to stderr when done")
}

func (g *genFlags) options() generate.Options {
	return generate.Options{
		MaxTokens: g.maxTokens,
		Sample:    sample.Params{Temperature: float32(g.temp), TopK: g.topK, TopP: float32(g.topP), Seed: g.seed},
	}
}

func printStats(w io.Writer, r generate.Result) {
	fmt.Fprintf(w, "\n[%d prompt tokens at %.1f tok/s; %d generated at %.1f tok/s; stop: %s]\n",
		r.PromptTokens, r.PrefillRate(), len(r.Tokens), r.DecodeRate(), r.Reason)
}

func runGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("generate", "generate [flags] PROMPT   (PROMPT - reads standard input)", stderr)
	var mf modelFlags
	var g genFlags
	mf.register(fs)
	g.register(fs, 0)
	asChat := fs.Bool("chat", false, "wrap the prompt as a user turn of the model's chat template")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	prompt := fs.Arg(0)
	// A prompt longer than the cache holds cannot run: read no more than a
	// generous 16 bytes a token of it.
	maxPrompt := 16*g.ctxLen + 1<<16
	if prompt == "-" {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, int64(maxPrompt)+1))
		if err != nil {
			return err
		}
		prompt = string(b)
	}
	if len(prompt) > maxPrompt {
		return fmt.Errorf("the prompt is over %d bytes, more than a %d-token context holds: shorten it or raise --ctx", maxPrompt, g.ctxLen)
	}
	l, err := mf.load()
	if err != nil {
		return err
	}
	defer l.Close()
	if *asChat {
		if prompt, err = l.tok.ApplyChat([]tokenizer.Message{{Role: "user", Content: prompt}}, true); err != nil {
			return err
		}
	}
	ids := l.tok.Encode(prompt, true)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	cache := l.m.NewCache(1, g.ctxLen)
	if !*asChat {
		fmt.Fprint(stdout, prompt)
	}
	res, err := generate.Run(ctx, l.m, l.tok, cache, 0, ids, g.options(), func(s string) error {
		_, err := io.WriteString(stdout, s)
		return err
	})
	if err != nil {
		return err
	}
	if !strings.HasSuffix(res.Text, "\n") {
		fmt.Fprintln(stdout)
	}
	if g.stats {
		printStats(stderr, res)
	}
	return nil
}
