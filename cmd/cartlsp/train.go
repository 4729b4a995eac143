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

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/store"
	"github.com/cartlsp/cartlsp/runtime/student"
	"github.com/cartlsp/cartlsp/trainer"
	"github.com/cartlsp/cartlsp/trainer/storetrain"
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
	fs.Uint64Var(&t.seed, "seed", trainer.DefaultSeed, "random seed (chunks, seed prompts, sampling, data order, init)")
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
	fs := newFlags("train", `train [flags] [REPO|DIR]   (default: the current directory)

In a git repository, train learns HEAD's tree (committed content) and keeps the Cartridge in the store,
incrementally from an ancestor's when the store has one; it does nothing when HEAD's is already there
(for commit hooks: see cartlsp hook). With -o, or outside a repository, it writes the file you name.`, stderr)
	var mf modelFlags
	var tf trainFlags
	var storeDir, rev, logPath string
	var dirMode, scratch, background, wait bool
	mf.register(fs)
	tf.register(fs)
	fs.StringVar(&storeDir, "store", "", "Cartridge store (default: $CARTLSP_STORE, else the user cache directory); a repository's Cartridges go there unless -o is given")
	fs.StringVar(&rev, "rev", "", "commit to train (a hash, branch, tag or HEAD~n; default HEAD)")
	fs.BoolVar(&dirMode, "dir", false, "read the directory's files as they are on disk (uncommitted edits included) instead of the repository's HEAD")
	fs.BoolVar(&scratch, "scratch", false, "train from scratch even when an ancestor commit's Cartridge is in the store (no incremental training)")
	fs.BoolVar(&background, "background", false, "detach: train in a background process that logs to a file, and return at once (for git hooks)")
	fs.StringVar(&logPath, "log", "", "with --background: the log file (default: <store>/logs/<repository>.log)")
	fs.BoolVar(&wait, "wait", false, "when another cartlsp process is training this repository, wait for it (then train HEAD as it is) instead of returning")
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
	filter := indexer.Filter{Exclude: tf.exclude}
	var repo *indexer.Repo
	if !dirMode {
		if r, err := indexer.OpenRepo(dir); err == nil {
			repo = r
		} else if rev != "" {
			return err
		}
	}
	if repo != nil && tf.out == "" && (tf.fresh || tf.work != "" || tf.data != "") {
		return fmt.Errorf("--fresh, --work and --data apply when training into a file (-o); in a repository the store keeps the work (cartlsp store ls | gc, train --scratch)")
	}
	if repo != nil && tf.out == "" && storeDir == "" {
		if storeDir, err = store.DefaultDir(); err != nil {
			return err
		}
	}
	if background {
		return trainInBackground(args, repo, dir, storeDir, logPath, stdout)
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
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	ev := newTrainEvents(stderr, tf.quiet)
	defer ev.finish()
	newStudent := func() (*student.Model, error) { return student.New(l.file, l.be.Pool()) }

	if repo != nil && tf.out == "" {
		return trainIntoStore(ctx, repo, rev, storeDir, wait, &storetrain.Builder{
			Infer: l.m, Chat: chat, Student: newStudent, Budget: budget, Method: tf.method, Filter: filter,
			Description: tf.description, Scratch: scratch, Events: ev.event,
		}, ev, stdout, stderr)
	}

	var corpus *indexer.Corpus
	if repo != nil {
		corpus, err = repo.Corpus(ctx, rev, filter)
	} else {
		corpus, err = indexer.LoadDir(ctx, dir, filter)
	}
	if err != nil {
		return err
	}
	corpus.Description = tf.description
	ev.source = corpus.Source
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
	fmt.Fprintf(stderr, "training a Cartridge: budget %s, method %s, p=%d, %d conversations, %d epochs, lr %g → %s\n",
		budget.Name, tf.method, budget.Train.P, budget.Synth.Conversations, budget.Train.Epochs, budget.Train.LR, out)
	job := &trainer.Job{
		Corpus: corpus, Infer: l.m, Chat: chat, Method: tf.method, Budget: budget, WorkDir: work, Dataset: tf.data, Out: out,
		Events: ev.event, Student: newStudent,
	}
	t0 := time.Now()
	res, err := job.Run(ctx)
	ev.finish()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted; the dataset and checkpoint in %s are kept: run the same command again to resume", work)
		}
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: ", out)
	printJobResult(stdout, res, len(corpus.Files), time.Since(t0))
	return nil
}

