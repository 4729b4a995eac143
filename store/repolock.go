package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gofrs/flock"
)

// reposName is the directory of the per-repository lock files.
const reposName = "repos"

// LockRepo serializes the trainings of one repository across processes —
// the editor's language server and the background trainings commit hooks
// start — so that they never compete for the CPU and each one can
// warm-start from the Cartridge the previous one finished. It takes
// <store>/repos/<hash of repo>.lock exclusively; when another process holds
// it, it waits (wait) until ctx is done, or returns an error wrapping
// ErrBusy. release drops the lock.
func (s *Store) LockRepo(ctx context.Context, repo string, wait bool) (release func() error, err error) {
	dir := filepath.Join(s.dir, reposName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	h := sha256.Sum256([]byte(repo))
	path := filepath.Join(dir, hex.EncodeToString(h[:12])+".lock")
	l := flock.New(path, flock.SetPermissions(0o644))
	patience := busyGrace
	if wait {
		patience = 0
	}
	if err := acquire(ctx, l.TryLock, pollEvery, patience, s.busy(path)); err != nil {
		return nil, fmt.Errorf("store: another cartlsp process is training %s: %w", repo, err)
	}
	return l.Unlock, nil
}
