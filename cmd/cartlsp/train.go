package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/student"
	"github.com/cartlsp/cartlsp/trainer"
)

// listFlag is a repeatable, comma-separated string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			*l = append(*l, f)
		}
	}
	return nil
}

// trainFlags are the knobs of `cartlsp train`; budget fields are overridden
// only by flags given on the command line.
type trainFlags struct {
	budget, method, out, work, data, init, seedTypes, description string
	p, frozen, conversations, epochs, batch, chunkMin, chunkMax   int
	maxUser, maxAnswer, holdout, synthBatch                       int
	lr                                                            float64
	seed                                                          uint64
	exclude                                                       listFlag
	fresh, quiet                                                  bool
}

func (t *trainFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.budget, "budget", "small", "preset: tiny (a minute or two, for a first look), small (~15 min on 2 CPU cores for a ~20k-token repository), full (the paper's scale, for a GPU)")
	fs.StringVar(&t.method, "method", trainer.MethodSelfStudy, "self-study (synthetic conversations + distillation), ntp (next-token prediction on the corpus, a baseline) or mixed (both, shuffled together)")
	fs.StringVar(&t.out, "o", "", "output Cartridge (default: ./<directory name>.cart)")
	fs.StringVar(&t.work, "work", "", "work directory for the dataset, checkpoint and loss curve (default: <output>.work)")
	fs.StringVar(&t.data, "data", "", "dataset file (default: in the work directory); runs that differ only in training settings can share one, and a dataset of n conversations serves any run of ≤ n")
	fs.BoolVar(&t.fresh, "fresh", false, "delete the work directory first instead of resuming from it")
	fs.Var(&t.exclude, "exclude", "glob of files to leave out, matched against paths and their tails, e.g. '*_test.go' (repeatable, comma-separated)")
	fs.StringVar(&t.description, "description", "", "one line describing the codebase, shown to the model during synthesis")
	fs.IntVar(&t.p, "p", 0, "Cartridge size in virtual tokens (budget default)")
	fs.IntVar(&t.frozen, "frozen", 1, "leading Cartridge tokens kept frozen (the attention sink); 0 trains all")
	fs.StringVar(&t.init, "init", "", "initialisation: first-tokens (the corpus's first p tokens), random-tokens or random-vectors (budget default: first-tokens)")
	fs.IntVar(&t.conversations, "conversations", 0, "synthetic conversations (budget default)")
	fs.IntVar(&t.epochs, "epochs", 0, "passes over the conversations (budget default)")
	fs.IntVar(&t.batch, "batch", 0, "conversations per optimiser step (budget default)")
	fs.Float64Var(&t.lr, "lr", 0, "Adam learning rate (budget default)")
	fs.IntVar(&t.chunkMin, "chunk-min", 0, "shortest corpus chunk shown to the teacher, tokens (budget default)")
	fs.IntVar(&t.chunkMax, "chunk-max", 0, "longest corpus chunk, tokens (budget default)")
	fs.IntVar(&t.maxUser, "max-user", 0, "longest synthetic user message, tokens (budget default)")
	fs.IntVar(&t.maxAnswer, "max-answer", 0, "longest synthetic answer, tokens (budget default)")
	fs.IntVar(&t.holdout, "holdout", -1, "conversations held out to measure the loss on (budget default)")
	fs.IntVar(&t.synthBatch, "synth-batch", 0, "conversations synthesized at once (budget default)")
	fs.StringVar(&t.seedTypes, "seed-types", "all", "seed prompt types: structuring,summarization,question,use_case,creative")
	fs.Uint64Var(&t.seed, "seed", 1, "random seed (chunks, seed prompts, sampling, data order, init)")
	fs.BoolVar(&t.quiet, "quiet", false, "no progress bar")
}

