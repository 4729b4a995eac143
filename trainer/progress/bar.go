// Package progress shows the progress of a long job — a training, a
// synthesis, an evaluation — on a stream that is not stdout (scripts parse
// stdout). On a terminal it is a bar redrawn in place by
// github.com/schollz/progressbar, fitted to the terminal's width; elsewhere
// (git hooks, CI logs, pipes) it is plain lines, one at each 10% of the work
// and at least every 10 seconds while work arrives, so a log stays short and
// readable. Training adapts a trainer.Job's Events to bars (training.go).
//
// None of this is on a hot path: a bar is updated once per optimiser step or
// synthesized batch (seconds apart), and redraws are throttled to 10 a second.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

const (
	// barWidth is the widest the bar itself is drawn, in columns; the
	// library narrows it when the terminal is narrower than the line.
	barWidth = 30
	// redrawEvery throttles terminal redraws to about 10 per second.
	redrawEvery = 100 * time.Millisecond
	// logEvery is the longest pause between plain lines while updates arrive.
	logEvery = 10 * time.Second
)

// Bar reports how many of a job's items are done. On a terminal it draws
//
//	35% |██████▌          | (42/120, 3 it/s) [1m12s:2m30s] training loss 1.234
//
// and elsewhere it prints lines such as
//
//	training 42/120 (35%) elapsed 1m12s eta 2m30s loss 1.234
//
// A total of 0 means the total is unknown: the count and rate are shown.
// All methods are safe for concurrent use.
type Bar struct {
	mu  sync.Mutex
	tty *progressbar.ProgressBar // nil when not on a terminal

	w     io.Writer
	label string
	total int
	done  int
	extra string

	// now is the clock; tests replace it (and start) with a fake one.
	now   func() time.Time
	start time.Time

	drawn       time.Time // terminal: when the library last got the state
	logged      bool      // a plain line was printed
	lastLog     time.Time // when
	lastTenths  int       // the 10% boundary (0..10) last reported
	loggedDone  int       // done as of the last plain line
	loggedExtra string    // extra as of the last plain line
	finished    bool
	// base is the count the rate and ETA start from: 0, or what the first
	// update reported at once (work done before, a resumed job), at baseAt.
	base    int
	baseAt  time.Time
	updated bool
}

// NewBar returns a bar labelled label for total items (0: unknown) that
// writes to w: a redrawn bar when w is a terminal, plain lines otherwise.
// The elapsed time counts from this call.
func NewBar(w io.Writer, label string, total int) *Bar {
	return newBar(w, label, total, IsTerminal(w))
}

func newBar(w io.Writer, label string, total int, tty bool) *Bar {
	b := &Bar{w: w, label: label, total: max(total, 0), now: time.Now}
	b.start = b.now()
	b.baseAt = b.start
	if tty {
		max := int64(b.total)
		if max == 0 {
			max = -1 // the library's "unknown": a spinner, the count and rate
		}
		b.tty = progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowDescriptionAtLineEnd(), // the label and the changing extra text follow the bar
			progressbar.OptionSetWidth(barWidth),
			progressbar.OptionShowCount(),
			// The rate and times are the Bar's own (description): the
			// library's count work done before the bar and divide by ~0 at
			// the first update.
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionSetElapsedTime(false),
			progressbar.OptionSetRenderBlankState(true),
		)
	}
	return b
}

// IsTerminal reports whether w is a terminal, where in-place redraws make sense.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && f != nil && term.IsTerminal(int(f.Fd()))
}

// Update records that done items are complete; extra is free text shown
// after the numbers (for example "loss 1.234"). Updates after Finish are
// ignored.
func (b *Bar) Update(done int, extra string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.done, b.extra = max(done, 0), extra
	now := b.now()
	if !b.updated {
		b.updated = true
		if now.Sub(b.start) < time.Second && b.done > 1 {
			b.base, b.baseAt = b.done, now // done before this bar: not its rate
		}
	}
	if b.tty != nil {
		// Throttled here rather than by the library, whose throttle would
		// also swallow the final frame of a job that stopped early.
		if now.Sub(b.drawn) >= redrawEvery || b.total > 0 && b.done >= b.total {
			b.draw(now)
		}
		return
	}
	tenths := b.tenths()
	last := b.start
	if b.logged {
		last = b.lastLog
	}
	if tenths > b.lastTenths || now.Sub(last) >= logEvery {
		b.lastTenths = max(b.lastTenths, tenths)
		b.logLine(now)
	}
}

