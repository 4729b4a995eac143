package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// busySignal sets s.onBusy to report, without blocking, each lock file a
// waiter finds held; awaitBusy then knows a waiter reached its wait.
func busySignal(s *Store) <-chan string {
	ch := make(chan string, 256)
	s.onBusy = func(lock string) {
		select {
		case ch <- lock:
		default:
		}
	}
	return ch
}

// awaitBusy waits until a waiter reports finding lock (a lock file's path,
// or the directory of the lock files meant) held.
func awaitBusy(t *testing.T, busy <-chan string, lock, who string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l := <-busy:
			if l == lock || filepath.Dir(l) == lock {
				return
			}
		case <-deadline:
			t.Fatalf("%s never found %s held", who, lock)
		}
	}
}

// The trainer's files in work/ (trainer.DatasetFile, trainer.CheckpointFile);
// the store knows them only as what Commit is told to discard or keep.
const (
	datasetFile    = "dataset.bin"
	checkpointFile = "checkpoint.ckpt"
)

func testKey(i int) Key {
	return Key{Model: "sha256:model", Corpus: fmt.Sprintf("sha256:corpus-%d", i), Recipe: "sha256:recipe"}
}

// train runs a whole training through the API: Begin, a dataset and a
// checkpoint in work/, the Cartridge at the temp path, Commit, Release.
func train(t *testing.T, s *Store, k Key, m Meta) *Entry {
	t.Helper()
	txn, err := s.Begin(context.Background(), k, m, false)
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Release()
	for name, data := range map[string]string{datasetFile: "dataset", checkpointFile: "checkpoint", "loss.tsv": "0\t1.5\n"} {
		if err := os.WriteFile(filepath.Join(txn.WorkDir(), name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(txn.TempCartridgePath(), []byte("cartridge bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(m, checkpointFile); err != nil {
		t.Fatal(err)
	}
	if err := txn.Release(); err != nil {
		t.Fatal(err)
	}
	e, err := s.Lookup(k)
	if err != nil || e == nil {
		t.Fatalf("Lookup after Commit: %v, %v", e, err)
	}
	return e
}

func TestStoreKeyID(t *testing.T) {
	if got, want := (Key{"sha256:model", "sha256:corpus", "sha256:recipe"}).ID(), "35ea5cd9498f8310605d78c5"; got != want {
		t.Fatalf("ID changed: %s, want %s (a changed ID orphans every store)", got, want)
	}
	if got, want := (Key{}).ID(), "96a296d224f285c67bee93c3"; got != want {
		t.Fatalf("empty key ID %s, want %s", got, want)
	}
	// Keys that a careless concatenation would confuse must differ.
	keys := []Key{
		{"ab", "c", ""}, {"a", "bc", ""}, {"a", "b", "c"}, {"", "abc", ""}, {"abc", "", ""},
		{"", "", "abc"}, testKey(1), testKey(2),
	}
	seen := map[string]Key{}
	for _, k := range keys {
		id := k.ID()
		if !validID(id) {
			t.Errorf("%+v: ID %q is not 24 hex digits", k, id)
		}
		if id != k.ID() {
			t.Errorf("%+v: ID not stable", k)
		}
		if o, dup := seen[id]; dup {
			t.Errorf("%+v and %+v share ID %s", k, o, id)
		}
		seen[id] = k
	}
}

func TestStoreOpen(t *testing.T) {
	s := newStore(t)
	for _, p := range []string{lockName, entriesName} {
		if _, err := os.Stat(filepath.Join(s.Dir(), p)); err != nil {
			t.Errorf("layout: %v", err)
		}
	}
	// A store under a regular file cannot be created: a clear error.
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := Open(filepath.Join(f, "store")); err == nil || !strings.Contains(err.Error(), "CARTLSP_STORE") {
		t.Errorf("Open under a file: %v", err)
	}
	t.Setenv("CARTLSP_STORE", "/some/where")
	if d, err := DefaultDir(); err != nil || d != "/some/where" {
		t.Errorf("DefaultDir = %q, %v", d, err)
	}
	t.Setenv("CARTLSP_STORE", "")
	if d, err := DefaultDir(); err == nil && !strings.HasSuffix(d, filepath.Join("cartlsp", "store")) {
		t.Errorf("DefaultDir = %q", d)
	}
}

func TestStoreRoundTrip(t *testing.T) {
	s := newStore(t)
	k := testKey(1)
	m := Meta{Repo: "https://example.com/r.git", Commit: "0123456789abcdef0123", Branch: "main", Budget: "small", Method: "distill"}
	txn, err := s.Begin(context.Background(), k, m, false)
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Release()
	if txn.Dir() != filepath.Join(s.Dir(), entriesName, k.ID()) || filepath.Dir(txn.TempCartridgePath()) != txn.Dir() {
		t.Fatalf("paths: %s %s", txn.Dir(), txn.TempCartridgePath())
	}
	if st, err := os.Stat(txn.WorkDir()); err != nil || !st.IsDir() {
		t.Fatalf("work dir: %v", err)
	}
	// While training: Lookup finds nothing, Get finds it locked and incomplete.
	if e, err := s.Lookup(k); e != nil || err != nil {
		t.Fatalf("Lookup during training: %+v, %v", e, err)
	}
	e, err := s.Get(k.ID())
	if err != nil || e == nil || e.Complete || !e.Locked || e.Damaged() || e.State() != "training" || e.Meta.Commit != m.Commit {
		t.Fatalf("Get during training: %+v, %v", e, err)
	}
	os.WriteFile(filepath.Join(txn.WorkDir(), datasetFile), []byte("dataset"), 0o644)
	os.WriteFile(filepath.Join(txn.WorkDir(), checkpointFile), []byte("ckpt"), 0o644)
	if err := txn.Commit(m); err == nil {
		t.Fatal("Commit with no Cartridge written succeeded")
	}
	os.WriteFile(txn.TempCartridgePath(), []byte("cartridge"), 0o644)
	m.TrainSeconds = 12.5
	if err := txn.Commit(m, checkpointFile); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(m); err == nil {
		t.Fatal("second Commit succeeded")
	}
	for range 2 { // idempotent
		if err := txn.Release(); err != nil {
			t.Fatal(err)
		}
	}
	e, err = s.Lookup(k)
	if err != nil || e == nil {
		t.Fatalf("Lookup: %v, %v", e, err)
	}
	if !e.Complete || e.Locked || e.State() != "ready" || e.ID != k.ID() || e.Meta.Key != k ||
		e.Meta.Repo != m.Repo || e.Meta.Branch != "main" || e.Meta.TrainSeconds != 12.5 || e.Meta.Created.IsZero() || e.Bytes == 0 {
		t.Fatalf("entry: %+v", e)
	}
	if _, err := os.Stat(filepath.Join(e.Dir, WorkName, checkpointFile)); !os.IsNotExist(err) {
		t.Errorf("checkpoint kept after Commit: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.Dir, WorkName, datasetFile)); err != nil {
		t.Errorf("dataset removed by Commit: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(e.Dir, CartridgeName)); string(got) != "cartridge" {
		t.Errorf("cartridge = %q", got)
	}
	// Commit leaves no temp files anywhere in the entry.
	filepath.WalkDir(e.Dir, func(p string, _ os.DirEntry, _ error) error {
		if strings.Contains(filepath.Base(p), tempSuffix) {
			t.Errorf("temp file left: %s", p)
		}
		return nil
	})
	if _, err := s.Begin(context.Background(), Key{Model: "a\x00b"}, Meta{}, false); err == nil {
		t.Error("Begin accepted a key with a NUL byte, which would make IDs ambiguous")
	}
	if _, err := s.Get("../../etc"); err == nil {
		t.Error("Get accepted a path")
	}
	if e, err := s.Get(testKey(99).ID()); e != nil || err != nil {
		t.Errorf("Get absent: %v, %v", e, err)
	}
}

// TestStoreIncompleteResumes: an uncommitted entry is not found by Lookup, keeps its
// work directory, and the next Begin finds it there.
func TestStoreIncompleteResumes(t *testing.T) {
	s := newStore(t)
	k := testKey(1)
	txn, err := s.Begin(context.Background(), k, Meta{Repo: "/r"}, false)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(txn.WorkDir(), checkpointFile), []byte("half"), 0o644)
	os.WriteFile(txn.TempCartridgePath(), []byte("partial"), 0o644) // died while writing
	txn.Release()
	if e, err := s.Lookup(k); e != nil || err != nil {
		t.Fatalf("Lookup of incomplete: %+v, %v", e, err)
	}
	if e, _ := s.Get(k.ID()); e == nil || e.State() != "incomplete" {
		t.Fatalf("Get: %+v", e)
	}
	txn, err = s.Begin(context.Background(), k, Meta{Repo: "/r"}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Release()
	if got, _ := os.ReadFile(filepath.Join(txn.WorkDir(), checkpointFile)); string(got) != "half" {
		t.Errorf("checkpoint after resume = %q", got)
	}
	if _, err := os.Stat(txn.TempCartridgePath()); !os.IsNotExist(err) {
		t.Errorf("stale temp cartridge kept: %v", err)
	}
}

// TestStoreFlockSameProcess checks what Begin relies on: two flock values on one
// path conflict even within one process.
func TestStoreFlockSameProcess(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	a, b := flock.New(p), flock.New(p)
	if ok, err := a.TryLock(); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, err := b.TryLock(); ok || err != nil {
		t.Fatalf("second lock in one process: %v, %v; want held", ok, err)
	}
	if ok, err := b.TryRLock(); ok || err != nil {
		t.Fatalf("shared lock beside an exclusive one: %v, %v; want held", ok, err)
	}
	a.Unlock()
	if ok, err := b.TryLock(); !ok || err != nil {
		t.Fatal("after Unlock:", ok, err)
	}
	b.Unlock()
}

func TestStoreBeginBusy(t *testing.T) {
	s := newStore(t)
	k := testKey(1)
	first, err := s.Begin(context.Background(), k, Meta{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Begin(context.Background(), k, Meta{}, false); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Begin without wait: %v, want ErrBusy", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err = s.Begin(ctx, k, Meta{}, true)
	cancel()
	if !errors.Is(err, ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting Begin past its deadline: %v", err)
	}
	// Another key is not held up.
	other, err := s.Begin(context.Background(), testKey(2), Meta{}, false)
	if err != nil {
		t.Fatal(err)
	}
	other.Release()

	var released atomic.Bool
	busy := busySignal(s)
	done := make(chan error, 1)
	go func() {
		txn, err := s.Begin(context.Background(), k, Meta{}, true)
		if err == nil {
			if !released.Load() {
				err = errors.New("second Begin got the lock before the first released it")
			}
			txn.Release()
		}
		done <- err
	}()
	awaitBusy(t, busy, filepath.Join(first.Dir(), lockName), "the waiting Begin")
	released.Store(true)
	first.Release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("waiting Begin did not proceed after Release")
	}
}

// TestStoreConcurrentBegin: goroutines begin one key with wait; each gets it in
// turn, never two at once. Each holder keeps the lock until another
// goroutine has tried it and found it held (while one remains), so the
// others are known to have raced for it.
func TestStoreConcurrentBegin(t *testing.T) {
	s := newStore(t)
	k := testKey(1)
	lock := filepath.Join(s.entryDir(k.ID()), lockName)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fails := make(chan struct{}, 1024) // a try found the entry lock held
	s.onBusy = func(l string) {
		if l == lock {
			fails <- struct{}{}
		}
	}
	const n = 5
	var holders, overlaps, acquired, done atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			txn, err := s.Begin(ctx, k, Meta{Branch: fmt.Sprint("b", i)}, true)
			if err != nil {
				t.Error(err)
				return
			}
			if holders.Add(1) != 1 {
				overlaps.Add(1)
			}
			// Reports already queued are of tries made before this
			// holder took the lock, and each other waiter may still owe
			// one such report; one more than that is a try made while held.
			if others := n - int(acquired.Add(1)); others > 0 {
				for len(fails) > 0 {
					<-fails
				}
			wait:
				for range others + 1 {
					select {
					case <-fails:
					case <-ctx.Done():
						t.Error("the other waiters stopped trying the lock")
						break wait
					}
				}
			}
			holders.Add(-1)
			if err := txn.Release(); err != nil {
				t.Error(err)
			}
			done.Add(1)
		})
	}
	wg.Wait()
	if done.Load() != n || overlaps.Load() != 0 {
		t.Fatalf("%d of 5 finished; %d times two held it at once", done.Load(), overlaps.Load())
	}
}

// helperEnv makes the test binary, re-run as a child, take a lock and sleep.
const helperEnv = "CARTLSP_STORE_TEST_HELPER"

func TestStoreHelperProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process for TestStoreCrossProcess")
	}
	s, err := Open(dir)
	if err == nil {
		_, err = s.Begin(context.Background(), testKey(1), Meta{Repo: "/child"}, false)
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute) // until killed
	os.Exit(0)
}

// TestStoreCrossProcess: a training in another process holds its entry and keeps GC
// out; once that process dies (killed, no Release), its lock file is still on
// disk but the lock is free, because the kernel drops a dead process's locks.
func TestStoreCrossProcess(t *testing.T) {
	s := newStore(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestStoreHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+s.Dir())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l := sc.Text(); l == "locked" || strings.HasPrefix(l, "error:") {
				ready <- l
				return
			}
		}
		ready <- "child exited"
	}()
	select {
	case l := <-ready:
		if l != "locked" {
			t.Fatal("child:", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("child did not lock")
	}

	k := testKey(1)
	if _, err := s.Begin(context.Background(), k, Meta{}, false); !errors.Is(err, ErrBusy) {
		t.Fatalf("Begin while the child trains: %v, want ErrBusy", err)
	}
	if e, _ := s.Get(k.ID()); e == nil || !e.Locked || e.Meta.Repo != "/child" {
		t.Fatalf("Get while the child trains: %+v", e)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err = s.GC(ctx, GCOptions{})
	cancel()
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("GC while the child trains: %v, want ErrBusy", err)
	}

	cmd.Process.Kill()
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(s.Dir(), entriesName, k.ID(), lockName)); err != nil {
		t.Fatalf("the dead child's lock file should still be there: %v", err)
	}
	txn, err := s.Begin(context.Background(), k, Meta{}, false)
	if err != nil {
		t.Fatalf("Begin after the child died: %v", err)
	}
	txn.Release()
	if _, err := s.GC(context.Background(), GCOptions{}); err != nil {
		t.Fatalf("GC after the child died: %v", err)
	}
}

// writeDamaged makes entry dir id with the given meta.json (none when "").
func writeDamaged(t *testing.T, s *Store, id, meta string) {
	t.Helper()
	dir := s.entryDir(id)
	if err := os.MkdirAll(filepath.Join(dir, WorkName), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, CartridgeName), []byte("cart"), 0o644)
	if meta != "" {
		os.WriteFile(filepath.Join(dir, MetaName), []byte(meta), 0o644)
	}
}

