package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cartlsp/cartlsp/hooks"
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
// committedRepo is a repository (newHookRepo) with writeRepo's files
// committed.
func committedRepo(t *testing.T) string {
	t.Helper()
	repo := newHookRepo(t)
	writeRepo(t, repo)
	hookGit(t, repo, "add", "-A")
	hookGit(t, repo, "commit", "-q", "-m", "code")
	return repo
}

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

// hookCLI runs `cartlsp hook ARGS` and fails the test on a nonzero exit.
func hookCLI(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := runCLI(t, append([]string{"hook"}, args...)...)
	if code != 0 {
		t.Fatalf("cartlsp hook %v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errs)
	}
	return out
}

// TestHookCLI checks what only the command adds to package hooks: the hooks
// it writes run this binary with the flags given to install, and each
// subcommand prints the report. The chaining itself is tested in hooks.
func TestHookCLI(t *testing.T) {
	dir := newHookRepo(t)
	hooksDir := filepath.Join(dir, ".git", "hooks")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out := hookCLI(t, "install", "--repo", dir, "--budget", "tiny")
	if !strings.Contains(out, "hooks directory: "+hooksDir+"\n") || strings.Count(out, "  installed") != 4 {
		t.Fatalf("install:\n%s", out)
	}
	for _, name := range hooks.Names {
		b, err := os.ReadFile(filepath.Join(hooksDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if s := string(b); !strings.Contains(s, hooks.ShQuote(exe)) || !strings.Contains(s, "train --background --quiet '--budget' 'tiny' ") {
			t.Errorf("hook %s:\n%s", name, s)
		}
	}
	hookCommit(t, dir, "second") // git runs them
	if out := hookCLI(t, "status", "--repo", dir); strings.Count(out, " installed\n") != 4 {
		t.Fatalf("status:\n%s", out)
	}
	if out := hookCLI(t, "uninstall", "--repo", dir); strings.Count(out, "removed") != 4 {
		t.Fatalf("uninstall:\n%s", out)
	}
	if code, _, errs := runCLI(t, "hook", "install", "--repo", dir, "--budget", "huge"); code != 1 || !strings.Contains(errs, "huge") {
		t.Fatalf("unknown budget: exit %d, stderr %q", code, errs)
	}
}

func TestHookErrors(t *testing.T) {
	hookTestEnv(t)
	notRepo := t.TempDir()
	code, _, errs := runCLI(t, "hook", "install", "--repo", notRepo)
	if code != 1 || !strings.Contains(errs, "not in a git repository: "+notRepo+"; run it inside one or pass --repo") {
		t.Fatalf("outside a repository: exit %d, stderr %q", code, errs)
	}
	code, _, errs = runCLI(t, "hook", "status", "--repo", filepath.Join(notRepo, "missing"))
	if code != 1 || !strings.Contains(errs, "missing") {
		t.Fatalf("missing directory: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := runCLI(t, "hook"); code != 2 || !strings.Contains(errs, "cartlsp hook install") {
		t.Fatalf("hook without a subcommand: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := runCLI(t, "hook", "frob"); code != 2 || !strings.Contains(errs, "unknown subcommand") {
		t.Fatalf("unknown subcommand: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := runCLI(t, "hook", "install", "extra"); code != 2 || !strings.Contains(errs, "--repo") {
		t.Fatalf("extra argument: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := runCLI(t, "hook", "install", "--nope"); code != 2 || !strings.Contains(errs, "flag provided but not defined") {
		t.Fatalf("bad flag: exit %d, stderr %q", code, errs)
	}
}
