package modelfile

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// byteBar shows how many of a job's bytes are done: on a terminal a bar
// redrawn in place (github.com/schollz/progressbar, as trainer/progress
// does for training), elsewhere (logs, pipes) a plain line at each 10%.
// A nil *byteBar shows nothing. It is safe for concurrent use.
type byteBar struct {
	mu       sync.Mutex
	tty      *progressbar.ProgressBar // nil when not on a terminal
	w        io.Writer
	label    string
	total    int64
	done     int64
	start    time.Time
	tenths   int64 // the 10% step last printed, off a terminal
	printed  int64 // done as of the last plain line (-1: none yet)
	finished bool
}

// newByteBar returns a bar labelled label for total bytes that writes to w,
// or nil when w is nil or total is not positive.
func newByteBar(w io.Writer, label string, total int64) *byteBar {
	if w == nil || total <= 0 {
		return nil
	}
	b := &byteBar{w: w, label: label, total: total, start: time.Now(), printed: -1}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b.tty = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowTotalBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionUseIECUnits(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
	}
	return b
}

// Set records that done bytes are complete (never fewer than before).
func (b *byteBar) Set(done int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished || done <= b.done {
		return
	}
	b.done = min(done, b.total)
	if b.tty != nil {
		b.tty.Set64(b.done)
		return
	}
	if t := b.done * 10 / b.total; t > b.tenths {
		b.tenths = t
		b.line()
	}
}

// Write counts len(p) more bytes done, so that a byteBar can sit in an
// io.MultiWriter next to the data's destination.
func (b *byteBar) Write(p []byte) (int, error) {
	if b != nil {
		b.mu.Lock()
		done := b.done + int64(len(p))
		b.mu.Unlock()
		b.Set(done)
	}
	return len(p), nil
}

// Finish ends the bar where it stands (not filled up when the job stopped
// early). Later calls do nothing.
func (b *byteBar) Finish() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.finished = true
	if b.tty != nil {
		if !b.tty.IsFinished() {
			b.tty.Exit() // ends the line (OptionOnCompletion)
		}
		return
	}
	if b.printed != b.done {
		b.line()
	}
}

// line prints the plain progress line; the caller holds b.mu.
func (b *byteBar) line() {
	rate := ""
	if s := time.Since(b.start).Seconds(); s > 0 && b.done > 0 {
		rate = fmt.Sprintf(", %.0f MiB/s", float64(b.done)/(1<<20)/s)
	}
	fmt.Fprintf(b.w, "%s: %3d%% (%d/%d MiB%s)\n", b.label, b.done*100/b.total, b.done>>20, b.total>>20, rate)
	b.printed = b.done
}
