package progress

import (
	"fmt"
	"io"
	"math"

	"github.com/cartlsp/cartlsp/trainer"
)

// Training shows a trainer.Job's (or follow.Builder's) Events on w: the
// corpus and resume messages as lines, and a Bar per phase (synthesis,
// training), the training's with its loss and held-out loss.
type Training struct {
	w      io.Writer
	quiet  bool
	bar    *Bar
	phase  string
	source string
}

// NewTraining returns a Training writing to w; quiet shows nothing.
func NewTraining(w io.Writer, quiet bool) *Training {
	return &Training{w: w, quiet: quiet}
}

// Quiet says whether nothing is shown.
func (t *Training) Quiet() bool { return t.quiet }

// SetSource names the corpus in the "corpus:" line.
func (t *Training) SetSource(s string) { t.source = s }

// Finish ends the current phase's bar, if any.
func (t *Training) Finish() {
	if t.bar != nil {
		t.bar.Finish("")
		t.bar = nil
	}
	t.phase = ""
}

// Event shows one event; pass it as the Job's Events.
func (t *Training) Event(e trainer.Event) {
	if t.quiet {
		return
	}
	switch e.Phase {
	case "corpus":
		fmt.Fprintf(t.w, "corpus: %s (%s)\n", t.source, e.Message)
	case "resume":
		fmt.Fprintln(t.w, e.Message)
	case "synthesis", "training":
		if t.phase != e.Phase {
			t.Finish()
			t.bar = NewBar(t.w, e.Phase, e.Total)
			t.phase = e.Phase
		}
		extra := ""
		if e.Phase == "training" {
			extra = fmt.Sprintf("loss %.4f", e.Loss)
			if !math.IsNaN(e.EvalLoss) {
				extra += fmt.Sprintf(" held-out %.4f", e.EvalLoss)
			}
		}
		t.bar.Update(e.Done, extra)
	case "done":
		t.Finish()
	}
}
