package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/deps"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/lsp"
	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/store"
	"github.com/cartlsp/cartlsp/trainer/storetrain"
)

func runAsk(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ask", `ask [flags] "question"   (question "-" reads stdin)`, stderr)
	var mf modelFlags
	var g genFlags
	var carts listFlag
	mf.register(fs)
	g.register(fs, 0)
	fs.Var(&carts, "cart", "Cartridge to answer with (repeatable: several are composed in order); default: the repository's in the store")
	var depSpecs listFlag
	fs.Var(&depSpecs, "dep", "a dependency of the repository (MODULE or MODULE@VERSION, as `cartlsp deps ls` lists it) whose Cartridge in the store is composed before the --cart files (repeatable, in order)")
	repo := fs.String("repo", ".", "the repository: without --cart its Cartridge in the store answers (HEAD's, or its nearest ancestor's); --dep names its dependencies")
	storeDir := fs.String("store", "", "Cartridge store --dep looks in (default: $CARTLSP_STORE, else the user cache directory)")
	budgetName := fs.String("budget", "small", "the budget the store's Cartridges were trained with (part of their key)")
	depTokens := fs.Int("dep-tokens", lsp.DefaultDependencyTokens, "the most virtual tokens the --dep Cartridges may take together")
	alone := fs.Bool("alone", false, "answer with the model alone: no Cartridge from the store (--cart and --dep still add theirs)")
	asJSON := fs.Bool("json", false, "print one JSON object (the answer, the Cartridges it was decoded against, timings) when done, instead of streaming the text")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if err := applyConfig(fs, *repo, stderr); err != nil {
		return err
	}
	q := strings.TrimSpace(strings.Join(pos, " "))
	if q == "-" {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, answer.MaxQuestionBytes+1))
		if err != nil {
			return err
		}
		if len(b) > answer.MaxQuestionBytes {
			return fmt.Errorf("the question on stdin is over %d bytes: ask a shorter question", answer.MaxQuestionBytes)
		}
		q = strings.TrimSpace(string(b))
	}
	if q == "" {
		fmt.Fprintln(stderr, `cartlsp ask: a question is needed, e.g. cartlsp ask --cart repo.cart "What does NewRandom return?"`)
		return errUsage
	}
	l, err := mf.load()
	if err != nil {
		return err
	}
	defer l.Close()
	chat, err := answer.NewChat(l.tok)
	if err != nil {
		return err
	}
	var depFiles []string
	if len(depSpecs) > 0 {
		if depFiles, err = dependencyCartridges(ctx, l, chat, *repo, *storeDir, *budgetName, depSpecs, *depTokens); err != nil {
			return err
		}
	}
	if len(carts) == 0 && !*alone {
		// Inside a repository: HEAD's Cartridge from the store, or its
		// nearest ancestor's, as `cartlsp train` and the server key them
		// (trained beside the --dep Cartridges when the store has one).
		path, why := repoCartridge(l, chat, *repo, *storeDir, *budgetName, depFiles)
		if path != "" {
			carts = append(carts, path)
		}
		fmt.Fprintf(stderr, "(%s)\n", why)
	}
	carts = append(depFiles, carts...)
	var p *answer.Prefix // none: the model alone
	if len(carts) > 0 {
		if p, err = answer.LoadCartridges(l.m, carts...); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	o := g.options()
	var stream func(string) error
	if !*asJSON {
		stream = func(s string) error {
			_, err := io.WriteString(stdout, s)
			return err
		}
	}
	a, err := answer.Ask(ctx, l.m, chat, p, q, answer.Options{MaxTokens: max(o.MaxTokens, 1), Sample: o.Sample}, stream)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, askJSON{Question: q, Answer: strings.TrimSpace(a.Text), Cartridges: carts, Stop: string(a.Stop),
			PromptTokens: a.PromptTokens, GeneratedTokens: len(a.Tokens), PrefillMs: a.Timings.Prefill.Seconds() * 1000,
			FirstTextMs: a.Timings.FirstToken.Seconds() * 1000, DecodeTokS: a.DecodeRate()})
	}
	fmt.Fprintln(stdout)
	if g.stats {
		fmt.Fprintf(stderr, "\n[%d prompt tokens in %s; %d generated at %.1f tok/s; first text after %s; stop: %s]\n",
			a.PromptTokens, a.Timings.Prefill.Round(time.Millisecond), len(a.Tokens), a.DecodeRate(),
			a.Timings.FirstToken.Round(time.Millisecond), a.Stop)
	}
	if a.Stop == answer.StopCancelled {
		fmt.Fprintln(stderr, "[stopped]")
	}
	return nil
}

