// Package store keeps trained Cartridges on disk: one entry per (model
// fingerprint, corpus fingerprint, recipe hash), in a directory of the user's
// cache. The editor's language server and `cartlsp train` run from a git hook
// use one store at the same time, so every write is atomic (temp file, fsync,
// rename, directory fsync) and every training holds file locks (lock.go).
//
// Layout:
//
//	<store>/lock                       the store lock (shared: training, exclusive: GC)
//	<store>/entries/<id>/lock          the entry lock (exclusive while a training runs)
//	<store>/entries/<id>/meta.json     Meta, rewritten atomically
//	<store>/entries/<id>/cartridge.cart  present only once training committed (its sha256 in meta.json)
//	<store>/entries/<id>/cartridge.cart.damaged, damaged.txt  one that failed its checksum, and why
//	<store>/entries/<id>/work/         the trainer's dataset, checkpoint and loss curve
//	<store>/trash/                     entries being deleted by GC
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cartlsp/cartlsp/atomicfile"
	"github.com/gofrs/flock"
)

// File names inside an entry. The files in work/ are named by their owner
// (the trainer, trainer.DatasetFile and trainer.CheckpointFile).
const (
	MetaName      = "meta.json"
	CartridgeName = "cartridge.cart"
	WorkName      = "work"
	entriesName   = "entries"
	trashName     = "trash"
	tempSuffix    = atomicfile.TempSuffix // ends every temp file in an entry, atomicfile.Write's too
	damagedSuffix = ".damaged"            // a cartridge.cart that failed its checksum, set aside
	damagedName   = "damaged.txt"         // why it was set aside
)

// DefaultDir is $CARTLSP_STORE when set, else <user cache>/cartlsp/store.
func DefaultDir() (string, error) {
	if d := os.Getenv("CARTLSP_STORE"); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("store: no cache directory (set CARTLSP_STORE or XDG_CACHE_HOME): %w", err)
	}
	return filepath.Join(base, "cartlsp", "store"), nil
}

// Meta describes an entry; it is the entry's meta.json.
type Meta struct {
	Key  Key    `json:"key"`
	Repo string `json:"repo,omitempty"` // the repository's absolute path, or a URL, or module@version
	// Ecosystem is set on a dependency's Cartridge (go, npm, pypi; Repo is
	// then its module@version); Source says where it came from: "trained"
	// here or the location it was pulled from.
	Ecosystem string `json:"ecosystem,omitempty"`
	Source    string `json:"source,omitempty"`
	Commit    string `json:"commit,omitempty"`
	Branch    string `json:"branch,omitempty"`
	// Parent is the ID of the entry this Cartridge was warm-started from, ""
	// when it was trained from scratch.
	Parent string `json:"parent,omitempty"`
	// Generation is 0 for a Cartridge trained from scratch, the parent's + 1
	// for a warm-started one.
	Generation   int       `json:"generation"`
	Budget       string    `json:"budget,omitempty"`
	Method       string    `json:"method,omitempty"`
	Created      time.Time `json:"created"`
	TrainSeconds float64   `json:"train_seconds,omitempty"`
	// CartridgeSHA256 and CartridgeBytes are cartridge.cart's, recorded at
	// Commit and checked before an entry is served (Lookup); entries made
	// before they existed are served unchecked.
	CartridgeSHA256 string `json:"cartridge_sha256,omitempty"`
	CartridgeBytes  int64  `json:"cartridge_bytes,omitempty"`
}

// Entry is one entry as found on disk.
type Entry struct {
	ID       string    `json:"id"`
	Dir      string    `json:"dir"`
	Meta     Meta      `json:"meta"`
	Complete bool      `json:"complete"` // cartridge.cart is present and meta.json is sound
	Bytes    int64     `json:"bytes"`    // all files of the entry, work/ included
	Locked   bool      `json:"locked"`   // a training holds the entry now
	Modified time.Time `json:"modified"` // the newest modification time of its files
	// Problem says why the entry is damaged (meta.json missing, unreadable or
	// naming another key); "" when it is sound.
	Problem string `json:"problem,omitempty"`
	// Reason is set by GC: why it removed (or would remove) the entry.
	Reason string `json:"reason,omitempty"`
	// CartridgeProblem says why cartridge.cart is not served although it is
	// there: it does not match the size or checksum in meta.json (Lookup then
	// sets it aside as cartridge.cart.damaged). The next training makes it
	// again.
	CartridgeProblem string `json:"cartridge_problem,omitempty"`
}

