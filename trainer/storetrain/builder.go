// Package storetrain makes sure a repository's commits have their
// Cartridges in the Cartridge store: it looks a commit's up by its key
// (model, corpus, recipe) and trains it when the store lacks it,
// incrementally from an ancestor's when one is there. Its Builder is the
// follow.Builder that `cartlsp serve` follows HEAD with, and what `cartlsp
// train` and the commit hooks train into the store with, so that all of
// them make and find the same entries.
package storetrain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/cartlsp/cartlsp/atomicfile"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/follow"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/modelfile"
	"github.com/cartlsp/cartlsp/runtime/student"
	"github.com/cartlsp/cartlsp/store"
	"github.com/cartlsp/cartlsp/trainer"
)

// Builder makes the Cartridges of a repository's commits (a follow.Builder).
type Builder struct {
	Store   *store.Store
	Infer   *model.Model
	Chat    *answer.Chat
	Student func() (*student.Model, error)
	// Teacher and TeacherName are passed to the trainings (trainer.Job).
	Teacher     func() (*model.Model, error)
	TeacherName string
	Budget      trainer.Budget
	Method      string // trainer.Method*; "" is self-study
	Filter      indexer.Filter
	Description string
	// Scratch turns incremental training off: every Cartridge is trained
	// from scratch.
	Scratch bool
	// Incremental sizes incremental trainings (zero: trainer.DefaultIncremental).
	Incremental trainer.IncrementalConfig
	// MaxGenerations bounds a chain of warm starts: past it a Cartridge is
	// trained from scratch again (default 8).
	MaxGenerations int
	// MaxChanged is the largest share of the corpus's tokens that may have
	// changed for a warm start (default 0.5); more trains from scratch.
	MaxChanged float64
	// Ancestors is how far back along first parents a warm start is looked
	// for (default 32).
	Ancestors int
	Events    func(trainer.Event)
	// ModelName is the model's name for people (registry annotations).
	ModelName string
	// Beside are dependency Cartridge files the repository's Cartridges are
	// trained behind (trainer.Job.Beside), in the order answers compose
	// them; they are part of the key (BesideFingerprint). A Beside file that
	// is a store entry's Cartridge brings that entry's dataset along as
	// replay (trainer.Job.Replay, replayDatasets).
	Beside []string
	// besideFP caches BesideFingerprint.
	besideFP string
	// Yield is passed to the trainings (trainer.Job.Yield).
	Yield func(ctx context.Context) error
	Log   *slog.Logger

	// onRepoLock, when set (by tests), is called with the commit Ensure
	// resolved just before it takes the repository's lock.
	onRepoLock func(indexer.Commit)
}

var _ follow.Builder = (*Builder)(nil)

// Result is a commit's Cartridge and, when Ensure trained it, the
// training's figures.
type Result struct {
	follow.Result
	Job *trainer.JobResult // nil when nothing was trained
}

func (b *Builder) method() string {
	if b.Method == "" {
		return b.Budget.DefaultMethod()
	}
	return b.Method
}

func (b *Builder) log() *slog.Logger {
	if b.Log != nil {
		return b.Log
	}
	return slog.Default()
}

// Key is the store key of a commit's Cartridge: model, corpus (tree hash,
// filter, tokenizer) and recipe.
func (b *Builder) Key(c indexer.Commit) store.Key {
	bud := b.Budget
	bud.Synth.Description = b.Description
	recipe := trainer.RecipeHash(b.method(), bud)
	if len(b.Beside) > 0 {
		recipe += " beside " + b.besideFingerprint()
		if len(replayDatasets(b.Beside)) > 0 {
			recipe += " replay"
		}
	}
	return store.Key{
		Model:  b.Infer.Fingerprint(),
		Corpus: indexer.TreeFingerprint(c.Tree, b.Filter, b.Chat.Tokenizer().Fingerprint()),
		Recipe: recipe,
	}
}

