package follow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/trainer"
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

// State is what a Follower is doing, for status displays.
type State struct {
	Phase  string // "training", "ready", "error"
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
	Builder *Builder
	Repo    *indexer.Repo
	Watch   indexer.WatchOptions
	// Build makes a commit's Cartridge, reporting progress; default:
	// Builder.EnsureEvents, waiting for another process training the same
	// one (a commit hook's).
	Build func(ctx context.Context, commit string, progress func(trainer.Event)) (*Result, error)
	// States, when set, receives every change of state (from one
	// goroutine at a time).
	States func(State)
	Log    *slog.Logger

	mu      sync.Mutex
	current *Result
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
	change indexer.HeadChange
	cancel context.CancelFunc
	done   chan struct{}
	res    *Result
	err    error
}

// Run follows HEAD until ctx is done (and returns nil then), or the
// watcher cannot start.
func (f *Follower) Run(ctx context.Context) error {
	build := f.Build
	if build == nil {
		if f.Builder == nil {
			return errors.New("follow: no Builder")
		}
		build = func(ctx context.Context, commit string, progress func(trainer.Event)) (*Result, error) {
			return f.Builder.EnsureEvents(ctx, f.Repo, commit, true, progress)
		}
	}
	w, err := indexer.WatchHead(ctx, f.Repo.Root, f.Watch)
	if err != nil {
		return err
	}
	defer w.Close()
	errs := w.Errors()

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
		progress := func(e trainer.Event) {
			if e.Phase == "synthesis" || e.Phase == "training" {
				select {
				case states <- State{Phase: "training", Commit: ch.Commit, Branch: ch.Branch, Stage: e.Phase, Done: e.Done, Total: e.Total}:
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
				continue
			}
			if c := f.Current(); c != nil && c.Commit.Hash == ch.Commit {
				emit(State{Phase: "ready", Commit: ch.Commit, Branch: ch.Branch})
				continue
			}
			start(ch)
		case <-done:
			fl := cur
			cur = nil
			fl.cancel()
			switch {
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
				} else {
					start(next)
				}
			}
		}
	}
}
