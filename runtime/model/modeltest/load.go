package modeltest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/modelfile"
	"github.com/cartlsp/cartlsp/runtime/tokenizer"
)

// Parse builds a tiny random model from o and parses it in memory.
func Parse(tb testing.TB, o Options) *gguf.File {
	tb.Helper()
	w, err := Build(o)
	if err != nil {
		tb.Fatal(err)
	}
	return parse(tb, w)
}

// ModelEnv names the real model a test run asks for (the default model).
const ModelEnv = "CARTLSP_MODEL"

// SmallModelEnv names the small real model (SmolLM2-135M) that tests use
// where the point is not the model but a real one is needed.
const SmallModelEnv = "CARTLSP_SMALL_MODEL"

// smallModelFile is the small model's file name in the model cache.
var smallModelFile = modelfile.MustLookup(modelfile.TestName).File

// RealPath returns the real model's file for a test that needs it, by the
// rule every real-model test follows:
//
//   - in -short mode the test skips (it is slow);
//   - $CARTLSP_MODEL set asks for that file: when it does not exist the test
//     FAILS, saying what to do (`make test` sets it, so CI never skips);
//   - $CARTLSP_MODEL unset asks for no model: the test uses the pulled
//     default (`cartlsp model pull`), and skips when it was never pulled.
func RealPath(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("uses the real model; skipped with -short")
	}
	if p := os.Getenv(ModelEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			tb.Fatalf("%s=%s: %v; point it at a GGUF model file (`cartlsp model pull`, then %s=$(cartlsp model path)), or unset it to use the pulled default or skip", ModelEnv, p, err, ModelEnv)
		}
		return p
	}
	p, err := modelfile.Resolve("")
	if err != nil {
		tb.Skipf("uses the real model, which was never pulled (%v); set %s or run `cartlsp model pull` to run it", err, ModelEnv)
	}
	return p
}

// SmallPath is RealPath for the small model: $CARTLSP_SMALL_MODEL (which
// must exist when set), else the cached SmolLM2-135M file, else a skip.
func SmallPath(tb testing.TB) string {
	tb.Helper()
	return RealPathNamed(tb, smallModelFile)
}

// RealPathNamed finds the model file named name (a base name such as
// "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"): $CARTLSP_MODEL or
// $CARTLSP_SMALL_MODEL when one of them names it (it must exist), else the
// model cache; a test skips in -short mode and when the file is not here.
func RealPathNamed(tb testing.TB, name string) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("uses the real model; skipped with -short")
	}
	for _, env := range []string{ModelEnv, SmallModelEnv} {
		p := os.Getenv(env)
		if p == "" || filepath.Base(p) != name && !(env == SmallModelEnv && name == smallModelFile) {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			tb.Fatalf("%s=%s: %v; point it at the model file (`cartlsp model pull`), or unset it", env, p, err)
		}
		return p
	}
	dir, err := modelfile.Dir()
	if err == nil {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	tb.Skipf("uses the model file %s, which is not here; set %s or %s to it, or pull it (`cartlsp model pull`)", name, ModelEnv, SmallModelEnv)
	return ""
}

// Small opens the small model (SmallPath) as Real does.
func Small(tb testing.TB, threads int) (*gguf.File, *model.Model, *tokenizer.Tokenizer) {
	tb.Helper()
	return open(tb, SmallPath(tb), threads, SmallModelEnv)
}

// Open opens the model at path with its tokenizer on a CPU backend of the
// given threads, closed when the test ends; a model that does not load
// fails the test.
func Open(tb testing.TB, path string, threads int) (*model.Model, *tokenizer.Tokenizer) {
	tb.Helper()
	_, m, tok := open(tb, path, threads, "")
	return m, tok
}

// Real opens the real model (RealPath) with its tokenizer and an inference
// model on a CPU backend of the given threads, all closed when the test
// ends. A model that was asked for ($CARTLSP_MODEL) and does not load fails
// the test.
func Real(tb testing.TB, threads int) (*gguf.File, *model.Model, *tokenizer.Tokenizer) {
	tb.Helper()
	return open(tb, RealPath(tb), threads, ModelEnv)
}

func open(tb testing.TB, path string, threads int, env string) (*gguf.File, *model.Model, *tokenizer.Tokenizer) {
	tb.Helper()
	unloadable := func(err error) {
		tb.Helper()
		if env != "" && os.Getenv(env) != "" {
			tb.Fatalf("%s=%s does not load: %v; point it at a llama or qwen2 GGUF model file, or unset it to use the pulled model", env, path, err)
		}
		tb.Fatalf("the model %s does not load: %v; pull it again (`cartlsp model pull`)", path, err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		unloadable(err)
	}
	tb.Cleanup(func() { f.Close() })
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		unloadable(err)
	}
	be := cpu.NewBackend(threads)
	tb.Cleanup(func() { be.Close() })
	m, err := model.New(f, be)
	if err != nil {
		unloadable(err)
	}
	return f, m, tok
}

// ParseChat builds a tiny random chat model (BuildChat) and parses it in
// memory.
func ParseChat(tb testing.TB, o Options) *gguf.File {
	tb.Helper()
	w, err := BuildChat(o)
	if err != nil {
		tb.Fatal(err)
	}
	return parse(tb, w)
}

// parse writes a model to memory and parses it back.
func parse(tb testing.TB, w *gguf.Writer) *gguf.File {
	tb.Helper()
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		tb.Fatal(err)
	}
	return f
}
