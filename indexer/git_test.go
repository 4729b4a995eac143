package indexer

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitFixture is a real repository made with the git CLI in a test.
type gitFixture struct {
	t   *testing.T
	dir string
}

func newGitFixture(t *testing.T) *gitFixture {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not on PATH")
	}
	g := &gitFixture{t: t, dir: t.TempDir()}
	g.git("-c", "init.defaultBranch=main", "init", "-q")
	return g
}

func gitEnv(home string) []string {
	return append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME="+home,
		"GIT_ALLOW_PROTOCOL=file")
}

func (g *gitFixture) git(args ...string) string {
	g.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = g.dir
	cmd.Env = gitEnv(g.dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		g.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (g *gitFixture) write(name, text string) {
	g.t.Helper()
	p := filepath.Join(g.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		g.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		g.t.Fatal(err)
	}
}

func (g *gitFixture) commit(msg string) string {
	g.t.Helper()
	g.git("add", "-A")
	g.git("commit", "-q", "--allow-empty", "-m", msg)
	return g.git("rev-parse", "HEAD")
}

func (g *gitFixture) corpus(rev string, f Filter) *Corpus {
	g.t.Helper()
	r, err := OpenRepo(g.dir)
	if err != nil {
		g.t.Fatal(err)
	}
	c, err := r.Corpus(context.Background(), rev, f)
	if err != nil {
		g.t.Fatal(err)
	}
	return c
}

func paths(c *Corpus) string {
	var ps []string
	for _, f := range c.Files {
		ps = append(ps, f.Path)
	}
	return strings.Join(ps, " ")
}

func skipReason(c *Corpus, p string) string {
	for _, s := range c.Skipped {
		if s.Path == p {
			return s.Reason
		}
	}
	return ""
}

func TestGitCorpusHistory(t *testing.T) {
	g := newGitFixture(t)
	g.write("b.go", "package b\n")
	g.write("a/x.go", "package a\n\nfunc X() {}\n")
	c1 := g.commit("one")

	// A rename, a deletion, an edit and an uncommitted edit.
	g.git("mv", "b.go", "c.go")
	g.write("a/x.go", "package a\n\nfunc X() int { return 1 }\n")
	g.write("d.go", "package d\n")
	c2 := g.commit("two")
	g.git("rm", "-q", "d.go")
	c3 := g.commit("three")
	g.write("a/x.go", "package a // not committed\n")
	g.write("new.go", "package untracked\n")

	tests := []struct {
		rev, files, x string
	}{
		{c1, "a/x.go b.go", "func X() {}"},
		{c2, "a/x.go c.go d.go", "return 1"},
		{c3, "a/x.go c.go", "return 1"},
		{"", "a/x.go c.go", "return 1"}, // HEAD: the commit, not the working tree
		{"HEAD~1", "a/x.go c.go d.go", "return 1"},
	}
	for _, tc := range tests {
		c := g.corpus(tc.rev, Filter{})
		if got := paths(c); got != tc.files {
			t.Errorf("%s: files %q, want %q", tc.rev, got, tc.files)
		}
		if !strings.Contains(c.Files[0].Text, tc.x) {
			t.Errorf("%s: a/x.go = %q, want it to contain %q", tc.rev, c.Files[0].Text, tc.x)
		}
		if c.Kind != "git" || c.Source != g.dir && !strings.HasSuffix(c.Source, filepath.Base(g.dir)) {
			t.Errorf("%s: kind %q source %q", tc.rev, c.Kind, c.Source)
		}
	}
	// The renamed file's content is the same: the fingerprint of the
	// corpus is path-sensitive, the tree fingerprint follows the tree.
	a, b := g.corpus(c1, Filter{}), g.corpus(c2, Filter{})
	if a.Tree == b.Tree || a.Fingerprint() == b.Fingerprint() {
		t.Error("different trees with the same fingerprint")
	}
}

func TestGitCorpusBranchesAndDetachedHead(t *testing.T) {
	g := newGitFixture(t)
	g.write("main.go", "package main\n")
	base := g.commit("base")
	g.git("checkout", "-q", "-b", "feature")
	g.write("feature.go", "package main // feature\n")
	feat := g.commit("feature")

	c := g.corpus("", Filter{})
	if c.Branch != "feature" || c.Commit != feat || paths(c) != "feature.go main.go" {
		t.Errorf("on feature: branch %q commit %s files %q", c.Branch, c.Commit, paths(c))
	}
	g.git("checkout", "-q", "main")
	c = g.corpus("", Filter{})
	if c.Branch != "main" || c.Commit != base || paths(c) != "main.go" {
		t.Errorf("back on main: branch %q commit %s files %q", c.Branch, c.Commit, paths(c))
	}
	g.git("checkout", "-q", "--detach", feat)
	r, err := OpenRepo(g.dir)
	if err != nil {
		t.Fatal(err)
	}
	h, err := r.Head()
	if err != nil {
		t.Fatal(err)
	}
	if h.Branch != "" || h.Hash != feat || len(h.Parents) != 1 || h.Parents[0] != base || h.Subject != "feature" {
		t.Errorf("detached head: %+v", h)
	}
	c = g.corpus("", Filter{})
	if c.Branch != "" || c.Commit != feat {
		t.Errorf("detached: branch %q commit %s", c.Branch, c.Commit)
	}
}

func TestGitCorpusSkips(t *testing.T) {
	g := newGitFixture(t)
	outside := filepath.Join(t.TempDir(), "secret.go")
	if err := os.WriteFile(outside, []byte("package secret // outside the repository\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.write("main.go", "package main\n")
	g.write("big.txt", strings.Repeat("x", 300<<10))
	g.write("image.dat", "GIF89a\x00\x01\x02")
	g.write("latin1.txt", "caf\xe9\n")
	g.write("gen.go", "// Code generated by stringer; DO NOT EDIT.\npackage main\n")
	g.write("vendor/dep/dep.go", "package dep\n")
	g.write("go.sum", "x v1 h1:abc\n")
	g.write(".github/ci.yml", "on: push\n")
	if err := os.Symlink(outside, filepath.Join(g.dir, "link.go")); err != nil {
		t.Fatal(err)
	}
	// A submodule: another repository, added as a gitlink.
	sub := newGitFixture(t)
	sub.write("lib.go", "package lib\n")
	sub.commit("lib")
	g.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", sub.dir, "third/sub")
	g.commit("everything")

	c := g.corpus("", Filter{})
	if got := paths(c); got != "main.go" {
		t.Errorf("files %q, want only main.go", got)
	}
	want := map[string]string{
		"big.txt":     "larger than",
		"image.dat":   "binary",
		"latin1.txt":  "not UTF-8",
		"gen.go":      "generated",
		"go.sum":      "lockfile",
		"link.go":     "symbolic link",
		"third/sub":   "submodule",
		".gitmodules": "hidden",
	}
	for p, why := range want {
		if got := skipReason(c, p); !strings.Contains(got, why) {
			t.Errorf("%s: skipped for %q, want %q", p, got, why)
		}
	}
	for _, f := range c.Files {
		if strings.Contains(f.Text, "outside the repository") {
			t.Error("the symbolic link was followed")
		}
	}
	// A larger size limit takes the big file.
	if c := g.corpus("", Filter{MaxFileBytes: 1 << 20}); !strings.Contains(paths(c), "big.txt") {
		t.Errorf("with a 1 MiB limit: %q", paths(c))
	}
}

func TestGitCorpusCartignore(t *testing.T) {
	g := newGitFixture(t)
	g.write("main.go", "package main\n")
	g.write("main_test.go", "package main\n")
	g.write("docs/guide.md", "# guide\n")
	g.write("docs/keep.md", "# keep\n")
	g.write("pkg/a.go", "package pkg\n")
	g.write("pkg/a.pb.go", "package pkg // protobuf\n")
	g.write("pkg/testdata/x.go", "package x\n")
	g.write(".cartignore", "# tests and docs\n*_test.go\ndocs/\n!docs/keep.md\n")
	g.write("pkg/.cartignore", "*.pb.go\ntestdata\n")
	g.commit("ignore rules")

	c := g.corpus("", Filter{})
	if got, want := paths(c), "main.go pkg/a.go"; got != want {
		t.Errorf("files %q, want %q", got, want)
	}
	if why := skipReason(c, "pkg/a.pb.go"); why != "excluded by .cartignore" {
		t.Errorf("pkg/a.pb.go: %q", why)
	}
	// The same rules apply to a plain directory.
	d, err := LoadDir(context.Background(), g.dir, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := paths(d), "main.go pkg/a.go"; got != want {
		t.Errorf("LoadDir: files %q, want %q", got, want)
	}
}

func TestGitEmptyAndNotARepository(t *testing.T) {
	g := newGitFixture(t)
	r, err := OpenRepo(g.dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Head(); !errors.Is(err, ErrNoCommits) {
		t.Errorf("empty repository: Head error %v, want ErrNoCommits", err)
	}
	if _, err := r.Corpus(context.Background(), "", Filter{}); !errors.Is(err, ErrNoCommits) {
		t.Errorf("empty repository: Corpus error %v, want ErrNoCommits", err)
	}
	// A commit with only skipped files: a clear error, no panic.
	g.write("logo.png", "\x89PNG")
	g.commit("logo")
	if _, err := r.Corpus(context.Background(), "", Filter{}); err == nil || !strings.Contains(err.Error(), "no text files") {
		t.Errorf("no text files: %v", err)
	}
	if _, err := OpenRepo(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not in a git repository") {
		t.Errorf("not a repository: %v", err)
	}
	if _, err := r.Corpus(context.Background(), "no-such-branch", Filter{}); err == nil {
		t.Error("unknown revision: no error")
	}
}

func TestGitCorpusFromSubdirectoryAndWorktree(t *testing.T) {
	g := newGitFixture(t)
	g.write("a/b/c.go", "package c\n")
	first := g.commit("one")
	c := g.corpus("", Filter{})
	r, err := OpenRepo(filepath.Join(g.dir, "a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Root != c.Source {
		t.Errorf("opened from a subdirectory: root %q, want %q", r.Root, c.Source)
	}
	wt := filepath.Join(t.TempDir(), "wt")
	g.git("worktree", "add", "-q", "-b", "side", wt)
	w := &gitFixture{t: t, dir: wt}
	w.write("side.go", "package side\n")
	side := w.commit("side")
	wc := w.corpus("", Filter{})
	if wc.Commit != side || wc.Branch != "side" || paths(wc) != "a/b/c.go side.go" {
		t.Errorf("worktree: commit %s branch %q files %q", wc.Commit, wc.Branch, paths(wc))
	}
	if mc := g.corpus("", Filter{}); mc.Commit != first {
		t.Errorf("main worktree moved to %s", mc.Commit)
	}
}

func TestTreeFingerprint(t *testing.T) {
	base := TreeFingerprint("abc", Filter{}, "tok1")
	tests := []struct {
		name string
		fp   string
	}{
		{"tree", TreeFingerprint("abd", Filter{}, "tok1")},
		{"tokenizer", TreeFingerprint("abc", Filter{}, "tok2")},
		{"exclude", TreeFingerprint("abc", Filter{Exclude: []string{"*_test.go"}}, "tok1")},
		{"size limit", TreeFingerprint("abc", Filter{MaxFileBytes: 1000}, "tok1")},
	}
	for _, tc := range tests {
		if tc.fp == base {
			t.Errorf("%s: the fingerprint does not change", tc.name)
		}
	}
	if TreeFingerprint("abc", Filter{MaxFileBytes: DefaultMaxFileBytes}, "tok1") != base {
		t.Error("the default size limit written out changes the fingerprint")
	}
}
