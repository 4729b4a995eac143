package main

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/lsp"
	"github.com/cartlsp/cartlsp/store"
	"github.com/cartlsp/cartlsp/trainer"
	"github.com/cartlsp/cartlsp/trainer/storetrain"
)

// tinyTrainFlags keep trainings of the tiny chat model to a second or two.
var tinyTrainFlags = []string{"--threads", "1", "--budget", "tiny", "--conversations", "4", "--p", "8", "--chunk-min", "48",
	"--chunk-max", "96", "--max-user", "12", "--max-answer", "16", "--batch", "2"}

// TestCLITrainGitStore trains a repository's HEAD into the store: a no-op
// when the Cartridge is there, incremental after a commit.
func TestCLITrainGitStore(t *testing.T) {
	dir := t.TempDir()
	modelPath := writeChatModel(t, dir)
	repo := committedRepo(t)
	st := filepath.Join(dir, "store")
	train := func() (string, string) {
		t.Helper()
		args := append([]string{"train", "--model", modelPath, "--store", st}, tinyTrainFlags...)
		code, stdout, stderr := runCLI(t, append(args, repo)...)
		if code != 0 {
			t.Fatalf("train: exit %d\n%s\n%s", code, stdout, stderr)
		}
		return stdout, stderr
	}
	out, _ := train()
	if !strings.Contains(out, "from scratch") {
		t.Errorf("first training: %q", out)
	}
	// An uncommitted edit is not the corpus: HEAD's Cartridge is up to date.
	os.WriteFile(filepath.Join(repo, "store.go"), []byte("package store // edited\n"), 0o644)
	if out, _ = train(); !strings.HasPrefix(out, "up to date: ") {
		t.Errorf("second training: %q", out)
	}
	hookGit(t, repo, "commit", "-q", "-am", "edit")
	if out, _ = train(); !strings.Contains(out, "incrementally from entry") {
		t.Errorf("after a commit: %q", out)
	}
	code, out, stderr := runCLI(t, "store", "ls", "--store", st)
	if code != 0 || strings.Count(out, " ready ") != 2 {
		t.Errorf("store ls: exit %d\n%s%s", code, out, stderr)
	}
	// --rev trains an older commit; --dir reads the files on disk.
	args := append([]string{"train", "--model", modelPath, "--store", st, "--rev", "HEAD~1"}, tinyTrainFlags...)
	if code, out, stderr := runCLI(t, append(args, repo)...); code != 0 || !strings.HasPrefix(out, "up to date: ") {
		t.Errorf("--rev HEAD~1: exit %d %q %s", code, out, stderr)
	}
	args = append([]string{"train", "--model", modelPath, "--rev", "nope"}, tinyTrainFlags...)
	if code, _, stderr := runCLI(t, append(args, repo)...); code != 1 || !strings.Contains(stderr, "nope") {
		t.Errorf("--rev nope: exit %d %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "train", "--model", modelPath, "--fresh", repo); code != 1 || !strings.Contains(stderr, "-o") {
		t.Errorf("--fresh into the store: exit %d %s", code, stderr)
	}
	// HEAD's Cartridge cut short on disk: store ls says damaged, train
	// makes it again instead of calling it up to date.
	code, out, _ = runCLI(t, "store", "ls", "--store", st, "--json")
	var ls []struct {
		Dir string `json:"dir"`
	}
	if err := json.Unmarshal([]byte(out), &ls); err != nil || len(ls) == 0 {
		t.Fatalf("store ls --json: %v\n%s", err, out)
	}
	head := ls[0].Dir // newest first: HEAD's
	if err := os.Truncate(filepath.Join(head, "cartridge.cart"), 100); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCLI(t, "store", "ls", "--store", st); code != 0 || !strings.Contains(out, " damaged ") {
		t.Errorf("store ls after the Cartridge was cut short:\n%s", out)
	}
	if out, _ = train(); strings.HasPrefix(out, "up to date: ") {
		t.Errorf("a truncated Cartridge is up to date: %q", out)
	}
	if code, out, _ := runCLI(t, "store", "ls", "--store", st); code != 0 || strings.Contains(out, " damaged ") {
		t.Errorf("store ls after training again:\n%s", out)
	}
}

// TestCLIHookTrainsInBackground installs the hooks with the real binary
// and commits: the post-commit hook starts a detached training that puts
// HEAD's Cartridge in the store and logs to a file.
func TestCLIHookTrainsInBackground(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the cartlsp binary")
	}
	dir := t.TempDir()
	modelPath := writeChatModel(t, dir)
	bin := buildCLI(t, dir)
	repo := newHookRepo(t)
	writeRepo(t, repo)
	st := filepath.Join(dir, "store")
	if out, err := exec.Command(bin, "hook", "install", "--repo", repo, "--budget", "tiny", "--model", modelPath).CombinedOutput(); err != nil {
		t.Fatalf("hook install: %v\n%s", err, out)
	}
	hookGit(t, repo, "add", "-A")
	t0 := time.Now()
	out, code := hookGitRun(t, repo, []string{"CARTLSP_SKIP_HOOK=0", "CARTLSP_STORE=" + st}, "commit", "-q", "-m", "code")
	if code != 0 {
		t.Fatalf("git commit: exit %d\n%s", code, out)
	}
	if d := time.Since(t0); d > 20*time.Second {
		t.Errorf("the commit waited %s for the hook", d)
	}
	s, err := store.Open(st)
	if err != nil {
		t.Fatal(err)
	}
	head := hookGit(t, repo, "rev-parse", "HEAD")
	deadline := time.Now().Add(3 * time.Minute)
	for {
		es, err := s.List()
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 1 && es[0].Complete && es[0].Meta.Commit == head {
			break
		}
		if time.Now().After(deadline) {
			logs, _ := filepath.Glob(filepath.Join(st, "logs", "*.log"))
			var text []byte
			if len(logs) > 0 {
				text, _ = os.ReadFile(logs[0])
			}
			t.Fatalf("no Cartridge for HEAD after 3 minutes: %+v\nlog:\n%s", es, text)
		}
		time.Sleep(200 * time.Millisecond)
	}
	logs, _ := filepath.Glob(filepath.Join(st, "logs", "*.log"))
	if len(logs) != 1 {
		t.Fatalf("log files: %v", logs)
	}
	// The training process writes its summary after committing the entry.
	for time.Now().Before(deadline) {
		if text, _ := os.ReadFile(logs[0]); strings.Contains(string(text), "trained ") {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	text, _ := os.ReadFile(logs[0])
	t.Errorf("the log does not report the training:\n%s", text)
}

// TestServeAndTrainShareRecipes: for every budget, `cartlsp train` with its
// default flags (what the hooks run) and the language server with the same
// budget make the same recipe, so the server finds what the hooks trained.
func TestServeAndTrainShareRecipes(t *testing.T) {
	for _, name := range trainer.BudgetNames {
		var tf trainFlags
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		tf.register(fs)
		if err := fs.Parse([]string{"--budget", name}); err != nil {
			t.Fatal(err)
		}
		fromTrain, err := tf.budget()
		if err != nil {
			t.Fatal(err)
		}
		cfg := lsp.DefaultConfig()
		fromServe, err := storetrain.ServerBudget(name, cfg.P)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := trainer.RecipeHash(trainer.MethodSelfStudy, fromTrain), trainer.RecipeHash(trainer.MethodSelfStudy, fromServe); a != b {
			t.Errorf("budget %s: train's recipe %s, serve's %s\ntrain: %+v\nserve: %+v", name, a, b, fromTrain, fromServe)
		}
	}
}

// buildCLI builds the cartlsp binary into dir.
func buildCLI(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "cartlsp")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestCLIAskUsesStore: inside a repository, ask without --cart answers with
// HEAD's Cartridge from the store, else its nearest ancestor's, and says
// which.
func TestCLIAskUsesStore(t *testing.T) {
	dir := t.TempDir()
	modelPath := writeChatModel(t, dir)
	repo := committedRepo(t)
	st := filepath.Join(dir, "store")
	common := []string{"--model", modelPath, "--store", st, "--budget", "tiny", "--threads", "1"}
	ask := func() string {
		t.Helper()
		code, stdout, stderr := runCLI(t, append(append([]string{"ask", "-n", "2", "--repo", repo}, common...), "What is it?")...)
		if code != 0 {
			t.Fatalf("ask: exit %d\n%s\n%s", code, stdout, stderr)
		}
		return stderr
	}
	if e := ask(); !strings.Contains(e, "the store has no Cartridge") {
		t.Errorf("before training: %q", e)
	}
	if code, stdout, stderr := runCLI(t, append(append([]string{"train", "--quiet"}, common...), repo)...); code != 0 {
		t.Fatalf("train: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if e := ask(); !strings.Contains(e, "answering with the Cartridge of HEAD") {
		t.Errorf("after training: %q", e)
	}
	code, stdout, stderr := runCLI(t, append([]string{"store", "path", "--repo", repo}, common[:len(common)-2]...)...)
	if p := strings.TrimSpace(stdout); code != 0 || !strings.HasSuffix(p, "cartridge.cart") {
		t.Errorf("store path: exit %d %q %s", code, stdout, stderr)
	} else if _, err := os.Stat(p); err != nil {
		t.Errorf("store path: %v", err)
	}
	os.WriteFile(filepath.Join(repo, "store.go"), []byte("package store // edited\n"), 0o644)
	hookGit(t, repo, "commit", "-q", "-am", "edit")
	if e := ask(); !strings.Contains(e, "the nearest ancestor of HEAD") {
		t.Errorf("after a commit not trained yet: %q", e)
	}
	code, _, stderr = runCLI(t, append(append([]string{"ask", "-n", "2", "--repo", t.TempDir()}, common...), "What is it?")...)
	if code != 0 || !strings.Contains(stderr, "not in a git repository") {
		t.Errorf("outside a repository: exit %d %q", code, stderr)
	}
}

// TestCLIJSONOutputs: ask and hook status print one JSON object with --json.
func TestCLIJSONOutputs(t *testing.T) {
	dir := t.TempDir()
	modelPath := writeChatModel(t, dir)
	code, stdout, stderr := runCLI(t, "ask", "--json", "-n", "3", "--model", modelPath, "--repo", dir, "--store", filepath.Join(dir, "st"), "What?")
	var a askJSON
	if err := json.Unmarshal([]byte(stdout), &a); code != 0 || err != nil || a.Question != "What?" || a.PromptTokens == 0 || a.Stop == "" {
		t.Errorf("ask --json: exit %d, %v\n%s\n%s", code, err, stdout, stderr)
	}
	repo := newHookRepo(t)
	code, stdout, _ = runCLI(t, "hook", "status", "--json", "--repo", repo)
	var r struct {
		Location struct{ Dir string }
		Hooks    []struct{ Name, Message string }
	}
	if err := json.Unmarshal([]byte(stdout), &r); code != 0 || err != nil || len(r.Hooks) != 4 || r.Hooks[0].Message != "not installed" || r.Location.Dir == "" {
		t.Errorf("hook status --json: exit %d, %v\n%s", code, err, stdout)
	}

	// train --json: in the store (trained, then already there) and into a file.
	writeRepo(t, repo)
	hookGit(t, repo, "add", "-A")
	hookGit(t, repo, "commit", "-q", "-m", "code")
	st := filepath.Join(dir, "trainstore")
	for i, want := range []bool{true, false} {
		code, stdout, stderr := runCLI(t, append(append([]string{"train", "--json", "--model", modelPath, "--store", st}, tinyTrainFlags...), repo)...)
		var j trainJSON
		if err := json.Unmarshal([]byte(stdout), &j); code != 0 || err != nil || j.Trained != want || j.Cartridge == "" || j.Entry == "" || len(j.Commit) != 40 ||
			want && (j.Steps == 0 || j.LossFinal == nil || j.P != 8) || strings.Contains(stderr, "it/s") {
			t.Errorf("train --json #%d: exit %d, %v, %+v\n%s\n%s", i, code, err, j, stdout, stderr)
		}
	}
	out := filepath.Join(dir, "x.cart")
	code, stdout, stderr = runCLI(t, append(append([]string{"train", "--json", "--model", modelPath, "-o", out}, tinyTrainFlags...), repo)...)
	var j trainJSON
	if err := json.Unmarshal([]byte(stdout), &j); code != 0 || err != nil || !j.Trained || j.Cartridge != out || j.Steps == 0 {
		t.Errorf("train --json -o: exit %d, %v, %+v\n%s\n%s", code, err, j, stdout, stderr)
	}
}

func TestCLIAskAlone(t *testing.T) {
	dir := t.TempDir()
	modelPath := writeChatModel(t, dir)
	code, _, stderr := runCLI(t, "ask", "--alone", "-n", "2", "--model", modelPath, "--repo", dir, "What?")
	if code != 0 || strings.Contains(stderr, "store") {
		t.Errorf("ask --alone: exit %d, stderr %q", code, stderr)
	}
}
