package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCLIUsage(t *testing.T) {
	cases := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{nil, 0, "Commands:", ""},
		{[]string{"--help"}, 0, "generate", ""},
		{[]string{"nope"}, 2, "", "unknown command"},
		{[]string{"generate", "--help"}, 0, "-temp", ""},
		{[]string{"generate", "--no-such-flag", "x"}, 2, "", "flag provided but not defined"},
		{[]string{"generate"}, 2, "", "Usage: cartlsp generate"},
		{[]string{"model"}, 2, "", "model pull"},
		{[]string{"model", "--help"}, 0, "model pull", ""},
		{[]string{"model", "frobnicate"}, 2, "", "unknown subcommand"},
		{[]string{"bench", "--prompt", "0"}, 1, "", "must be positive"},
	}
	for _, c := range cases {
		code, out, errs := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(out, c.inStdout) || !strings.Contains(errs, c.inStderr) {
			t.Errorf("cartlsp %v: code %d, stdout %q, stderr %q", c.args, code, out, errs)
		}
	}
}

func TestCLIMissingModel(t *testing.T) {
	t.Setenv("CARTLSP_MODEL_DIR", t.TempDir())
	t.Setenv("CARTLSP_MODEL", "")
	code, _, errs := runCLI(t, "generate", "hello")
	if code != 1 || !strings.Contains(errs, "cartlsp model pull") {
		t.Fatalf("code %d, stderr %q: want a message naming the fix", code, errs)
	}
	code, _, errs = runCLI(t, "generate", "--model", "/no/such.gguf", "hello")
	if code != 1 || !strings.Contains(errs, "/no/such.gguf") {
		t.Fatalf("code %d, stderr %q", code, errs)
	}
}

// TestCLIBadModelFile feeds a file that is not a model: a clear error, no panic.
func TestCLIBadModelFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.gguf")
	if err := writeFile(bad, []byte("this is not a gguf file at all")); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, "model", "info", "--model", bad)
	if code != 1 || !strings.Contains(errs, "not a GGUF file") {
		t.Fatalf("code %d, stderr %q", code, errs)
	}
	// A tiny model without a tokenizer is refused with a message about the tokenizer.
	tiny := filepath.Join(dir, "tiny.gguf")
	if err := modeltest.Write(tiny, modeltest.Options{}); err != nil {
		t.Fatal(err)
	}
	code, _, errs = runCLI(t, "generate", "--model", tiny, "hi")
	if code != 1 || !strings.Contains(errs, "tokenizer") {
		t.Fatalf("code %d, stderr %q", code, errs)
	}
}

func TestCLIGenerateRealModel(t *testing.T) {
	modeltest.RealPath(t) // what the CLI resolves: $CARTLSP_MODEL, else the pulled default
	code, out, errs := runCLI(t, "generate", "--chat", "-n", "24", "--stats", "What is the capital of France? Answer in one word.")
	if code != 0 || !strings.Contains(out, "Paris") || !strings.Contains(errs, "tok/s") {
		t.Fatalf("code %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, _ = runCLI(t, "bench", "--prompt", "32", "--gen", "4", "--reps", "1", "--threads", "1", "--json")
	if code != 0 || !strings.Contains(out, "decode_tok_per_s") {
		t.Fatalf("bench: code %d, stdout %q", code, out)
	}
}

func writeFile(p string, b []byte) error { return os.WriteFile(p, b, 0o644) }

func TestCLIVersion(t *testing.T) {
	code, stdout, _ := runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(stdout, "cartlsp ") || !strings.Contains(stdout, runtime.Version()) {
		t.Errorf("version: exit %d %q", code, stdout)
	}
	code, stdout, _ = runCLI(t, "version", "--json")
	if code != 0 || !strings.Contains(stdout, `"platform": "`+runtime.GOOS+"/"+runtime.GOARCH+`"`) {
		t.Errorf("version --json: exit %d %q", code, stdout)
	}
}

// TestCLIUsageConventions: help asked for goes to stdout with exit 0;
// misuse goes to stderr with exit 2, a typo with a suggestion.
func TestCLIUsageConventions(t *testing.T) {
	for _, c := range []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{[]string{"train", "--help"}, 0, "Usage: cartlsp train", ""},
		{[]string{"ask", "-h"}, 0, "Usage: cartlsp ask", ""},
		{[]string{"hook"}, 2, "", "hook install"},
		{[]string{"hook", "nope"}, 2, "", "unknown subcommand"},
		{[]string{"train", "--nope"}, 2, "", "flag provided but not defined"},
		{[]string{"tarin"}, 2, "", `did you mean "train"?`},
		{[]string{"zzzzzz"}, 2, "", "unknown command"},
	} {
		code, stdout, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stdout, c.stdout) || !strings.Contains(stderr, c.stderr) {
			t.Errorf("%v: exit %d\nstdout %q\nstderr %q", c.args, code, stdout, stderr)
		}
	}
	if _, _, stderr := runCLI(t, "zzzzzz"); strings.Contains(stderr, "did you mean") {
		t.Errorf("a suggestion for nothing alike: %q", stderr)
	}
}

func TestCLIEnv(t *testing.T) {
	t.Setenv("CARTLSP_STORE", "/tmp/somewhere")
	t.Setenv("HF_TOKEN", "hf_secret")
	code, stdout, _ := runCLI(t, "env")
	if code != 0 || !strings.Contains(stdout, "CARTLSP_STORE") || !strings.Contains(stdout, "/tmp/somewhere") || strings.Contains(stdout, "hf_secret") {
		t.Errorf("env: exit %d\n%s", code, stdout)
	}
	if code, stdout, _ := runCLI(t, "env", "--json"); code != 0 || !strings.Contains(stdout, `"name": "CARTLSP_MODEL"`) {
		t.Errorf("env --json: exit %d\n%s", code, stdout)
	}
}