// budget resolves the budget and the explicit overrides.
func (t *trainFlags) resolve(fs *flag.FlagSet) (trainer.Budget, error) {
	b, err := trainer.LookupBudget(t.budget)
	if err != nil {
		return b, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	override := func(name string, dst *int, v int) {
		if set[name] {
			*dst = v
		}
	}
	override("p", &b.Train.P, t.p)
	override("frozen", &b.Train.Frozen, t.frozen)
	override("conversations", &b.Synth.Conversations, t.conversations)
	override("epochs", &b.Train.Epochs, t.epochs)
	override("batch", &b.Train.Batch, t.batch)
	override("chunk-min", &b.Synth.ChunkMin, t.chunkMin)
	override("chunk-max", &b.Synth.ChunkMax, t.chunkMax)
	override("max-user", &b.Synth.MaxUser, t.maxUser)
	override("max-answer", &b.Synth.MaxAnswer, t.maxAnswer)
	override("holdout", &b.Train.Holdout, t.holdout)
	override("synth-batch", &b.SynthBatch, t.synthBatch)
	if set["chunk-min"] && !set["chunk-max"] && b.Synth.ChunkMax < b.Synth.ChunkMin {
		b.Synth.ChunkMax = b.Synth.ChunkMin
	}
	if set["lr"] {
		b.Train.LR = t.lr
	}
	if set["init"] {
		b.Train.Init = t.init
	}
	b.Train.Seed = t.seed
	b.Synth.Description = t.description
	if b.Synth.SeedTypes, err = trainer.ParseSeedTypes(t.seedTypes); err != nil {
		return b, err
	}
	if b.Train.Holdout >= b.Synth.Conversations {
		b.Train.Holdout = b.Synth.Conversations / 8
	}
	return b, nil
}

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", "train [flags] [REPO|DIR]   (default: the current directory)", stderr)
	var mf modelFlags
	var tf trainFlags
	mf.register(fs)
	tf.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		fmt.Fprintf(stderr, "cartlsp train: one directory, got %d arguments\n", len(pos))
		return errUsage
	}
	dir := "."
	if len(pos) == 1 {
		dir = pos[0]
	}
	budget, err := tf.resolve(fs)
	if err != nil {
		return err
	}
	corpus, err := indexer.LoadDir(ctx, dir, indexer.Filter{Exclude: tf.exclude})
	if err != nil {
		return err
	}
	corpus.Description = tf.description
	out := tf.out
	if out == "" {
		out = filepath.Base(corpus.Source) + ".cart"
		if tf.method != trainer.MethodSelfStudy {
			out = filepath.Base(corpus.Source) + "." + tf.method + ".cart"
		}
	}
	work := tf.work
	if work == "" {
		work = strings.TrimSuffix(out, ".cart") + ".work"
	}
	if tf.fresh {
		if err := os.RemoveAll(work); err != nil {
			return err
		}
	}

	l, err := mf.load()
	if err != nil {
		return err
	}
	defer l.Close()
	chat, err := trainer.NewChat(l.tok)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	tty := false
	if f, ok := stderr.(*os.File); ok {
		tty = isTerminal(f)
	}
	var bar *progressBar
	phase := ""
	events := func(e trainer.Event) {
		if tf.quiet {
			return
		}
		switch e.Phase {
		case "corpus":
			fmt.Fprintf(stderr, "corpus: %s (%s)\n", corpus.Source, e.Message)
		case "resume":
			fmt.Fprintln(stderr, e.Message)
		case "synthesis", "training":
			if phase != e.Phase {
				if bar != nil {
					bar.Finish("")
				}
				bar = newProgressBar(stderr, e.Phase, e.Total, tty)
				phase = e.Phase
			}
			extra := ""
			if e.Phase == "training" {
				extra = fmt.Sprintf("loss %.4f", e.Loss)
				if !math.IsNaN(e.EvalLoss) {
					extra += fmt.Sprintf(" held-out %.4f", e.EvalLoss)
				}
			}
			bar.Update(e.Done, extra)
		case "done":
			if bar != nil {
				bar.Finish("")
				bar = nil
			}
		}
	}
	fmt.Fprintf(stderr, "training a Cartridge: budget %s, method %s, p=%d, %d conversations, %d epochs, lr %g → %s\n",
		budget.Name, tf.method, budget.Train.P, budget.Synth.Conversations, budget.Train.Epochs, budget.Train.LR, out)
	job := &trainer.Job{
		Corpus: corpus, Infer: l.m, Chat: chat, Method: tf.method, Budget: budget, WorkDir: work, Dataset: tf.data, Out: out, Events: events,
		Student: func() (*student.Model, error) { return student.New(l.file, l.be.Pool()) },
	}
	t0 := time.Now()
	res, err := job.Run(ctx)
	if bar != nil {
		bar.Finish("")
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted; the dataset and checkpoint in %s are kept: run the same command again to resume", work)
		}
		return err
	}
	tr := res.Train
	fmt.Fprintf(stdout, "wrote %s: p=%d, %d conversations (%d student tokens per epoch), %d steps, loss %.4f → %.4f",
		out, tr.Prefix.P, res.Conversations, res.StudentTokens, tr.Steps, res.Cartridge.Meta.Metrics["loss_first"], res.Cartridge.Meta.Metrics["loss_final"])
	if !math.IsNaN(tr.EvalLoss) {
		fmt.Fprintf(stdout, ", held-out %.4f", tr.EvalLoss)
	}
	fmt.Fprintf(stdout, "\n  corpus %d tokens in %d files; synthesis %s, training %s, total %s\n  loss curve: %s, %s\n",
		res.CorpusTokens, len(corpus.Files), dur(res.SynthSeconds), dur(tr.Seconds), time.Since(t0).Round(time.Second), res.LossCSV, res.LossPNG)
	return nil
}

func dur(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}
