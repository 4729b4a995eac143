package lsp

import (
	"context"
	"log/slog"

	"github.com/cartlsp/cartlsp/follow"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/modelfile"
	"github.com/cartlsp/cartlsp/store"
)

// Training is how the server finds and trains a workspace's Cartridges:
// `cartlsp serve` gives the trainer's (cmd/cartlsp/serve.go, with
// trainer/storetrain), so that this package depends on no training code.
type Training interface {
	// CheckBudget refuses a name that is not a training budget: settings
	// naming it are refused whole.
	CheckBudget(name string) error
	// CheckMethod refuses a name that is not a training method ("" is the
	// budget's own).
	CheckMethod(name string) error
	// Builder makes what follows a workspace with s: it must key the
	// store as `cartlsp train` and its hooks do, so that the server finds
	// what they trained.
	Builder(s TrainingSettings) (follow.Builder, error)
	// Dependencies finds (and pulls) the dependency Cartridges that the
	// dependencies setting names by module, in s.Store.
	Dependencies(s TrainingSettings) (Dependencies, error)
}

// TrainingSettings are what a workspace's Cartridges are trained with.
type TrainingSettings struct {
	Model  *modelfile.Loaded // the model answers decode with (and its student)
	Store  *store.Store
	Budget string // the budget's name, which CheckBudget accepted
	Method string // the method, which CheckMethod accepted; "": the budget's
	P      int    // the Cartridge's length; 0: the budget's
	Filter indexer.Filter
	// Beside are dependency Cartridge files the repository's Cartridges
	// are trained behind (the dependencies setting's loaded ones, with
	// trainBesideDependencies); nil: alone.
	Beside []string
	// Yield, when set, is called between training steps: the training
	// pauses there while an editor request decodes.
	Yield func(ctx context.Context) error
	Log   *slog.Logger
}
