package generate_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/generate"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
	"github.com/cartlsp/cartlsp/runtime/tokenizer"
)

// TestNumericalFault: a model whose forward pass makes NaN logits (a NaN in
// its output norm) ends generation with ErrNumerical, never an empty answer
// reported as a normal end.
func TestNumericalFault(t *testing.T) {
	f := modeltest.ParseChat(t, modeltest.Options{Context: 512, Seed: 3, NaN: "output_norm.weight"})
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	be := cpu.NewBackend(1)
	defer be.Close()
	m, err := model.New(f, be)
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode("hello", false)
	res, err := generate.Run(context.Background(), m, tok, m.NewCache(1, 64), 0, ids, generate.Options{MaxTokens: 8}, nil)
	if !errors.Is(err, generate.ErrNumerical) {
		t.Fatalf("NaN logits: %+v %v, want ErrNumerical", res, err)
	}
}
