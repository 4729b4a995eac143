package storetrain

import (
	"fmt"
	"io"
	"time"

	"github.com/cartlsp/cartlsp/indexer"
)

// WriteSummary says what Lookup or Ensure found or did for the repository
// at root: its Cartridge was already in the store, or how it was trained
// (from scratch or incrementally), in how long, with the job's figures.
func (r *Result) WriteSummary(w io.Writer, root string) {
	if !r.Trained {
		fmt.Fprintf(w, "up to date: %s at %s has its Cartridge: %s\n", root, indexer.ShortHash(r.Commit.Hash), r.Path)
		return
	}
	how := "from scratch"
	if r.Parent != "" {
		how = fmt.Sprintf("incrementally from entry %s (%d new + %d replayed examples)", r.Parent, r.Job.NewExamples, r.Job.Replayed)
	}
	took := time.Duration(r.Seconds * float64(time.Second))
	fmt.Fprintf(w, "trained %s at %s %s in %s → %s\n  ", root, indexer.ShortHash(r.Commit.Hash), how, took.Round(time.Second), r.Path)
	r.Job.WriteSummary(w, r.Job.Cartridge.Meta.Corpus.Files, took)
}
