package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Progress bar layout and pacing.
const (
	// progressWidth is the widest line a TTY bar draws, in columns.
	progressWidth = 100
	// progressMinBar and progressMaxBar bound the bar's inner width.
	progressMinBar = 10
	progressMaxBar = 30
	// progressRedrawEvery throttles TTY redraws to about 10 per second.
	progressRedrawEvery = 100 * time.Millisecond
	// progressLogEvery is the longest pause between plain (non-TTY) lines.
	progressLogEvery = 10 * time.Second
	// progressClearEOL is the ANSI "erase to end of line" sequence.
	progressClearEOL = "\x1b[K"
)

// progressBar reports the progress of a long job (training, synthesis).
//
// On a terminal it redraws one line in place:
//
//	label [=====>      ] 42/120  35%  1m12s<2m30s  3.1 it/s  loss 1.234
//
// Elsewhere (logs, CI, pipes) it prints plain lines at each 10% boundary,
// at least every 10 seconds while updates arrive, and at Finish:
//
//	label 42/120 (35%) elapsed 1m12s eta 2m30s loss 1.234
//
// A total of 0 means the total is unknown: the bar then shows the count and
// rate only. All methods are safe for concurrent use.
type progressBar struct {
	mu sync.Mutex

	w     io.Writer
	tty   bool
	label string
	total int
	done  int
	extra string

	// now is the clock; tests replace it (and start) with a fake one.
	now   func() time.Time
	start time.Time

	drawn      bool      // something has been written
	lastDraw   time.Time // when the last line or redraw was written
	lastTenths int       // non-TTY: the 10% boundary (0..10) last reported
	loggedDone int       // non-TTY: done as of the last plain line
	loggedMsg  string    // non-TTY: extra as of the last plain line
	finished   bool
}

// newProgressBar returns a bar writing to w. tty selects in-place redraws
// (see isTerminal); total is the number of items, or 0 when unknown. The
// elapsed time counts from this call.
func newProgressBar(w io.Writer, label string, total int, tty bool) *progressBar {
	b := &progressBar{w: w, tty: tty, label: label, total: max(total, 0), now: time.Now}
	b.start = b.now()
	return b
}

// isTerminal reports whether f is a character device such as a terminal,
// where in-place redraws make sense.
func isTerminal(f *os.File) bool {
	if f == nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	return fi.Mode()&os.ModeCharDevice != 0
}

// SetLabel changes the label shown before the bar from the next draw on.
func (b *progressBar) SetLabel(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.label = s
}

// SetTotal changes the total number of items (0: unknown), for jobs that
// learn their size as they go.
func (b *progressBar) SetTotal(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total = max(n, 0)
	// Boundaries passed only because the total changed are not "crossed".
	b.lastTenths = b.tenths()
}

// Update records that done items are complete; extra is free text shown
// after the numbers (for example "loss 1.234"). It draws when enough time
// has passed since the last draw, and always when done reaches the total.
// Updates after Finish are ignored.
func (b *progressBar) Update(done int, extra string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.done = max(done, 0)
	b.extra = extra
	now := b.now()
	complete := b.total > 0 && b.done >= b.total

	if b.tty {
		if !b.drawn || complete || now.Sub(b.lastDraw) >= progressRedrawEvery {
			b.redraw(now)
		}
		return
	}
	tenths := b.tenths()
	due := now.Sub(b.lastLogTime()) >= progressLogEvery
	if tenths > b.lastTenths || due {
		b.lastTenths = max(b.lastTenths, tenths)
		b.logLine(now)
	}
}

// Finish draws the final state and ends the line. A non-empty extra
// replaces the last Update's extra text. In non-TTY mode the final line is
// skipped when the last printed line already showed this state. Later calls
// do nothing.
func (b *progressBar) Finish(extra string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.finished = true
	if extra != "" {
		b.extra = extra
	}
	now := b.now()
	if b.tty {
		b.redraw(now)
		fmt.Fprint(b.w, "\n")
		return
	}
	if b.drawn && b.loggedDone == b.done && b.loggedMsg == b.extra {
		return
	}
	b.logLine(now)
}

// tenths returns how many whole 10% steps of the total are done (0..10),
// or 0 when the total is unknown.
func (b *progressBar) tenths() int {
	if b.total <= 0 {
		return 0
	}
	return min(b.done, b.total) * 10 / b.total
}

