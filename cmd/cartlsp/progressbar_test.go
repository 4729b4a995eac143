package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// progressClock is a manually set fake clock.
type progressClock struct{ t time.Time }

// now returns the clock's current time.
func (c *progressClock) now() time.Time { return c.t }

// set moves the clock to since after progressEpoch.
func (c *progressClock) set(since time.Duration) { c.t = progressEpoch.Add(since) }

// progressEpoch is the fake clock's start.
var progressEpoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// newTestProgressBar returns a bar on a fresh fake clock writing to a buffer.
func newTestProgressBar(label string, total int, tty bool) (*progressBar, *progressClock, *bytes.Buffer) {
	var buf bytes.Buffer
	clk := &progressClock{t: progressEpoch}
	b := newProgressBar(&buf, label, total, tty)
	b.now = clk.now
	b.start = clk.now()
	return b, clk, &buf
}

// ttyFrames splits TTY output into the lines drawn, without the leading
// "\r" and trailing clear-to-end-of-line.
func ttyFrames(t *testing.T, out string) []string {
	t.Helper()
	out = strings.TrimSuffix(out, "\n")
	if out == "" {
		return nil
	}
	if !strings.HasPrefix(out, "\r") {
		t.Fatalf("TTY output %q does not start with \\r", out)
	}
	var frames []string
	for _, f := range strings.Split(out[1:], "\r") {
		if !strings.HasSuffix(f, progressClearEOL) {
			t.Fatalf("TTY frame %q does not end with clear-to-EOL", f)
		}
		frames = append(frames, strings.TrimSuffix(f, progressClearEOL))
	}
	return frames
}

func TestProgressFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0s"},
		{999 * time.Millisecond, "0s"},
		{12 * time.Second, "12s"},
		{59 * time.Second, "59s"},
		{60 * time.Second, "1m00s"},
		{72 * time.Second, "1m12s"},
		{65 * time.Second, "1m05s"},
		{59*time.Minute + 59*time.Second, "59m59s"},
		{time.Hour, "1h00m"},
		{time.Hour + 2*time.Minute + 59*time.Second, "1h02m"},
		{123*time.Hour + 4*time.Minute, "123h04m"},
	}
	for _, tt := range tests {
		if got := formatProgressDuration(tt.d); got != tt.want {
			t.Errorf("formatProgressDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestProgressRate(t *testing.T) {
	tests := []struct {
		done    int
		elapsed time.Duration
		want    string
	}{
		{0, time.Second, "? it/s"},
		{5, 0, "? it/s"},
		{31, 10 * time.Second, "3.1 it/s"},
		{1, time.Second, "1.0 it/s"},
		{2, 5 * time.Second, "2.5 s/it"},
	}
	for _, tt := range tests {
		if got := formatProgressRate(tt.done, tt.elapsed); got != tt.want {
			t.Errorf("formatProgressRate(%d, %v) = %q, want %q", tt.done, tt.elapsed, got, tt.want)
		}
	}
}

func TestProgressTTYLine(t *testing.T) {
	tests := []struct {
		name    string
		label   string
		total   int
		done    int
		elapsed time.Duration
		extra   string
		want    string
	}{
		{
			name: "typical", label: "train", total: 120, done: 42, elapsed: 72 * time.Second, extra: "loss 1.234",
			want: "train [==========>                   ] 42/120  35%  1m12s<2m13s  1.7 s/it  loss 1.234",
		},
		{
			name: "fast", label: "synth", total: 100, done: 31, elapsed: 10 * time.Second,
			want: "synth [=========>                    ] 31/100  31%  10s<22s  3.1 it/s",
		},
		{
			name: "nothing done yet", label: "train", total: 120, done: 0, elapsed: 5 * time.Second,
			want: "train [                              ] 0/120   0%  5s<?  ? it/s",
		},
		{
			name: "complete", label: "train", total: 10, done: 10, elapsed: 20 * time.Second,
			want: "train [==============================] 10/10 100%  20s<0s  2.0 s/it",
		},
		{
			name: "over total", label: "x", total: 10, done: 12, elapsed: 12 * time.Second,
			want: "x [==============================] 12/10 100%  12s<0s  1.0 it/s",
		},
		{
			name: "unknown total", label: "synth", total: 0, done: 42, elapsed: 14 * time.Second, extra: "ok 40",
			want: "synth [                              ] 42  14s  3.0 it/s  ok 40",
		},
		{
			name: "no label", total: 4, done: 1, elapsed: 3 * time.Second,
			want: "[=======>                      ] 1/4  25%  3s<9s  3.0 s/it",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, clk, _ := newTestProgressBar(tt.label, tt.total, true)
			clk.set(tt.elapsed)
			b.done, b.extra = tt.done, tt.extra
			if got := b.ttyLine(clk.now()); got != tt.want {
				t.Errorf("line\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestProgressTTYWidth(t *testing.T) {
	long := strings.Repeat("é", 70)
	tests := []struct {
		name, label, extra string
	}{
		{"long label", long, "loss 1.234"},
		{"long extra", "train", long},
		{"both long", long, long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, clk, _ := newTestProgressBar(tt.label, 1_000_000, true)
			clk.set(90 * time.Minute)
			b.done, b.extra = 123_456, tt.extra
			line := b.ttyLine(clk.now())
			if n := utf8.RuneCountInString(line); n > progressWidth {
				t.Errorf("line is %d columns, want <= %d: %q", n, progressWidth, line)
			}
			if !utf8.ValidString(line) {
				t.Errorf("line is not valid UTF-8: %q", line)
			}
			if !strings.Contains(line, "[") {
				t.Errorf("line lost its bar: %q", line)
			}
		})
	}
}

func TestProgressTTYThrottle(t *testing.T) {
	b, clk, buf := newTestProgressBar("train", 10, true)
	steps := []struct {
		at   time.Duration
		done int
		draw bool
	}{
		{0, 0, true},                       // first update always draws
		{50 * time.Millisecond, 1, false},  // throttled
		{99 * time.Millisecond, 2, false},  // throttled
		{100 * time.Millisecond, 3, true},  // 100 ms since last draw
		{150 * time.Millisecond, 4, false}, // throttled
		{250 * time.Millisecond, 5, true},
		{260 * time.Millisecond, 10, true}, // final update always draws
	}
	frames := 0
	for _, s := range steps {
		clk.set(s.at)
		b.Update(s.done, "")
		got := ttyFrames(t, buf.String())
		if drew := len(got) > frames; drew != s.draw {
			t.Errorf("update %d at %v: drew = %v, want %v", s.done, s.at, drew, s.draw)
		}
		frames = len(got)
	}
	if strings.Contains(buf.String(), "\n") {
		t.Errorf("TTY output before Finish contains a newline: %q", buf)
	}
	last := ttyFrames(t, buf.String())
	if f := last[len(last)-1]; !strings.Contains(f, "10/10 100%") {
		t.Errorf("last frame %q does not show completion", f)
	}
}

func TestProgressTTYFinish(t *testing.T) {
	b, clk, buf := newTestProgressBar("train", 100, true)
	clk.set(10 * time.Second)
	b.Update(40, "loss 2.000")
	clk.set(10*time.Second + 10*time.Millisecond)
	b.Update(41, "loss 1.900") // throttled, but Finish shows it
	b.Finish("")
	out := buf.String()
	if !strings.HasSuffix(out, progressClearEOL+"\n") {
		t.Fatalf("output %q does not end with clear-to-EOL and a newline", out)
	}
	frames := ttyFrames(t, out)
	if len(frames) != 2 {
		t.Fatalf("got %d frames, want 2: %q", len(frames), frames)
	}
	if want := " 41/100  41%  10s<14s  4.1 it/s  loss 1.900"; !strings.HasSuffix(frames[1], want) {
		t.Errorf("final frame %q, want suffix %q", frames[1], want)
	}

	// Finish is idempotent and later updates are ignored.
	n := buf.Len()
	b.Update(99, "late")
	b.Finish("again")
	if buf.Len() != n {
		t.Errorf("output after Finish: %q", buf.String()[n:])
	}
}

func TestProgressTTYFinishExtra(t *testing.T) {
	b, clk, buf := newTestProgressBar("job", 3, true)
	clk.set(3 * time.Second)
	b.Update(3, "working")
	b.Finish("done")
	frames := ttyFrames(t, buf.String())
	if f := frames[len(frames)-1]; !strings.HasSuffix(f, "  done") {
		t.Errorf("final frame %q, want the Finish extra", f)
	}
}

func TestProgressTTYSetLabelAndTotal(t *testing.T) {
	b, clk, buf := newTestProgressBar("scan", 0, true)
	clk.set(2 * time.Second)
	b.Update(10, "")
	b.SetLabel("train")
	b.SetTotal(40)
	clk.set(4 * time.Second)
	b.Update(20, "")
	frames := ttyFrames(t, buf.String())
	if len(frames) != 2 {
		t.Fatalf("got %d frames, want 2: %q", len(frames), frames)
	}
	if want := "scan [                              ] 10  2s  5.0 it/s"; frames[0] != want {
		t.Errorf("frame before SetTotal\n got %q\nwant %q", frames[0], want)
	}
	if want := "train [===============>              ] 20/40  50%  4s<4s  5.0 it/s"; frames[1] != want {
		t.Errorf("frame after SetTotal\n got %q\nwant %q", frames[1], want)
	}
}

func TestProgressPlain(t *testing.T) {
	type step struct {
		at    time.Duration
		done  int
		extra string
	}
	tests := []struct {
		name   string
		total  int
		steps  []step
		finish string
		want   []string
	}{
		{
			name:  "10% boundaries",
			total: 120,
			steps: []step{
				{1 * time.Second, 1, ""},           // 0%: nothing
				{2 * time.Second, 11, ""},          // 9%: nothing
				{3 * time.Second, 12, "loss 3.0"},  // crosses 10%
				{4 * time.Second, 13, ""},          // nothing
				{5 * time.Second, 40, "loss 2.5"},  // crosses 20% and 30%: one line
				{6 * time.Second, 120, "loss 1.0"}, // 100%
			},
			want: []string{
				"train 12/120 (10%) elapsed 3s eta 27s loss 3.0",
				"train 40/120 (33%) elapsed 5s eta 10s loss 2.5",
				"train 120/120 (100%) elapsed 6s eta 0s loss 1.0",
			},
		},
		{
			name:  "every 10 seconds",
			total: 1000,
			steps: []step{
				{5 * time.Second, 1, ""},
				{9 * time.Second, 2, ""},
				{10 * time.Second, 3, ""}, // 10 s since start
				{15 * time.Second, 4, ""},
				{19 * time.Second, 5, ""},
				{21 * time.Second, 6, ""}, // 11 s since last line
				{22 * time.Second, 7, ""},
			},
			finish: "stopped",
			want: []string{
				"train 3/1000 (0%) elapsed 10s eta 55m23s",
				"train 6/1000 (0%) elapsed 21s eta 57m59s",
				"train 7/1000 (0%) elapsed 22s eta 52m00s stopped",
			},
		},
		{
			name:  "unknown total",
			total: 0,
			steps: []step{
				{5 * time.Second, 10, ""},
				{12 * time.Second, 30, "n 30"},
				{13 * time.Second, 31, ""},
			},
			want: []string{
				"train 30 elapsed 12s 2.5 it/s n 30",
				"train 31 elapsed 13s 2.4 it/s",
			},
		},
		{
			name:  "finish without updates",
			total: 5,
			want:  []string{"train 0/5 (0%) elapsed 0s eta ?"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, clk, buf := newTestProgressBar("train", tt.total, false)
			for _, s := range tt.steps {
				clk.set(s.at)
				b.Update(s.done, s.extra)
			}
			b.Finish(tt.finish)
			out := buf.String()
			if strings.ContainsAny(out, "\r\x1b") {
				t.Errorf("plain output contains control characters: %q", out)
			}
			if !strings.HasSuffix(out, "\n") {
				t.Errorf("plain output %q does not end with a newline", out)
			}
			got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("lines\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestProgressPlainSetTotal(t *testing.T) {
	b, clk, buf := newTestProgressBar("synth", 100, false)
	clk.set(time.Second)
	b.Update(15, "") // crosses 10%
	b.SetTotal(1000) // now 1.5%: no boundary is crossed until 10% of 1000
	clk.set(2 * time.Second)
	b.Update(50, "")
	clk.set(3 * time.Second)
	b.Update(100, "") // crosses 10% of the new total
	want := "synth 15/100 (15%) elapsed 1s eta 5s\nsynth 100/1000 (10%) elapsed 3s eta 27s\n"
	if buf.String() != want {
		t.Errorf("output\n got %q\nwant %q", buf.String(), want)
	}
}

func TestProgressConcurrentUpdates(t *testing.T) {
	var buf bytes.Buffer
	b := newProgressBar(&buf, "par", 800, true)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				b.Update(g*100+i, "x")
			}
		})
	}
	wg.Wait()
	b.Finish("")
	if !strings.HasSuffix(buf.String(), "\n") {
		t.Errorf("output does not end with a newline")
	}
}

func TestProgressIsTerminal(t *testing.T) {
	regular, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	closed, err := os.Create(filepath.Join(t.TempDir(), "closed"))
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	devNull, err := os.Open(os.DevNull) // a character device
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()

	tests := []struct {
		name string
		f    *os.File
		want bool
	}{
		{"nil", nil, false},
		{"regular file", regular, false},
		{"closed file", closed, false},
		{"character device", devNull, true},
	}
	for _, tt := range tests {
		if got := isTerminal(tt.f); got != tt.want {
			t.Errorf("isTerminal(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