// Finish draws the final state and ends the line; the bar is not filled up
// when the job stopped early. A non-empty extra replaces the last Update's
// extra text. Off a terminal the final line is skipped when the last line
// printed already showed this state. Later calls do nothing.
func (b *Bar) Finish(extra string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.finished = true
	if extra != "" {
		b.extra = extra
	}
	if b.tty != nil {
		b.draw(b.now())
		b.tty.Exit()
		fmt.Fprintln(b.w)
		return
	}
	if b.logged && b.loggedDone == b.done && b.loggedExtra == b.extra {
		return
	}
	b.logLine(b.now())
}

// draw hands the state to the library, which redraws the line. The caller
// holds b.mu.
func (b *Bar) draw(now time.Time) {
	if b.total > 0 {
		b.tty.Set(min(b.done, b.total))
	} else {
		b.tty.Set(b.done)
	}
	b.tty.Describe(b.description(now))
	b.drawn = now
}

// description is what the terminal bar shows after its numbers: the
// label, elapsed time and ETA (or rate), and the extra text.
func (b *Bar) description(now time.Time) string {
	s := b.label + " " + b.timing(now)
	if b.extra != "" {
		s += " " + b.extra
	}
	return s
}

// timing is "[elapsed 1m12s, eta 2m30s]" for a known total, "[elapsed
// 12s, 3.1 it/s]" otherwise; the rate counts from the base (work this bar
// saw done), and the ETA is "?" until there is one.
func (b *Bar) timing(now time.Time) string {
	elapsed := now.Sub(b.start)
	doneHere, since := b.done-b.base, now.Sub(b.baseAt)
	if b.total > 0 {
		eta := "?"
		if b.done >= b.total {
			eta = "0s"
		} else if doneHere > 0 && since >= time.Second {
			eta = formatDuration(time.Duration(float64(since) * float64(b.total-min(b.done, b.total)) / float64(doneHere)))
		}
		return fmt.Sprintf("[elapsed %s, eta %s]", formatDuration(elapsed), eta)
	}
	rate := "? it/s"
	if since >= time.Second {
		rate = formatRate(doneHere, since)
	}
	return fmt.Sprintf("[elapsed %s, %s]", formatDuration(elapsed), rate)
}

// tenths returns how many whole 10% steps of the total are done (0..10),
// or 0 when the total is unknown.
func (b *Bar) tenths() int {
	if b.total <= 0 {
		return 0
	}
	return min(b.done, b.total) * 10 / b.total
}

// logLine prints one plain line. The caller holds b.mu.
func (b *Bar) logLine(now time.Time) {
	elapsed := now.Sub(b.start)
	var s strings.Builder
	if b.label != "" {
		s.WriteString(b.label + " ")
	}
	doneHere, since := b.done-b.base, now.Sub(b.baseAt)
	if b.total > 0 {
		done := min(b.done, b.total)
		eta := "?"
		if b.done >= b.total {
			eta = "0s"
		} else if doneHere > 0 {
			// time per item seen done here, times the items left; float avoids overflow.
			eta = formatDuration(time.Duration(float64(since) * float64(b.total-done) / float64(doneHere)))
		}
		fmt.Fprintf(&s, "%d/%d (%d%%) elapsed %s eta %s", b.done, b.total, done*100/b.total, formatDuration(elapsed), eta)
	} else {
		fmt.Fprintf(&s, "%d elapsed %s %s", b.done, formatDuration(elapsed), formatRate(doneHere, since))
	}
	if b.extra != "" {
		s.WriteString(" " + b.extra)
	}
	fmt.Fprintln(b.w, s.String())
	b.logged, b.lastLog = true, now
	b.loggedDone, b.loggedExtra = b.done, b.extra
}

// formatRate formats throughput as "3.1 it/s", or "2.5 s/it" when an item
// takes longer than a second, or "? it/s" before any time passed.
func formatRate(done int, elapsed time.Duration) string {
	if done <= 0 || elapsed <= 0 {
		return "? it/s"
	}
	rate := float64(done) / elapsed.Seconds()
	if rate < 1 {
		return fmt.Sprintf("%.1f s/it", 1/rate)
	}
	return fmt.Sprintf("%.1f it/s", rate)
}

// formatDuration formats d compactly, truncated to whole seconds: "12s",
// "1m12s", "1h02m".
func formatDuration(d time.Duration) string {
	s := int64(max(d, 0) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	default:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
}
