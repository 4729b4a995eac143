//go:build unix

package generate

import (
	"runtime"
	"syscall"
)

// peakRSSMiB is the process's peak resident set size.
func peakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return float64(ru.Maxrss) / (1 << 20) // macOS reports bytes
	}
	return float64(ru.Maxrss) / 1024 // Linux and the BSDs report KiB
}