// dependencyCartridges finds the store's Cartridges of the repository's
// dependencies specs names, as `cartlsp deps` keys them, within a cap of
// maxTokens virtual tokens together.
func dependencyCartridges(ctx context.Context, l *loaded, chat *answer.Chat, repo, storeDir, budget string, specs []string, maxTokens int) ([]string, error) {
	found, err := deps.Discover(ctx, repo)
	if err != nil {
		return nil, err
	}
	sb, err := lookupBuilder(l, chat, storeDir, budget)
	if err != nil {
		return nil, err
	}
	var files []string
	tokens := 0
	for _, spec := range specs {
		d, err := deps.Find(found.Deps, spec)
		if err != nil {
			return nil, err
		}
		e, err := sb.LookupDependency(d)
		if err != nil {
			return nil, err
		}
		if e == nil {
			return nil, fmt.Errorf("--dep %s: the store has no Cartridge of %s for this model and budget %s (cartlsp deps pull, or cartlsp deps train %s)", spec, d.ID(), budget, d.ID())
		}
		path := filepath.Join(e.Dir, store.CartridgeName)
		m, _, err := cartridge.ReadHeader(path)
		if err != nil {
			return nil, fmt.Errorf("--dep %s: %w", spec, err)
		}
		if tokens+m.P > maxTokens {
			return nil, fmt.Errorf("--dep %s: its %d tokens would take the dependency Cartridges past --dep-tokens %d (%d taken before it)", spec, m.P, maxTokens, tokens)
		}
		tokens += m.P
		files = append(files, path)
	}
	return files, nil
}

// repoCartridge finds the Cartridge of the repository holding dir in the
// store — HEAD's, else its nearest first-parent ancestor's — and says
// which, or why there is none. With dependency Cartridges (depFiles, composed
// in front), the one trained beside those of them it can replay comes
// first, as the language server trains it (trainBesideDependencies);
// without one, the Cartridge trained alone.
func repoCartridge(l *loaded, chat *answer.Chat, dir, storeDir, budget string, depFiles []string) (path, why string) {
	if len(depFiles) > 0 {
		if repo, err := indexer.OpenRepo(dir); err == nil {
			if sb, err := lookupBuilder(l, chat, storeDir, budget); err == nil {
				if sb.TrainBesideReplayable(depFiles); len(sb.Beside) > 0 {
					if r, err := sb.Nearest(repo, ""); err == nil && r != nil {
						return r.Path, fmt.Sprintf("answering with the Cartridge of %s trained beside %d of the --dep Cartridges", indexer.ShortHash(r.Commit.Hash), len(sb.Beside))
					}
				}
			}
		}
	}
	path, why = repoAlone(l, chat, dir, storeDir, budget)
	if len(depFiles) > 0 && path != "" {
		why += "; it was trained alone, not beside the --dep Cartridges (the editor trains one beside them: trainBesideDependencies)"
	}
	return path, why
}

// repoAlone is repoCartridge's Cartridge trained alone.
func repoAlone(l *loaded, chat *answer.Chat, dir, storeDir, budget string) (path, why string) {
	const none = "the model answers without knowing the repository"
	repo, err := indexer.OpenRepo(dir)
	if err != nil {
		return "", "no --cart and not in a git repository: " + none
	}
	sb, err := lookupBuilder(l, chat, storeDir, budget)
	if err != nil {
		return "", err.Error() + ": " + none
	}
	head, herr := repo.Head()
	r, err := sb.Nearest(repo, "")
	switch {
	case herr != nil:
		return "", fmt.Sprintf("%s has no commits: %s", repo.Root, none)
	case err != nil:
		return "", err.Error() + ": " + none
	case r == nil:
		return "", fmt.Sprintf("the store has no Cartridge of %s for this model and budget %s (run cartlsp train): %s", repo.Root, budget, none)
	case r.Commit.Hash == head.Hash:
		return r.Path, fmt.Sprintf("answering with the Cartridge of HEAD, %s", indexer.ShortHash(r.Commit.Hash))
	}
	return r.Path, fmt.Sprintf("answering with the Cartridge of %s, the nearest ancestor of HEAD (%s) that has one; cartlsp train makes HEAD's",
		indexer.ShortHash(r.Commit.Hash), indexer.ShortHash(head.Hash))
}

// askJSON is what ask --json prints.
type askJSON struct {
	Question        string   `json:"question"`
	Answer          string   `json:"answer"`
	Cartridges      []string `json:"cartridges"` // decoded against, composed in this order
	Stop            string   `json:"stop"`
	PromptTokens    int      `json:"prompt_tokens"`
	GeneratedTokens int      `json:"generated_tokens"`
	PrefillMs       float64  `json:"prefill_ms"`
	FirstTextMs     float64  `json:"first_text_ms"`
	DecodeTokS      float64  `json:"decode_tok_s"`
}

// lookupBuilder is a Builder that only finds Cartridges in the store, keyed
// as `cartlsp train`, `deps train` and the server key them for the named
// budget (with its defaults) and the loaded model.
func lookupBuilder(l *loaded, chat *answer.Chat, storeDir, budget string) (*storetrain.Builder, error) {
	b, err := storetrain.ServerBudget(budget, 0)
	if err != nil {
		return nil, err
	}
	st, err := store.OpenDefault(storeDir)
	if err != nil {
		return nil, err
	}
	return &storetrain.Builder{Store: st, Infer: l.m, Chat: chat, Budget: b}, nil
}