// besideFingerprint is a sha256 over the Beside files' contents, in order
// (computed once: the files are the store's, which never change in place).
func (b *Builder) besideFingerprint() string {
	if b.besideFP != "" {
		return b.besideFP
	}
	h := sha256.New()
	for _, p := range b.Beside {
		f, err := os.Open(p)
		if err != nil {
			fmt.Fprintf(h, "missing %s\x00", p) // the training reports it
			continue
		}
		io.Copy(h, f)
		f.Close()
		h.Write([]byte{0})
	}
	b.besideFP = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return b.besideFP
}

// Lookup finds a commit's Cartridge in the store without training; the
// result is nil when there is none yet.
func (b *Builder) Lookup(repo *indexer.Repo, rev string) (*follow.Result, error) {
	c, err := b.commit(repo, rev)
	if err != nil {
		return nil, err
	}
	k := b.Key(c)
	e, err := b.Store.Lookup(k)
	if err != nil || e == nil {
		return nil, err
	}
	return &follow.Result{Commit: c, Key: k, Path: filepath.Join(e.Dir, store.CartridgeName), Entry: e.ID, Parent: e.Meta.Parent}, nil
}

// Nearest finds the Cartridge of the commit (HEAD when rev is "") or, when
// the store lacks it, of its nearest first-parent ancestor that has one
// (within Ancestors); nil when there is none. It never trains: it is what
// answers while the commit's own Cartridge trains.
func (b *Builder) Nearest(repo *indexer.Repo, rev string) (*follow.Result, error) {
	c, err := b.commit(repo, rev)
	if err != nil {
		return nil, err
	}
	for i := 0; i <= b.ancestors(); i++ {
		k := b.Key(c)
		e, err := b.Store.Lookup(k)
		if err != nil {
			return nil, err
		}
		if e != nil {
			return &follow.Result{Commit: c, Key: k, Path: filepath.Join(e.Dir, store.CartridgeName), Entry: e.ID, Parent: e.Meta.Parent}, nil
		}
		if len(c.Parents) == 0 {
			return nil, nil
		}
		if c, err = repo.Commit(c.Parents[0]); err != nil {
			return nil, nil // a shallow clone: no more history
		}
	}
	return nil, nil
}

func (b *Builder) ancestors() int {
	if b.Ancestors <= 0 {
		return 32
	}
	return b.Ancestors
}

func (b *Builder) commit(repo *indexer.Repo, rev string) (indexer.Commit, error) {
	if rev == "" || rev == "HEAD" {
		return repo.Head()
	}
	c, err := repo.Commit(rev)
	if err != nil {
		return c, err
	}
	if h, err := repo.Head(); err == nil && h.Hash == c.Hash {
		c.Branch = h.Branch // named by its hash (the Follower does), still HEAD's branch
	}
	return c, nil
}

// Ensure returns the Cartridge of a commit (HEAD when rev is ""),
// training it when the store lacks it. Trainings of one repository run one
// at a time across processes (store.LockRepo): another one in progress
// makes Ensure wait (wait) — then train HEAD as it is after the wait — or
// fail with an error wrapping store.ErrBusy. Training
// resumes what an interrupted one left in the entry; a failed training
// leaves the store as it was (the entry stays incomplete and resumable).
func (b *Builder) Ensure(ctx context.Context, repo *indexer.Repo, rev string, wait bool) (*Result, error) {
	return b.EnsureEvents(ctx, repo, rev, wait, b.Events)
}

// Build is Ensure as a Follower calls it: waiting for another process
// training the repository, reporting the synthesis's and the training's
// progress.
func (b *Builder) Build(ctx context.Context, repo *indexer.Repo, rev string, progress func(follow.Progress)) (*follow.Result, error) {
	res, err := b.EnsureEvents(ctx, repo, rev, true, func(e trainer.Event) {
		if progress != nil {
			progress(follow.Progress{Stage: e.Phase, Done: e.Done, Total: e.Total})
		}
	})
	if err != nil {
		return nil, err
	}
	return &res.Result, nil
}

