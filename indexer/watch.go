package indexer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// HeadChange is a new state of a repository's HEAD.
type HeadChange struct {
	Commit string // hex commit hash HEAD resolves to
	Branch string // short branch name ("main"), "" when HEAD is detached
}

// WatchOptions tune WatchHead.
type WatchOptions struct {
	Debounce time.Duration // quiet time after the last relevant event before HEAD is resolved; default 300ms
	Logger   *slog.Logger  // default slog.Default()
}

// DefaultWatchDebounce is the Debounce of a zero WatchOptions.
const DefaultWatchDebounce = 300 * time.Millisecond

// GitDirs locates the parts of a repository or linked worktree.
type GitDirs struct {
	WorkTree  string // the work tree root; "" for a bare repository
	GitDir    string // the git directory: HEAD, index; a worktree's own directory under .git/worktrees
	CommonDir string // the directory shared by all worktrees: objects, refs, packed-refs, config, hooks
}

// FindGitDirs walks up from dir to the repository containing it: a `.git`
// directory, a `.git` file ("gitdir: …", for linked worktrees and
// submodules), or a bare repository. The paths are absolute and clean. Outside
// a repository the error wraps git.ErrRepositoryNotExists.
func FindGitDirs(dir string) (GitDirs, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return GitDirs{}, fmt.Errorf("git directory of %s: %w", dir, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return GitDirs{}, fmt.Errorf("git directory of %s: %w", dir, err)
	}
	for d := abs; ; {
		dot := filepath.Join(d, ".git")
		st, err := os.Stat(dot)
		switch {
		case err == nil && st.IsDir():
			return gitDirsOf(d, dot)
		case err == nil && st.Mode().IsRegular():
			gd, err := readGitFile(dot)
			if err != nil {
				return GitDirs{}, err
			}
			return gitDirsOf(d, gd)
		case err == nil, errors.Is(err, fs.ErrNotExist):
		default:
			return GitDirs{}, fmt.Errorf("git directory of %s: %w", dir, err)
		}
		if looksLikeGitDir(d) {
			return gitDirsOf("", d)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return GitDirs{}, fmt.Errorf("%s: %w", abs, git.ErrRepositoryNotExists)
		}
		d = parent
	}
}

// readGitFile reads a `.git` file: "gitdir: PATH", PATH relative to the file.
func readGitFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	gd, ok := strings.CutPrefix(strings.TrimSpace(line), "gitdir:")
	if !ok {
		return "", fmt.Errorf("%s: no \"gitdir:\" line", path)
	}
	gd = strings.TrimSpace(gd)
	if !filepath.IsAbs(gd) {
		gd = filepath.Join(filepath.Dir(path), gd)
	}
	return filepath.Clean(gd), nil
}

// looksLikeGitDir says whether d is a git directory itself (a bare
// repository), as git decides: objects/ and refs/ directories and a HEAD file
// holding a symbolic ref or a hash.
func looksLikeGitDir(d string) bool {
	for _, n := range []string{"objects", "refs"} {
		if st, err := os.Stat(filepath.Join(d, n)); err != nil || !st.IsDir() {
			return false
		}
	}
	b, err := os.ReadFile(filepath.Join(d, "HEAD"))
	if err != nil || len(b) > 4096 {
		return false
	}
	head := strings.TrimSpace(string(b))
	if strings.HasPrefix(head, "ref: refs/") {
		return true
	}
	return (len(head) == 40 || len(head) == 64) && strings.Trim(head, "0123456789abcdef") == ""
}

