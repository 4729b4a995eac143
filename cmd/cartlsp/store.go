package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cartlsp/cartlsp/store"
)

func storeUsage(w io.Writer) {
	fmt.Fprintf(w, "%s\n\nUsage:\n", commands["store"].summary)
	fmt.Fprintf(w, "  cartlsp store ls [--store DIR] [--json]   list the trained Cartridges and interrupted trainings\n")
	fmt.Fprintf(w, "  cartlsp store gc [--store DIR] [--keep N] [--max-incomplete-age DUR] [--dry-run]\n")
	fmt.Fprintf(w, "                                            remove old, orphaned, abandoned and damaged entries\n")
	fmt.Fprintf(w, "\nThe store is $CARTLSP_STORE, else cartlsp/store in the user cache directory.\n")
}

func runStore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		storeUsage(stderr)
		return errUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		storeUsage(stdout)
		return nil
	case "ls", "list":
		return storeLs(args[1:], stdout, stderr)
	case "gc":
		return storeGC(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "cartlsp store: unknown subcommand %q (want ls or gc)\n\n", args[0])
	storeUsage(stderr)
	return errUsage
}

// storeFlag registers --store and returns a function that opens that store.
func storeFlag(fs *flag.FlagSet) func() (*store.Store, error) {
	dir := fs.String("store", "", "the store directory (default $CARTLSP_STORE, else cartlsp/store in the user cache)")
	return func() (*store.Store, error) {
		d := *dir
		if d == "" {
			var err error
			if d, err = store.DefaultDir(); err != nil {
				return nil, err
			}
		}
		return store.Open(d)
	}
}

// lsEntry is one element of `cartlsp store ls --json`.
type lsEntry struct {
	store.Entry
	State string `json:"state"`
}

func storeLs(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("store", "store ls [--store DIR] [--json]", stderr)
	open := storeFlag(fs)
	asJSON := fs.Bool("json", false, "print one JSON array of entries")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	s, err := open()
	if err != nil {
		return err
	}
	es, err := s.List()
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]lsEntry, 0, len(es))
		for _, e := range es {
			out = append(out, lsEntry{e, e.State()})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(es) == 0 {
		fmt.Fprintf(stdout, "the store is empty (%s)\n", s.Dir())
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tREPO\tCOMMIT\tBRANCH\tGEN\tSIZE\tAGE")
	var total int64
	for _, e := range es {
		m := e.Meta
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.ID, e.State(), storeDash(storeRepo(m.Repo)),
			storeDash(storeClip(m.Commit, 12)), storeDash(m.Branch), m.Generation, cartSize(e.Bytes), storeAge(e, now))
		total += e.Bytes
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\n%s, %s, in %s\n", storePlural(len(es), "entry", "entries"), cartSize(total), s.Dir())
	return nil
}

func storeGC(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("store", "store gc [--store DIR] [--keep N] [--max-incomplete-age DUR] [--dry-run]", stderr)
	open := storeFlag(fs)
	keep := fs.Int("keep", store.DefaultKeep, "complete Cartridges kept per repository, model and recipe, newest first")
	maxAge := fs.Duration("max-incomplete-age", store.DefaultMaxIncompleteAge, "remove interrupted trainings untouched for longer than this")
	dry := fs.Bool("dry-run", false, "only print what would be removed")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for running trainings to finish (gc needs the store to itself)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	if *keep < 1 {
		return fmt.Errorf("--keep must be at least 1, not %d", *keep)
	}
	if *maxAge <= 0 {
		return fmt.Errorf("--max-incomplete-age must be positive, not %s", *maxAge)
	}
	s, err := open()
	if err != nil {
		return err
	}
	if *wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *wait)
		defer cancel()
	}
	removed, err := s.GC(ctx, store.GCOptions{Keep: *keep, MaxIncompleteAge: *maxAge, DryRun: *dry})
	if err != nil && ctx.Err() != nil && len(removed) == 0 {
		return fmt.Errorf("a training is using the store %s; try again when it ends, or pass a longer --wait: %w", s.Dir(), err)
	}
	verb, freed := "removed", "freed"
	if *dry {
		verb, freed = "would remove", "would free"
	}
	var total int64
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, e := range removed {
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\t(%s)\n", verb, e.ID, storeDash(storeRepo(e.Meta.Repo)), storeDash(storeClip(e.Meta.Commit, 12)),
			cartSize(e.Bytes), e.Reason)
		total += e.Bytes
	}
	tw.Flush()
	if len(removed) == 0 {
		fmt.Fprintf(stdout, "nothing to remove in %s\n", s.Dir())
	} else {
		fmt.Fprintf(stdout, "%s %s (%s) in %s\n", freed, cartSize(total), storePlural(len(removed), "entry", "entries"), s.Dir())
	}
	return err
}

// storeAge is how long ago the entry was created (or last changed, when its
// meta.json does not say).
func storeAge(e store.Entry, now time.Time) string {
	t := e.Meta.Created
	if t.IsZero() {
		t = e.Modified
	}
	return store.Age(now.Sub(t))
}

// storeRepo writes a path under the home directory as ~/….
func storeRepo(repo string) string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" || !filepath.IsAbs(repo) {
		return repo
	}
	if rel, err := filepath.Rel(home, repo); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.Join("~", rel)
	}
	return repo
}

func storeClip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func storeDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func storePlural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