func TestStoreListDamaged(t *testing.T) {
	s := newStore(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	good := train(t, s, testKey(1), Meta{Repo: "/r", Created: base})
	writeDamaged(t, s, testKey(2).ID(), "{not json")
	writeDamaged(t, s, testKey(3).ID(), "")
	writeDamaged(t, s, testKey(4).ID(), `{"key":{"model":"other"}}`)
	// Not entries: stray files and directories.
	os.WriteFile(filepath.Join(s.Dir(), entriesName, lockName), nil, 0o644)
	os.WriteFile(filepath.Join(s.Dir(), entriesName, testKey(5).ID()), nil, 0o644)
	os.MkdirAll(filepath.Join(s.Dir(), entriesName, "not-an-id"), 0o755)

	es, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 4 {
		t.Fatalf("List: %d entries, want 4: %+v", len(es), es)
	}
	for _, e := range es {
		if e.ID == good.ID {
			if !e.Complete || e.State() != "ready" {
				t.Errorf("good entry: %+v", e)
			}
			continue
		}
		if e.Complete || !e.Damaged() || e.State() != "damaged" {
			t.Errorf("damaged entry listed as %+v", e)
		}
	}
	if e, err := s.Lookup(testKey(2)); e != nil || err != nil {
		t.Errorf("Lookup of a damaged entry: %+v, %v", e, err)
	}
}

func TestStoreListOrder(t *testing.T) {
	s := newStore(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, h := range []int{2, 0, 3, 1} {
		train(t, s, testKey(i), Meta{Created: base.Add(time.Duration(h) * time.Hour)})
	}
	es, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Meta.Created.Format("15"))
	}
	if want := []string{"03", "02", "01", "00"}; !slices.Equal(got, want) {
		t.Fatalf("List order %v, want %v", got, want)
	}
}

