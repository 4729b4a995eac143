package follow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/cartlsp/cartlsp/indexer"
)

// The policy when commits land while a Cartridge trains — latest wins:
//
//   - A newer HEAD supersedes the training in flight: it is cancelled (its
//     dataset and checkpoint stay in its store entry, so coming back to that
//     commit resumes it) and, once it has stopped, HEAD's training starts —
//     incrementally from the newest ancestor whose Cartridge is in the
//     store. Bursts of commits are debounced by the watcher first.
//   - Until HEAD's Cartridge is ready the last good one stays in use. A
//     failed training leaves it in use too, reports the error, and is tried
//     again on the next change of HEAD.
//   - HEAD moving to a commit whose Cartridge is in the store (a branch
//     switch back, a reset) serves it at once, without training.
//   - At start, before HEAD's Cartridge is ready, the nearest ancestor's in
//     the store (if any) answers.
//   - StopTraining cancels the training in flight until Train or HEAD's next
//     change; with Manual set, HEAD's changes only look the store up and
//     trainings start with Train.

// State is what a Follower is doing, for status displays.
type State struct {
	// Phase: "training", "ready", "error", "stopped" (StopTraining) or
	// "idle" (Manual: HEAD has no Cartridge and nothing trains).
	Phase  string
	Commit string // HEAD's commit
	Branch string // HEAD's branch ("" when detached)
	// Training progress: the job's stage ("synthesis", "training") and
	// how far it is.
	Stage       string
	Done, Total int
	// Current is the Cartridge in use (nil before the first one).
	Current *Result
	Err     error // Phase "error": why HEAD's training failed
}

// Follower keeps HEAD's Cartridge current as commits land.
type Follower struct {
	// Builder looks Cartridges up in the store and trains them (nil: none
	// is looked up, Build trains).
	Builder Builder
	Repo    *indexer.Repo
	Watch   indexer.WatchOptions
	// Build makes a commit's Cartridge, reporting progress; default:
	// Builder.Build.
	Build func(ctx context.Context, commit string, progress func(Progress)) (*Result, error)
	// States, when set, receives every change of state (from one
	// goroutine at a time).
	States func(State)
	// Manual turns automatic training off: HEAD's changes serve the
	// Cartridges the store has, and Train starts a training.
	Manual bool
	Log    *slog.Logger

	// onPending, when set (by tests, before Run), is called from Run's
	// loop with each HEAD change that waits for the training in flight to
	// stop.
	onPending func(indexer.HeadChange)

	mu       sync.Mutex
	current  *Result
	reqsOnce sync.Once
	reqs     chan request
	started  chan struct{}
	startMu  sync.Once
	startEnd sync.Once
}

// Started is closed once Run has looked the store up for HEAD (or its
// nearest ancestor): from then on Current says whether a Cartridge answers.
func (f *Follower) Started() <-chan struct{} {
	f.startMu.Do(func() { f.started = make(chan struct{}) })
	return f.started
}

func (f *Follower) markStarted() {
	f.Started()
	f.startEnd.Do(func() { close(f.started) })
}

// request is a call of Train or StopTraining, served by Run's loop.
type request struct {
	stop  bool
	reply chan Reply
}

// Reply says what Train or StopTraining did.
type Reply struct {
	Done    bool // a training started (Train) or was stopped (StopTraining)
	Message string
}

func (f *Follower) requests() chan request {
	f.reqsOnce.Do(func() { f.reqs = make(chan request) })
	return f.reqs
}

// Train starts training HEAD's Cartridge when the store lacks it and no
// training is in flight (also in Manual mode, or after StopTraining).
func (f *Follower) Train(ctx context.Context) (Reply, error) {
	return f.call(ctx, request{})
}

// StopTraining cancels the training in flight; its work stays in the store
// and resumes with Train or HEAD's next change.
func (f *Follower) StopTraining(ctx context.Context) (Reply, error) {
	return f.call(ctx, request{stop: true})
}

