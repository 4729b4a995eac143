//go:build !unix

package main

import "os"

// pollableStdin is standard input (on these systems closing it is enough).
func pollableStdin() *os.File { return os.Stdin }