// EnsureEvents is Ensure reporting the training's progress to events
// instead of b.Events.
func (b *Builder) EnsureEvents(ctx context.Context, repo *indexer.Repo, rev string, wait bool, events func(trainer.Event)) (*Result, error) {
	t0 := time.Now()
	c, err := b.commit(repo, rev)
	if err != nil {
		return nil, err
	}
	k := b.Key(c)
	res := &Result{Result: follow.Result{Commit: c, Key: k}}
	found := func(e *store.Entry) *Result {
		res.Path, res.Entry, res.Parent = filepath.Join(e.Dir, store.CartridgeName), e.ID, e.Meta.Parent
		res.Seconds = time.Since(t0).Seconds()
		return res
	}
	if e, err := b.Store.Lookup(k); err != nil {
		return nil, err
	} else if e != nil {
		return found(e), nil
	}
	// One training of a repository at a time, across processes.
	if b.onRepoLock != nil {
		b.onRepoLock(c)
	}
	release, err := b.Store.LockRepo(ctx, repo.Root, wait)
	if err != nil {
		return nil, err
	}
	defer release()
	if rev == "" || rev == "HEAD" {
		// HEAD may have moved on while we waited: train where it is now.
		if c, err = b.commit(repo, rev); err != nil {
			return nil, err
		}
		k = b.Key(c)
		res.Commit, res.Key = c, k
	}
	if e, err := b.Store.Lookup(k); err != nil {
		return nil, err
	} else if e != nil {
		return found(e), nil
	}
	meta := store.Meta{Key: k, Repo: repo.Root, Commit: c.Hash, Branch: c.Branch, Budget: b.Budget.Name, Method: b.method(), Created: time.Now().UTC()}
	// Under the repository lock no other process trains this entry (gc
	// may probe its lock for a moment: Begin waits that out).
	txn, err := b.Store.Begin(ctx, k, meta, wait)
	if err != nil {
		return nil, err
	}
	defer txn.Release()

	corpus, err := repo.Corpus(ctx, c.Hash, b.Filter)
	if err != nil {
		return nil, err
	}
	corpus.Description = b.Description
	warm, parent, same, err := b.warmStart(ctx, repo, c, corpus)
	if err != nil {
		return nil, err
	}
	if same {
		// The corpus is the parent's byte for byte (the commit changed only
		// files the corpus leaves out): its Cartridge serves as it is.
		if err := b.reuse(parent, c, txn.TempCartridgePath(), txn.WorkDir()); err != nil {
			return nil, err
		}
		meta.Parent, meta.Generation = parent.ID, parent.Meta.Generation
		if err := txn.Commit(meta, trainer.CheckpointFile); err != nil {
			return nil, err
		}
		res.Trained, res.Parent = true, parent.ID
		res.Path, res.Entry = txn.CartridgePath(), txn.ID()
		res.Seconds = time.Since(t0).Seconds()
		return res, nil
	}
	if err := b.prepareWork(txn.WorkDir(), warm); err != nil {
		return nil, err
	}
	if warm != nil {
		meta.Parent, meta.Generation = parent.ID, parent.Meta.Generation+1
		res.Parent = parent.ID
		b.log().Info("incremental training", "commit", c.Hash, "parent", parent.Meta.Commit, "changed_files", len(warm.Changed))
	}
	job := &trainer.Job{Corpus: corpus, Infer: b.Infer, Chat: b.Chat, Student: b.Student, Teacher: b.Teacher, TeacherName: b.TeacherName, Method: b.method(), Budget: b.Budget,
		WorkDir: txn.WorkDir(), Out: txn.TempCartridgePath(), Events: events, Warm: warm, Yield: b.Yield, Beside: b.Beside,
		Replay: replayDatasets(b.Beside)}
	jr, err := job.Run(ctx)
	if err != nil {
		return nil, err
	}
	meta.TrainSeconds = jr.SynthSeconds + jr.Train.Seconds
	meta.Created = time.Now().UTC()
	if err := txn.Commit(meta, trainer.CheckpointFile); err != nil {
		return nil, err
	}
	res.Trained, res.Job = true, jr
	res.Path, res.Entry = txn.CartridgePath(), txn.ID()
	res.Seconds = time.Since(t0).Seconds()
	return res, nil
}

