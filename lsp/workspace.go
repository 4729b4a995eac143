package lsp

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cartlsp/cartlsp/follow"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/store"
	"go.lsp.dev/protocol"
)

// workspace follows the repository for one configuration and one engine:
// it keeps HEAD's Cartridge current (training in the background), reports
// status and progress, and says what answers are decoded after. A change of
// configuration stops it and starts another.
type workspace struct {
	s    *Server
	cfg  Config
	eng  *engine // held (acquired) until stop
	dir  string  // the workspace folder ("" when the client gave none)
	repo *indexer.Repo
	why  string // why nothing trains (not a repository, …)

	follower *follow.Follower
	deps     Dependencies // nil: modules in the dependencies setting are not resolved
	cancel   context.CancelFunc
	done     chan struct{}
	states   chan follow.State // to the reporter, in order

	mu     sync.Mutex
	status Status
	work   *workDone // the training's progress in the client
	warmed bool      // the reporter's: the first state started the warm-up

	stopOnce sync.Once
	stopped  bool // under mu

	depStatus []DependencyStatus // under mu: the dependencies setting, resolved
	depKey    string             // under mu: dependencyKey of the configuration depStatus is of
}

// startWorkspace starts following dir with eng (which it acquires).
func (s *Server) startWorkspace(ctx context.Context, cfg Config, eng *engine, dir string) (*workspace, error) {
	if !eng.acquire() {
		return nil, errors.New("the model was unloaded")
	}
	w := &workspace{s: s, cfg: cfg, eng: eng, dir: dir, done: make(chan struct{}), states: make(chan follow.State, 64)}
	ctx, w.cancel = context.WithCancel(ctx)
	src := sourceNone
	switch {
	case dir == "":
		w.why = "The client opened no workspace folder."
	default:
		repo, err := indexer.OpenRepo(dir)
		if err != nil {
			w.why = fmt.Sprintf("%s is not in a git repository, so no Cartridge is trained (git init and commit to have one).", dir)
		} else {
			w.repo = repo
		}
		if cfg.InContextTokens > 0 {
			src = sourceInContext
		}
	}
	w.status = Status{State: "starting", Message: "starting", Source: src}
	if w.repo != nil && s.opts.Training == nil {
		w.why = "This server trains no Cartridges (it was started without training)."
		w.repo = nil
	}
	if w.repo == nil {
		w.status = Status{State: "idle", Message: w.why, Source: src}
		w.resolveDependencies(ctx, cfg, false)
		close(w.done)
		w.warmed = true
		go w.report(ctx)
		go w.warm()
		return w, nil
	}
	f, err := w.newFollower(cfg)
	if err != nil {
		w.cancel()
		eng.release()
		return nil, err
	}
	w.follower = f
	w.resolveDependencies(ctx, cfg, false)
	go w.report(ctx)
	go func() {
		defer close(w.done)
		if err := f.Run(ctx); err != nil {
			w.onState(follow.State{Phase: "error", Err: fmt.Errorf("following the repository: %w", err)})
		}
	}()
	return w, nil
}

func (w *workspace) newFollower(cfg Config) (*follow.Follower, error) {
	dir := cfg.Store
	if dir == "" {
		var err error
		if dir, err = store.DefaultDir(); err != nil {
			return nil, err
		}
	}
	st, err := store.Open(dir)
	if err != nil {
		return nil, err
	}
	ts := TrainingSettings{Model: w.eng.l, Store: st, Budget: cfg.Budget, Method: cfg.Method, P: cfg.P, Filter: cfg.filter(), Log: w.s.log}
	if !w.s.opts.TrainAlongside {
		ts.Yield = w.s.prio.yield // the training pauses while a request decodes
	}
	if w.deps, err = w.s.opts.Training.Dependencies(ts); err != nil {
		return nil, err
	}
	if cfg.TrainBeside {
		w.resolveDependencies(context.Background(), cfg, false)
		ts.Beside, _ = w.dependencyFiles(cfg)
	}
	b, err := w.s.opts.Training.Builder(ts)
	if err != nil {
		return nil, err
	}
	return &follow.Follower{Builder: b, Repo: w.repo, States: w.onState, Manual: !cfg.AutoTrain, Log: w.s.log}, nil
}

// stop cancels following, waits for the training in flight to stop, ends
// its progress and releases the engine; it may be called again.
func (w *workspace) stop() {
	w.stopOnce.Do(w.doStop)
}

func (w *workspace) doStop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	w.cancel()
	<-w.done
	w.mu.Lock()
	wd := w.work
	w.work = nil
	w.mu.Unlock()
	wd.end(context.Background(), "stopped: the configuration changed")
	w.eng.release()
}

// onState takes a follower's state (from its loop: it must not block on the
// client). Progress of a training may be dropped when the reporter is
// behind; outcomes never are.
func (w *workspace) onState(st follow.State) {
	if st.Phase == "training" && st.Total > 0 {
		select {
		case w.states <- st:
		default:
		}
		return
	}
	w.states <- st
}

// report turns states into status notifications and work-done progress.
func (w *workspace) report(ctx context.Context) {
	w.s.notifyStatus(ctx, w.currentStatus())
	for {
		select {
		case <-ctx.Done():
			return
		case st := <-w.states:
			w.reportState(ctx, st)
		}
	}
}

