package trainer

import (
	"fmt"
	"io"
	"math"
	"time"
)

// WriteSummary prints a finished job's figures for people: size, data,
// steps and losses, the corpus, the phases' durations (total is the whole
// run's) and where the loss curve is.
func (res *JobResult) WriteSummary(w io.Writer, files int, total time.Duration) {
	tr := res.Train
	fmt.Fprintf(w, "p=%d, %d conversations (%d student tokens per epoch), %d steps, loss %.4f → %.4f",
		tr.Prefix.P, res.Conversations, res.StudentTokens, tr.Steps, res.Cartridge.Meta.Metrics["loss_first"], res.Cartridge.Meta.Metrics["loss_final"])
	if !math.IsNaN(tr.EvalLoss) {
		fmt.Fprintf(w, ", held-out %.4f", tr.EvalLoss)
	}
	fmt.Fprintf(w, "\n  corpus %d tokens in %d files; synthesis %s, training %s, total %s\n  loss curve: %s, %s\n",
		res.CorpusTokens, files, seconds(res.SynthSeconds), seconds(tr.Seconds), total.Round(time.Second), res.LossCSV, res.LossPNG)
}

// seconds formats a duration in seconds, rounded to the second.
func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}
