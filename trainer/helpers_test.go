package trainer

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
	"github.com/cartlsp/cartlsp/runtime/student"
	"github.com/cartlsp/cartlsp/runtime/tokenizer"
)

// tiny is a tiny random chat model with everything the trainer needs.
type tiny struct {
	f    *gguf.File
	m    *model.Model
	tok  *tokenizer.Tokenizer
	chat *answer.Chat
	be   backend.Backend
}

func newTiny(tb testing.TB) *tiny {
	tb.Helper()
	f := modeltest.ParseChat(tb, modeltest.Options{Context: 4096, Seed: 5})
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		tb.Fatal(err)
	}
	be := cpu.NewBackend(2)
	tb.Cleanup(func() { be.Close() })
	m, err := model.New(f, be)
	if err != nil {
		tb.Fatal(err)
	}
	chat, err := answer.NewChat(tok)
	if err != nil {
		tb.Fatal(err)
	}
	return &tiny{f: f, m: m, tok: tok, chat: chat, be: be}
}

func (t *tiny) student(tb testing.TB) *student.Model {
	tb.Helper()
	s, err := student.New(t.f, t.be)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// testCorpus is a small Go codebase of three files.
func testCorpus() *indexer.Corpus {
	var files []indexer.File
	for i, name := range []string{"a/alpha.go", "beta.go", "gamma.go"} {
		var b strings.Builder
		fmt.Fprintf(&b, "package demo\n\n")
		for j := 0; j < 12+4*i; j++ {
			fmt.Fprintf(&b, "// F%d%d returns %d.\nfunc F%d%d() int { return %d }\n\n", i, j, i*100+j, i, j, i*100+j)
		}
		files = append(files, indexer.File{Path: name, Text: b.String()})
	}
	return &indexer.Corpus{Kind: "dir", Source: "test", Files: files}
}

func testLines(tb testing.TB, tok *tokenizer.Tokenizer) *Lines {
	tb.Helper()
	ls, err := SplitLines(context.Background(), testCorpus(), tok)
	if err != nil {
		tb.Fatal(err)
	}
	return ls
}
