package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/store"
)

// storeFixture makes a store with two ready entries of one repository, an
// interrupted training and a damaged entry; it returns the store and the IDs
// in that order.
func storeFixture(t *testing.T) (*store.Store, []string) {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	key := func(i int) store.Key {
		return store.Key{Model: "sha256:m", Corpus: "sha256:c" + string(rune('0'+i)), Recipe: "sha256:r"}
	}
	begin := func(i int, m store.Meta) *store.Txn {
		txn, err := s.Begin(context.Background(), key(i), m, false)
		if err != nil {
			t.Fatal(err)
		}
		return txn
	}
	var ids []string
	for i, age := range []time.Duration{2 * time.Hour, 50 * time.Hour} {
		m := store.Meta{Repo: repo, Commit: "0123456789abcdef0123456789abcdef01234567", Branch: "main", Generation: i,
			Created: time.Now().Add(-age)}
		txn := begin(i, m)
		if err := os.WriteFile(txn.TempCartridgePath(), make([]byte, 3<<10), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := txn.Commit(m); err != nil {
			t.Fatal(err)
		}
		txn.Release()
		ids = append(ids, txn.ID())
	}
	txn := begin(2, store.Meta{Repo: repo, Branch: "feature"})
	txn.Release()
	ids = append(ids, txn.ID())
	txn = begin(3, store.Meta{Repo: repo})
	txn.Release()
	if err := os.WriteFile(filepath.Join(txn.Dir(), store.MetaName), []byte("{garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, txn.ID())
	return s, ids
}

func TestStoreCmdUsage(t *testing.T) {
	cases := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{[]string{"store"}, 2, "", "cartlsp store ls"},
		{[]string{"store", "frob"}, 2, "", "unknown subcommand"},
		{[]string{"store", "--help"}, 0, "cartlsp store gc", ""},
		{[]string{"store", "ls", "--help"}, 0, "-json", ""}, // help asked for goes to stdout
		{[]string{"store", "gc", "--help"}, 0, "-dry-run", ""},
		{[]string{"store", "ls", "--bogus"}, 2, "", "flag provided but not defined"},
		{[]string{"store", "ls", "extra", "--store", "x"}, 2, "", "Usage: cartlsp store ls"},
		{[]string{"store", "gc", "--keep", "0", "--store", "x"}, 1, "", "--keep must be at least 1"},
		{[]string{"--help"}, 0, "list and clean the Cartridge store", ""},
	}
	for _, c := range cases {
		code, out, errs := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(out, c.inStdout) || !strings.Contains(errs, c.inStderr) {
			t.Errorf("cartlsp %v: code %d, stdout %q, stderr %q", c.args, code, out, errs)
		}
	}
}

func TestStoreCmdLs(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	code, out, errs := runCLI(t, "store", "ls", "--store", empty)
	if code != 0 || !strings.Contains(out, "empty") || !strings.Contains(out, empty) {
		t.Fatalf("empty store: code %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, _ = runCLI(t, "store", "ls", "--store", empty, "--json")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("empty store --json: code %d, %q", code, out)
	}
	// The default directory comes from $CARTLSP_STORE.
	t.Setenv("CARTLSP_STORE", empty)
	if code, out, _ = runCLI(t, "store", "ls"); code != 0 || !strings.Contains(out, empty) {
		t.Fatalf("default store: code %d, %q", code, out)
	}

	s, ids := storeFixture(t)
	code, out, errs = runCLI(t, "store", "ls", "--store", s.Dir())
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, errs)
	}
	for _, want := range []string{"ID", "STATE", "ready", "incomplete", "damaged", "0123456789ab ", "main", "feature",
		"2h", "2d", "3.", "KiB", "4 entries", s.Dir(), ids[0], ids[1], ids[2], ids[3]} {
		if !strings.Contains(out, want) {
			t.Errorf("ls output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "0123456789abc") {
		t.Errorf("commit not cut to 12 characters:\n%s", out)
	}
	// The newest first: the ready entry of 2h ago above the one of 2d ago.
	if strings.Index(out, ids[0]) > strings.Index(out, ids[1]) {
		t.Errorf("not newest first:\n%s", out)
	}

	code, out, _ = runCLI(t, "store", "ls", "--json", "--store", s.Dir())
	var got []struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Bytes int64  `json:"bytes"`
		Meta  struct {
			Repo       string `json:"repo"`
			Generation int    `json:"generation"`
		} `json:"meta"`
	}
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil {
		t.Fatalf("--json: code %d, %v:\n%s", code, err, out)
	}
	states := map[string]string{}
	for _, e := range got {
		states[e.ID] = e.State
	}
	want := map[string]string{ids[0]: "ready", ids[1]: "ready", ids[2]: "incomplete", ids[3]: "damaged"}
	for id, st := range want {
		if states[id] != st {
			t.Errorf("--json: %s is %q, want %q", id, states[id], st)
		}
	}
	if len(got) != 4 || got[len(got)-1].Bytes < 3<<10 || got[len(got)-1].Meta.Generation != 1 {
		t.Errorf("--json: %+v", got)
	}

	// A training in progress shows as such.
	txn, err := s.Begin(context.Background(), store.Key{Model: "x"}, store.Meta{}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Release()
	if _, out, _ = runCLI(t, "store", "ls", "--store", s.Dir()); !strings.Contains(out, "training") {
		t.Errorf("ls during a training:\n%s", out)
	}
}

func TestStoreCmdGC(t *testing.T) {
	s, ids := storeFixture(t)
	exists := func(id string) bool {
		e, err := s.Get(id)
		return err == nil && e != nil
	}

	// Dry run: says what would go, removes nothing.
	code, out, errs := runCLI(t, "store", "gc", "--store", s.Dir(), "--keep", "1", "--dry-run")
	if code != 0 || !strings.Contains(out, "would remove "+ids[1]) || !strings.Contains(out, "would remove "+ids[3]) ||
		!strings.Contains(out, "would free") || strings.Contains(out, ids[0]) || strings.Contains(out, ids[2]) {
		t.Fatalf("dry run: code %d, stdout %q, stderr %q", code, out, errs)
	}
	for _, id := range ids {
		if !exists(id) {
			t.Fatalf("dry run removed %s", id)
		}
	}

	// A training in progress keeps gc out; it says so after --wait.
	txn, err := s.Begin(context.Background(), store.Key{Model: "x"}, store.Meta{}, false)
	if err != nil {
		t.Fatal(err)
	}
	code, _, errs = runCLI(t, "store", "gc", "--store", s.Dir(), "--wait", "300ms")
	txn.Release()
	if code != 1 || !strings.Contains(errs, "a training is using the store") {
		t.Fatalf("gc during a training: code %d, stderr %q", code, errs)
	}

	code, out, errs = runCLI(t, "store", "gc", "--store", s.Dir(), "--keep", "1")
	if code != 0 || !strings.Contains(out, "removed "+ids[1]) || !strings.Contains(out, "removed "+ids[3]) ||
		!strings.Contains(out, "freed") || !strings.Contains(out, "damaged") {
		t.Fatalf("gc: code %d, stdout %q, stderr %q", code, out, errs)
	}
	for i, want := range []bool{true, false, true, false} {
		if exists(ids[i]) != want {
			t.Errorf("after gc, entry %d exists = %v", i, !want)
		}
	}
	code, out, _ = runCLI(t, "store", "gc", "--store", s.Dir())
	if code != 0 || !strings.Contains(out, "nothing to remove") {
		t.Fatalf("second gc: code %d, %q", code, out)
	}
}
