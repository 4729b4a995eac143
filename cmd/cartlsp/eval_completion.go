package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/atomicfile"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/lsp"
	"github.com/cartlsp/cartlsp/trainer/eval"
	"github.com/cartlsp/cartlsp/trainer/progress"
)

const evalCompletionUsage = "eval --completion DIR [--include GLOB,...] [--cart X.cart] [--fim both|on|off] [--cases 100]\n" +
	"                   [--seed 1] [--prompt-ms 0] [--latency-ms 0] [--out PREFIX]"

const evalCompletionHelp = `
Measures code completion on held-out lines: lines drawn (seeded) from the files under DIR (those
matching --include, e.g. '*_test.go' for a Cartridge trained on the non-test code), each cut at a
cursor inside it with the rest of the line removed, and completed as the language server completes
(the same prompt, context window, stop rules, a fresh cache: the first suggestion of a typing run).

Conditions: none (no prefix) and, with --cart, cartridge; each without and with fill-in-the-middle
(--fim both, when the model has FIM tokens). Figures per condition: exact match of the rest of the
line, edit similarity (1 - Levenshtein / the longer length), NLL per token of the true rest of the
line after the same prompt, empty completions, and latency p50/p95 (prompt prefill, prediction,
total). Writes PREFIX.md and PREFIX.json and prints the table.
`

func runEvalCompletion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", evalCompletionUsage, stderr)
	base := fs.Usage
	fs.Usage = func() {
		base()
		fmt.Fprint(stderr, evalCompletionHelp)
	}
	var mf modelFlags
	mf.register(fs)
	def := lsp.DefaultConfig().Completion
	dir := fs.String("completion", "", "the directory whose lines are completed (required)")
	var include listFlag
	fs.Var(&include, "include", "globs of the files to draw lines from, matched against paths and their tails as --exclude is (repeatable, comma-separated); none: every file")
	cart := fs.String("cart", "", "a Cartridge to complete after (condition cartridge)")
	fim := fs.String("fim", "both", "fill-in-the-middle: both (each condition without and with), on, off")
	n := fs.Int("cases", 100, "held-out lines to complete")
	seed := fs.Uint64("seed", 1, "seed of the draw")
	ctxTokens := fs.Int("context-tokens", def.ContextTokens, "document tokens before the cursor (completion.contextTokens)")
	sufTokens := fs.Int("suffix-tokens", def.SuffixTokens, "document tokens after the cursor with FIM (completion.suffixTokens)")
	maxTokens := fs.Int("max-tokens", def.MaxTokens, "tokens generated at most (completion.maxTokens)")
	promptMs := fs.Int("prompt-ms", 0, "cap each prompt's prefill at this time by cutting its start, as the server's completion.promptMs does (0: never)")
	latency := fs.Int("latency-ms", 0, "cut each completion at this budget, as the server's completion.latencyMs does (0: never)")
	out := fs.String("out", "completion-report", "write the report to PREFIX.md and PREFIX.json")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	usageErr := usageErrorf(fs, stderr, "eval")
	switch {
	case len(pos) > 0:
		return usageErr("unexpected argument %q", pos[0])
	case *dir == "":
		return usageErr("--completion DIR is required")
	case *fim != "both" && *fim != "on" && *fim != "off":
		return usageErr("--fim is both, on or off, not %q", *fim)
	case *n < 1 || *ctxTokens < 1 || *maxTokens < 1 || *sufTokens < 0 || *latency < 0 || *promptMs < 0:
		return usageErr("--cases, --context-tokens and --max-tokens must be positive, --suffix-tokens, --prompt-ms and --latency-ms 0 or more")
	case *out == "":
		return usageErr("--out must not be empty")
	}
	// Files are drawn from where an exclude filter of the --include globs would match.
	drawn := indexer.Filter{Exclude: include}
	if err := drawn.Check(); err != nil {
		return usageErr("--include: %v", err)
	}
	corpus, err := indexer.LoadDir(ctx, *dir, indexer.Filter{})
	if err != nil {
		return err
	}
	var files []indexer.File
	for _, f := range corpus.Files {
		if len(include) == 0 || drawn.Excluded(f.Path) {
			files = append(files, f)
		}
	}
	cases := eval.CompletionCases(files, *n, *seed)
	if len(cases) == 0 {
		return fmt.Errorf("no lines to complete in %s (%d files match --include %q)", *dir, len(files), include.String())
	}

	l, err := mf.load()
	if err != nil {
		return err
	}
	defer l.Close()
	_, _, _, hasFIM := l.tok.FIM()
	if *fim == "on" && !hasFIM {
		return fmt.Errorf("model %s has no fill-in-the-middle tokens; use --fim off", l.path)
	}
	fims := map[string][]bool{"both": {false, true}, "on": {true}, "off": {false}}[*fim]
	if !hasFIM {
		fims = []bool{false}
	}
	prefixes := []struct {
		name string
		p    *answer.Prefix
	}{{"none", nil}}
	if *cart != "" {
		p, err := answer.LoadCartridges(l.m, *cart)
		if err != nil {
			return err
		}
		prefixes = append(prefixes, struct {
			name string
			p    *answer.Prefix
		}{"cartridge", p})
	}
	var conds []eval.CompletionCondition
	for _, p := range prefixes {
		for _, f := range fims {
			name := p.name
			if f {
				name += "+fim"
			}
			conds = append(conds, eval.CompletionCondition{Name: name, Prefix: p.p, FIM: f})
		}
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	bar := progress.NewBar(stderr, "completions", len(cases)*len(conds))
	o := eval.CompletionOptions{
		CompleteOptions: answer.CompleteOptions{MaxTokens: *maxTokens, ContextTokens: *ctxTokens, SuffixTokens: *sufTokens, Fences: true,
			PromptTime: time.Duration(*promptMs) * time.Millisecond},
		Latency: time.Duration(*latency) * time.Millisecond,
	}
	sums, err := eval.RunCompletion(ctx, l.m, l.tok, cases, conds, o, func(done, total int) { bar.Update(done, "") })
	if err != nil {
		bar.Finish("stopped")
		if errors.Is(err, context.Canceled) {
			return errors.New("interrupted; no report written")
		}
		return err
	}
	bar.Finish("")

	rep := eval.CompletionReport{
		Command: "cartlsp eval " + strings.Join(args, " "), Model: l.path, Threads: mf.threads, Dir: *dir,
		Include: include, Files: len(files), Seed: *seed, Options: o, Cases: cases, Conditions: sums,
	}
	if d := filepath.Dir(*out); d != "." {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	mdPath, jsPath := *out+".md", *out+".json"
	if err := atomicfile.Write(jsPath, 0o644, func(w io.Writer) error {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(rep)
	}); err != nil {
		return fmt.Errorf("writing %s: %w", jsPath, err)
	}
	if err := atomicfile.Write(mdPath, 0o644, func(w io.Writer) error { return rep.WriteMarkdown(w) }); err != nil {
		return fmt.Errorf("writing %s: %w", mdPath, err)
	}
	if err := rep.WriteTable(stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%d lines from %d files; wrote %s and %s\n", len(cases), len(files), mdPath, jsPath)
	return nil
}