// lastLogTime is when the last plain line was printed, or the start.
func (b *progressBar) lastLogTime() time.Time {
	if b.drawn {
		return b.lastDraw
	}
	return b.start
}

// redraw rewrites the TTY line in place. The caller holds b.mu.
func (b *progressBar) redraw(now time.Time) {
	fmt.Fprint(b.w, "\r"+b.ttyLine(now)+progressClearEOL)
	b.drawn, b.lastDraw = true, now
}

// logLine prints one plain line. The caller holds b.mu.
func (b *progressBar) logLine(now time.Time) {
	fmt.Fprintln(b.w, b.plainLine(now))
	b.drawn, b.lastDraw = true, now
	b.loggedDone, b.loggedMsg = b.done, b.extra
}

// ttyLine formats the in-place line, at most progressWidth columns wide.
func (b *progressBar) ttyLine(now time.Time) string {
	elapsed := now.Sub(b.start)
	var tail strings.Builder
	if b.total > 0 {
		fmt.Fprintf(&tail, " %d/%d %3d%%  %s<%s", b.done, b.total, b.percent(),
			formatProgressDuration(elapsed), b.eta(elapsed))
	} else {
		fmt.Fprintf(&tail, " %d  %s", b.done, formatProgressDuration(elapsed))
	}
	tail.WriteString("  " + formatProgressRate(b.done, elapsed))
	if b.extra != "" {
		tail.WriteString("  " + b.extra)
	}

	label := b.label
	if label != "" {
		label += " "
	}
	// "[" and "]" take two columns around the bar itself.
	room := progressWidth - utf8.RuneCountInString(label) - utf8.RuneCountInString(tail.String()) - 2
	inner := min(max(room, progressMinBar), progressMaxBar)
	return truncateProgressLine(label+"["+b.barFill(inner)+"]"+tail.String(), progressWidth)
}

// plainLine formats a non-TTY log line.
func (b *progressBar) plainLine(now time.Time) string {
	elapsed := now.Sub(b.start)
	var s strings.Builder
	if b.label != "" {
		s.WriteString(b.label + " ")
	}
	if b.total > 0 {
		fmt.Fprintf(&s, "%d/%d (%d%%) elapsed %s eta %s", b.done, b.total, b.percent(),
			formatProgressDuration(elapsed), b.eta(elapsed))
	} else {
		fmt.Fprintf(&s, "%d elapsed %s %s", b.done, formatProgressDuration(elapsed),
			formatProgressRate(b.done, elapsed))
	}
	if b.extra != "" {
		s.WriteString(" " + b.extra)
	}
	return s.String()
}

// barFill draws the bar's inside, width columns: '=' for the done part, a
// '>' head, then spaces. With an unknown total the bar stays empty.
func (b *progressBar) barFill(width int) string {
	if b.total <= 0 || b.done <= 0 {
		return strings.Repeat(" ", width)
	}
	filled := min(b.done, b.total) * width / b.total
	if filled >= width {
		return strings.Repeat("=", width)
	}
	return strings.Repeat("=", filled) + ">" + strings.Repeat(" ", width-filled-1)
}

// percent is the completed share of the total, 0..100. The total must be
// positive.
func (b *progressBar) percent() int {
	return min(b.done, b.total) * 100 / b.total
}

// eta estimates the remaining time from the average rate since the start,
// or returns "?" before the first item is done. The total must be positive.
func (b *progressBar) eta(elapsed time.Duration) string {
	if b.done <= 0 {
		return "?"
	}
	left := max(b.total-b.done, 0)
	// elapsed/done per item, times the items left; float avoids overflow.
	return formatProgressDuration(time.Duration(float64(elapsed) * float64(left) / float64(b.done)))
}

// formatProgressRate formats throughput as "3.1 it/s", or "2.5 s/it" when
// an item takes longer than a second, or "? it/s" before any time passed.
func formatProgressRate(done int, elapsed time.Duration) string {
	if done <= 0 || elapsed <= 0 {
		return "? it/s"
	}
	rate := float64(done) / elapsed.Seconds()
	if rate < 1 {
		return fmt.Sprintf("%.1f s/it", 1/rate)
	}
	return fmt.Sprintf("%.1f it/s", rate)
}

// formatProgressDuration formats d compactly, truncated to whole seconds:
// "12s", "1m12s", "1h02m".
func formatProgressDuration(d time.Duration) string {
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

// truncateProgressLine cuts s to at most width runes.
func truncateProgressLine(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width])
}
