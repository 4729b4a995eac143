package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/store"
)

func storeUsage(w io.Writer) {
	fmt.Fprintf(w, "%s\n\nUsage:\n", commands["store"].summary)
	fmt.Fprintf(w, "  cartlsp store ls [--store DIR] [--json]   list the trained Cartridges and interrupted trainings\n")
	fmt.Fprintf(w, "  cartlsp store path [--repo DIR] [--rev REV] [--budget B]\n")
	fmt.Fprintf(w, "                                            where a commit's Cartridge (HEAD's) is in the store\n")
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
	case "path":
		return storePath(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "cartlsp store: unknown subcommand %q (want ls, path or gc)\n\n", args[0])
	storeUsage(stderr)
	return errUsage
}

// storeFlag registers --store and returns a function that opens that store.
func storeFlag(fs *flag.FlagSet) func() (*store.Store, error) {
	dir := fs.String("store", "", "the store directory (default $CARTLSP_STORE, else cartlsp/store in the user cache)")
	return func() (*store.Store, error) { return store.OpenDefault(*dir) }
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
		return printJSON(stdout, store.Listed(es))
	}
	store.WriteList(stdout, es, s.Dir(), time.Now())
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
	store.WriteRemoved(stdout, removed, *dry, s.Dir())
	return err
}

// storePath prints where a commit's Cartridge is in the store, as `train`
// and the server key it (model, budget, the commit's tree).
func storePath(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("store", "store path [--repo DIR] [--rev REV] [--budget B] [--model M]", stderr)
	storeDir := fs.String("store", "", "the store directory (default $CARTLSP_STORE, else cartlsp/store in the user cache)")
	repoDir := fs.String("repo", ".", "the repository")
	rev := fs.String("rev", "HEAD", "the commit")
	budget := fs.String("budget", "small", "the budget it was trained with (part of its key)")
	var mf modelFlags
	mf.register(fs)
	if pos, err := parseInterleaved(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		fs.Usage()
		return errUsage
	}
	repo, err := indexer.OpenRepo(*repoDir)
	if err != nil {
		return err
	}
	l, err := mf.load()
	if err != nil {
		return err
	}
	defer l.Close()
	chat, err := answer.NewChat(l.tok)
	if err != nil {
		return err
	}
	sb, err := lookupBuilder(l, chat, *storeDir, *budget)
	if err != nil {
		return err
	}
	r, err := sb.Lookup(repo, *rev)
	if err != nil {
		return err
	}
	if r == nil {
		return fmt.Errorf("the store has no Cartridge of %s at %s for this model and budget %s (cartlsp train makes it)", repo.Root, *rev, *budget)
	}
	fmt.Fprintln(stdout, r.Path)
	return nil
}
