package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
	"github.com/cartlsp/cartlsp/runtime/modelfile"
)

func TestCLIModelLs(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CARTLSP_MODEL_DIR", dir)
	code, out, errs := runCLI(t, "model", "ls")
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, errs)
	}
	for _, s := range modelfile.Catalog {
		if !strings.Contains(out, s.Name) || !strings.Contains(out, s.File) {
			t.Errorf("model ls does not list %s:\n%s", s.Name, out)
		}
	}
	if !strings.Contains(out, "* "+modelfile.DefaultName) || !strings.Contains(out, dir) {
		t.Errorf("model ls does not mark the default or name the cache:\n%s", out)
	}
	// A cached file of the right size, one of the wrong size, another GGUF.
	q05, _ := modelfile.Lookup("qwen2.5-coder-0.5b")
	q15, _ := modelfile.Lookup("qwen2.5-coder-1.5b")
	writeFile(filepath.Join(dir, q05.File), nil)
	if err := os.Truncate(filepath.Join(dir, q05.File), q05.Size); err != nil { // sparse
		t.Fatal(err)
	}
	writeFile(filepath.Join(dir, q15.File), []byte("short"))
	writeFile(filepath.Join(dir, "mine.gguf"), []byte("x"))
	_, out, _ = runCLI(t, "model", "ls")
	for _, want := range []string{"yes (size ok)", "damaged (5 bytes", filepath.Join(dir, "mine.gguf")} {
		if !strings.Contains(out, want) {
			t.Errorf("model ls does not say %q:\n%s", want, out)
		}
	}
	_, out, _ = runCLI(t, "model", "ls", "--verify")
	if !strings.Contains(out, "sha256 differs") {
		t.Errorf("model ls --verify does not find the zeros damaged:\n%s", out)
	}
	if code, _, _ := runCLI(t, "model", "ls", "extra"); code != 2 {
		t.Errorf("model ls extra: code %d, want 2", code)
	}
}

func TestCLIModelPath(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CARTLSP_MODEL_DIR", dir)
	for _, s := range modelfile.Catalog {
		code, out, errs := runCLI(t, "model", "path", s.Name)
		if code != 0 || strings.TrimSpace(out) != filepath.Join(dir, s.File) {
			t.Errorf("model path %s: code %d, stdout %q, stderr %q", s.Name, code, out, errs)
		}
	}
	if _, out, _ := runCLI(t, "model", "path"); strings.TrimSpace(out) != filepath.Join(dir, modelfile.Default.File) {
		t.Errorf("model path: %q, want the default's", out)
	}
	code, _, errs := runCLI(t, "model", "path", "nope")
	if code != 1 || !strings.Contains(errs, "qwen2.5-coder-0.5b") {
		t.Errorf("model path nope: code %d, stderr %q: want the names", code, errs)
	}
	if code, _, _ := runCLI(t, "model", "path", "a", "b"); code != 2 {
		t.Errorf("model path a b: code %d, want 2", code)
	}
	if code, _, errs := runCLI(t, "model", "pull", "nope"); code != 1 || !strings.Contains(errs, "smollm2-135m") {
		t.Errorf("model pull nope: code %d, stderr %q", code, errs)
	}
	if code, out, _ := runCLI(t, "model", "pull", "--help"); code != 0 || !strings.Contains(out, "never installed") || !strings.Contains(out, "-from") {
		t.Errorf("model pull --help: code %d, stdout %q", code, out)
	}
}

func TestCLIModelInfo(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CARTLSP_MODEL_DIR", dir)
	t.Setenv("CARTLSP_MODEL", "")
	chat := writeChatModel(t, dir)
	code, out, errs := runCLI(t, "model", "info", "--model", chat)
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, errs)
	}
	for _, want := range []string{"file:", "size:", "architecture: llama", "vocabulary:", "quantization:", "tensors:", "weights:",
		"KV cache:", "license:", "backend:", "fingerprint:  sha256:"} {
		if !strings.Contains(out, want) {
			t.Errorf("model info does not print %q:\n%s", want, out)
		}
	}
	// The runtime refusing a model (here: no tokenizer) still prints what
	// the metadata says, then fails saying why.
	tiny := filepath.Join(dir, "tiny.gguf")
	if err := modeltest.Write(tiny, modeltest.Options{}); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runCLI(t, "model", "info", tiny) // NAME may be a file too
	if code != 1 || !strings.Contains(out, "architecture: llama") || !strings.Contains(out, "KV cache:") ||
		!strings.Contains(out, "cannot run") || !strings.Contains(errs, "tokenizer") {
		t.Errorf("code %d, stdout %q, stderr %q", code, out, errs)
	}
	// A catalog model not pulled yet: what it is, and how to pull it.
	code, out, errs = runCLI(t, "model", "info", "qwen2.5-coder-1.5b")
	if code != 1 || !strings.Contains(out, "not pulled yet") || !strings.Contains(out, "Apache-2.0") ||
		!strings.Contains(errs, "cartlsp model pull qwen2.5-coder-1.5b") {
		t.Errorf("code %d, stdout %q, stderr %q", code, out, errs)
	}
	// --model takes a catalog name anywhere.
	code, _, errs = runCLI(t, "generate", "--model", "qwen2.5-coder-0.5b", "hi")
	if code != 1 || !strings.Contains(errs, "cartlsp model pull qwen2.5-coder-0.5b") {
		t.Errorf("generate --model NAME: code %d, stderr %q", code, errs)
	}
	if code, _, _ := runCLI(t, "model", "info", "--model", chat, "qwen2.5-coder-0.5b"); code != 2 {
		t.Errorf("two models: code %d, want 2", code)
	}
}

func TestCLIModelInfoJSON(t *testing.T) {
	dir := t.TempDir()
	path := writeChatModel(t, dir)
	code, stdout, stderr := runCLI(t, "model", "info", "--json", "--model", path)
	var v struct {
		Path, Fingerprint string
		KVBytesToken      int64
	}
	if err := json.Unmarshal([]byte(stdout), &v); code != 0 || err != nil || v.Path != path || !strings.HasPrefix(v.Fingerprint, "sha256:") || v.KVBytesToken <= 0 {
		t.Errorf("model info --json: exit %d %v\n%s\n%s", code, err, stdout, stderr)
	}
}