func (f *Follower) call(ctx context.Context, r request) (Reply, error) {
	r.reply = make(chan Reply, 1)
	select {
	case f.requests() <- r:
	case <-ctx.Done():
		return Reply{}, ctx.Err()
	}
	select {
	case rep := <-r.reply:
		return rep, nil
	case <-ctx.Done():
		return Reply{}, ctx.Err()
	}
}

// Current is the Cartridge in use: the last one made or found (nil before
// the first).
func (f *Follower) Current() *Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.current
}

func (f *Follower) log() *slog.Logger {
	if f.Log != nil {
		return f.Log
	}
	return slog.Default()
}

// flight is a training in progress.
type flight struct {
	change  indexer.HeadChange
	cancel  context.CancelFunc
	stopped bool // by StopTraining
	done    chan struct{}
	res     *Result
	err     error
}

// Run follows HEAD until ctx is done (and returns nil then), or the
// watcher cannot start.
func (f *Follower) Run(ctx context.Context) error {
	build := f.Build
	if build == nil {
		if f.Builder == nil {
			return errors.New("follow: no Builder")
		}
		build = func(ctx context.Context, commit string, progress func(Progress)) (*Result, error) {
			return f.Builder.Build(ctx, f.Repo, commit, progress)
		}
	}
	lookup := func(commit string) (*Result, error) {
		if f.Builder == nil {
			return nil, nil
		}
		return f.Builder.Lookup(f.Repo, commit)
	}
	defer f.markStarted() // also when Run fails early
	if f.Current() == nil && f.Builder != nil {
		// The nearest ancestor's Cartridge answers until HEAD's is ready.
		if r, err := f.Builder.Nearest(f.Repo, ""); err != nil {
			f.log().Warn("looking for an ancestor's Cartridge", "err", err)
		} else if r != nil {
			f.mu.Lock()
			f.current = r
			f.mu.Unlock()
		}
	}
	f.markStarted()
	w, err := indexer.WatchHead(ctx, f.Repo.Root, f.Watch)
	if err != nil {
		return err
	}
	defer w.Close()
	errs := w.Errors()
	reqs := f.requests()

	var (
		cur     *flight
		pending *indexer.HeadChange    // HEAD's newest state, waiting for cur to stop
		states  = make(chan State, 64) // progress from the flight's goroutine
	)
	emit := func(s State) { // only ever called from this goroutine
		s.Current = f.Current()
		if f.States != nil {
			f.States(s)
		}
	}
	start := func(ch indexer.HeadChange) {
		fctx, cancel := context.WithCancel(ctx)
		fl := &flight{change: ch, cancel: cancel, done: make(chan struct{})}
		cur = fl
		emit(State{Phase: "training", Commit: ch.Commit, Branch: ch.Branch})
		progress := func(p Progress) {
			if p.Stage == "synthesis" || p.Stage == "training" {
				select {
				case states <- State{Phase: "training", Commit: ch.Commit, Branch: ch.Branch, Stage: p.Stage, Done: p.Done, Total: p.Total}:
				default: // a slow listener misses progress, never the outcome
				}
			}
		}
		go func() {
			defer close(fl.done)
			fl.res, fl.err = build(fctx, ch.Commit, progress)
		}()
	}
	for {
		var done chan struct{}
		if cur != nil {
			done = cur.done
		}
		select {
		case <-ctx.Done():
			if cur != nil {
				cur.cancel()
				<-cur.done
			}
			return nil
		case err, ok := <-errs:
			if !ok {
				errs = nil // closed with Changes, which ends the loop
				continue
			}
			f.log().Warn("watching the repository", "err", err)
		case s := <-states:
			emit(s)
		case r := <-reqs:
			r.reply <- f.serve(r, cur, &pending, start)
		case ch, ok := <-w.Changes():
			if !ok {
				return nil
			}
			if cur != nil {
				if pending == nil && cur.change.Commit == ch.Commit {
					cur.change.Branch = ch.Branch // the same commit on another branch
					continue
				}
				if pending == nil {
					f.log().Info("a newer commit supersedes the training in flight", "was", cur.change.Commit, "now", ch.Commit)
					cur.cancel()
				}
				c := ch
				pending = &c // HEAD's newest state, trained once cur has stopped
				if f.onPending != nil {
					f.onPending(c)
				}
				continue
			}
			if c := f.Current(); c != nil && c.Commit.Hash == ch.Commit {
				emit(State{Phase: "ready", Commit: ch.Commit, Branch: ch.Branch})
				continue
			}
			if f.Manual {
				f.adopt(ch, lookup, emit)
				continue
			}
			start(ch)
		case <-done:
			fl := cur
			cur = nil
			fl.cancel()
			switch {
			case fl.stopped && errors.Is(fl.err, context.Canceled):
				emit(State{Phase: "stopped", Commit: fl.change.Commit, Branch: fl.change.Branch})
			case pending != nil && errors.Is(fl.err, context.Canceled):
				// Superseded: nothing to report.
			case fl.err != nil:
				f.log().Error("training failed; the last good Cartridge stays in use", "commit", fl.change.Commit, "err", fl.err)
				emit(State{Phase: "error", Commit: fl.change.Commit, Branch: fl.change.Branch, Err: fmt.Errorf("training %s: %w", indexer.ShortHash(fl.change.Commit), fl.err)})
			default:
				fl.res.Commit.Branch = fl.change.Branch
				f.mu.Lock()
				f.current = fl.res
				f.mu.Unlock()
				emit(State{Phase: "ready", Commit: fl.change.Commit, Branch: fl.change.Branch})
			}
			if pending != nil {
				next := *pending
				pending = nil
				if c := f.Current(); c != nil && c.Commit.Hash == next.Commit {
					emit(State{Phase: "ready", Commit: next.Commit, Branch: next.Branch})
				} else if f.Manual {
					f.adopt(next, lookup, emit)
				} else {
					start(next)
				}
			}
		}
	}
}

