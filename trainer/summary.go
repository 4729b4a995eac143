package trainer

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"
)

// WriteSummary prints a finished job's figures for people: size, data,
// steps and losses, the corpus, the phases' durations (total is the whole
// run's) and where the loss curve is.
func (res *JobResult) WriteSummary(w io.Writer, files int, total time.Duration) {
	tr := res.Train
	loss := "no loss measured"
	m := res.Cartridge.Meta.Metrics
	if first, ok := m["loss_first"]; ok {
		loss = fmt.Sprintf("loss %.4g → %.4g (mean of the first and last 5 steps)", first, m["loss_final"])
	}
	fmt.Fprintf(w, "p=%d, %d conversations (%d student tokens per epoch), %d steps, %s",
		tr.Prefix.P, res.Conversations, res.StudentTokens, tr.Steps, loss)
	if !math.IsNaN(tr.EvalLoss) {
		fmt.Fprintf(w, ", held-out %.4f", tr.EvalLoss)
	}
	if tr.Undone > 0 && len(tr.Losses) > 0 {
		fmt.Fprintf(w, "; the loss diverged %d times: updates undone, learning rate lowered to %g", tr.Undone, tr.Losses[len(tr.Losses)-1].LR)
	}
	rate := ""
	if res.SynthConversations > 0 && res.SynthSeconds > 0 {
		rate = fmt.Sprintf(" (%.1f conversations/min)", float64(res.SynthConversations)/res.SynthSeconds*60)
	}
	fmt.Fprintf(w, "\n  corpus %d tokens in %d files; synthesis %s%s, training %s (%.0f student tokens/s), total %s\n  loss curve: %s, %s\n",
		res.CorpusTokens, files, seconds(res.SynthSeconds), rate, seconds(tr.Seconds), tokensPerSecond(res, tr.Seconds), total.Round(time.Second), res.LossCSV, res.LossPNG)
}

// tokensPerSecond is the student tokens of every step per second of
// training.
func tokensPerSecond(res *JobResult, secs float64) float64 {
	if secs <= 0 || res.Train == nil {
		return 0
	}
	n := 0
	for _, lp := range res.Train.Losses {
		n += lp.Tokens
	}
	return float64(n) / secs
}

// seconds formats a duration in seconds, rounded to the second.
func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}

// DefaultPaths fills in a training's output Cartridge and work directory
// when they are not given: ./<source's base name>.cart (…<method>.cart for
// a method other than self-study), and the output's name with .work for
// .cart.
func DefaultPaths(source, method, out, work string) (string, string) {
	if out == "" {
		out = filepath.Base(source) + ".cart"
		if method != MethodSelfStudy {
			out = filepath.Base(source) + "." + method + ".cart"
		}
	}
	if work == "" {
		work = strings.TrimSuffix(out, ".cart") + ".work"
	}
	return out, work
}