// gitDirsOf completes the layout of a git directory: a linked worktree's
// directory names the common directory in its `commondir` file.
func gitDirsOf(workTree, gitDir string) (GitDirs, error) {
	g := GitDirs{WorkTree: workTree, GitDir: filepath.Clean(gitDir), CommonDir: filepath.Clean(gitDir)}
	b, err := os.ReadFile(filepath.Join(gitDir, "commondir"))
	switch {
	case err == nil:
		cd := strings.TrimSpace(string(b))
		if !filepath.IsAbs(cd) {
			cd = filepath.Join(gitDir, cd)
		}
		g.CommonDir = filepath.Clean(cd)
	case !errors.Is(err, fs.ErrNotExist):
		return g, fmt.Errorf("read commondir: %w", err)
	}
	if _, err := os.Stat(filepath.Join(g.GitDir, "HEAD")); err != nil {
		return g, fmt.Errorf("%s is not a git directory: %w", g.GitDir, err)
	}
	return g, nil
}

// HeadWatcher reports the changes of a repository's HEAD; see WatchHead.
type HeadWatcher struct {
	dir      string // the directory given to WatchHead, absolute
	dirs     GitDirs
	debounce time.Duration
	log      *slog.Logger
	fw       *fsnotify.Watcher
	changes  chan HeadChange
	errs     chan error
	cancel   context.CancelFunc
	done     chan struct{}
	closeErr error // fsnotify's Close error, set before done is closed
}

// WatchHead watches the git directory of the repository (or worktree)
// containing dir with fsnotify and sends a HeadChange whenever the commit HEAD
// resolves to, or the branch it names, differs from the last one sent. The
// current HEAD is sent first (when the repository has a commit). Working-tree
// edits are ignored: only the git directory is watched — HEAD, packed-refs and
// everything under refs/, directories created there later included.
//
// Events are debounced: HEAD is resolved once they have been quiet for
// o.Debounce, so a rebase or a burst of commits ends in one or two changes, the
// last being the final HEAD. A consumer slower than the repository only ever
// sees the newest state: a change not yet taken is replaced by a newer one.
//
// Errors (a watch that could not be added, HEAD that could not be resolved,
// an fsnotify failure) do not stop the watcher: each is logged with o.Logger at
// Warn level and also offered, without blocking, on Errors.
func WatchHead(ctx context.Context, dir string, o WatchOptions) (*HeadWatcher, error) {
	dirs, err := FindGitDirs(dir)
	if err != nil {
		return nil, fmt.Errorf("watch HEAD: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("watch HEAD: %w", err)
	}
	if o.Debounce <= 0 {
		o.Debounce = DefaultWatchDebounce
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch HEAD: %w", err)
	}
	w := &HeadWatcher{
		dir:      abs,
		dirs:     dirs,
		debounce: o.Debounce,
		log:      o.Logger.With("repo", abs),
		fw:       fw,
		changes:  make(chan HeadChange),
		errs:     make(chan error, 16),
		done:     make(chan struct{}),
	}
	// Watch first, resolve second: a change landing in between is an event.
	for _, d := range []string{dirs.GitDir, dirs.CommonDir} {
		if err := fw.Add(d); err != nil {
			fw.Close()
			return nil, fmt.Errorf("watch HEAD: watch %s: %w", d, err)
		}
	}
	for _, root := range w.refsRoots() {
		w.addTree(root)
	}
	var pending *HeadChange
	if hc, ok, err := w.resolve(); err != nil {
		w.report(err)
	} else if ok {
		pending = &hc
	}
	ctx, w.cancel = context.WithCancel(ctx)
	go w.loop(ctx, pending)
	return w, nil
}

// Changes delivers the new states of HEAD. It is closed when the context given
// to WatchHead is done or Close is called.
func (w *HeadWatcher) Changes() <-chan HeadChange { return w.changes }

// Errors offers the watcher's errors, which are also logged. Sends never
// block: errors nobody takes while 16 wait are dropped (not from the log). It
// is closed with Changes.
func (w *HeadWatcher) Errors() <-chan error { return w.errs }

// Close stops the watcher, waits for its goroutine and closes the channels.
func (w *HeadWatcher) Close() error {
	w.cancel()
	<-w.done
	return w.closeErr
}

// refsRoots are the directories whose whole trees hold refs: the common
// refs/ and, in a linked worktree, its own refs/ (bisect, worktree refs).
func (w *HeadWatcher) refsRoots() []string {
	roots := []string{filepath.Join(w.dirs.CommonDir, "refs")}
	if w.dirs.GitDir != w.dirs.CommonDir {
		roots = append(roots, filepath.Join(w.dirs.GitDir, "refs"))
	}
	return roots
}

// addTree watches root and every directory below it. Directories that vanish
// meanwhile are skipped: their removal is an event of their parent.
func (w *HeadWatcher) addTree(root string) {
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if err := w.fw.Add(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("watch %s: %w", p, err)
		}
		return nil
	})
	if err != nil {
		w.report(fmt.Errorf("watch HEAD: %w", err))
	}
}

