//go:build unix

package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCLIFIFO: a FIFO given as the model or a Cartridge is refused at once,
// not waited on.
func TestCLIFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "x.gguf")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	model := writeChatModel(t, dir)
	for _, args := range [][]string{
		{"model", "info", fifo},
		{"ask", "--model", fifo, "hi"},
		{"ask", "--model", model, "--cart", fifo, "hi"},
		{"inspect", fifo},
	} {
		done := make(chan string, 1)
		go func() { _, _, stderr := runCLI(t, args...); done <- stderr }()
		select {
		case stderr := <-done:
			if !strings.Contains(stderr, "not a regular file") {
				t.Errorf("%v: %s", args, stderr)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%v waits on the FIFO", args)
		}
	}
}
