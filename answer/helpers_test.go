package answer

import (
	"testing"

	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
	"github.com/cartlsp/cartlsp/runtime/tokenizer"
)

// tinyChat is a tiny random Llama with a byte-level tokenizer and a ChatML
// template (modeltest.BuildChat), with a context of ctxLen tokens.
func tinyChat(tb testing.TB, ctxLen int) (*model.Model, *tokenizer.Tokenizer, *Chat) {
	tb.Helper()
	f := modeltest.ParseChat(tb, modeltest.Options{Context: ctxLen, Seed: 3})
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		tb.Fatal(err)
	}
	be := cpu.NewBackend(1)
	tb.Cleanup(func() { be.Close() })
	m, err := model.New(f, be)
	if err != nil {
		tb.Fatal(err)
	}
	chat, err := NewChat(tok)
	if err != nil {
		tb.Fatal(err)
	}
	return m, tok, chat
}

// testCorpus is a small Go corpus of n files.
func testCorpus(n int) *indexer.Corpus {
	c := &indexer.Corpus{Kind: "dir", Source: "/src/demo"}
	for i := range n {
		c.Files = append(c.Files, indexer.File{Path: string(rune('a'+i)) + ".go",
			Text: "package demo\n\n// Port is where it listens.\nconst Port = 7341\n\nfunc Open() error { return nil }\n"})
	}
	return c
}
