package lsp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/uri"
)

// TestSoak is a scripted editor session of $CARTLSP_SOAK (e.g. 10m; skipped
// when unset, so not part of `make test`: `make soak` runs it): documents
// opened, edited and closed, completions (some cancelled), questions (some
// cancelled), commits that make the server train, and configuration
// changes, over and over. Memory (RSS and the Go heap) and goroutines are
// sampled every 5 s into $CARTLSP_SOAK_OUT (a CSV, when set). It fails when a
// request goes unanswered, when memory keeps growing (the last third's peak
// over 1.5× the first third's plus 64 MiB) or when goroutines pile up.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("CARTLSP_SOAK"))
	if err != nil || d <= 0 {
		t.Skip("set CARTLSP_SOAK to a duration (make soak runs 10m)")
	}
	pace := 100 * time.Millisecond // between rounds of edits and requests ($CARTLSP_SOAK_PACE)
	if p, err := time.ParseDuration(os.Getenv("CARTLSP_SOAK_PACE")); err == nil {
		pace = p
	}
	dir := gitRepo(t, goFiles())
	e := newEditor(t, Options{Config: withModel(tinyModel(t), t.TempDir())}, nil)
	e.initialize(dir, map[string]any{"budget": "tiny", "completion": map[string]any{"latencyMs": 2000}})
	ctx := context.Background()
	e.waitStatus("ready", 5*time.Minute, func(s Status) bool { return s.State == "ready" })

	type sample struct {
		at                time.Duration
		rss, heap         uint64
		goroutines, reqs  int
		unanswered, fails int
	}
	var samples []sample
	t0 := time.Now()
	reqs, unanswered, failures, commits := 0, 0, 0, 0
	take := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		samples = append(samples, sample{time.Since(t0), rssBytes(), ms.HeapInuse, runtime.NumGoroutine(), reqs, unanswered, failures})
	}
	take()
	baseGoroutines := runtime.NumGoroutine()
	next := time.Now().Add(5 * time.Second)
	lastCommit, lastConfig := time.Now(), time.Now()
	// call sends a request with a deadline: an answer, an error or a
	// cancellation all count as answered; a deadline that passes with none
	// does not.
	call := func(method string, params any, cancelAfter time.Duration) {
		reqs++
		c, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if cancelAfter > 0 {
			var stop context.CancelFunc
			c, stop = context.WithTimeout(c, cancelAfter)
			defer stop()
		}
		err := e.call(c, method, params, nil)
		switch {
		case err == nil:
		case cancelAfter > 0 && errors.Is(err, context.DeadlineExceeded):
		case c.Err() != nil && cancelAfter == 0:
			unanswered++
			t.Errorf("%s unanswered after 2 min", method)
		default:
			failures++ // an error answer: still an answer
			if failures <= 5 {
				t.Logf("%s: %v", method, err)
			}
		}
	}
	for i := 0; time.Since(t0) < d; i++ {
		name := fmt.Sprintf("f%d.go", i%5)
		u := uri.File(filepath.Join(dir, name))
		text := fmt.Sprintf("package shapes\n\n// Scale%d multiplies.\nfunc Scale%d(x int) int {\n\treturn x * %d\n}\n", i, i, i)
		e.conn.Notify(ctx, "textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": u, "languageId": "go", "version": 1, "text": text}})
		lines := strings.Count(text, "\n")
		for k := 0; k < 3; k++ {
			e.conn.Notify(ctx, "textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": u, "version": 2 + k},
				"contentChanges": []any{map[string]any{"range": map[string]any{"start": map[string]any{"line": lines, "character": 0},
					"end": map[string]any{"line": lines, "character": 0}}, "text": "func Ar\n"}}})
			pos := map[string]any{"line": lines, "character": 7}
			cancelAfter := time.Duration(0)
			if k == 1 {
				cancelAfter = 30 * time.Millisecond // typing on: the editor cancels
			}
			call("textDocument/completion", map[string]any{"textDocument": map[string]any{"uri": u}, "position": pos}, cancelAfter)
			lines++
		}
		call("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": u}, "position": map[string]any{"line": 3, "character": 6}}, 0)
		cancelAsk := time.Duration(0)
		if i%3 == 2 {
			cancelAsk = 50 * time.Millisecond
		}
		call(methodAsk, map[string]any{"question": "What does Scale" + strconv.Itoa(i) + " do?", "maxTokens": 8}, cancelAsk)
		e.conn.Notify(ctx, "textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": u}})
		if time.Since(lastCommit) > 20*time.Second { // a commit: the server trains its Cartridge
			lastCommit = time.Now()
			commits++
			os.WriteFile(filepath.Join(dir, "shapes.go"), []byte(goFiles()["shapes.go"]+fmt.Sprintf("\n// Commit %d.\nfunc C%d() int { return %d }\n", commits, commits, commits)), 0o644)
			soakGit(t, dir, "commit", "-q", "-am", fmt.Sprintf("commit %d", commits))
		}
		if time.Since(lastConfig) > 15*time.Second { // a configuration change
			lastConfig = time.Now()
			e.conn.Notify(ctx, "workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{
				"completion": map[string]any{"maxTokens": 8 + i%3*8}, "ask": map[string]any{"maxTokens": 16 + i%2*16}}})
		}
		time.Sleep(pace) // the user types on
		if time.Now().After(next) {
			take()
			next = time.Now().Add(5 * time.Second)
		}
	}
	// The last commit's Cartridge is trained and served.
	head, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	e.waitStatus("the last commit's Cartridge", 5*time.Minute, func(s Status) bool {
		return s.State == "ready" && s.CartridgeCommit == strings.TrimSpace(string(head))
	})
	time.Sleep(5 * time.Second) // requests and goroutines settle
	runtime.GC()
	take()
	if out := os.Getenv("CARTLSP_SOAK_OUT"); out != "" {
		var b strings.Builder
		b.WriteString("seconds,rss_mib,heap_mib,goroutines,requests,unanswered,error_answers\n")
		for _, s := range samples {
			fmt.Fprintf(&b, "%.0f,%.1f,%.1f,%d,%d,%d,%d\n", s.at.Seconds(), float64(s.rss)/(1<<20), float64(s.heap)/(1<<20), s.goroutines, s.reqs, s.unanswered, s.fails)
		}
		os.WriteFile(out, []byte(b.String()), 0o644)
	}
	third := max(len(samples)/3, 1)
	peak := func(ss []sample) (rss uint64) {
		for _, s := range ss {
			rss = max(rss, s.rss)
		}
		return rss
	}
	first, last := peak(samples[:third]), peak(samples[len(samples)-third:])
	t.Logf("%s: %d requests (%d error answers, %d unanswered), %d commits; RSS peak %d MiB first third, %d MiB last third; goroutines %d → %d",
		d, reqs, failures, unanswered, commits, first>>20, last>>20, baseGoroutines, samples[len(samples)-1].goroutines)
	if float64(last) > 1.5*float64(first)+64<<20 {
		t.Errorf("memory grows: RSS peak %d MiB in the first third, %d MiB in the last", first>>20, last>>20)
	}
	if g := samples[len(samples)-1].goroutines; g > baseGoroutines+20 {
		t.Errorf("goroutines pile up: %d at the start, %d at the end", baseGoroutines, g)
	}
	if commits == 0 || reqs == 0 {
		t.Errorf("the session did too little: %d requests, %d commits", reqs, commits)
	}
}

// rssBytes is this process's resident set size (0 where /proc is absent).
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseUint(strings.Fields(v)[0], 10, 64)
			return n << 10
		}
	}
	return 0
}

func soakGit(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@x", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@x",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}
