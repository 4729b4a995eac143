package modeltest

import (
	"bytes"
	"os"
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

// ModelEnv names the real model a test run asks for.
const ModelEnv = "CARTLSP_MODEL"

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

// Real opens the real model (RealPath) with its tokenizer and an inference
// model on a CPU backend of the given threads, all closed when the test
// ends. A model that was asked for ($CARTLSP_MODEL) and does not load fails
// the test.
func Real(tb testing.TB, threads int) (*gguf.File, *model.Model, *tokenizer.Tokenizer) {
	tb.Helper()
	path := RealPath(tb)
	unloadable := func(err error) {
		tb.Helper()
		if os.Getenv(ModelEnv) != "" {
			tb.Fatalf("%s=%s does not load: %v; point it at a llama or qwen2 GGUF model file, or unset it to use the pulled default", ModelEnv, path, err)
		}
		tb.Fatalf("the pulled default model %s does not load: %v; pull it again (`cartlsp model pull`)", path, err)
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
