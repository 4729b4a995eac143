package eval

import (
	"testing"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
	"github.com/cartlsp/cartlsp/runtime/tokenizer"
)

// tinyChatModel is a tiny random Llama with a byte-level tokenizer and a
// ChatML template (modeltest.BuildChat): the shape of a real chat model in
// a few thousand parameters.
func tinyChatModel(tb testing.TB, context int) (*model.Model, *tokenizer.Tokenizer, *answer.Chat) {
	tb.Helper()
	f := modeltest.ParseChat(tb, modeltest.Options{Context: context, Seed: 3})
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
	chat, err := answer.NewChat(tok)
	if err != nil {
		tb.Fatal(err)
	}
	return m, tok, chat
}
