package modeltest

import (
	"bytes"
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

// Real opens the default model with its tokenizer and an inference model on
// a CPU backend of the given threads, all closed when the test ends. It skips
// the test in -short mode or when the model was never pulled (`make test`
// pulls it first, so CI always runs such tests).
func Real(tb testing.TB, threads int) (*gguf.File, *model.Model, *tokenizer.Tokenizer) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("uses the real model")
	}
	path, err := modelfile.Resolve("")
	if err != nil {
		tb.Skipf("real model unavailable (%v); `make test` pulls it", err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		tb.Fatal(err)
	}
	be := cpu.NewBackend(threads)
	tb.Cleanup(func() { be.Close() })
	m, err := model.New(f, be)
	if err != nil {
		tb.Fatal(err)
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
