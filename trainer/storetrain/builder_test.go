package storetrain

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/follow"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/indexer/gittest"
	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
	"github.com/cartlsp/cartlsp/runtime/student"
	"github.com/cartlsp/cartlsp/runtime/tokenizer"
	"github.com/cartlsp/cartlsp/store"
	"github.com/cartlsp/cartlsp/trainer"
)

// newRepo is a real git repository driven with the git CLI.
func newRepo(t *testing.T) *gittest.Repo { return gittest.New(t) }

func goFile(pkg string, n, v int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "package %s\n\n", pkg)
	for j := 0; j < n; j++ {
		fmt.Fprintf(&b, "// Get%d returns %d.\nfunc Get%d() int { return %d }\n\n", j, v+j, j, v+j)
	}
	return b.String()
}

// newBuilder is a Builder with a tiny random chat model and a tiny budget.
func newBuilder(t *testing.T) *Builder {
	t.Helper()
	f := modeltest.ParseChat(t, modeltest.Options{Context: 4096, Seed: 5})
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	be := cpu.NewBackend(2)
	t.Cleanup(func() { be.Close() })
	m, err := model.New(f, be)
	if err != nil {
		t.Fatal(err)
	}
	chat, err := answer.NewChat(tok)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := trainer.LookupBudget("tiny")
	if err != nil {
		t.Fatal(err)
	}
	b.Synth = trainer.SynthConfig{Conversations: 8, ChunkMin: 48, ChunkMax: 96, MaxUser: 12, MaxAnswer: 16, UserTemp: 0.6, TopK: 4, SeedTypes: trainer.SeedTypes}
	b.Train = trainer.TrainConfig{P: 8, Frozen: 1, Init: trainer.InitFirstTokens, LR: 2e-2, Epochs: 1, Batch: 4, MicroTokens: 512}
	return &Builder{Store: st, Infer: m, Chat: chat, Budget: b,
		Student:     func() (*student.Model, error) { return student.New(f, be) },
		Incremental: trainer.IncrementalConfig{Scale: 1, MinNew: 2, MaxNew: 4, Replay: 1, Epochs: 1},
		MaxChanged:  0.9} // the test corpora are a few files: one of them is a large share
}