// Damaged reports whether the entry's meta.json is missing or unusable.
func (e Entry) Damaged() bool { return e.Problem != "" }

// State is a word for people: "training" (locked), "ready", "damaged" or
// "incomplete" (an interrupted training that the next one resumes); an
// entry whose Cartridge failed its checksum is "damaged" too, until the next
// training makes it again.
func (e Entry) State() string {
	switch {
	case e.Locked:
		return "training"
	case e.Complete:
		return "ready"
	case e.Damaged(), e.CartridgeProblem != "":
		return "damaged"
	}
	return "incomplete"
}

// when is the entry's time for ordering: its creation, else its last change.
func (e Entry) when() time.Time {
	if !e.Meta.Created.IsZero() {
		return e.Meta.Created
	}
	return e.Modified
}

// Store is a Cartridge store directory. Its methods may be called from many
// goroutines and processes at once.
type Store struct {
	dir string
	// verified remembers the cartridge.cart files whose checksum Lookup
	// checked, by entry ID, with their size and modification time.
	verified sync.Map // id → verifiedFile
	// onBusy, when set (by tests, before any use), is called with a lock
	// file's path each time Begin, GC or LockRepo finds it held and is
	// about to wait.
	onBusy func(lock string)
}

// Open opens the store in dir, creating dir and its layout when missing.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("store: no directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(abs, entriesName), 0o755); err != nil {
		return nil, fmt.Errorf("store: cannot create %s (set CARTLSP_STORE to a writable directory): %w", abs, err)
	}
	// The store lock file is created once and never removed; creating it here
	// also checks that the directory is writable.
	f, err := os.OpenFile(filepath.Join(abs, lockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: %s is not writable (set CARTLSP_STORE to a writable directory): %w", abs, err)
	}
	f.Close()
	return &Store{dir: abs}, nil
}

// Dir is the store's absolute directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) entryDir(id string) string { return filepath.Join(s.dir, entriesName, id) }

// Lookup returns the complete entry for k, or nil, nil when there is none or
// it is not complete. It takes no lock: a complete cartridge.cart is only
// ever replaced by a rename, so a reader sees the old file or the new one.
//
// An entry whose meta.json records a checksum is served only when
// cartridge.cart matches it; one that does not is set aside (renamed to
// cartridge.cart.damaged, logged), and Lookup answers as if it were
// incomplete, so that the next training makes it again.
func (s *Store) Lookup(k Key) (*Entry, error) {
	e, err := s.read(k.ID(), false)
	if err != nil || e == nil || !e.Complete {
		return nil, err
	}
	if why := s.verify(e); why != "" {
		s.setAside(e, why)
		return nil, nil
	}
	return e, nil
}

// Get returns the entry with the given ID, complete or not, or nil, nil when
// there is none.
func (s *Store) Get(id string) (*Entry, error) {
	if !validID(id) {
		return nil, fmt.Errorf("store: %q is not an entry ID (24 hex digits)", id)
	}
	return s.read(id, true)
}

// List returns every entry, newest first. A damaged entry is listed with
// Complete false and its Problem; it never makes List fail.
func (s *Store) List() ([]Entry, error) {
	des, err := os.ReadDir(filepath.Join(s.dir, entriesName))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var out []Entry
	for _, de := range des {
		// Only directories named like an ID are entries: nothing else the
		// store or a person might leave there (a lock file, a temp file).
		if !de.IsDir() || !validID(de.Name()) {
			continue
		}
		e, err := s.read(de.Name(), true)
		if err != nil || e == nil { // vanished meanwhile
			continue
		}
		out = append(out, *e)
	}
	sortEntries(out)
	return out, nil
}

// sortEntries orders entries newest first, by ID when equally new.
func sortEntries(es []Entry) {
	sort.SliceStable(es, func(i, j int) bool {
		ti, tj := es[i].when(), es[j].when()
		if !ti.Equal(tj) {
			return ti.After(tj)
		}
		return es[i].ID < es[j].ID
	})
}

