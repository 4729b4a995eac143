package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gofrs/flock"
)

// Locking.
//
// Two kinds of lock file, both taken with flock(2) on Unix and LockFileEx on
// Windows through github.com/gofrs/flock:
//
//   - <store>/lock, the store lock: every training holds it SHARED for as long
//     as its Txn lives; GC holds it EXCLUSIVE, so GC never runs while a
//     training writes, and a training never starts while GC deletes.
//   - <store>/entries/<id>/lock, the entry lock: a training holds it
//     EXCLUSIVE, so two processes (the editor's language server and
//     `cartlsp train` run from a commit hook) never train one entry at once.
//
// These are advisory locks held by an open file, not by the file's existence:
// the kernel drops them when the holder closes the file or dies, however it
// dies (crash, kill -9, power cut). A lock file left on disk by a dead process
// is therefore not a stale lock — the next TryLock simply succeeds — and lock
// files are never deleted while the store is in use (deleting one would let a
// second process lock a fresh inode at the same path while the first still
// holds the old one). They go only with their entry, under the exclusive
// store lock.
//
// flock(2) and LockFileEx locks belong to an open file description / handle,
// not to the process, so two Flock values on one path conflict within one
// process too: a language server that trains in-process and also runs GC is
// protected like two processes are. (The fcntl emulation gofrs/flock uses on
// AIX and Solaris is per process; cartlsp does not target those.)

// ErrBusy reports that a lock is held by another training or by GC.
var ErrBusy = errors.New("store: busy")

// pollEvery is how often a waiting Begin or GC retries a held lock.
const pollEvery = 200 * time.Millisecond

// busyGrace is how long Begin without wait keeps retrying a held entry lock
// before it reports ErrBusy. Get, List and GC probe entry locks for a moment
// (see probeLocked); the grace keeps such a probe from passing for a training.
const busyGrace = 250 * time.Millisecond

// storePatience bounds how long Begin without wait waits for the store lock,
// which only GC holds exclusively, and only briefly.
const storePatience = 30 * time.Second

// lockName is the lock file's name, in the store and in each entry.
const lockName = "lock"

// acquire calls try until it takes the lock, ctx is done or patience (when
// positive) has passed, retrying every `every`; busy (when not nil) is
// called each time try found the lock held and acquire is about to wait. It
// returns nil when the lock is taken, an error wrapping ErrBusy when patience
// ran out, and an error wrapping ErrBusy and ctx.Err() when ctx ended.
func acquire(ctx context.Context, try func() (bool, error), every, patience time.Duration, busy func()) error {
	var deadline time.Time
	if patience > 0 {
		deadline = time.Now().Add(patience)
	}
	for {
		ok, err := try()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return ErrBusy
		}
		if busy != nil {
			busy()
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (%w)", ErrBusy, ctx.Err())
		case <-t.C:
		}
	}
}

// busy is what acquire calls when the lock file at path is held: s.onBusy
// with path, which tests set to know a waiter reached its wait.
func (s *Store) busy(path string) func() {
	if s.onBusy == nil {
		return nil
	}
	return func() { s.onBusy(path) }
}

// probeLocked reports whether someone holds the lock file at path, by taking
// and at once dropping a shared lock. A missing lock file is not locked (and
// is not created).
func probeLocked(path string) bool {
	if _, err := os.Stat(path); err != nil {
		return false
	}
	l := flock.New(path)
	ok, err := l.TryRLock()
	if err != nil {
		return false
	}
	if ok {
		_ = l.Unlock()
		return false
	}
	return true
}
