package hooks

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// hookTestEnv isolates the test process (which reads the global git config
// for core.hooksPath) from the user's configuration.
func hookTestEnv(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not on PATH: the hook tests drive real repositories with the git CLI")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	return home
}

// hookGitRun runs git in dir with an isolated configuration; it returns the
// combined output and the exit status.
func hookGitRun(t *testing.T, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"HOME="+t.TempDir(),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
		"CARTLSP_SKIP_HOOK=1", // never start cartlsp itself from these tests
	)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), 0
}

func hookGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, code := hookGitRun(t, dir, nil, args...)
	if code != 0 {
		t.Fatalf("git %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// newHookRepo makes a repository with one commit.
func newHookRepo(t *testing.T) string {
	t.Helper()
	hookTestEnv(t)
	dir := filepath.Join(t.TempDir(), "repo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	hookGit(t, dir, "init", "-q")
	hookCommit(t, dir, "first")
	return dir
}

func hookCommit(t *testing.T, dir, msg string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte(msg+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hookGit(t, dir, "add", "f.txt")
	hookGit(t, dir, "commit", "-q", "-m", msg)
}

// testExe is the cartlsp binary the hooks under test name; it need not
// exist (the script then falls back to cartlsp on PATH, and the tests set
// CARTLSP_SKIP_HOOK=1 anyway).
const testExe = "/opt/cart lsp/bin/cartlsp's"

// hookRun finds the hooks directory of the repository at dir, runs op
// (install, uninstall or status) there and returns the report as
// `cartlsp hook` prints it, failing the test on an error.
func hookRun(t *testing.T, op, dir string) string {
	t.Helper()
	loc, err := Find(dir)
	if err != nil {
		t.Fatalf("Find(%s): %v", dir, err)
	}
	var r *Report
	switch op {
	case "install":
		r, err = Install(loc, testExe, nil, Options{Outside: true})
	case "uninstall":
		r, err = Uninstall(loc, Options{})
	case "status":
		r, err = Status(loc)
	default:
		t.Fatalf("unknown op %q", op)
	}
	if err != nil {
		t.Fatalf("%s in %s: %v", op, dir, err)
	}
	var b strings.Builder
	r.Write(&b)
	return b.String()
}

// hookLine is what the output of a hook subcommand says about one hook.
func hookLine(out, name string) string {
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), name+" "); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

func writeHook(t *testing.T, path, body string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

// checkOurHooks checks that the four hooks in dir are cartlsp's, executable and valid sh.
func checkOurHooks(t *testing.T, dir string) {
	t.Helper()
	for _, name := range Names {
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("hook %s: %v", name, err)
		}
		if st.Mode().Perm() != 0o755 {
			t.Errorf("hook %s: mode %v, want 0755", name, st.Mode().Perm())
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if !strings.HasPrefix(s, "#!/bin/sh\n"+Marker+"\n") || !strings.Contains(s, ShQuote(testExe)) || !strings.Contains(s, "train --background --quiet") {
			t.Errorf("hook %s:\n%s", name, s)
		}
		if out, err := exec.Command("sh", "-n", p).CombinedOutput(); err != nil {
			t.Errorf("hook %s is not valid sh: %v\n%s", name, err, out)
		}
	}
}

func TestHookInstallStatusUninstall(t *testing.T) {
	dir := newHookRepo(t)
	hooks := filepath.Join(dir, ".git", "hooks")

	out := hookRun(t, "status", dir)
	if strings.Count(out, "not installed") != 4 || !strings.Contains(out, hooks) {
		t.Fatalf("status before install:\n%s", out)
	}
	out = hookRun(t, "install", dir)
	if strings.Count(out, "  installed") != 4 {
		t.Fatalf("install:\n%s", out)
	}
	checkOurHooks(t, hooks)
	out = hookRun(t, "status", dir)
	if strings.Count(out, " installed\n") != 4 {
		t.Fatalf("status after install:\n%s", out)
	}

	// git runs them: commits, branch switches, amends and merges still work.
	hookCommit(t, dir, "second")
	hookGit(t, dir, "checkout", "-q", "-b", "other")
	hookCommit(t, dir, "third")
	hookGit(t, dir, "commit", "-q", "--amend", "-m", "third, amended")
	hookGit(t, dir, "checkout", "-q", "main")
	hookGit(t, dir, "merge", "-q", "--ff-only", "other")

	out = hookRun(t, "uninstall", dir)
	if strings.Count(out, "removed") != 4 {
		t.Fatalf("uninstall:\n%s", out)
	}
	for _, name := range Names {
		if _, err := os.Lstat(filepath.Join(hooks, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("hook %s still there after uninstall: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(hooks, "pre-commit.sample")); err != nil {
		t.Errorf("uninstall touched git's sample hooks: %v", err)
	}
	out = hookRun(t, "uninstall", dir)
	if strings.Count(out, "not installed") != 4 {
		t.Fatalf("second uninstall:\n%s", out)
	}
}

func TestHookChainsPreviousHooks(t *testing.T) {
	dir := newHookRepo(t)
	hooks := filepath.Join(dir, ".git", "hooks")
	marks := t.TempDir()
	commitHook := "#!/bin/sh\n# the user's own hook\necho \"post-commit ran\" > " + ShQuote(filepath.Join(marks, "post-commit")) + "\nexit 3\n"
	writeHook(t, filepath.Join(hooks, "post-commit"), commitHook, 0o700)
	writeHook(t, filepath.Join(hooks, "post-checkout"),
		"#!/bin/sh\necho \"$3\" > "+ShQuote(filepath.Join(marks, "post-checkout"))+"\nexit 5\n", 0o755)
	writeHook(t, filepath.Join(hooks, "post-rewrite"),
		"#!/bin/sh\n{ echo \"$1\"; cat; } > "+ShQuote(filepath.Join(marks, "post-rewrite"))+"\n", 0o755)

	out := hookRun(t, "install", dir)
	if strings.Count(out, "post-commit.pre-cartlsp and runs first") != 1 || strings.Count(out, ".pre-cartlsp and runs first") != 3 {
		t.Fatalf("install:\n%s", out)
	}
	checkOurHooks(t, hooks)
	b, err := os.ReadFile(filepath.Join(hooks, "post-commit.pre-cartlsp"))
	if err != nil || string(b) != commitHook {
		t.Fatalf("previous post-commit hook: %q, %v", b, err)
	}
	if st, err := os.Stat(filepath.Join(hooks, "post-commit.pre-cartlsp")); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("previous hook's mode: %v, %v", st.Mode(), err)
	}
	out = hookRun(t, "status", dir)
	if strings.Count(out, "installed, chaining the previous hook") != 3 || strings.Count(out, " installed\n") != 1 {
		t.Fatalf("status:\n%s", out)
	}

	// post-commit: the previous hook still runs when git commits.
	before := hookGit(t, dir, "rev-parse", "HEAD")
	hookCommit(t, dir, "second")
	if b, err := os.ReadFile(filepath.Join(marks, "post-commit")); err != nil || string(b) != "post-commit ran\n" {
		t.Fatalf("previous post-commit hook did not run: %q, %v", b, err)
	}
	// ... and its exit status is ours (git ignores post-commit's).
	cmd := exec.Command(filepath.Join(hooks, "post-commit"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CARTLSP_SKIP_HOOK=1")
	var exit *exec.ExitError
	if err := cmd.Run(); !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("post-commit exit: %v, want status 3", err)
	}

	// post-checkout: arguments pass through, and the failure becomes git
	// checkout's (git reports any failing hook as status 1).
	if out, code := hookGitRun(t, dir, nil, "checkout", "-q", "-b", "other"); code != 1 {
		t.Fatalf("git checkout exit %d, want 1 from the previous hook's failure\n%s", code, out)
	}
	if b, err := os.ReadFile(filepath.Join(marks, "post-checkout")); err != nil || string(b) != "1\n" {
		t.Fatalf("previous post-checkout hook: %q, %v", b, err)
	}

	// post-rewrite: arguments and stdin pass through.
	afterCommit := hookGit(t, dir, "rev-parse", "HEAD")
	hookGit(t, dir, "commit", "-q", "--amend", "-m", "second, amended")
	amended := hookGit(t, dir, "rev-parse", "HEAD")
	b, err = os.ReadFile(filepath.Join(marks, "post-rewrite"))
	if want := "amend\n" + afterCommit + " " + amended + "\n"; err != nil || string(b) != want {
		t.Fatalf("previous post-rewrite hook got %q, %v; want %q", b, err, want)
	}
	if before == afterCommit {
		t.Fatal("no commit was made")
	}
}

func TestHookInstallTwiceKeepsTheChain(t *testing.T) {
	dir := newHookRepo(t)
	hooks := filepath.Join(dir, ".git", "hooks")
	mine := "#!/bin/sh\necho mine\n"
	writeHook(t, filepath.Join(hooks, "post-merge"), mine, 0o755)

	hookRun(t, "install", dir)
	first := readHooks(t, hooks)
	out := hookRun(t, "install", dir)
	if strings.Count(out, "already installed") != 4 || !strings.Contains(out, "chaining the previous hook post-merge.pre-cartlsp") {
		t.Fatalf("second install:\n%s", out)
	}
	if second := readHooks(t, hooks); !equalMaps(first, second) {
		t.Fatalf("second install changed the hooks:\n%v\n%v", first, second)
	}
	if b, _ := os.ReadFile(filepath.Join(hooks, "post-merge.pre-cartlsp")); string(b) != mine {
		t.Fatalf("post-merge.pre-cartlsp = %q, want the user's hook", b)
	}
	checkOurHooks(t, hooks)
}

func readHooks(t *testing.T, dir string) map[string]string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestHookUninstallRestoresByteForByte(t *testing.T) {
	dir := newHookRepo(t)
	hooks := filepath.Join(dir, ".git", "hooks")
	original := []byte("#!/bin/bash\r\n# odd bytes: \xff\x00 and no final newline\r\nexit 0")
	p := filepath.Join(hooks, "post-commit")
	writeHook(t, p, string(original), 0o750)
	before := readHooks(t, hooks)

	hookRun(t, "install", dir)
	out := hookRun(t, "uninstall", dir)
	if !strings.Contains(out, "removed, the previous hook restored") {
		t.Fatalf("uninstall:\n%s", out)
	}
	b, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(b, original) {
		t.Fatalf("restored hook = %q, %v", b, err)
	}
	if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o750 {
		t.Fatalf("restored hook's mode: %v, %v", st.Mode(), err)
	}
	if after := readHooks(t, hooks); !equalMaps(before, after) {
		t.Fatalf("hooks directory differs after install + uninstall:\nbefore %v\nafter  %v", keys(before), keys(after))
	}
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestHookUninstallLeavesForeignHooks(t *testing.T) {
	dir := newHookRepo(t)
	hooks := filepath.Join(dir, ".git", "hooks")
	hookRun(t, "install", dir)
	// Another tool replaced one of ours afterwards.
	foreign := "#!/bin/sh\n# another tool's hook\nexit 0\n"
	writeHook(t, filepath.Join(hooks, "post-merge"), foreign, 0o755)

	out := hookRun(t, "status", dir)
	if hookLine(out, "post-merge") != "someone else's hook" || strings.Count(out, " installed\n") != 3 {
		t.Fatalf("status:\n%s", out)
	}
	out = hookRun(t, "uninstall", dir)
	if hookLine(out, "post-merge") != "someone else's hook: left alone" || strings.Count(out, "removed") != 3 {
		t.Fatalf("uninstall:\n%s", out)
	}
	if b, err := os.ReadFile(filepath.Join(hooks, "post-merge")); err != nil || string(b) != foreign {
		t.Fatalf("foreign hook = %q, %v", b, err)
	}
}

func TestHookRefusesWhenPreCartlspExists(t *testing.T) {
	dir := newHookRepo(t)
	hooks := filepath.Join(dir, ".git", "hooks")
	writeHook(t, filepath.Join(hooks, "post-commit"), "#!/bin/sh\necho current\n", 0o755)
	writeHook(t, filepath.Join(hooks, "post-commit.pre-cartlsp"), "#!/bin/sh\necho older\n", 0o755)
	before := readHooks(t, hooks)

	loc, err := Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Install(loc, testExe, nil, Options{})
	if r != nil || err == nil || !strings.Contains(err.Error(), "post-commit.pre-cartlsp already exists") || !strings.Contains(err.Error(), "nothing installed") {
		t.Fatalf("install: report %v, error %v; want a refusal", r, err)
	}
	if after := readHooks(t, hooks); !equalMaps(before, after) {
		t.Fatalf("a refused install changed the hooks directory: %v", keys(after))
	}
}

func TestHookCoreHooksPath(t *testing.T) {
	dir := newHookRepo(t)
	hookGit(t, dir, "config", "core.hooksPath", ".githooks")
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	// From a subdirectory: relative to the work tree root, not to the directory.
	out := hookRun(t, "install", sub)
	want := filepath.Join(dir, ".githooks")
	if !strings.Contains(out, "hooks directory: "+want+" (from core.hooksPath (repository config))") || !strings.Contains(out, "inside the work tree") {
		t.Fatalf("install:\n%s", out)
	}
	checkOurHooks(t, want)
	for _, name := range Names {
		if _, err := os.Stat(filepath.Join(dir, ".git", "hooks", name)); err == nil {
			t.Errorf("%s installed in .git/hooks despite core.hooksPath", name)
		}
	}
	hookCommit(t, dir, "second") // git runs the hook from there

	// An absolute core.hooksPath, from the global config.
	home := hookTestEnv(t)
	global := filepath.Join(t.TempDir(), "global-hooks")
	hookGit(t, dir, "config", "--unset", "core.hooksPath")
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte("[core]\n\thooksPath = "+global+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = hookRun(t, "install", dir)
	if !strings.Contains(out, "hooks directory: "+global+" (from core.hooksPath (global config))") {
		t.Fatalf("install:\n%s", out)
	}
	checkOurHooks(t, global)
}

func TestHookWorktreeUsesCommonHooks(t *testing.T) {
	dir := newHookRepo(t)
	wt := filepath.Join(filepath.Dir(dir), "wt")
	hookGit(t, dir, "worktree", "add", "-q", wt, "-b", "wt")

	out := hookRun(t, "install", wt)
	hooks := filepath.Join(dir, ".git", "hooks")
	if !strings.Contains(out, "hooks directory: "+hooks+"\n") {
		t.Fatalf("install from the worktree:\n%s", out)
	}
	checkOurHooks(t, hooks)
	if out := hookRun(t, "status", dir); strings.Count(out, " installed\n") != 4 {
		t.Fatalf("status from the main worktree:\n%s", out)
	}
	hookCommit(t, wt, "in the worktree")
}

// TestHookConfigScopes: core.hooksPath is found wherever git finds it —
// here in a global config named by $GIT_CONFIG_GLOBAL — and a hooks
// directory outside the repository is written only when the user says so.
func TestHookConfigScopes(t *testing.T) {
	dir := newHookRepo(t)
	shared := filepath.Join(t.TempDir(), "shared-hooks")
	cfg := filepath.Join(t.TempDir(), "gitconfig")
	if err := os.WriteFile(cfg, []byte("[core]\n\thooksPath = "+shared+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_CONFIG_GLOBAL", cfg)
	loc, err := Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	if loc.Dir != shared || loc.Source != "core.hooksPath (global config)" || !loc.Outside() {
		t.Fatalf("Find: %+v, want %s from the global config, outside the repository", loc, shared)
	}
	if r, err := Install(loc, testExe, nil, Options{}); r != nil || err == nil || !strings.Contains(err.Error(), "outside this repository") {
		t.Fatalf("install outside without confirmation: %v %v", r, err)
	}
	if _, err := os.Stat(shared); err == nil {
		t.Error("a refused install created the shared hooks directory")
	}
	if _, err := Install(loc, testExe, nil, Options{Outside: true}); err != nil {
		t.Fatal(err)
	}
	checkOurHooks(t, shared)
}

// TestHookEditedByHand: a cartlsp hook the user edited is neither removed
// by uninstall nor replaced by install, unless forced.
func TestHookEditedByHand(t *testing.T) {
	dir := newHookRepo(t)
	hooks := filepath.Join(dir, ".git", "hooks")
	hookRun(t, "install", dir)
	path := filepath.Join(hooks, "post-commit")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mine := string(b) + "echo my own step\n"
	os.WriteFile(path, []byte(mine), 0o755)
	if out := hookRun(t, "status", dir); hookLine(out, "post-commit") != "installed, then edited by hand" {
		t.Errorf("status:\n%s", out)
	}
	loc, _ := Find(dir)
	if _, err := Install(loc, testExe, nil, Options{}); err == nil || !strings.Contains(err.Error(), "edited since cartlsp installed it") {
		t.Errorf("install over an edited hook: %v", err)
	}
	out := hookRun(t, "uninstall", dir)
	if !strings.HasPrefix(hookLine(out, "post-commit"), "edited since cartlsp installed it: left alone") || strings.Count(out, "removed") != 3 {
		t.Fatalf("uninstall:\n%s", out)
	}
	if b, _ := os.ReadFile(path); string(b) != mine {
		t.Error("uninstall changed the edited hook")
	}
	if _, err := Uninstall(loc, Options{Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("uninstall --force left the edited hook")
	}
}