// read describes the entry id from disk; nil, nil when its directory is
// absent. probe says whether to find out if a training holds it.
func (s *Store) read(id string, probe bool) (*Entry, error) {
	dir := s.entryDir(id)
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if !st.IsDir() {
		return nil, nil
	}
	e := &Entry{ID: id, Dir: dir, Modified: st.ModTime()}
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil // a file removed meanwhile is simply not counted
		}
		if info, err := d.Info(); err == nil {
			e.Bytes += info.Size()
			if info.ModTime().After(e.Modified) {
				e.Modified = info.ModTime()
			}
		}
		return nil
	})
	data, err := os.ReadFile(filepath.Join(dir, MetaName))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		e.Problem = "no " + MetaName
	case err != nil:
		e.Problem = fmt.Sprintf("%s: %v", MetaName, err)
	default:
		if err := json.Unmarshal(data, &e.Meta); err != nil {
			e.Problem = fmt.Sprintf("%s: %v", MetaName, err)
			e.Meta = Meta{}
		} else if got := e.Meta.Key.ID(); got != id {
			e.Problem = fmt.Sprintf("%s names the key of entry %s", MetaName, got)
		}
	}
	if e.Problem == "" {
		if st, err := os.Stat(filepath.Join(dir, CartridgeName)); err == nil && st.Mode().IsRegular() && st.Size() > 0 &&
			(e.Meta.CartridgeBytes == 0 || st.Size() == e.Meta.CartridgeBytes) {
			e.Complete = true
		} else if err == nil && e.Meta.CartridgeBytes > 0 && st.Size() != e.Meta.CartridgeBytes {
			e.CartridgeProblem = fmt.Sprintf("%s is %d bytes, %s says %d", CartridgeName, st.Size(), MetaName, e.Meta.CartridgeBytes)
		}
		if b, err := os.ReadFile(filepath.Join(dir, damagedName)); err == nil && e.CartridgeProblem == "" && !e.Complete {
			e.CartridgeProblem = strings.TrimSpace(string(b))
		}
	}
	if probe {
		e.Locked = probeLocked(filepath.Join(dir, lockName))
	}
	return e, nil
}

// Txn is one training's hold on an entry: from Begin to Release it owns the
// entry's directory, and GC leaves the store alone.
type Txn struct {
	s         *Store
	id        string
	key       Key
	meta      Meta
	entryLock *flock.Flock
	storeLock *flock.Flock

	mu        sync.Mutex
	released  bool
	committed bool
}

// Begin starts (or resumes) training the entry for k. It takes the store lock
// shared and the entry lock exclusive. When another process trains the entry,
// Begin returns an error wrapping ErrBusy if wait is false, and otherwise
// retries every 200ms until the lock is free or ctx is done.
//
// It creates entries/<id>/work/, which survives an interrupted training so
// that the next Begin resumes from what is there, and writes m as meta.json
// (with m.Key = k and m.Created = now when zero). When the entry is already
// complete, its meta.json is left as it is until Commit replaces both.
// Call Release when done, committed or not.
func (s *Store) Begin(ctx context.Context, k Key, m Meta, wait bool) (*Txn, error) {
	if m.Key != (Key{}) && m.Key != k {
		return nil, fmt.Errorf("store: Begin: meta names key %s, not %s", m.Key.ID(), k.ID())
	}
	if err := k.check(); err != nil {
		return nil, err
	}
	m.Key = k
	if m.Created.IsZero() {
		m.Created = time.Now().UTC()
	}
	t := &Txn{s: s, id: k.ID(), key: k, meta: m}

	// The store lock first, so GC cannot delete the entry meanwhile. Only GC
	// takes it exclusively, and briefly, so even without wait it is worth a
	// wait.
	storeLock := filepath.Join(s.dir, lockName)
	t.storeLock = flock.New(storeLock)
	patience := time.Duration(0)
	if !wait {
		patience = storePatience
	}
	if err := acquire(ctx, t.storeLock.TryRLock, pollEvery, patience, s.busy(storeLock)); err != nil {
		return nil, fmt.Errorf("store: the store is being cleaned (cartlsp store gc): %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			t.unlock()
		}
	}()

	dir := t.Dir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	entryLock := filepath.Join(dir, lockName)
	t.entryLock = flock.New(entryLock, flock.SetPermissions(0o644))
	if wait {
		if err := acquire(ctx, t.entryLock.TryLock, pollEvery, 0, s.busy(entryLock)); err != nil {
			return nil, fmt.Errorf("store: waiting for the training of entry %s: %w", t.id, err)
		}
	} else if err := acquire(ctx, t.entryLock.TryLock, busyGrace/10, busyGrace, s.busy(entryLock)); err != nil {
		return nil, fmt.Errorf("store: entry %s is being trained by another process: %w", t.id, err)
	}

	if err := os.MkdirAll(t.WorkDir(), 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	removeTemps(dir) // left by a process that died writing; we own the entry now
	if _, err := os.Stat(t.CartridgePath()); err != nil {
		if err := writeJSONAtomic(filepath.Join(dir, MetaName), m); err != nil {
			return nil, err
		}
	}
	ok = true
	return t, nil
}

// removeTemps removes temp files left in dir by an interrupted write.
func removeTemps(dir string) {
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		if !de.IsDir() && strings.HasSuffix(de.Name(), tempSuffix) {
			_ = os.Remove(filepath.Join(dir, de.Name()))
		}
	}
}