// warmStart finds the nearest first-parent ancestor whose Cartridge is in
// the store and makes the warm start from it; nil when there is none or a
// warm start would not pay (too many generations, too much changed,
// another p).
func (b *Builder) warmStart(ctx context.Context, repo *indexer.Repo, c indexer.Commit, corpus *indexer.Corpus) (warm *trainer.Warm, parent *store.Entry, same bool, err error) {
	if b.Scratch {
		return nil, nil, false, nil
	}
	maxGen, maxChanged, ancestors := b.MaxGenerations, b.MaxChanged, b.ancestors()
	if maxGen <= 0 {
		maxGen = 8
	}
	if maxChanged <= 0 {
		maxChanged = 0.5
	}
	cur := c
	var pc indexer.Commit
	for i := 0; i < ancestors && len(cur.Parents) > 0; i++ {
		p, err := repo.Commit(cur.Parents[0])
		if err != nil {
			return nil, nil, false, nil // a shallow clone: no more history
		}
		e, err := b.Store.Lookup(b.Key(p))
		if err != nil {
			return nil, nil, false, err
		}
		if e != nil {
			parent, pc = e, p
			break
		}
		cur = p
	}
	if parent == nil {
		return nil, nil, false, nil
	}
	if parent.Meta.Generation+1 > maxGen {
		b.log().Info("training from scratch: the warm-start chain is long", "generations", parent.Meta.Generation+1)
		return nil, nil, false, nil
	}
	cart, err := cartridge.Read(filepath.Join(parent.Dir, store.CartridgeName))
	if err != nil {
		b.log().Warn("training from scratch: the parent Cartridge is unreadable", "entry", parent.ID, "err", err)
		return nil, nil, false, nil
	}
	if cart.Meta.P != b.Budget.Train.P || cart.Meta.Frozen != b.Budget.Train.Frozen || cart.Meta.Model.Fingerprint != b.Infer.Fingerprint() {
		return nil, nil, false, nil
	}
	pcorpus, err := repo.Corpus(ctx, pc.Hash, b.Filter)
	if err != nil {
		return nil, nil, false, nil
	}
	changed, changedBytes := trainer.Changes(pcorpus, corpus)
	if len(changed) == 0 && len(pcorpus.Files) == len(corpus.Files) {
		return nil, parent, true, nil
	}
	if float64(changedBytes) > maxChanged*float64(corpus.Bytes()) {
		b.log().Info("training from scratch: most of the corpus changed", "changed_bytes", changedBytes, "bytes", corpus.Bytes())
		return nil, nil, false, nil
	}
	var pool []*trainer.Conversation
	if _, convs, err := trainer.ReadDataset(filepath.Join(parent.Dir, store.WorkName, trainer.DatasetFile), b.Infer.Vocab); err == nil {
		pool = convs
	}
	inc := b.Incremental
	if inc.Scale == 0 {
		inc = trainer.DefaultIncremental(b.Budget)
	}
	m := cart.Meta.Model
	warm = &trainer.Warm{
		Prefix:  &student.Prefix{P: cart.Meta.P, Frozen: cart.Meta.Frozen, KVHeads: m.KVHeads, HeadDim: m.HeadDim, K: cart.Keys, V: cart.Values},
		Pool:    pool,
		Changed: changed,
		From:    parent.ID,
		Cfg:     inc,
	}
	return warm, parent, false, nil
}

// prepareWork clears what an interrupted training of another plan left in
// the work directory (a scratch run's dataset when a warm start is now
// possible, or the other way round): only the same plan resumes.
func (b *Builder) prepareWork(dir string, warm *trainer.Warm) error {
	ds := filepath.Join(dir, trainer.DatasetFile)
	h, _, err := trainer.ReadDataset(ds, b.Infer.Vocab)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	from, _ := h.Extra["warm_from"].(string)
	want := ""
	if warm != nil {
		want = warm.From
	}
	if err == nil && from == want {
		return nil
	}
	for _, name := range []string{trainer.DatasetFile, trainer.CheckpointFile} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("clearing the work directory: %w", err)
		}
	}
	return nil
}

