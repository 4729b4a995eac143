package main

import (
	"io"
	"os"

	"github.com/cartlsp/cartlsp/trainer/progress"
)

// eval.go's progress bar, until it calls progress.NewBar itself (which
// detects the terminal from the writer, so tty is not needed).
type progressBar = progress.Bar

func isTerminal(f *os.File) bool { return progress.IsTerminal(f) }

func newProgressBar(w io.Writer, label string, total int, tty bool) *progressBar {
	return progress.NewBar(w, label, total)
}
