package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/cartlsp/cartlsp/atomicfile"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/trainer/eval"
	"github.com/cartlsp/cartlsp/trainer/progress"
)

const evalUsage = "eval --questions Q.jsonl --corpus DIR [--exclude GLOB,...] [--cart X.cart] [--ntp Y.cart]\n" +
	"                   [--conditions none,icl,cartridge,ntp] [--gen 96] [--limit N] [--out PREFIX]"

const evalHelp = `
With --completion DIR it measures code completion instead (cartlsp eval --completion --help).

Conditions (each answers the same questions; default: every one whose input is given):
  none       no context: the question alone
  icl        in-context learning: the corpus (--corpus) in a system turn before the question;
             when it does not fit the window with a question, its answer and --gen tokens,
             whole files are kept in path order, the next one is cut, and the report says "truncated"
  cartridge  the Cartridge --cart (trained by self-study) as the KV prefix
  ntp        the Cartridge --ntp (trained by next-token prediction on the corpus) as the KV prefix

Figures per condition: mean NLL per token of the reference answers; multiple-choice accuracy by
log-likelihood of the answer against its 3 distractors (total, and per token); greedy answers and
their decode tokens/s; the prefix's KV cache size at F16. The question file is JSONL, one object a line:
  {"id", "question", "answer", "distractors": [3 strings], "kind", "source"}
Writes PREFIX.md and PREFIX.json and prints the summary table.
`

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	for _, a := range args {
		if a == "--completion" || a == "-completion" || strings.HasPrefix(a, "--completion=") || strings.HasPrefix(a, "-completion=") {
			return runEvalCompletion(ctx, args, stdout, stderr)
		}
	}
	fs := newFlags("eval", evalUsage, stderr)
	base := fs.Usage
	fs.Usage = func() {
		base()
		fmt.Fprint(stderr, evalHelp)
	}
	var mf modelFlags
	mf.register(fs)
	questions := fs.String("questions", "", "question file, JSONL (required)")
	corpusDir := fs.String("corpus", "", "the codebase the questions are about (a directory; needed for icl)")
	var exclude listFlag
	fs.Var(&exclude, "exclude", "globs of corpus files to leave out, e.g. '*_test.go,docs/*' (repeatable, comma-separated)")
	cart := fs.String("cart", "", "the Cartridge to evaluate (condition cartridge)")
	ntp := fs.String("ntp", "", "a Cartridge trained by next-token prediction (condition ntp)")
	condList := fs.String("conditions", "", "comma-separated conditions among none, icl, cartridge, ntp (default: all whose inputs are given)")
	gen := fs.Int("gen", 96, "most tokens generated greedily per answer (0: no generation)")
	limit := fs.Int("limit", 0, "evaluate only the first N questions (0: all)")
	window := fs.Int("window", 0, "context window (tokens) a prefix and a question must fit together (0: the model's)")
	out := fs.String("out", "eval-report", "write the report to PREFIX.md and PREFIX.json")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	usageErr := usageErrorf(fs, stderr, "eval")
	switch {
	case len(pos) > 0:
		return usageErr("unexpected argument %q", pos[0])
	case *questions == "":
		return usageErr("--questions is required")
	case *gen < 0:
		return usageErr("--gen must be 0 or more")
	case *limit < 0:
		return usageErr("--limit must be 0 or more")
	case *window < 0:
		return usageErr("--window must be 0 or more")
	case *out == "":
		return usageErr("--out must not be empty")
	}
	names, err := evalConditions(*condList, *corpusDir != "", *cart != "", *ntp != "")
	if err != nil {
		return usageErr("%v", err)
	}

	qs, err := eval.ReadQuestions(*questions)
	if err != nil {
		return err
	}
	if *limit > 0 && *limit < len(qs) {
		qs = qs[:*limit]
	}
	globs := []string(exclude)
	var corpus *indexer.Corpus
	if *corpusDir != "" {
		if corpus, err = indexer.LoadDir(ctx, *corpusDir, indexer.Filter{Exclude: globs}); err != nil {
			return err
		}
	}

	l, err := mf.load()
	if err != nil {
		return err
	}
	defer l.Close()
	chat, err := answer.NewChat(l.tok)
	if err != nil {
		return fmt.Errorf("model %s: %w", l.path, err)
	}
	var conds []eval.Condition
	for _, n := range names {
		switch n {
		case "none":
			conds = append(conds, eval.None())
		case "icl":
			conds = append(conds, eval.ICL())
		case "cartridge", "ntp":
			path := *cart
			if n == "ntp" {
				path = *ntp
			}
			c, err := cartridge.Load(l.m.Fingerprint(), path)
			if err != nil {
				return err
			}
			conds = append(conds, eval.WithCartridge(n, path, c))
		}
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	var bar *progress.Bar
	onProgress := func(done, total int, what string) {
		if bar == nil {
			bar = progress.NewBar(stderr, "eval", total)
		}
		bar.Update(done, what)
	}
	r, err := eval.Run(ctx, l.m, chat, qs, conds, eval.Options{Corpus: corpus, Gen: *gen, Window: *window, Progress: onProgress})
	if bar != nil {
		msg := ""
		if err != nil {
			msg = "stopped"
		}
		bar.Finish(msg)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return errors.New("interrupted; no report written")
		}
		return err
	}
	r.Model.Path = l.path
	r.QuestionFile = *questions
	r.Settings.Limit = *limit
	r.Settings.Exclude = globs
	r.Settings.Threads = mf.threads
	r.Settings.Command = "cartlsp eval " + strings.Join(args, " ")

	if dir := filepath.Dir(*out); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	mdPath, jsPath := *out+".md", *out+".json"
	if err := writeReport(mdPath, r, eval.WriteMarkdown); err != nil {
		return err
	}
	if err := writeReport(jsPath, r, eval.WriteJSON); err != nil {
		return err
	}
	if err := eval.WriteSummary(stdout, r); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%d questions; wrote %s and %s\n", len(qs), mdPath, jsPath)
	return nil
}

// evalConditions reads --conditions, or picks every condition whose input
// was given, and checks each has its input.
func evalConditions(list string, corpus, cart, ntp bool) ([]string, error) {
	has := map[string]bool{"none": true, "icl": corpus, "cartridge": cart, "ntp": ntp}
	flagOf := map[string]string{"icl": "--corpus DIR", "cartridge": "--cart FILE", "ntp": "--ntp FILE"}
	if strings.TrimSpace(list) == "" {
		var names []string
		for _, n := range []string{"none", "icl", "cartridge", "ntp"} {
			if has[n] {
				names = append(names, n)
			}
		}
		return names, nil
	}
	var names []string
	seen := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" {
			continue
		}
		ok, known := has[n]
		switch {
		case !known:
			return nil, fmt.Errorf("unknown condition %q (conditions: none, icl, cartridge, ntp)", n)
		case !ok:
			return nil, fmt.Errorf("condition %s needs %s", n, flagOf[n])
		case seen[n]:
			return nil, fmt.Errorf("condition %s is listed twice", n)
		}
		seen[n] = true
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, errors.New("--conditions names no condition")
	}
	return names, nil
}

// writeReport writes one rendering of r to path, atomically.
func writeReport(path string, r *eval.Report, write func(io.Writer, *eval.Report) error) error {
	if err := atomicfile.Write(path, 0o644, func(w io.Writer) error { return write(w, r) }); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