// reuse writes the parent's Cartridge as the commit's, its metadata saying
// which commit it now serves, and copies the parent's dataset into work (the
// pool the next commit replays from).
func (b *Builder) reuse(parent *store.Entry, c indexer.Commit, out, work string) error {
	cart, err := cartridge.Read(filepath.Join(parent.Dir, store.CartridgeName))
	if err != nil {
		return err
	}
	cart.Meta.Corpus.Commit = c.Hash
	cart.Meta.Created = time.Now().UTC()
	if err := cartridge.Write(out, cart, cartridge.F32); err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(parent.Dir, store.WorkName, trainer.DatasetFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the parent's dataset: %w", err)
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(work, trainer.DatasetFile), data, 0o644)
}

// New is the Builder that self-studies with the loaded model l (teacher,
// and student through l's backend) into st, with budget b and the corpus
// filter.
func New(l *modelfile.Loaded, st *store.Store, b trainer.Budget, filter indexer.Filter) (*Builder, error) {
	chat, err := answer.NewChat(l.Tokenizer)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", l.Path, err)
	}
	teacher, name, err := modelfile.Teacher(l.File, l.Backend, modelfile.TeacherAuto)
	if err != nil {
		return nil, err
	}
	return &Builder{
		Store: st, Infer: l.Model, Chat: chat, Budget: b, Filter: filter,
		Student: func() (*student.Model, error) { return student.New(l.File, l.Backend) },
		Teacher: teacher, TeacherName: name, ModelName: modelfile.NameOf(l.Path),
	}, nil
}

// ServerBudget is the budget the language server trains with: the named one
// (with the default seed, as trainer.LookupBudget gives it to `cartlsp
// train` and its hooks, so both find each other's Cartridges) and its p
// when p > 0.
func ServerBudget(name string, p int) (trainer.Budget, error) {
	b, err := trainer.LookupBudget(name)
	if err != nil {
		return b, err
	}
	if p > 0 {
		b.Train.P = p
	}
	return b, nil
}

// ForServer is the Builder the language server trains with: self-study
// into st with ServerBudget(budget, p), pausing at yield (when not nil)
// while an editor request decodes.
func ForServer(l *modelfile.Loaded, st *store.Store, budget string, p int, filter indexer.Filter,
	yield func(context.Context) error, log *slog.Logger) (*Builder, error) {
	b, err := ServerBudget(budget, p)
	if err != nil {
		return nil, err
	}
	sb, err := New(l, st, b, filter)
	if err != nil {
		return nil, err
	}
	sb.Yield, sb.Log = yield, log
	return sb, nil
}

// TrainBesideReplayable sets Beside to the dependency Cartridge files among
// files that can be replayed (ReplayableBeside), logging the others, which
// answers compose as they are: what the language server's
// trainBesideDependencies does.
func (b *Builder) TrainBesideReplayable(files []string) {
	var without []string
	b.Beside, without = ReplayableBeside(files)
	b.besideFP = ""
	if len(without) > 0 {
		b.log().Info("training beside only the dependency Cartridges that come with their dataset to replay; the others are composed as they are",
			"beside", len(b.Beside), "without_dataset", without)
	}
}

// ReplayableBeside splits dependency Cartridge files into those a
// repository's Cartridge can train beside with replay (store entries that
// keep the dataset they were trained on: trained here, or pulled with it)
// and those it cannot (a file outside the store, or an entry pulled
// without its dataset). Training beside a dependency without replaying it
// makes answers about the dependency worse than plain concatenation
// (docs/RESULTS.md, "Composing dependency Cartridges"), so the language
// server trains beside keep only and composes without as they are.
func ReplayableBeside(beside []string) (keep, without []string) {
	for _, p := range beside {
		if len(replayDatasets([]string{p})) == 1 {
			keep = append(keep, p)
		} else {
			without = append(without, p)
		}
	}
	return keep, without
}

// replayDatasets are the datasets of the store entries whose Cartridges
// beside are (entries/<id>/work/dataset.bin, kept after training): the
// dependencies' own conversations, replayed while the repository's
// Cartridge trains beside them.
func replayDatasets(beside []string) []string {
	var out []string
	for _, p := range beside {
		if filepath.Base(p) != store.CartridgeName {
			continue
		}
		ds := filepath.Join(filepath.Dir(p), store.WorkName, trainer.DatasetFile)
		if st, err := os.Stat(ds); err == nil && st.Mode().IsRegular() {
			out = append(out, ds)
		}
	}
	return out
}