func TestBuilderHistory(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	b := newBuilder(t)
	c1 := r.Commit("one", map[string]string{"a.go": goFile("a", 8, 0), "b.go": goFile("b", 8, 100), "c.go": goFile("c", 8, 200)})
	repo, err := indexer.OpenRepo(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.Lookup(repo, ""); err != nil || got != nil {
		t.Fatalf("lookup before training: %v, %v", got, err)
	}
	r1, err := b.Ensure(ctx, repo, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if !r1.Trained || r1.Parent != "" || r1.Commit.Hash != c1 || r1.Job == nil {
		t.Fatalf("first commit: %+v", r1)
	}
	// Again: the store has it.
	again, err := b.Ensure(ctx, repo, "", false)
	if err != nil || again.Trained || again.Path != r1.Path {
		t.Fatalf("second Ensure: %+v, %v", again, err)
	}

	// A change to one file: incremental, from the first commit's entry.
	c2 := r.Commit("two", map[string]string{"b.go": goFile("b", 8, 500)})
	r2, err := b.Ensure(ctx, repo, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if !r2.Trained || r2.Parent != r1.Entry || r2.Commit.Hash != c2 || r2.Job.NewExamples == 0 {
		t.Fatalf("second commit: %+v", r2)
	}
	e2, err := b.Store.Get(r2.Entry)
	if err != nil || e2 == nil || e2.Meta.Generation != 1 || e2.Meta.Parent != r1.Entry || !e2.Complete {
		t.Fatalf("second entry: %+v, %v", e2, err)
	}

	// A commit that changes only a file the corpus leaves out: the
	// parent's Cartridge serves as it is.
	r.Commit("logo", map[string]string{"logo.png": "\x89PNG\r\n"})
	r3, err := b.Ensure(ctx, repo, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if !r3.Trained || r3.Job != nil || r3.Parent != r2.Entry {
		t.Fatalf("unchanged corpus: %+v", r3)
	}

	// Two commits at once (the middle one never trained): the warm start
	// comes from the nearest ancestor with a Cartridge.
	r.Commit("four", map[string]string{"c.go": goFile("c", 8, 900)})
	r.Commit("five", map[string]string{"a.go": goFile("a", 8, 700)})
	r5, err := b.Ensure(ctx, repo, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if r5.Parent != r3.Entry || r5.Job.ChangedTokens == 0 {
		t.Fatalf("skipping a commit: parent %s, want %s", r5.Parent, r3.Entry)
	}

	// An older commit by revision, and from scratch when asked.
	b.Scratch = true
	old, err := b.Ensure(ctx, repo, "HEAD~1", false)
	if err != nil || !old.Trained || old.Parent != "" {
		t.Fatalf("HEAD~1 from scratch: %+v, %v", old, err)
	}
}

func TestBuilderInterruptedTrainingLeavesStoreUsable(t *testing.T) {
	r := newRepo(t)
	b := newBuilder(t)
	r.Commit("one", map[string]string{"a.go": goFile("a", 12, 0)})
	repo, err := indexer.OpenRepo(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Events = func(e trainer.Event) {
		if e.Phase == "synthesis" && e.Done >= 2 {
			cancel()
		}
	}
	if _, err := b.Ensure(ctx, repo, "", false); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Ensure: %v", err)
	}
	if got, err := b.Lookup(repo, ""); err != nil || got != nil {
		t.Fatalf("an interrupted training left a Cartridge: %+v, %v", got, err)
	}
	es, err := b.Store.List()
	if err != nil || len(es) != 1 || es[0].State() != "incomplete" {
		t.Fatalf("store after the interruption: %+v, %v", es, err)
	}
	// The next call resumes the saved conversations and finishes.
	var resumed string
	b.Events = func(e trainer.Event) {
		if e.Phase == "resume" {
			resumed = e.Message
		}
	}
	res, err := b.Ensure(context.Background(), repo, "", false)
	if err != nil || !res.Trained {
		t.Fatalf("resumed Ensure: %+v, %v", res, err)
	}
	if !strings.Contains(resumed, "already synthesized") {
		t.Errorf("the second training did not resume: %q", resumed)
	}
}

// states collects a Follower's states.
type states struct {
	mu  sync.Mutex
	all []follow.State
	ch  chan follow.State
}

func newStates() *states { return &states{ch: make(chan follow.State, 256)} }

func (s *states) add(st follow.State) {
	s.mu.Lock()
	s.all = append(s.all, st)
	s.mu.Unlock()
	s.ch <- st
}

// wait returns the first state (from now on) that satisfies ok.
func (s *states) wait(t *testing.T, what string, ok func(follow.State) bool) follow.State {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case st := <-s.ch:
			if ok(st) {
				return st
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// runFollower runs f until the test ends.
func runFollower(t *testing.T, f *follow.Follower) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// TestFollowerTrains follows a repository with the real Builder: a commit
// gets its Cartridge in the store, incrementally from the previous one.
func TestFollowerTrains(t *testing.T) {
	r := newRepo(t)
	r.Commit("one", map[string]string{"a.go": goFile("a", 10, 0), "b.go": goFile("b", 10, 50)})
	repo, err := indexer.OpenRepo(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	st := newStates()
	b := newBuilder(t)
	f := &follow.Follower{Builder: b, Repo: repo, States: st.add, Watch: indexer.WatchOptions{Debounce: 30 * time.Millisecond}}
	runFollower(t, f)
	first := st.wait(t, "first ready", func(s follow.State) bool { return s.Phase == "ready" || s.Phase == "error" })
	if first.Phase != "ready" || first.Current == nil || first.Current.Path == "" {
		t.Fatalf("first state: %+v", first)
	}
	if e, err := b.Store.Get(first.Current.Entry); err != nil || e.Meta.Branch != "main" {
		t.Errorf("the entry's branch: %+v, %v", e, err)
	}
	if _, err := os.Stat(first.Current.Path); err != nil {
		t.Fatal(err)
	}
	c2 := r.Commit("two", map[string]string{"b.go": goFile("b", 10, 90)})
	second := st.wait(t, "second ready", func(s follow.State) bool { return s.Commit == c2 && (s.Phase == "ready" || s.Phase == "error") })
	if second.Phase != "ready" || second.Current.Parent != first.Current.Entry {
		t.Fatalf("second state: %+v (parent %q, want %q)", second, second.Current.Parent, first.Current.Entry)
	}
	sawProgress := false
	st.mu.Lock()
	for _, s := range st.all {
		sawProgress = sawProgress || s.Phase == "training" && s.Total > 0
	}
	st.mu.Unlock()
	if !sawProgress {
		t.Error("no training progress was reported")
	}
}

// TestBuilderOneTrainingPerRepository: while another process trains the
// repository, Ensure fails with ErrBusy, or waits and then trains HEAD as
// it is after the wait.
func TestBuilderOneTrainingPerRepository(t *testing.T) {
	r := newRepo(t)
	b := newBuilder(t)
	c1 := r.Commit("one", map[string]string{"a.go": goFile("a", 10, 0)})
	repo, err := indexer.OpenRepo(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	release, err := b.Store.LockRepo(context.Background(), repo.Root, false) // "another process"
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Ensure(context.Background(), repo, "", false); !errors.Is(err, store.ErrBusy) {
		t.Fatalf("Ensure while the repository is locked: %v, want ErrBusy", err)
	}
	type out struct {
		res *Result
		err error
	}
	locking := make(chan string, 4) // the commits Ensure resolved before taking the lock
	b.onRepoLock = func(c indexer.Commit) { locking <- c.Hash }
	got := make(chan out, 1)
	go func() {
		res, err := b.Ensure(context.Background(), repo, "", true)
		got <- out{res, err}
	}()
	select {
	case h := <-locking:
		if h != c1 {
			t.Fatalf("Ensure resolved %s, want HEAD %s", h, c1)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("timed out waiting for Ensure to resolve HEAD and wait for the repository")
	}
	select {
	case o := <-got:
		t.Fatalf("Ensure returned while the repository was locked: %+v, %v", o.res, o.err)
	default:
	}
	c2 := r.Commit("two", map[string]string{"a.go": goFile("a", 10, 40)})
	release()
	o := <-got
	if o.err != nil || o.res.Commit.Hash != c2 {
		t.Fatalf("Ensure after waiting: %+v, %v; want HEAD %s", o.res, o.err, c2)
	}
}

// TestBuilderNearest: a commit without a Cartridge finds its nearest
// ancestor's, which the Follower serves until its own is ready.
func TestBuilderNearest(t *testing.T) {
	r := newRepo(t)
	r.Commit("one", map[string]string{"a.go": goFile("a", 10, 0), "b.go": goFile("b", 10, 50)})
	repo, err := indexer.OpenRepo(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	b := newBuilder(t)
	if n, err := b.Nearest(repo, ""); err != nil || n != nil {
		t.Fatalf("Nearest in an empty store: %+v, %v", n, err)
	}
	first, err := b.Ensure(context.Background(), repo, "", false)
	if err != nil {
		t.Fatal(err)
	}
	r.Commit("two", map[string]string{"b.go": goFile("b", 10, 90)})
	r.Commit("three", map[string]string{"b.go": goFile("b", 10, 95)})
	n, err := b.Nearest(repo, "")
	if err != nil || n == nil || n.Entry != first.Entry {
		t.Fatalf("Nearest two commits later: %+v, %v; want entry %s", n, err, first.Entry)
	}
	if l, err := b.Lookup(repo, ""); err != nil || l != nil {
		t.Errorf("Lookup of HEAD: %+v, %v; want none", l, err)
	}
}

// TestBuilderBesideReplays: a Cartridge trained beside a store entry's
// Cartridge replays that entry's conversations, and its key says so.
func TestBuilderBesideReplays(t *testing.T) {
	ctx := context.Background()
	b := newBuilder(t)
	dep := newRepo(t)
	dep.Commit("dep", map[string]string{"d.go": goFile("d", 8, 0)})
	depRepo, err := indexer.OpenRepo(dep.Dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := b.Ensure(ctx, depRepo, "", false)
	if err != nil {
		t.Fatal(err)
	}
	r := newRepo(t)
	r.Commit("one", map[string]string{"a.go": goFile("a", 8, 300)})
	repo, err := indexer.OpenRepo(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	alone, err := b.Ensure(ctx, repo, "", false)
	if err != nil {
		t.Fatal(err)
	}
	bb := *b
	bb.Beside = []string{d.Path}
	beside, err := bb.Ensure(ctx, repo, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if !beside.Trained || beside.Key == alone.Key || beside.Job == nil || beside.Job.DepReplayed == 0 {
		t.Fatalf("beside: trained %v, key %v (alone %v), replayed %+v", beside.Trained, beside.Key, alone.Key, beside.Job)
	}
	if !strings.HasSuffix(beside.Key.Recipe, " replay") {
		t.Errorf("recipe %q does not say it replays", beside.Key.Recipe)
	}

	// The server's rule: beside only what can be replayed. A copy of the
	// dependency's Cartridge outside the store has no dataset with it.
	outside := filepath.Join(t.TempDir(), "dep.cart")
	raw, err := os.ReadFile(d.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(outside, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	keep, without := ReplayableBeside([]string{outside, d.Path})
	if len(keep) != 1 || keep[0] != d.Path || len(without) != 1 || without[0] != outside {
		t.Errorf("ReplayableBeside: keep %v, without %v", keep, without)
	}
	head, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	bs := *b
	bs.TrainBesideReplayable([]string{outside})
	if len(bs.Beside) != 0 || bs.Key(head) != alone.Key {
		t.Errorf("beside a Cartridge without a dataset: %v, key %v; want alone's", bs.Beside, bs.Key(head))
	}
}