// ID is the entry's ID.
func (t *Txn) ID() string { return t.id }

// Meta is the meta.json Begin wrote (or will write at Commit).
func (t *Txn) Meta() Meta { return t.meta }

// Dir is the entry's directory, entries/<id>.
func (t *Txn) Dir() string { return t.s.entryDir(t.id) }

// WorkDir is entries/<id>/work: the trainer's dataset, checkpoint and loss
// curve, kept between attempts.
func (t *Txn) WorkDir() string { return filepath.Join(t.Dir(), WorkName) }

// CartridgePath is where the finished Cartridge lives: entries/<id>/cartridge.cart.
func (t *Txn) CartridgePath() string { return filepath.Join(t.Dir(), CartridgeName) }

// TempCartridgePath is where the trainer writes the Cartridge before Commit
// renames it into place; it is in the same directory, so the rename is atomic.
func (t *Txn) TempCartridgePath() string { return t.CartridgePath() + tempSuffix }

// Commit publishes the Cartridge written at TempCartridgePath: it fsyncs it,
// renames it to CartridgePath, rewrites meta.json from m (m.Key = the Txn's
// key; m.Created = now when zero) and removes the files named in discard
// from the work directory (what must not outlive the training, the trainer's
// checkpoint), keeping the rest (the dataset and loss curve, for a later
// incremental training). Commit does not release the locks; Release does.
func (t *Txn) Commit(m Meta, discard ...string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.released:
		return errors.New("store: Commit after Release")
	case t.committed:
		return errors.New("store: Commit called twice")
	case m.Key != (Key{}) && m.Key != t.key:
		return fmt.Errorf("store: Commit: meta names key %s, not %s", m.Key.ID(), t.id)
	}
	m.Key = t.key
	if m.Created.IsZero() {
		m.Created = time.Now().UTC()
	}
	tmp := t.TempCartridgePath()
	sum, n, err := fileSHA256(tmp)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: Commit: no Cartridge was written to %s", tmp)
	} else if err != nil {
		return fmt.Errorf("store: Commit: %w", err)
	}
	m.CartridgeSHA256, m.CartridgeBytes = sum, n
	if err := atomicfile.Rename(tmp, t.CartridgePath()); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: Commit: no Cartridge was written to %s", tmp)
		}
		return fmt.Errorf("store: Commit: %w", err)
	}
	if err := writeJSONAtomic(filepath.Join(t.Dir(), MetaName), m); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(t.Dir(), damagedName)) // made again
	_ = os.Remove(filepath.Join(t.Dir(), CartridgeName+damagedSuffix))
	for _, name := range discard {
		if err := os.Remove(filepath.Join(t.WorkDir(), name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: Commit: %w", err)
		}
	}
	t.meta = m
	t.committed = true
	return nil
}

// Release drops the locks. It may be called more than once. An entry that
// was not committed stays incomplete, with its work directory, and the next
// Begin for its key resumes it.
func (t *Txn) Release() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.released {
		return nil
	}
	t.released = true
	return t.unlock()
}

// unlock drops the entry lock, then the store lock.
func (t *Txn) unlock() error {
	var errs []error
	if t.entryLock != nil {
		errs = append(errs, t.entryLock.Unlock())
	}
	if t.storeLock != nil {
		errs = append(errs, t.storeLock.Unlock())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: release: %w", err)
	}
	return nil
}

// writeJSONAtomic writes v as indented JSON to path atomically.
func writeJSONAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return writeFileAtomic(path, append(data, '\n'))
}

// writeFileAtomic writes data to path so that a reader, or a crash, sees
// either the old file or the new one (atomicfile.WriteFile).
func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("store: writing %s: %w", path, err)
	}
	return nil
}
