package progress

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/trainer"
)

// fakeClock is a manually set clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// set moves the clock to since after epoch.
func (c *fakeClock) set(since time.Duration) { c.t = epoch.Add(since) }

// epoch is the fake clock's start.
var epoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// newTestBar returns a bar on a fresh fake clock writing to a buffer.
func newTestBar(label string, total int, tty bool) (*Bar, *fakeClock, *bytes.Buffer) {
	var buf bytes.Buffer
	clk := &fakeClock{t: epoch}
	b := newBar(&buf, label, total, tty)
	b.now = clk.now
	b.start = clk.now()
	b.baseAt = b.start
	return b, clk, &buf
}

func TestFormatDuration(t *testing.T) {
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
		if got := formatDuration(tt.d); got != tt.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestFormatRate(t *testing.T) {
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
		if got := formatRate(tt.done, tt.elapsed); got != tt.want {
			t.Errorf("formatRate(%d, %v) = %q, want %q", tt.done, tt.elapsed, got, tt.want)
		}
	}
}

func TestBarPlain(t *testing.T) {
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
			b, clk, buf := newTestBar("train", tt.total, false)
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

// TestBarTerminal checks what a terminal gets from the library: frames
// redrawn in place ("\r") with the count, the percentage and the label with
// its extra text, no plain lines, and a newline at Finish.
func TestBarTerminal(t *testing.T) {
	tests := []struct {
		name  string
		total int
		last  int
		want  []string
	}{
		{"complete", 10, 10, []string{"100%", "(10/10", "train [elapsed 0s, eta 0s] loss 0.5000"}},
		{"stopped early", 10, 4, []string{" 40%", "(4/10", "train [elapsed 0s, eta ?] stopped"}},
		{"unknown total", 0, 7, []string{"(7/-", "train [elapsed 0s, ? it/s] stopped"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			b := newBar(&buf, "train", tt.total, true)
			for i := 1; i <= tt.last; i++ {
				b.Update(i, "loss 0.5000")
			}
			extra := ""
			if tt.last < tt.total || tt.total == 0 {
				extra = "stopped"
			}
			b.Finish(extra)
			b.Update(tt.last+1, "after Finish") // ignored
			out := buf.String()
			if !strings.HasPrefix(out, "\r") || !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
				t.Fatalf("terminal output %q: want frames starting with \\r and one final newline", out)
			}
			frames := strings.Split(strings.TrimSuffix(out, "\n"), "\r")
			final := frames[len(frames)-1]
			for _, w := range tt.want {
				if !strings.Contains(final, w) {
					t.Errorf("final frame %q lacks %q", final, w)
				}
			}
			if strings.Contains(out, "after Finish") || strings.Contains(out, "\n") && strings.Index(out, "\n") != len(out)-1 {
				t.Errorf("terminal output has an update after Finish or a plain line: %q", out)
			}
		})
	}
}

func TestBarConcurrentUpdates(t *testing.T) {
	for _, tty := range []bool{false, true} {
		var buf bytes.Buffer
		b := newBar(&buf, "par", 800, tty)
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
			t.Errorf("tty %v: output does not end with a newline", tty)
		}
	}
}

func TestIsTerminal(t *testing.T) {
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
	devNull, err := os.Open(os.DevNull) // a character device, but no terminal
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	var nilFile *os.File

	tests := []struct {
		name string
		w    any
		want bool
	}{
		{"buffer", &bytes.Buffer{}, false},
		{"nil file", nilFile, false},
		{"regular file", regular, false},
		{"closed file", closed, false},
		{"/dev/null", devNull, false},
		{"pipe", w, false},
	}
	for _, tt := range tests {
		if got := IsTerminal(tt.w.(interface{ Write([]byte) (int, error) })); got != tt.want {
			t.Errorf("IsTerminal(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestTrainingEvents checks the lines a training shows off a terminal (a
// hook's log): the corpus and resume messages, a bar per phase with the
// loss, and nothing at all when quiet.
func TestTrainingEvents(t *testing.T) {
	events := []trainer.Event{
		{Phase: "corpus", Message: "3 files, 120 tokens"},
		{Phase: "synthesis", Done: 2, Total: 2},
		{Phase: "resume", Message: "training resumed from its checkpoint at step 1 of 2"},
		{Phase: "training", Done: 1, Total: 2, Loss: 2.5, EvalLoss: math.NaN()},
		{Phase: "training", Done: 2, Total: 2, Loss: 1.25, EvalLoss: 1.5},
		{Phase: "done"},
	}
	for _, quiet := range []bool{false, true} {
		var buf bytes.Buffer
		tr := NewTraining(&buf, quiet)
		tr.SetSource("/src/repo")
		for _, e := range events {
			tr.Event(e)
		}
		tr.Finish()
		got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		want := []string{
			"corpus: /src/repo (3 files, 120 tokens)",
			"synthesis 2/2 (100%) elapsed 0s eta 0s",
			"training resumed from its checkpoint at step 1 of 2",
			"training 1/2 (50%) elapsed 0s eta 0s loss 2.5000",
			"training 2/2 (100%) elapsed 0s eta 0s loss 1.2500 held-out 1.5000",
		}
		if quiet {
			if buf.Len() != 0 {
				t.Errorf("quiet: output %q", buf.String())
			}
			continue
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("lines\n got %q\nwant %q", got, want)
		}
	}
}

// TestBarResumed: work done before the bar (a resumed job's first update
// reports it at once) counts in the total, not in the rate or the ETA.
func TestBarResumed(t *testing.T) {
	b, clk, buf := newTestBar("synthesis", 128, false)
	clk.set(100 * time.Millisecond)
	b.Update(120, "") // 93%: a line, no rate yet
	clk.set(10 * time.Second)
	b.Update(122, "") // two conversations in ~10 s
	b.Finish("")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || lines[0] != "synthesis 120/128 (93%) elapsed 0s eta ?" || lines[1] != "synthesis 122/128 (95%) elapsed 10s eta 29s" {
		t.Errorf("lines %q", lines)
	}
	tb, tclk, tbuf := newTestBar("synthesis", 128, true)
	tclk.set(50 * time.Millisecond)
	tb.Update(120, "")
	tb.Finish("")
	if strings.Contains(tbuf.String(), "it/s") || !strings.Contains(tbuf.String(), "eta ?") {
		t.Errorf("terminal: %q", tbuf.String())
	}
}
