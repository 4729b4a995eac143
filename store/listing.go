package store

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cartlsp/cartlsp/runtime/cartridge"
)

// ListedEntry is one element of `cartlsp store ls --json`: the entry and
// its state in words.
type ListedEntry struct {
	Entry
	State string `json:"state"`
}

// Listed pairs each entry with its state.
func Listed(es []Entry) []ListedEntry {
	out := make([]ListedEntry, 0, len(es))
	for _, e := range es {
		out = append(out, ListedEntry{e, e.State()})
	}
	return out
}

// WriteList prints the entries of the store in dir as a table (id, state,
// repository, commit, branch, generation, size, age at now) and a total.
func WriteList(w io.Writer, es []Entry, dir string, now time.Time) {
	if len(es) == 0 {
		fmt.Fprintf(w, "the store is empty (%s)\n", dir)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tREPO\tCOMMIT\tBRANCH\tGEN\tSIZE\tAGE")
	var total int64
	for _, e := range es {
		m := e.Meta
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.ID, e.State(), dash(homeRelative(m.Repo)),
			dash(clip(m.Commit, 12)), dash(m.Branch), m.Generation, cartridge.FormatSize(e.Bytes), entryAge(e, now))
		total += e.Bytes
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%s, %s, in %s\n", plural(len(es), "entry", "entries"), cartridge.FormatSize(total), dir)
}

// WriteRemoved prints what GC removed (or, with dryRun, would remove) from
// the store in dir, and the space freed.
func WriteRemoved(w io.Writer, removed []Entry, dryRun bool, dir string) {
	verb, freed := "removed", "freed"
	if dryRun {
		verb, freed = "would remove", "would free"
	}
	var total int64
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, e := range removed {
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\t(%s)\n", verb, e.ID, dash(homeRelative(e.Meta.Repo)), dash(clip(e.Meta.Commit, 12)),
			cartridge.FormatSize(e.Bytes), e.Reason)
		total += e.Bytes
	}
	tw.Flush()
	if len(removed) == 0 {
		fmt.Fprintf(w, "nothing to remove in %s\n", dir)
	} else {
		fmt.Fprintf(w, "%s %s (%s) in %s\n", freed, cartridge.FormatSize(total), plural(len(removed), "entry", "entries"), dir)
	}
}

// entryAge is how long ago the entry was created (or last changed, when its
// meta.json does not say).
func entryAge(e Entry, now time.Time) string {
	t := e.Meta.Created
	if t.IsZero() {
		t = e.Modified
	}
	return Age(now.Sub(t))
}

// homeRelative writes a path under the home directory as ~/….
func homeRelative(repo string) string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" || !filepath.IsAbs(repo) {
		return repo
	}
	if rel, err := filepath.Rel(home, repo); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.Join("~", rel)
	}
	return repo
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
