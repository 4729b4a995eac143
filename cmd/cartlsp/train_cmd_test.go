package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
)

// writeChatModel writes a tiny random chat model (byte-level tokenizer,
// ChatML) to dir and returns its path.
func writeChatModel(t *testing.T, dir string) string {
	t.Helper()
	w, err := modeltest.BuildChat(modeltest.Options{Context: 4096, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tiny-chat.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeRepo writes a small Go codebase (and a file the corpus must skip).
func writeRepo(t *testing.T, dir string) {
	t.Helper()
	for i, name := range []string{"store.go", "internal/lock.go", "store_test.go"} {
		var b strings.Builder
		fmt.Fprintf(&b, "package store\n\n")
		for j := 0; j < 10; j++ {
			fmt.Fprintf(&b, "// Get%d%d returns the value %d.\nfunc Get%d%d() int { return %d }\n\n", i, j, 10*i+j, i, j, 10*i+j)
		}
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "logo.png"), []byte("\x89PNG\r\n\x1a\n\x00\x00"), 0o644)
}

func TestCLITrainAskResume(t *testing.T) {
	dir := t.TempDir()
	modelPath := writeChatModel(t, dir)
	repo := filepath.Join(dir, "repo")
	writeRepo(t, repo)
	out := filepath.Join(dir, "store.cart")
	args := []string{"train", "--model", modelPath, "--threads", "1", "--budget", "tiny", "--conversations", "4",
		"--p", "8", "--chunk-min", "48", "--chunk-max", "96", "--max-user", "12", "--max-answer", "16", "--batch", "2",
		"--exclude", "*_test.go", "-o", out, repo}
	code, stdout, stderr := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("train: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "wrote "+out) {
		t.Errorf("train output: %q", stdout)
	}
	work := strings.TrimSuffix(out, ".cart") + ".work"
	for _, f := range []string{"dataset.bin", "checkpoint.ckpt", "loss.csv", "loss.png"} {
		if _, err := os.Stat(filepath.Join(work, f)); err != nil {
			t.Errorf("work file %s: %v", f, err)
		}
	}
	code, stdout, stderr = runCLI(t, "inspect", "--show", "1", filepath.Join(work, "dataset.bin"))
	if code != 0 || !strings.Contains(stdout, "conversations:  4") || !strings.Contains(stdout, "#0 (") {
		t.Errorf("inspect dataset: exit %d\n%s%s", code, stdout, stderr)
	}
	c, err := cartridge.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Meta
	if m.P != 8 || m.Frozen != 1 || m.Recipe.Method != "self-study" || m.Recipe.Conversations != 4 || m.Recipe.Budget != "tiny" ||
		m.Corpus.Files != 2 || m.Corpus.Tokens == 0 || m.Recipe.Steps != 2 || m.Metrics["student_tokens"] == 0 {
		t.Errorf("metadata: %+v", m)
	}

	// Again: the dataset and the finished checkpoint are reused (no new
	// conversations, no new steps), and the same Cartridge comes out.
	code, stdout, stderr = runCLI(t, args...)
	if code != 0 {
		t.Fatalf("second train: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "already holds the 4 conversations") || !strings.Contains(stderr, "resumed from its checkpoint at step 2 of 2") {
		t.Errorf("second train does not say it reused its work:\n%s", stderr)
	}
	c2, err := cartridge.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	for l := range c.Keys {
		for i := range c.Keys[l] {
			if c.Keys[l][i] != c2.Keys[l][i] {
				t.Fatalf("rerun changed the Cartridge")
			}
		}
	}

	// ask streams an answer with the Cartridge and without it.
	code, stdout, stderr = runCLI(t, "ask", "--model", modelPath, "--threads", "1", "-n", "6", "--cart", out, "What does Get01 return?")
	if code != 0 || stdout == "" {
		t.Fatalf("ask: exit %d, %q, %s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, "ask", "--model", modelPath, "--threads", "1", "-n", "4", "hello")
	if code != 0 || !strings.Contains(stderr, "without") {
		t.Errorf("ask without a Cartridge: exit %d, %s", code, stderr)
	}

	// ntp baseline through the same command.
	ntp := filepath.Join(dir, "store.ntp.cart")
	code, _, stderr = runCLI(t, "train", "--model", modelPath, "--threads", "1", "--budget", "tiny", "--method", "ntp", "--conversations", "4",
		"--p", "8", "--chunk-min", "32", "--chunk-max", "64", "--max-user", "12", "--max-answer", "16", "-o", ntp, repo)
	if code != 0 {
		t.Fatalf("train ntp: exit %d\n%s", code, stderr)
	}
	if c, err := cartridge.Read(ntp); err != nil || c.Meta.Recipe.Method != "ntp" {
		t.Errorf("ntp Cartridge: %v", err)
	}
	// mixed: the conversations (reused from the dataset) and ntp windows together.
	mixed := filepath.Join(dir, "store.mixed.cart")
	code, _, stderr = runCLI(t, "train", "--model", modelPath, "--threads", "1", "--budget", "tiny", "--method", "mixed", "--conversations", "4",
		"--p", "8", "--chunk-min", "48", "--chunk-max", "96", "--max-user", "12", "--max-answer", "16", "--batch", "2",
		"--exclude", "*_test.go", "--data", filepath.Join(work, "dataset.bin"), "-o", mixed, repo)
	if code != 0 {
		t.Fatalf("train mixed: exit %d\n%s", code, stderr)
	}
	if c, err := cartridge.Read(mixed); err != nil || c.Meta.Recipe.Method != "mixed" || c.Meta.Recipe.Conversations != 8 {
		t.Errorf("mixed Cartridge: %v %+v", err, c.Meta.Recipe)
	}
}

func TestCLITrainAskErrors(t *testing.T) {
	dir := t.TempDir()
	modelPath := writeChatModel(t, dir)
	repo := filepath.Join(dir, "repo")
	writeRepo(t, repo)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"train", "--model", modelPath, "--budget", "huge", repo}, 1, "unknown budget"},
		{[]string{"train", "--model", modelPath, filepath.Join(dir, "missing")}, 1, "no such file"},
		{[]string{"train", "--model", modelPath, "--init", "zeros", "--budget", "tiny", repo}, 1, "init"},
		{[]string{"train", "--model", modelPath, "--seed-types", "poems", repo}, 1, "unknown seed type"},
		{[]string{"train", "--model", modelPath, "a", "b"}, 2, "one directory"},
		{[]string{"train", "--model", modelPath, "--exclude", "[", repo}, 1, "exclude pattern"},
		{[]string{"train", "--model", modelPath, "--precision", "fp8", "-o", filepath.Join(dir, "x.cart"), repo}, 1, "want auto, bf16 or f32"},
		{[]string{"train", "--model", modelPath, "--replay", filepath.Join(dir, "d.bin"), "-o", filepath.Join(dir, "x.cart"), repo}, 1, "name the dependency's Cartridge with --beside"},
		{[]string{"train", "--model", modelPath, "--replay-fraction", "0", "-o", filepath.Join(dir, "x.cart"), repo}, 1, "--replay-fraction 0: want a number in (0, 4]"},
		{[]string{"ask", "--model", modelPath}, 2, "a question is needed"},
		{[]string{"ask", "--model", modelPath, "--cart", filepath.Join(dir, "nope.cart"), "q"}, 1, "nope.cart"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

// TestCLITrainSubdirectory: a subdirectory of a repository is trained as
// the directory it is, never as the whole repository's HEAD.
func TestCLITrainSubdirectory(t *testing.T) {
	dir := t.TempDir()
	modelPath := writeChatModel(t, dir)
	repo := committedRepo(t)
	out := filepath.Join(dir, "sub.cart")
	sub := filepath.Join(repo, "internal")
	args := append([]string{"train", "--model", modelPath, "-o", out}, tinyTrainFlags...)
	code, stdout, stderr := runCLI(t, append(args, sub)...)
	if code != 0 {
		t.Fatalf("train: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "is a subdirectory of the repository") {
		t.Errorf("no note about the subdirectory:\n%s", stderr)
	}
	c, err := cartridge.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if ci := c.Meta.Corpus; ci.Kind != "dir" || ci.Files != 1 || ci.Commit != "" {
		t.Errorf("corpus %+v; want the directory's one file", ci)
	}
	code, _, stderr = runCLI(t, append(append([]string{"train", "--model", modelPath, "-o", out, "--rev", "HEAD"}, tinyTrainFlags...), sub)...)
	if code == 0 || !strings.Contains(stderr, "run it on the repository's root") {
		t.Errorf("--rev on a subdirectory: exit %d\n%s", code, stderr)
	}
}
