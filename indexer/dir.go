package indexer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNoFiles says a directory has no file the corpus takes.
var ErrNoFiles = errors.New("no text files")

// LoadDir reads the corpus of a directory: every regular file the filter
// and the .cartignore files keep, in lexical path order. Symbolic links are
// never followed.
func LoadDir(ctx context.Context, dir string, filter Filter) (*Corpus, error) {
	if err := filter.Check(); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("corpus: %s is not a directory", dir)
	}
	if isGitDir(abs) {
		return nil, fmt.Errorf("corpus: %s is a bare git repository (or a .git directory): its files are git's own, its config may hold credentials; train it as a repository (without --dir)", dir)
	}
	c := &Corpus{Kind: "dir", Source: abs, Filter: filter.Config()}
	var rules ignoreRules
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(abs, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (filter.SkipDir(d.Name()) || rules.ignored(rel, true)) {
				return filepath.SkipDir
			}
			// The directory's own .cartignore applies to everything below it.
			ig := filepath.Join(p, IgnoreFile)
			if st, err := os.Lstat(ig); err != nil || !st.Mode().IsRegular() {
				return nil // none, or a link (never followed)
			}
			if b, err := os.ReadFile(ig); err == nil {
				dir := rel
				if dir == "." {
					dir = ""
				}
				rules.add(dir, string(b))
			}
			return nil
		}
		if rules.ignored(rel, false) {
			c.Skipped = append(c.Skipped, Skip{rel, "excluded by " + IgnoreFile})
			return nil
		}
		if !d.Type().IsRegular() {
			if d.Type()&fs.ModeSymlink != 0 {
				c.Skipped = append(c.Skipped, Skip{rel, "symbolic link"})
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if why := filter.SkipPath(rel, info.Size()); why != "" {
			c.Skipped = append(c.Skipped, Skip{rel, why})
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if why := SkipContent(b); why != "" {
			c.Skipped = append(c.Skipped, Skip{rel, why})
			return nil
		}
		c.Files = append(c.Files, File{Path: rel, Text: string(b)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("corpus: reading %s: %w", dir, err)
	}
	if len(c.Files) == 0 {
		return nil, fmt.Errorf("corpus: %w in %s (%d skipped); check --exclude and the path", ErrNoFiles, dir, len(c.Skipped))
	}
	c.sortFiles()
	return c, nil
}

// isGitDir reports whether dir is a git directory: a bare repository or a
// work tree's .git (HEAD, objects/ and refs/).
func isGitDir(dir string) bool {
	head, err := os.Stat(filepath.Join(dir, "HEAD"))
	if err != nil || !head.Mode().IsRegular() {
		return false
	}
	for _, sub := range []string{"objects", "refs"} {
		if st, err := os.Stat(filepath.Join(dir, sub)); err != nil || !st.IsDir() {
			return false
		}
	}
	return true
}
