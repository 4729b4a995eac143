//go:build amd64 && !linux

package cpu

// amxPermit: the tiles are used on Linux only.
func amxPermit() bool { return false }
