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
	"strings"
	"time"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/modelfile"
	"github.com/cartlsp/cartlsp/runtime/student"
	"github.com/cartlsp/cartlsp/store"
	"github.com/cartlsp/cartlsp/trainer"
	"github.com/cartlsp/cartlsp/trainer/progress"
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

// trainFlags are the knobs of `cartlsp train`.
type trainFlags struct {
	method, out, work, data, description string
	precision, teacher, cpuprofile       string
	exclude, beside, replay              listFlag
	fresh, quiet, json                   bool
	replayFraction                       float64
	budget                               func() (trainer.Budget, error) // --budget and its overrides
}

func (t *trainFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.method, "method", "", "self-study (synthetic conversations + distillation), ntp (next-token prediction on the corpus) or mixed (both, shuffled together) (budget default)")
	fs.StringVar(&t.out, "o", "", "output Cartridge (default: ./<directory name>.cart)")
	fs.StringVar(&t.work, "work", "", "work directory for the dataset, checkpoint and loss curve (default: <output>.work)")
	fs.StringVar(&t.data, "data", "", "dataset file (default: in the work directory); runs that differ only in training settings can share one, and a dataset of n conversations serves any run of ≤ n")
	fs.BoolVar(&t.fresh, "fresh", false, "delete the work directory first instead of resuming from it")
	fs.Var(&t.exclude, "exclude", "glob of files to leave out, matched against paths and their tails, e.g. '*_test.go' (repeatable, comma-separated)")
	fs.StringVar(&t.description, "description", "", "one line describing the codebase, shown to the model during synthesis")
	fs.BoolVar(&t.quiet, "quiet", false, "no progress bar")
	fs.BoolVar(&t.json, "json", false, "print one JSON object when done (the Cartridge, whether it trained, steps, losses, times) instead of the summary; no progress bar")
	fs.StringVar(&t.precision, "precision", "auto", "the student's weights in training: bf16 (on Intel AMX, about 2× faster per step; or AVX512-BF16), f32, or auto (bf16 where the CPU has AMX, else f32)")
	fs.StringVar(&t.teacher, "teacher", "auto", "how the teacher writing the synthetic conversations runs: bf16 (the model's matrices dequantized to bf16 on Intel AMX; several times faster), exact (the quantized model, llama.cpp's numerics, as answers use), or auto (bf16 where the CPU has AMX)")
	fs.StringVar(&t.cpuprofile, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	fs.Var(&t.replay, "replay", "with --beside: a dependency's dataset (its dataset.bin) whose conversations are mixed into training, a quarter as many as the repository's, so that the Cartridge does not drown the dependency out on its own questions (repeatable)")
	fs.Float64Var(&t.replayFraction, "replay-fraction", trainer.DefaultReplayFraction, "with --replay: replayed conversations per conversation of the repository's")
	fs.Var(&t.beside, "beside", "a dependency Cartridge (.cart) to train behind, frozen, in the order answers will compose them before this one: the Cartridge learns to answer beside them (repeatable; part of the store key)")
	t.budget = trainer.BudgetFlags(fs)
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
	if err := applyConfig(fs, dir, stderr); err != nil {
		return err
	}
	budget, err := tf.budget()
	if err != nil {
		return err
	}
	budget.Synth.Description = tf.description
	if tf.method == "" {
		tf.method = budget.DefaultMethod()
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
	if repo != nil && !sameDir(dir, repo.Root) {
		// A subdirectory: the repository's commits are the whole tree's, so
		// the directory is read as it is on disk.
		if rev != "" {
			return fmt.Errorf("--rev trains a repository's commit: run it on the repository's root %s, not on %s", repo.Root, dir)
		}
		fmt.Fprintf(stderr, "cartlsp train: %s is a subdirectory of the repository %s: training its files as they are on disk (as with --dir)\n", dir, repo.Root)
		repo = nil
	}
	if repo != nil && tf.out == "" && (tf.fresh || tf.work != "" || tf.data != "") {
		return fmt.Errorf("--fresh, --work and --data apply when training into a file (-o); in a repository the store keeps the work (cartlsp store ls | gc, train --scratch)")
	}
	if repo != nil && tf.out == "" && len(tf.replay) > 0 {
		return fmt.Errorf("--replay applies when training into a file (-o); in a repository, a --beside Cartridge from the store (cartlsp store path, deps ls) brings its dataset along")
	}
	if len(tf.replay) > 0 && len(tf.beside) == 0 {
		return fmt.Errorf("--replay mixes a dependency's conversations into training beside it: name the dependency's Cartridge with --beside")
	}
	if !(tf.replayFraction > 0 && tf.replayFraction <= 4) {
		return fmt.Errorf("--replay-fraction %g: want a number in (0, 4]", tf.replayFraction)
	}
	if repo != nil && tf.out == "" && storeDir == "" {
		if storeDir, err = store.DefaultDir(); err != nil {
			return err
		}
	}
	if background {
		return trainInBackground(args, repo, dir, storeDir, logPath, stdout)
	}

	stopProfile, err := startCPUProfile(tf.cpuprofile)
	if err != nil {
		return err
	}
	defer stopProfile()
	l, err := mf.load()
	if err != nil {
		return err
	}
	defer l.Close()
	if err := setPrecision(l.be, tf.precision); err != nil {
		return err
	}
	teacher, teacherName, err := modelfile.Teacher(l.file, l.be, tf.teacher)
	if err != nil {
		return err
	}
	chat, err := answer.NewChat(l.tok)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	ev := progress.NewTraining(stderr, tf.quiet || tf.json)
	defer ev.Finish()
	newStudent := func() (*student.Model, error) { return student.New(l.file, l.be) }

	if repo != nil && tf.out == "" {
		return trainIntoStore(ctx, repo, rev, storeDir, wait, tf.json, &storetrain.Builder{
			Infer: l.m, Chat: chat, Student: newStudent, Budget: budget, Method: tf.method, Filter: filter,
			Description: tf.description, Scratch: scratch, Events: ev.Event, Teacher: teacher, TeacherName: teacherName,
			Beside: tf.beside,
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
	ev.SetSource(corpus.Source)
	out, work := trainer.DefaultPaths(corpus.Source, tf.method, tf.out, tf.work)
	if tf.fresh {
		if err := os.RemoveAll(work); err != nil {
			return err
		}
	}
	p, lr := fmt.Sprintf("p=%d", budget.Train.P), fmt.Sprintf("lr %g", budget.Train.LR)
	if budget.Train.Compress > 0 {
		p = fmt.Sprintf("p≤%d (≥ %d× below the corpus)", budget.Train.P, budget.Train.Compress)
	}
	if budget.Train.RelativeLR {
		lr += " (relative)"
	}
	fmt.Fprintf(stderr, "training a Cartridge: budget %s, method %s, %s, %d conversations, %d epochs, %s, %s → %s\n",
		budget.Name, tf.method, p, budget.Synth.Conversations, budget.Train.Epochs, lr, precisionName(l.be), out)
	job := &trainer.Job{
		Corpus: corpus, Infer: l.m, Chat: chat, Method: tf.method, Budget: budget, WorkDir: work, Dataset: tf.data, Out: out,
		Events: ev.Event, Student: newStudent, Teacher: teacher, TeacherName: teacherName, Beside: tf.beside, Replay: tf.replay, ReplayFraction: tf.replayFraction,
	}
	t0 := time.Now()
	res, err := job.Run(ctx)
	ev.Finish()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted; the dataset and checkpoint in %s are kept: run the same command again to resume", work)
		}
		return err
	}
	if tf.json {
		return printJSON(stdout, trainResultJSON(out, "", "", true, "", res, time.Since(t0).Seconds()))
	}
	fmt.Fprintf(stdout, "wrote %s: ", out)
	res.WriteSummary(stdout, len(corpus.Files), time.Since(t0))
	return nil
}

// trainJSON is what train --json prints.
type trainJSON struct {
	Cartridge     string   `json:"cartridge"`
	Entry         string   `json:"entry,omitempty"`  // the store's entry, in a repository
	Commit        string   `json:"commit,omitempty"` // the commit it learned
	Trained       bool     `json:"trained"`          // false: the store had it already
	Parent        string   `json:"parent,omitempty"` // the entry an incremental training started from
	P             int      `json:"p,omitempty"`
	Conversations int      `json:"conversations,omitempty"`
	Steps         int      `json:"steps,omitempty"`
	LossFirst     *float64 `json:"loss_first,omitempty"` // mean of the first 5 steps
	LossFinal     *float64 `json:"loss_final,omitempty"` // and of the last 5
	HeldOutLoss   *float64 `json:"held_out_loss,omitempty"`
	CorpusTokens  int      `json:"corpus_tokens,omitempty"`
	SynthSeconds  float64  `json:"synth_seconds"`
	TrainSeconds  float64  `json:"train_seconds"`
	Seconds       float64  `json:"seconds"` // the whole command
	LossCSV       string   `json:"loss_csv,omitempty"`
}

func trainResultJSON(path, entry, commit string, trained bool, parent string, res *trainer.JobResult, secs float64) trainJSON {
	j := trainJSON{Cartridge: path, Entry: entry, Commit: commit, Trained: trained, Parent: parent, Seconds: secs}
	if res == nil {
		return j
	}
	j.Conversations, j.CorpusTokens, j.SynthSeconds, j.LossCSV = res.Conversations, res.CorpusTokens, res.SynthSeconds, res.LossCSV
	if tr := res.Train; tr != nil {
		j.Steps, j.TrainSeconds = tr.Steps, tr.Seconds
		if tr.Prefix != nil {
			j.P = tr.Prefix.P
		}
		if !math.IsNaN(tr.EvalLoss) {
			j.HeldOutLoss = &tr.EvalLoss
		}
	}
	if res.Cartridge != nil {
		if v, ok := res.Cartridge.Meta.Metrics["loss_first"]; ok {
			f := res.Cartridge.Meta.Metrics["loss_final"]
			j.LossFirst, j.LossFinal = &v, &f
		}
	}
	return j
}

// setPrecision applies --precision to the backend the student will use.
func setPrecision(be backend.Backend, p string) error {
	c, isCPU := be.(*cpu.Backend)
	switch p {
	case "auto", "":
		return nil
	case "f32":
		if isCPU {
			c.SetTrainBF16(false)
		}
		return nil
	case "bf16":
		if !isCPU || !c.SetTrainBF16(true) {
			return fmt.Errorf("--precision bf16 needs a CPU with Intel AMX (AMX-BF16, Linux 5.16 or later) or AVX512-BF16, which this one is not; use --precision f32 or auto")
		}
		return nil
	}
	return fmt.Errorf("--precision %q: want auto, bf16 or f32", p)
}

// precisionName says how the student's weights are kept ("bf16 weights on
// AMX", "f32 weights").
func precisionName(be backend.Backend) string {
	if c, ok := be.(*cpu.Backend); ok && c.TrainPrecision() == "bf16" {
		return "bf16 weights on " + cpu.BF16Unit()
	}
	return "f32 weights"
}

// trainIntoStore makes sure the commit's Cartridge is in the store: a
// no-op when it is there (what a commit hook wants), an incremental
// training when an ancestor's is.
func trainIntoStore(ctx context.Context, repo *indexer.Repo, rev, storeDir string, wait, asJSON bool, b *storetrain.Builder, ev *progress.Training, stdout, stderr io.Writer) error {
	st, err := store.Open(storeDir)
	if err != nil {
		return err
	}
	b.Store = st
	ev.SetSource(repo.Root)
	if r, err := b.Lookup(repo, rev); err != nil {
		return err
	} else if r != nil {
		if asJSON {
			return printJSON(stdout, trainResultJSON(r.Path, r.Entry, r.Commit.Hash, false, "", nil, r.Seconds))
		}
		(&storetrain.Result{Result: *r}).WriteSummary(stdout, repo.Root)
		return nil
	}
	if !ev.Quiet() {
		fmt.Fprintf(stderr, "training a Cartridge for %s: budget %s, method %s, p=%d → store %s\n",
			repo.Root, b.Budget.Name, b.Method, b.Budget.Train.P, st.Dir())
	}
	res, err := b.Ensure(ctx, repo, rev, wait)
	ev.Finish()
	if err != nil {
		switch {
		case errors.Is(err, context.Canceled):
			return fmt.Errorf("interrupted; the work is kept in the store: run the same command again to resume")
		case errors.Is(err, store.ErrBusy):
			if asJSON {
				return fmt.Errorf("another cartlsp process is training %s; nothing done (--wait waits for it, then trains HEAD)", repo.Root)
			}
			fmt.Fprintf(stdout, "another cartlsp process is training %s; nothing done (--wait waits for it, then trains HEAD)\n", repo.Root)
			return nil
		}
		return err
	}
	if asJSON {
		return printJSON(stdout, trainResultJSON(res.Path, res.Entry, res.Commit.Hash, res.Trained, res.Parent, res.Job, res.Seconds))
	}
	res.WriteSummary(stdout, repo.Root)
	return nil
}

// sameDir reports whether a and b are the same directory.
func sameDir(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}