func (w *workspace) reportState(ctx context.Context, st follow.State) {
	s := statusOf(st, w.source(st.Current))
	w.mu.Lock()
	prev := w.status
	s.Dependencies = w.depStatus
	w.status = s
	wd := w.work
	w.mu.Unlock()
	if st.Phase == "training" {
		pct := 0
		if s.Percentage != nil {
			pct = *s.Percentage
		}
		if wd == nil || prev.Commit != s.Commit {
			w.s.log.Info("training the Cartridge", "commit", s.Commit, "branch", s.Branch)
			wd.end(ctx, "superseded by "+indexer.ShortHash(s.Commit))
			wd = w.s.beginWork(ctx, "cartlsp: training", s.Message, pct, true)
			w.mu.Lock()
			w.work = wd
			w.mu.Unlock()
		} else if prev.Percentage == nil || *prev.Percentage != pct || prev.Stage != s.Stage {
			wd.report(ctx, fmt.Sprintf("%s %d/%d for %s", st.Stage, st.Done, st.Total, indexer.ShortHash(st.Commit)), pct)
		} else {
			return // nothing the client would see changed
		}
	} else if wd != nil {
		wd.end(ctx, s.Message)
		w.mu.Lock()
		w.work = nil
		w.mu.Unlock()
	}
	switch st.Phase {
	case "error":
		w.s.log.Error("training failed", "commit", st.Commit, "err", st.Err)
	case "ready":
		w.s.log.Info("Cartridge ready", "commit", st.Commit, "cartridge", s.Cartridge)
	case "stopped", "idle":
		w.s.log.Info(s.Message)
	}
	w.s.notifyStatus(ctx, s)
	if st.Phase == "ready" || !w.warmed {
		// The Cartridge loaded, or the corpus prefilled, before the next
		// question — once the first state says which one it is.
		w.warmed = true
		go w.warm()
	}
}

// warm builds what answers decode after now, in the background.
func (w *workspace) warm() { w.s.warm(w.eng, w.spec(w.s.config())) }

// source is what answers with current as the Cartridge in use.
func (w *workspace) source(current *follow.Result) string {
	switch {
	case current != nil:
		return sourceCartridge
	case w.dir != "" && w.cfg.InContextTokens > 0:
		return sourceInContext
	}
	return sourceNone
}

func (w *workspace) currentStatus() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// cancelProgress stops the training whose progress token tok is.
func (w *workspace) cancelProgress(ctx context.Context, tok protocol.ProgressToken) bool {
	w.mu.Lock()
	mine := w.work.is(tok) && !w.stopped
	w.mu.Unlock()
	if !mine || w.follower == nil {
		return false
	}
	r, err := w.follower.StopTraining(ctx)
	if err != nil {
		return false
	}
	w.s.log.Info(r.Message)
	return r.Done
}

// train starts training HEAD's Cartridge now.
func (w *workspace) train(ctx context.Context) (follow.Reply, error) {
	if w.follower == nil {
		return follow.Reply{Message: w.why}, nil
	}
	w.mu.Lock()
	stopped := w.stopped
	w.mu.Unlock()
	if stopped {
		return follow.Reply{Message: "the server is applying new settings; try again in a moment"}, nil
	}
	return w.follower.Train(ctx)
}

// spec is what answers decode after now.
func (w *workspace) spec(cfg Config) contextSpec {
	files, names := w.dependencyFiles(cfg)
	spec := contextSpec{deps: files, depNames: names, inContextTokens: cfg.InContextTokens, reserve: cfg.requestTokens(),
		why: w.why, filter: cfg.filter().Config()}
	if w.follower != nil {
		if cur := w.follower.Current(); cur != nil {
			spec.cartridge, spec.commit = cur.Path, cur.Commit.Hash
			w.withSources(&spec, cfg)
			return spec
		}
	}
	switch {
	case w.repo != nil:
		head, err := w.repo.Head()
		if err != nil {
			spec.why = fmt.Sprintf("The repository has no commit to answer from (%v).", err)
			return spec
		}
		spec.commit = head.Hash
		if spec.why == "" {
			spec.why = "The repository's first Cartridge is not trained yet."
			if !cfg.AutoTrain {
				spec.why = "HEAD has no Cartridge and automatic training is off."
			}
		}
		spec.corpus = func(ctx context.Context) (*indexer.Corpus, error) {
			return w.repo.Corpus(ctx, head.Hash, cfg.filter())
		}
	case w.dir != "":
		spec.corpus = func(ctx context.Context) (*indexer.Corpus, error) {
			return indexer.LoadDir(ctx, w.dir, cfg.filter())
		}
	}
	w.withSources(&spec, cfg)
	return spec
}

// withSources sets where answers find the files they cite: the commit's
// tree (the Cartridge's, or HEAD's), or the directory.
func (w *workspace) withSources(spec *contextSpec, cfg Config) {
	switch {
	case w.repo != nil && spec.commit != "":
		commit := spec.commit
		spec.root = w.repo.Root
		spec.sources = func(ctx context.Context) (*indexer.Corpus, error) {
			return w.repo.Corpus(ctx, commit, cfg.filter())
		}
	case w.dir != "":
		spec.root = w.dir
		spec.sources = func(ctx context.Context) (*indexer.Corpus, error) {
			return indexer.LoadDir(ctx, w.dir, cfg.filter())
		}
	}
}