// relevant says whether an event may change what HEAD resolves to, and
// watches directories created under refs/.
func (w *HeadWatcher) relevant(ev fsnotify.Event) bool {
	name := filepath.Clean(ev.Name)
	base, dir := filepath.Base(name), filepath.Dir(name)
	if strings.HasSuffix(base, ".lock") {
		return false
	}
	if dir == w.dirs.GitDir && base == "HEAD" || dir == w.dirs.CommonDir && base == "packed-refs" {
		return true
	}
	for _, root := range w.refsRoots() {
		if name != root && !strings.HasPrefix(name, root+string(filepath.Separator)) {
			continue
		}
		if ev.Has(fsnotify.Create) {
			if st, err := os.Lstat(name); err == nil && st.IsDir() {
				w.addTree(name)
			}
		}
		return true
	}
	return false
}

// resolve reads what HEAD names now; ok is false while HEAD names a branch
// without a commit (an empty repository, an orphan branch).
func (w *HeadWatcher) resolve() (HeadChange, bool, error) {
	repo, err := git.PlainOpenWithOptions(w.dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return HeadChange{}, false, fmt.Errorf("watch HEAD: open %s: %w", w.dir, err)
	}
	ref, err := repo.Head()
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return HeadChange{}, false, nil
	}
	if err != nil {
		return HeadChange{}, false, fmt.Errorf("watch HEAD: resolve HEAD of %s: %w", w.dir, err)
	}
	hc := HeadChange{Commit: ref.Hash().String()}
	if ref.Name().IsBranch() {
		hc.Branch = ref.Name().Short()
	}
	return hc, true, nil
}

// report logs an error and offers it on Errors without blocking.
func (w *HeadWatcher) report(err error) {
	w.log.Warn("commit watcher", "err", err)
	select {
	case w.errs <- err:
	default:
	}
}

// maxRetries bounds the re-resolutions after an error without a new event.
const maxRetries = 3

// loop is the watcher's goroutine: it collects events, resolves HEAD once they
// have been quiet for the debounce time, and delivers the newest state.
func (w *HeadWatcher) loop(ctx context.Context, pending *HeadChange) {
	defer close(w.done)
	defer close(w.errs)
	defer close(w.changes)
	defer func() { w.closeErr = w.fw.Close() }()

	timer := time.NewTimer(w.debounce)
	timer.Stop()
	var last *HeadChange // the last state delivered
	retries := 0
	for {
		var out chan<- HeadChange // nil, blocking forever, while nothing is pending
		var next HeadChange
		if pending != nil {
			out, next = w.changes, *pending
		}
		select {
		case <-ctx.Done():
			return
		case out <- next:
			last, pending = &next, nil
		case ev, ok := <-w.fw.Events:
			if !ok {
				return
			}
			if w.relevant(ev) {
				retries = 0
				timer.Reset(w.debounce)
			}
		case err, ok := <-w.fw.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) { // events were lost: look again
				timer.Reset(w.debounce)
			}
			w.report(fmt.Errorf("watch HEAD: %w", err))
		case <-timer.C:
			hc, ok, err := w.resolve()
			switch {
			case err != nil:
				w.report(err)
				if retries < maxRetries {
					retries++
					timer.Reset(w.debounce)
				}
			case !ok, last != nil && hc == *last:
				pending = nil
			default:
				pending = &hc
			}
		}
	}
}
