// Package follow keeps a repository's Cartridge current: a Follower
// follows HEAD as commits land and has a Builder make sure each commit has
// its Cartridge in the store (trainer/storetrain.Builder trains it,
// incrementally from an ancestor's when one is there).
package follow

import (
	"context"

	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/store"
)

// Builder finds and makes the Cartridges of a repository's commits; rev ""
// is HEAD.
type Builder interface {
	// Lookup finds rev's Cartridge in the store without training; nil
	// when there is none yet.
	Lookup(repo *indexer.Repo, rev string) (*Result, error)
	// Nearest finds rev's Cartridge or, when the store lacks it, its
	// nearest first-parent ancestor's; nil when there is none. It never
	// trains: it is what answers while rev's own Cartridge trains.
	Nearest(repo *indexer.Repo, rev string) (*Result, error)
	// Build returns rev's Cartridge, training it when the store lacks it
	// (after another process training the repository is done), reporting
	// the training's progress (progress may be nil).
	Build(ctx context.Context, repo *indexer.Repo, rev string, progress func(Progress)) (*Result, error)
}

// Result is a commit's Cartridge.
type Result struct {
	Commit  indexer.Commit
	Key     store.Key
	Path    string  // the Cartridge file in the store
	Entry   string  // its entry ID
	Trained bool    // false: the store had it
	Parent  string  // the entry it was warm-started from ("" from scratch)
	Seconds float64 // wall time of the call that made or found it
}

// Progress is how far a training is.
type Progress struct {
	Stage       string // "synthesis", "training", or another step of the job (not shown as progress)
	Done, Total int
}
