//go:build !unix

package main

import "os/exec"

// detach does nothing where sessions do not exist: the child is started
// without a console handle and keeps running after its parent exits.
func detach(cmd *exec.Cmd) {}
