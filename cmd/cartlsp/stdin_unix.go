//go:build unix

package main

import (
	"os"
	"syscall"
)

// pollableStdin is standard input in non-blocking mode, so that Go's poller
// reads it and closing it wakes a blocked read (the language server closes
// it on exit; a blocking descriptor would keep the read, and the process,
// hanging).
func pollableStdin() *os.File {
	if err := syscall.SetNonblock(0, true); err != nil {
		return os.Stdin
	}
	return os.NewFile(0, "/dev/stdin")
}
