package follow

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/indexer/gittest"
)

// newRepo is a real git repository driven with the git CLI.
func newRepo(t *testing.T) *gittest.Repo { return gittest.New(t) }

// states collects a Follower's states.
type states struct {
	mu  sync.Mutex
	all []State
	ch  chan State
}

func newStates() *states { return &states{ch: make(chan State, 256)} }

func (s *states) add(st State) {
	s.mu.Lock()
	s.all = append(s.all, st)
	s.mu.Unlock()
	s.ch <- st
}

// wait returns the first state (from now on) that satisfies ok.
func (s *states) wait(t *testing.T, what string, ok func(State) bool) State {
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

// scripted stands in for training in the Follower's policy tests and acts
// on the commit's subject: "slow…" trains until cancelled, "linger…" too
// and then keeps stopping until the test calls endLinger, "fail…" fails,
// anything else succeeds.
type scripted struct {
	repo      *indexer.Repo
	mu        sync.Mutex
	builds    map[string]int  // by subject
	cancelled map[string]bool // by subject, set as soon as the cancel is seen
	started   chan string     // each build's subject, as it starts
	cancels   chan string     // each build's subject, as it sees its cancel
	linger    chan struct{}   // closed by endLinger
	endOnce   sync.Once
}

func newScripted(repo *indexer.Repo) *scripted {
	return &scripted{repo: repo, builds: map[string]int{}, cancelled: map[string]bool{},
		started: make(chan string, 256), cancels: make(chan string, 256), linger: make(chan struct{})}
}

// endLinger lets cancelled "linger…" builds return. A test with one calls it
// in a Cleanup registered after runFollower's, so that it runs first.
func (s *scripted) endLinger() { s.endOnce.Do(func() { close(s.linger) }) }

// await receives from ch until want arrives.
func await(t *testing.T, ch <-chan string, want, what string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case got := <-ch:
			if got == want {
				return
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (s *scripted) build(ctx context.Context, commit string, progress func(Progress)) (*Result, error) {
	c, err := s.repo.Commit(commit)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.builds[c.Subject]++
	s.mu.Unlock()
	s.started <- c.Subject
	progress(Progress{Stage: "training", Done: 1, Total: 2})
	switch {
	case strings.HasPrefix(c.Subject, "slow"), strings.HasPrefix(c.Subject, "linger"):
		<-ctx.Done()
		s.mu.Lock()
		s.cancelled[c.Subject] = true
		s.mu.Unlock()
		s.cancels <- c.Subject
		if strings.HasPrefix(c.Subject, "linger") {
			<-s.linger
		}
		return nil, ctx.Err()
	case strings.HasPrefix(c.Subject, "fail"):
		return nil, errors.New("out of memory")
	}
	return &Result{Commit: c, Path: "/carts/" + c.Subject, Trained: true}, nil
}

// count reads a subject's builds and whether one was cancelled.
func (s *scripted) count(subject string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.builds[subject], s.cancelled[subject]
}

// runFollower runs f until the test ends.
func runFollower(t *testing.T, f *Follower) {
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

// scriptedFollower runs a Follower with scripted builds (manual or not) on a
// new repository whose first commit is "one"; it returns that commit.
func scriptedFollower(t *testing.T, manual bool) (*gittest.Repo, string, *Follower, *scripted, *states) {
	t.Helper()
	r := newRepo(t)
	c1 := r.Commit("one", map[string]string{"a.go": "package a\n"})
	ir, err := indexer.OpenRepo(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	sc := newScripted(ir)
	st := newStates()
	f := &Follower{Repo: ir, Build: sc.build, States: st.add, Manual: manual, Watch: indexer.WatchOptions{Debounce: 30 * time.Millisecond}}
	runFollower(t, f)
	return r, c1, f, sc, st
}

// TestFollowerSupersedes checks the policy: a newer commit cancels the
// training in flight and trains HEAD; a failed training keeps the last
// good Cartridge; moving back to a commit with a Cartridge serves it.
func TestFollowerSupersedes(t *testing.T) {
	r, c1, f, sc, st := scriptedFollower(t, false)

	st.wait(t, "c1 ready", func(s State) bool { return s.Phase == "ready" && s.Commit == c1 })
	if c := f.Current(); c == nil || c.Path != "/carts/one" {
		t.Fatalf("current after c1: %+v", c)
	}

	// "slow two" trains until superseded; "three" lands meanwhile.
	c2 := r.Commit("slow two", map[string]string{"a.go": "package a // 2\n"})
	st.wait(t, "c2 training", func(s State) bool { return s.Phase == "training" && s.Commit == c2 })
	if c := f.Current(); c == nil || c.Commit.Hash != c1 {
		t.Fatalf("while c2 trains the current Cartridge is %+v, want c1's", c)
	}
	c3 := r.Commit("three", map[string]string{"a.go": "package a // 3\n"})
	st.wait(t, "c3 ready", func(s State) bool { return s.Phase == "ready" && s.Commit == c3 })
	if _, cancelled := sc.count("slow two"); !cancelled {
		t.Error("c2's training was not cancelled")
	}
	if c := f.Current(); c.Commit.Hash != c3 {
		t.Fatalf("current is %s, want c3", c.Commit.Hash)
	}

	// A failing training: an error state, c3's Cartridge stays in use.
	c4 := r.Commit("fail four", map[string]string{"a.go": "package a // 4\n"})
	s4 := st.wait(t, "c4 error", func(s State) bool { return s.Commit == c4 && s.Phase != "training" })
	if s4.Phase != "error" || s4.Err == nil || !strings.Contains(s4.Err.Error(), "out of memory") {
		t.Errorf("failed training: %+v", s4)
	}
	if c := f.Current(); c.Commit.Hash != c3 || s4.Current == nil || s4.Current.Commit.Hash != c3 {
		t.Errorf("after a failure the current Cartridge is %s, want c3's", c.Commit.Hash)
	}

	// Back to c3 (a reset): served at once, not trained again.
	r.Git("reset", "-q", "--hard", c3)
	st.wait(t, "c3 ready again", func(s State) bool { return s.Phase == "ready" && s.Commit == c3 })
	if n, _ := sc.count("three"); n != 1 {
		t.Errorf("c3 was built %d times", n)
	}
}

// TestFollowerSupersededThenBack: HEAD moves on while a training runs and
// comes back before the cancelled training has stopped: HEAD's commit is
// trained again (resuming), never the commit HEAD only passed through.
func TestFollowerSupersededThenBack(t *testing.T) {
	r := newRepo(t)
	r.Commit("one", map[string]string{"a.go": "package a\n"})
	repo, err := indexer.OpenRepo(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	sc := newScripted(repo)
	st := newStates()
	pending := make(chan string, 64) // HEAD changes waiting for the training in flight
	runFollower(t, &Follower{Repo: repo, Build: sc.build, States: st.add, Watch: indexer.WatchOptions{Debounce: 30 * time.Millisecond},
		onPending: func(ch indexer.HeadChange) { pending <- ch.Commit }})
	t.Cleanup(sc.endLinger) // before runFollower's Cleanup waits for the build
	st.wait(t, "one ready", func(s State) bool { return s.Phase == "ready" })
	c2 := r.Commit("linger two", map[string]string{"a.go": "package a // 2\n"})
	st.wait(t, "c2 training", func(s State) bool { return s.Phase == "training" && s.Commit == c2 })
	await(t, sc.started, "linger two", "c2's first build")
	c3 := r.Commit("three", map[string]string{"a.go": "package a // 3\n"})
	await(t, pending, c3, "c3 to wait for c2's training to stop")
	await(t, sc.cancels, "linger two", "c2's training to be cancelled")
	r.Git("reset", "-q", "--hard", c2) // back, while c2's training is still stopping
	await(t, pending, c2, "HEAD back at c2 to wait for c2's training to stop")
	sc.endLinger() // c2's cancelled training stops only now
	st.wait(t, "c2 training again", func(s State) bool { return s.Phase == "training" && s.Commit == c2 })
	await(t, sc.started, "linger two", "c2's second build")
	if n, _ := sc.count("three"); n > 0 {
		t.Fatal("trained the commit HEAD only passed through")
	}
	if n, _ := sc.count("linger two"); n != 2 {
		t.Fatalf("c2 was built %d times, want 2", n)
	}
}