// trainIntoStore makes sure the commit's Cartridge is in the store: a
// no-op when it is there (what a commit hook wants), an incremental
// training when an ancestor's is.
func trainIntoStore(ctx context.Context, repo *indexer.Repo, rev, storeDir string, wait bool, b *storetrain.Builder, ev *trainEvents, stdout, stderr io.Writer) error {
	st, err := store.Open(storeDir)
	if err != nil {
		return err
	}
	b.Store = st
	ev.source = repo.Root
	if r, err := b.Lookup(repo, rev); err != nil {
		return err
	} else if r != nil {
		fmt.Fprintf(stdout, "up to date: %s at %s has its Cartridge: %s\n", repo.Root, indexer.ShortHash(r.Commit.Hash), r.Path)
		return nil
	}
	if !ev.quiet {
		fmt.Fprintf(stderr, "training a Cartridge for %s: budget %s, method %s, p=%d → store %s\n",
			repo.Root, b.Budget.Name, b.Method, b.Budget.Train.P, st.Dir())
	}
	res, err := b.Ensure(ctx, repo, rev, wait)
	ev.finish()
	if err != nil {
		switch {
		case errors.Is(err, context.Canceled):
			return fmt.Errorf("interrupted; the work is kept in the store: run the same command again to resume")
		case errors.Is(err, store.ErrBusy):
			fmt.Fprintf(stdout, "another cartlsp process is training %s; nothing done (--wait waits for it, then trains HEAD)\n", repo.Root)
			return nil
		}
		return err
	}
	if !res.Trained {
		fmt.Fprintf(stdout, "up to date: %s at %s has its Cartridge: %s\n", repo.Root, indexer.ShortHash(res.Commit.Hash), res.Path)
		return nil
	}
	how := "from scratch"
	if res.Parent != "" {
		how = fmt.Sprintf("incrementally from entry %s (%d new + %d replayed examples)", res.Parent, res.Job.NewExamples, res.Job.Replayed)
	}
	fmt.Fprintf(stdout, "trained %s at %s %s in %s → %s\n  ", repo.Root, indexer.ShortHash(res.Commit.Hash), how,
		time.Duration(res.Seconds*float64(time.Second)).Round(time.Second), res.Path)
	printJobResult(stdout, res.Job, res.Job.Cartridge.Meta.Corpus.Files, time.Duration(res.Seconds*float64(time.Second)))
	return nil
}

// printJobResult writes a finished job's figures.
func printJobResult(w io.Writer, res *trainer.JobResult, files int, total time.Duration) {
	tr := res.Train
	fmt.Fprintf(w, "p=%d, %d conversations (%d student tokens per epoch), %d steps, loss %.4f → %.4f",
		tr.Prefix.P, res.Conversations, res.StudentTokens, tr.Steps, res.Cartridge.Meta.Metrics["loss_first"], res.Cartridge.Meta.Metrics["loss_final"])
	if !math.IsNaN(tr.EvalLoss) {
		fmt.Fprintf(w, ", held-out %.4f", tr.EvalLoss)
	}
	fmt.Fprintf(w, "\n  corpus %d tokens in %d files; synthesis %s, training %s, total %s\n  loss curve: %s, %s\n",
		res.CorpusTokens, files, dur(res.SynthSeconds), dur(tr.Seconds), total.Round(time.Second), res.LossCSV, res.LossPNG)
}

// trainEvents shows a job's progress on stderr: messages and a progress
// bar per phase.
type trainEvents struct {
	w      io.Writer
	quiet  bool
	tty    bool
	bar    *progressBar
	phase  string
	source string
}

func newTrainEvents(w io.Writer, quiet bool) *trainEvents {
	e := &trainEvents{w: w, quiet: quiet}
	if f, ok := w.(*os.File); ok {
		e.tty = isTerminal(f)
	}
	return e
}

func (t *trainEvents) finish() {
	if t.bar != nil {
		t.bar.Finish("")
		t.bar = nil
	}
	t.phase = ""
}

func (t *trainEvents) event(e trainer.Event) {
	if t.quiet {
		return
	}
	switch e.Phase {
	case "corpus":
		fmt.Fprintf(t.w, "corpus: %s (%s)\n", t.source, e.Message)
	case "resume":
		fmt.Fprintln(t.w, e.Message)
	case "synthesis", "training":
		if t.phase != e.Phase {
			t.finish()
			t.bar = newProgressBar(t.w, e.Phase, e.Total, t.tty)
			t.phase = e.Phase
		}
		extra := ""
		if e.Phase == "training" {
			extra = fmt.Sprintf("loss %.4f", e.Loss)
			if !math.IsNaN(e.EvalLoss) {
				extra += fmt.Sprintf(" held-out %.4f", e.EvalLoss)
			}
		}
		t.bar.Update(e.Done, extra)
	case "done":
		t.finish()
	}
}

func dur(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}
