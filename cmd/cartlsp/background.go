package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/store"
)

// trainInBackground starts `cartlsp train` again without --background in
// a detached process (its own session, no terminal) that appends its
// output to a log file, and returns at once: a git hook must not make the
// commit wait for a training.
func trainInBackground(args []string, repo *indexer.Repo, dir, storeDir, logPath string, stdout io.Writer) error {
	if logPath == "" {
		if storeDir == "" {
			d, err := store.DefaultDir()
			if err != nil {
				return err
			}
			storeDir = d
		}
		root := dir
		if repo != nil {
			root = repo.Root
		}
		var err error
		if logPath, err = store.LogPath(storeDir, root); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return fmt.Errorf("background training: log directory: %w", err)
	}
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("background training: log file: %w", err)
	}
	defer log.Close()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("background training: finding this program: %w", err)
	}
	var child []string
	for _, a := range args {
		switch strings.TrimLeft(a, "-") {
		case "background", "background=true", "background=1":
			continue
		}
		child = append(child, a)
	}
	// The child waits for a training of the same repository in progress
	// (another commit's), then trains HEAD as it is then.
	child = append([]string{"train", "--wait"}, child...)
	fmt.Fprintf(log, "\n=== %s: cartlsp %s\n", time.Now().Format(time.RFC3339), strings.Join(child, " "))
	cmd := exec.Command(exe, child...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), "CARTLSP_BACKGROUND=1")
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("background training: %w", err)
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	fmt.Fprintf(stdout, "training in the background (pid %d); log: %s\n", pid, logPath)
	return nil
}
