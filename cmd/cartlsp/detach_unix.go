//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// detach makes the child a session leader without a controlling terminal,
// so it outlives the hook (and the terminal) that started it.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}
