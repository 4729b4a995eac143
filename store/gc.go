package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gofrs/flock"
)

// GCOptions says what GC keeps.
type GCOptions struct {
	// Keep is how many complete entries GC keeps per (Repo, Key.Model,
	// Key.Recipe), newest first; 0 or less means 5.
	Keep int
	// MaxIncompleteAge is how long an incomplete entry (an interrupted
	// training) may sit untouched before GC removes it; 0 means 7 days.
	MaxIncompleteAge time.Duration
	// DryRun removes nothing and returns what would be removed. It takes the
	// store lock shared only, so it runs beside trainings.
	DryRun bool
	// Now is the time GC measures ages from; zero means time.Now().
	Now time.Time
}

// DefaultKeep and DefaultMaxIncompleteAge are GCOptions' defaults.
const (
	DefaultKeep             = 5
	DefaultMaxIncompleteAge = 7 * 24 * time.Hour
)

// groupKey is what GC's Keep counts within.
type groupKey struct{ repo, model, recipe string }

// GC removes entries nobody needs:
//   - complete entries beyond Keep in their (Repo, Key.Model, Key.Recipe)
//     group, the oldest first;
//   - entries whose Repo is an absolute local path that no longer exists;
//   - incomplete entries untouched for longer than MaxIncompleteAge;
//   - damaged entries (meta.json missing or unreadable);
//
// and the temp files interrupted writes left in entries and their work
// directories.
//
// It never removes an entry whose entry lock is held. It takes the store lock
// exclusively, waiting while trainings hold it until ctx is done (an error
// wrapping ErrBusy). It returns the entries removed (or, DryRun, that would
// be), each with its Reason; when some could not be removed it returns them
// left out and an error naming them.
func (s *Store) GC(ctx context.Context, o GCOptions) ([]Entry, error) {
	if o.Keep <= 0 {
		o.Keep = DefaultKeep
	}
	if o.MaxIncompleteAge <= 0 {
		o.MaxIncompleteAge = DefaultMaxIncompleteAge
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	storeLock := filepath.Join(s.dir, lockName)
	l := flock.New(storeLock)
	try := l.TryLock
	if o.DryRun {
		try = l.TryRLock
	}
	if err := acquire(ctx, try, pollEvery, 0, s.busy(storeLock)); err != nil {
		return nil, fmt.Errorf("store: gc: a training is using the store: %w", err)
	}
	defer l.Unlock()

	if !o.DryRun {
		// Whatever an interrupted GC left half-deleted, and the temp files
		// of writes that died: with the store lock held exclusively no
		// training or pull is writing any.
		_ = os.RemoveAll(filepath.Join(s.dir, trashName))
		s.removeStaleTemps()
	}
	entries, err := s.List()
	if err != nil {
		return nil, err
	}
	doomed := plan(entries, o)
	if o.DryRun {
		return doomed, nil
	}
	var removed []Entry
	var errs []error
	for _, e := range doomed {
		if err := s.remove(e); err != nil {
			errs = append(errs, fmt.Errorf("entry %s: %w", e.ID, err))
			continue
		}
		removed = append(removed, e)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("store: gc: %w", err)
	}
	return removed, nil
}

// plan picks the entries GC removes from entries (newest first), setting
// their Reason.
func plan(entries []Entry, o GCOptions) []Entry {
	var doomed []Entry
	seen := map[groupKey]int{}
	for _, e := range entries {
		switch {
		case e.Locked:
			continue // a training holds it: never
		case e.Damaged():
			e.Reason = "damaged: " + e.Problem
		case repoGone(e.Meta.Repo):
			e.Reason = "repository " + e.Meta.Repo + " no longer exists"
		case !e.Complete:
			if age := o.Now.Sub(e.Modified); age > o.MaxIncompleteAge {
				e.Reason = "incomplete, untouched for " + Age(age)
			}
		default:
			g := groupKey{e.Meta.Repo, e.Meta.Key.Model, e.Meta.Key.Recipe}
			seen[g]++
			if n := seen[g]; n > o.Keep {
				e.Reason = "not among the " + strconv.Itoa(o.Keep) + " newest for its repository, model and recipe"
			}
		}
		if e.Reason != "" {
			doomed = append(doomed, e)
		}
	}
	return doomed
}

// repoGone reports whether repo is an absolute local path that no longer
// exists. URLs and module@version never are.
func repoGone(repo string) bool {
	if repo == "" || !filepath.IsAbs(repo) {
		return false
	}
	_, err := os.Stat(repo)
	return errors.Is(err, fs.ErrNotExist)
}

// remove deletes one entry. The caller holds the store lock exclusively, so
// no Begin can take the entry lock meanwhile; the entry lock is checked once
// more (and dropped again before the rename, which Windows needs) in case a
// process outside these rules holds it. The directory is first renamed into
// trash/, atomically, so that List never sees a half-deleted entry.
func (s *Store) remove(e Entry) error {
	lock := filepath.Join(e.Dir, lockName)
	if _, err := os.Stat(lock); err == nil {
		l := flock.New(lock)
		ok, err := l.TryLock()
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: a training holds it", ErrBusy)
		}
		if err := l.Unlock(); err != nil {
			return err
		}
	}
	trash := filepath.Join(s.dir, trashName)
	if err := os.MkdirAll(trash, 0o755); err != nil {
		return err
	}
	dst := filepath.Join(trash, e.ID+"."+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := os.Rename(e.Dir, dst); err != nil {
		return err
	}
	return os.RemoveAll(dst)
}

// Age formats a duration for people, coarsely: "45s", "12m", "3h", "9d".
func Age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(max(d, 0)/time.Second)) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d"
}

// removeStaleTemps removes the temp files (atomicfile's, a pull's) left in
// every entry and its work directory. The caller holds the store lock
// exclusively.
func (s *Store) removeStaleTemps() {
	des, _ := os.ReadDir(filepath.Join(s.dir, entriesName))
	for _, de := range des {
		if de.IsDir() && validID(de.Name()) {
			dir := s.entryDir(de.Name())
			removeTemps(dir)
			removeTemps(filepath.Join(dir, WorkName))
		}
	}
}
