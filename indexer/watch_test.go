package indexer

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
)

// watchGitEnv isolates git from the user's and the system's configuration.
func watchGitEnv(home string) []string {
	return append(os.Environ(),
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
		"GIT_TERMINAL_PROMPT=0",
	)
}

// watchGit runs git in dir and returns its trimmed output.
func watchGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not on PATH: these tests drive real repositories with the git CLI")
	}
	cmd := exec.Command("git", append([]string{"-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = watchGitEnv(t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// newWatchRepo makes a repository, with one commit unless empty.
func newWatchRepo(t *testing.T, empty bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	watchGit(t, dir, "init", "-q")
	if !empty {
		watchCommit(t, dir, "first")
	}
	return dir
}

// watchCommit commits a change to a file named after msg and returns HEAD.
func watchCommit(t *testing.T, dir, msg string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte(msg+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	watchGit(t, dir, "add", "f.txt")
	watchGit(t, dir, "commit", "-q", "-m", msg)
	return watchGit(t, dir, "rev-parse", "HEAD")
}

func watchT(t *testing.T, dir string, debounce time.Duration) *HeadWatcher {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not on PATH: these tests drive real repositories with the git CLI")
	}
	w, err := WatchHead(context.Background(), dir, WatchOptions{Debounce: debounce})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return w
}

func waitChange(t *testing.T, w *HeadWatcher, timeout time.Duration) HeadChange {
	t.Helper()
	select {
	case hc, ok := <-w.Changes():
		if !ok {
			t.Fatal("Changes closed, want a change")
		}
		return hc
	case <-time.After(timeout):
		t.Fatalf("no change within %v", timeout)
	}
	return HeadChange{}
}

func expectNoChange(t *testing.T, w *HeadWatcher, d time.Duration) {
	t.Helper()
	select {
	case hc, ok := <-w.Changes():
		t.Fatalf("unexpected change %+v (open %v)", hc, ok)
	case <-time.After(d):
	}
}

func wantHead(t *testing.T, got HeadChange, commit, branch string) {
	t.Helper()
	if got.Commit != commit || got.Branch != branch {
		t.Fatalf("change = %+v, want {Commit:%s Branch:%s}", got, commit, branch)
	}
}

const (
	watchDebounce = 50 * time.Millisecond
	watchWait     = 5 * time.Second
	watchQuiet    = 400 * time.Millisecond
)

func TestWatchHeadCommitAmendAndWorkingTree(t *testing.T) {
	dir := newWatchRepo(t, false)
	head := watchGit(t, dir, "rev-parse", "HEAD")
	w := watchT(t, dir, watchDebounce)
	wantHead(t, waitChange(t, w, watchWait), head, "main")
	expectNoChange(t, w, watchQuiet)

	head = watchCommit(t, dir, "second")
	wantHead(t, waitChange(t, w, watchWait), head, "main")

	watchGit(t, dir, "commit", "-q", "--amend", "-m", "second, amended")
	amended := watchGit(t, dir, "rev-parse", "HEAD")
	if amended == head {
		t.Fatal("amend kept the commit")
	}
	wantHead(t, waitChange(t, w, watchWait), amended, "main")

	// Working-tree edits and the index are not HEAD.
	if err := os.WriteFile(filepath.Join(dir, "g.txt"), []byte("edit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub", "refs"), 0o755); err != nil {
		t.Fatal(err)
	}
	expectNoChange(t, w, watchQuiet)
	watchGit(t, dir, "add", "g.txt")
	expectNoChange(t, w, watchQuiet)
}

func TestWatchHeadBranchesAndDetached(t *testing.T) {
	dir := newWatchRepo(t, false)
	mainHead := watchGit(t, dir, "rev-parse", "HEAD")
	watchGit(t, dir, "branch", "same")
	watchGit(t, dir, "checkout", "-q", "-b", "other")
	otherHead := watchCommit(t, dir, "on other")
	watchGit(t, dir, "checkout", "-q", "main")

	w := watchT(t, dir, watchDebounce)
	wantHead(t, waitChange(t, w, watchWait), mainHead, "main")

	watchGit(t, dir, "checkout", "-q", "other")
	wantHead(t, waitChange(t, w, watchWait), otherHead, "other")

	watchGit(t, dir, "checkout", "-q", "same") // back at main's commit, another branch
	wantHead(t, waitChange(t, w, watchWait), mainHead, "same")

	watchGit(t, dir, "checkout", "-q", "--detach")
	wantHead(t, waitChange(t, w, watchWait), mainHead, "")

	watchGit(t, dir, "checkout", "-q", "--detach", "other")
	wantHead(t, waitChange(t, w, watchWait), otherHead, "")
	expectNoChange(t, w, watchQuiet)
}

func TestWatchHeadCommitStorm(t *testing.T) {
	dir := newWatchRepo(t, false)
	w := watchT(t, dir, 300*time.Millisecond)
	waitChange(t, w, watchWait)

	for i := range 10 {
		watchGit(t, dir, "commit", "-q", "--allow-empty", "-m", "storm "+string(rune('a'+i)))
	}
	final := watchGit(t, dir, "rev-parse", "HEAD")
	got := []HeadChange{waitChange(t, w, watchWait)}
	for more := true; more; {
		select {
		case hc := <-w.Changes():
			got = append(got, hc)
		case <-time.After(time.Second):
			more = false
		}
	}
	t.Logf("10 commits gave %d changes", len(got))
	wantHead(t, got[len(got)-1], final, "main")
	if len(got) > 5 {
		t.Errorf("10 commits gave %d changes, want far fewer", len(got))
	}
}

func TestWatchHeadPackedRefs(t *testing.T) {
	dir := newWatchRepo(t, false)
	head := watchCommit(t, dir, "second")
	w := watchT(t, dir, watchDebounce)
	wantHead(t, waitChange(t, w, watchWait), head, "main")

	watchGit(t, dir, "pack-refs", "--all")
	if _, err := os.Stat(filepath.Join(dir, ".git", "refs", "heads", "main")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("pack-refs left the loose ref: %v", err)
	}
	expectNoChange(t, w, watchQuiet)

	head = watchCommit(t, dir, "after pack-refs")
	wantHead(t, waitChange(t, w, watchWait), head, "main")
}

func TestWatchHeadEmptyRepository(t *testing.T) {
	dir := newWatchRepo(t, true)
	w := watchT(t, dir, watchDebounce)
	expectNoChange(t, w, watchQuiet)
	head := watchCommit(t, dir, "first")
	wantHead(t, waitChange(t, w, watchWait), head, "main")
	expectNoChange(t, w, watchQuiet)
}

func TestWatchHeadLinkedWorktree(t *testing.T) {
	dir := newWatchRepo(t, false)
	wt := filepath.Join(filepath.Dir(dir), "wt")
	watchGit(t, dir, "worktree", "add", "-q", wt, "-b", "wt")
	head := watchGit(t, wt, "rev-parse", "HEAD")

	dirs, err := FindGitDirs(filepath.Join(wt))
	if err != nil {
		t.Fatal(err)
	}
	if dirs.WorkTree != wt || dirs.CommonDir != filepath.Join(dir, ".git") || dirs.GitDir != filepath.Join(dir, ".git", "worktrees", "wt") {
		t.Fatalf("FindGitDirs = %+v", dirs)
	}

	w := watchT(t, wt, watchDebounce)
	wantHead(t, waitChange(t, w, watchWait), head, "wt")

	watchCommit(t, dir, "on main, in the main worktree")
	expectNoChange(t, w, watchQuiet)

	head = watchCommit(t, wt, "in the worktree")
	wantHead(t, waitChange(t, w, watchWait), head, "wt")
}

func TestWatchHeadNestedBranchDirectory(t *testing.T) {
	dir := newWatchRepo(t, false)
	head := watchGit(t, dir, "rev-parse", "HEAD")
	w := watchT(t, filepath.Join(dir), watchDebounce)
	wantHead(t, waitChange(t, w, watchWait), head, "main")

	watchGit(t, dir, "checkout", "-q", "-b", "feature/x/y")
	wantHead(t, waitChange(t, w, watchWait), head, "feature/x/y")

	// Only refs/heads/feature/x/y changes now: a directory made after WatchHead.
	head = watchCommit(t, dir, "on feature/x/y")
	wantHead(t, waitChange(t, w, watchWait), head, "feature/x/y")
	head = watchCommit(t, dir, "again on feature/x/y")
	wantHead(t, waitChange(t, w, watchWait), head, "feature/x/y")
}

func TestWatchHeadFromSubdirectory(t *testing.T) {
	dir := newWatchRepo(t, false)
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	head := watchGit(t, dir, "rev-parse", "HEAD")
	w := watchT(t, sub, watchDebounce)
	wantHead(t, waitChange(t, w, watchWait), head, "main")
}

func TestWatchHeadClose(t *testing.T) {
	dir := newWatchRepo(t, false)
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not on PATH")
	}
	goroutines := runtime.NumGoroutine()
	// Nobody reads the first change: Close must not block on it.
	w, err := WatchHead(context.Background(), dir, WatchOptions{Debounce: watchDebounce})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, ok := <-w.Changes(); ok {
		t.Fatal("Changes still open after Close")
	}
	if _, ok := <-w.Errors(); ok {
		t.Fatal("Errors still open after Close")
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	// Cancelling the context closes the channel too.
	ctx, cancel := context.WithCancel(context.Background())
	w, err = WatchHead(ctx, dir, WatchOptions{Debounce: watchDebounce})
	if err != nil {
		t.Fatal(err)
	}
	waitChange(t, w, watchWait)
	cancel()
	select {
	case _, ok := <-w.Changes():
		if ok {
			t.Fatal("a change after cancel")
		}
	case <-time.After(watchWait):
		t.Fatal("Changes not closed after the context was cancelled")
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close after cancel: %v", err)
	}
	// No goroutine outlives Close (fsnotify's reader exits asynchronously: allow it a moment).
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines after Close, %d before WatchHead", n, goroutines)
	}
}

func TestWatchHeadNotARepository(t *testing.T) {
	_, err := WatchHead(context.Background(), t.TempDir(), WatchOptions{})
	if !errors.Is(err, git.ErrRepositoryNotExists) {
		t.Fatalf("err = %v, want git.ErrRepositoryNotExists", err)
	}
}

func TestFindGitDirs(t *testing.T) {
	dir := newWatchRepo(t, false)
	gitDir := filepath.Join(dir, ".git")
	// A directory that merely looks like a git directory is part of the work tree.
	decoy := filepath.Join(dir, "decoy")
	for _, d := range []string{"objects", "refs"} {
		if err := os.MkdirAll(filepath.Join(decoy, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(decoy, "HEAD"), []byte("not a ref\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := FindGitDirs(decoy)
	if want := (GitDirs{WorkTree: dir, GitDir: gitDir, CommonDir: gitDir}); err != nil || got != want {
		t.Fatalf("FindGitDirs(decoy) = %+v, %v; want %+v", got, err, want)
	}

	bare := filepath.Join(t.TempDir(), "bare.git")
	watchGit(t, filepath.Dir(bare), "init", "-q", "--bare", bare)
	for _, d := range []string{bare, filepath.Join(bare, "refs", "heads")} {
		got, err := FindGitDirs(d)
		if want := (GitDirs{GitDir: bare, CommonDir: bare}); err != nil || got != want {
			t.Fatalf("FindGitDirs(%s) = %+v, %v; want %+v", d, got, err, want)
		}
	}
}