func TestStoreGC(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	complete := func(s *Store, t *testing.T, i int, repo string, hour int) string {
		return train(t, s, testKey(i), Meta{Repo: repo, Created: base.Add(time.Duration(hour) * time.Hour)}).ID
	}
	incomplete := func(s *Store, t *testing.T, i int) string {
		txn, err := s.Begin(context.Background(), testKey(i), Meta{}, false)
		if err != nil {
			t.Fatal(err)
		}
		txn.Release()
		return txn.ID()
	}
	cases := []struct {
		name string
		opts GCOptions
		// setup populates the store and returns the IDs GC must remove and
		// those it must keep.
		setup func(s *Store, t *testing.T, repo string) (remove, keep []string)
	}{
		{"keep newest N per group", GCOptions{Keep: 2}, func(s *Store, t *testing.T, repo string) (rm, keep []string) {
			keep = append(keep, complete(s, t, 1, repo, 4), complete(s, t, 2, repo, 3))
			rm = append(rm, complete(s, t, 3, repo, 2), complete(s, t, 4, repo, 1))
			// Another repository and another model are other groups.
			keep = append(keep, complete(s, t, 5, "https://example.com/x.git", 0))
			k := testKey(6)
			k.Model = "sha256:other-model"
			keep = append(keep, train(t, s, k, Meta{Repo: repo, Created: base}).ID)
			return
		}},
		{"default keep is 5", GCOptions{}, func(s *Store, t *testing.T, repo string) (rm, keep []string) {
			for i := range 6 {
				id := complete(s, t, i, repo, 10-i)
				if i < 5 {
					keep = append(keep, id)
				} else {
					rm = append(rm, id)
				}
			}
			return
		}},
		{"missing repository", GCOptions{}, func(s *Store, t *testing.T, repo string) (rm, keep []string) {
			rm = append(rm, complete(s, t, 1, filepath.Join(repo, "gone"), 0))
			keep = append(keep, complete(s, t, 2, repo, 0), complete(s, t, 3, "https://example.com/x.git", 0),
				complete(s, t, 4, "golang.org/x/sys@v0.50.0", 0))
			return
		}},
		{"damaged", GCOptions{}, func(s *Store, t *testing.T, repo string) (rm, keep []string) {
			writeDamaged(t, s, testKey(1).ID(), "{")
			writeDamaged(t, s, testKey(2).ID(), "")
			return []string{testKey(1).ID(), testKey(2).ID()}, []string{complete(s, t, 3, repo, 0)}
		}},
		{"old incomplete", GCOptions{Now: time.Now().Add(8 * 24 * time.Hour)}, func(s *Store, t *testing.T, repo string) (rm, keep []string) {
			return []string{incomplete(s, t, 1)}, []string{complete(s, t, 2, repo, 0)}
		}},
		{"young incomplete", GCOptions{MaxIncompleteAge: time.Hour, Now: time.Now().Add(30 * time.Minute)}, func(s *Store, t *testing.T, repo string) (rm, keep []string) {
			return nil, []string{incomplete(s, t, 1)}
		}},
		{"locked entry never", GCOptions{Keep: 1}, func(s *Store, t *testing.T, repo string) (rm, keep []string) {
			// A process holding just an entry lock (not the store lock):
			// GC gets the store but must still leave the entry alone.
			keep = append(keep, complete(s, t, 1, repo, 2))
			id := complete(s, t, 2, filepath.Join(repo, "gone"), 1)
			writeDamaged(t, s, testKey(3).ID(), "{")
			for _, id := range []string{id, testKey(3).ID()} {
				l := flock.New(filepath.Join(s.entryDir(id), lockName))
				if err := l.Lock(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { l.Unlock() })
				keep = append(keep, id)
			}
			return
		}},
	}
	for _, c := range cases {
		for _, dry := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/dry=%v", c.name, dry), func(t *testing.T) {
				s := newStore(t)
				rm, keep := c.setup(s, t, t.TempDir())
				o := c.opts
				o.DryRun = dry
				got, err := s.GC(context.Background(), o)
				if err != nil {
					t.Fatal(err)
				}
				var gotIDs []string
				for _, e := range got {
					gotIDs = append(gotIDs, e.ID)
					if e.Reason == "" {
						t.Errorf("%s removed without a reason", e.ID)
					}
				}
				slices.Sort(gotIDs)
				slices.Sort(rm)
				if !slices.Equal(gotIDs, rm) {
					t.Errorf("removed %v, want %v", gotIDs, rm)
				}
				for _, id := range rm {
					_, err := os.Stat(s.entryDir(id))
					if dry && err != nil {
						t.Errorf("dry run removed %s", id)
					}
					if !dry && !os.IsNotExist(err) {
						t.Errorf("%s not removed: %v", id, err)
					}
				}
				for _, id := range keep {
					if _, err := os.Stat(s.entryDir(id)); err != nil {
						t.Errorf("%s removed, should be kept", id)
					}
				}
				if es, _ := s.List(); len(es) != len(keep)+len(rm)*btoi(dry) {
					t.Errorf("%d entries left, want %d", len(es), len(keep)+len(rm)*btoi(dry))
				}
				if _, err := os.Stat(filepath.Join(s.Dir(), lockName)); err != nil {
					t.Errorf("store lock file gone: %v", err)
				}
			})
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestStoreGCWaitsForTraining: GC needs the store to itself, so it waits for a
// training in this process; a dry run does not wait and skips the training.
func TestStoreGCWaitsForTraining(t *testing.T) {
	s := newStore(t)
	writeDamaged(t, s, testKey(2).ID(), "{")
	txn, err := s.Begin(context.Background(), testKey(1), Meta{}, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err = s.GC(ctx, GCOptions{Now: time.Now().Add(365 * 24 * time.Hour)})
	cancel()
	if !errors.Is(err, ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("GC during a training: %v", err)
	}
	got, err := s.GC(context.Background(), GCOptions{DryRun: true, Now: time.Now().Add(365 * 24 * time.Hour)})
	if err != nil || len(got) != 1 || got[0].ID != testKey(2).ID() {
		t.Fatalf("dry run during a training: %+v, %v", got, err)
	}
	busy := busySignal(s)
	done := make(chan error, 1)
	go func() {
		_, err := s.GC(context.Background(), GCOptions{Now: time.Now().Add(365 * 24 * time.Hour)})
		done <- err
	}()
	awaitBusy(t, busy, filepath.Join(s.Dir(), lockName), "GC")
	select {
	case err := <-done:
		t.Fatalf("GC returned while a training held the store: %v", err)
	default:
	}
	txn.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if es, _ := s.List(); len(es) != 0 {
		t.Fatalf("after GC: %+v", es)
	}
}

func TestStoreLockRepo(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	release, err := s.LockRepo(ctx, "/src/a", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LockRepo(ctx, "/src/a", false); !errors.Is(err, ErrBusy) {
		t.Fatalf("second lock of a repository: %v, want ErrBusy", err)
	}
	other, err := s.LockRepo(ctx, "/src/b", false)
	if err != nil {
		t.Fatalf("another repository: %v", err)
	}
	other()
	busy := busySignal(s)
	got := make(chan error, 1)
	go func() {
		r, err := s.LockRepo(ctx, "/src/a", true)
		if err == nil {
			r()
		}
		got <- err
	}()
	awaitBusy(t, busy, filepath.Join(s.Dir(), reposName), "the waiting LockRepo")
	select {
	case err := <-got:
		t.Fatalf("a waiting lock returned while held: %v", err)
	default:
	}
	release()
	if err := <-got; err != nil {
		t.Fatalf("the waiting lock: %v", err)
	}
	es, err := s.List()
	if err != nil || len(es) != 0 {
		t.Errorf("repository locks listed as entries: %v, %v", es, err)
	}
}

// TestStoreChecksum: Commit records cartridge.cart's sha256 and size; a
// truncated or altered Cartridge is never served, an altered one is set
// aside, and the next training makes the entry ready again.
func TestStoreChecksum(t *testing.T) {
	for _, c := range []struct {
		name     string
		damage   func(path string)
		setAside bool
	}{
		{"truncated", func(p string) { os.Truncate(p, 5) }, false},
		{"one byte changed", func(p string) {
			b, _ := os.ReadFile(p)
			b[3] ^= 0x20
			os.WriteFile(p, b, 0o644)
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			k := testKey(1)
			e := train(t, s, k, Meta{Repo: "/r"})
			if e.Meta.CartridgeSHA256 == "" || e.Meta.CartridgeBytes != int64(len("cartridge bytes")) {
				t.Fatalf("no checksum recorded: %+v", e.Meta)
			}
			path := filepath.Join(e.Dir, CartridgeName)
			if got, err := s.Lookup(k); err != nil || got == nil {
				t.Fatalf("a sound entry: %v %v", got, err)
			}
			c.damage(path)
			if got, err := s.Lookup(k); err != nil || got != nil {
				t.Fatalf("a damaged Cartridge was served: %v %v", got, err)
			}
			es, _ := s.List()
			if len(es) != 1 || es[0].State() != "damaged" || es[0].CartridgeProblem == "" {
				t.Fatalf("listed as %q (%q)", es[0].State(), es[0].CartridgeProblem)
			}
			if _, err := os.Stat(path + damagedSuffix); (err == nil) != c.setAside {
				t.Errorf("set aside: %v, want %v", err == nil, c.setAside)
			}
			if _, err := os.Stat(filepath.Join(e.Dir, WorkName, datasetFile)); err != nil {
				t.Errorf("the dataset went with it: %v", err)
			}
			train(t, s, k, Meta{Repo: "/r"})
			if got, err := s.Lookup(k); err != nil || got == nil {
				t.Fatalf("trained again: %v %v", got, err)
			}
			es, _ = s.List()
			if es[0].State() != "ready" || es[0].CartridgeProblem != "" {
				t.Errorf("after training again: %q (%q)", es[0].State(), es[0].CartridgeProblem)
			}
			if _, err := os.Stat(path + damagedSuffix); err == nil {
				t.Error("the damaged copy outlived the training that replaced it")
			}
		})
	}
	// An entry made before checksums is served as it is.
	s := newStore(t)
	k := testKey(2)
	e := train(t, s, k, Meta{Repo: "/r"})
	m := e.Meta
	m.CartridgeSHA256, m.CartridgeBytes = "", 0
	if err := writeJSONAtomic(filepath.Join(e.Dir, MetaName), m); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Lookup(k); err != nil || got == nil {
		t.Errorf("an entry without a checksum: %v %v", got, err)
	}
}

// TestStoreGCTemps: gc removes what killed writes left (atomicfile's temp
// files, in the entry and its work directory) and nothing else.
func TestStoreGCTemps(t *testing.T) {
	s := newStore(t)
	e := train(t, s, testKey(1), Meta{Repo: t.TempDir()})
	stale := []string{
		filepath.Join(e.Dir, ".cartridge.cart.tmp.123456.tmp"),
		filepath.Join(e.Dir, ".meta.json.99.tmp"),
		filepath.Join(e.Dir, WorkName, ".checkpoint.ckpt.42.tmp"),
	}
	for _, p := range stale {
		os.WriteFile(p, []byte("partial"), 0o644)
	}
	if _, err := s.GC(context.Background(), GCOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range stale {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s survived gc", filepath.Base(p))
		}
	}
	for _, p := range []string{filepath.Join(e.Dir, CartridgeName), filepath.Join(e.Dir, WorkName, datasetFile)} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("gc removed %s: %v", filepath.Base(p), err)
		}
	}
}