// adopt serves HEAD's Cartridge from the store without training (Manual).
func (f *Follower) adopt(ch indexer.HeadChange, lookup func(string) (*Result, error), emit func(State)) {
	r, err := lookup(ch.Commit)
	switch {
	case err != nil:
		emit(State{Phase: "error", Commit: ch.Commit, Branch: ch.Branch, Err: err})
	case r == nil:
		emit(State{Phase: "idle", Commit: ch.Commit, Branch: ch.Branch})
	default:
		r.Commit.Branch = ch.Branch
		f.mu.Lock()
		f.current = r
		f.mu.Unlock()
		emit(State{Phase: "ready", Commit: ch.Commit, Branch: ch.Branch})
	}
}

// serve answers a Train or StopTraining call in Run's loop.
func (f *Follower) serve(r request, cur *flight, pending **indexer.HeadChange, start func(indexer.HeadChange)) Reply {
	if r.stop {
		if cur == nil {
			return Reply{Message: "no training is running"}
		}
		cur.stopped = true
		cur.cancel()
		*pending = nil
		return Reply{Done: true, Message: "stopping the training of " + indexer.ShortHash(cur.change.Commit)}
	}
	if cur != nil && !cur.stopped {
		return Reply{Message: "already training " + indexer.ShortHash(cur.change.Commit)}
	}
	if cur != nil {
		return Reply{Message: "the stopped training of " + indexer.ShortHash(cur.change.Commit) + " is still winding down; try again in a moment"}
	}
	head, err := f.Repo.Head()
	if err != nil {
		return Reply{Message: err.Error()}
	}
	if c := f.Current(); c != nil && c.Commit.Hash == head.Hash {
		return Reply{Message: "up to date: " + indexer.ShortHash(head.Hash) + " has its Cartridge"}
	}
	start(indexer.HeadChange{Commit: head.Hash, Branch: head.Branch})
	return Reply{Done: true, Message: "training the Cartridge of " + indexer.ShortHash(head.Hash)}
}
