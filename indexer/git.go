package indexer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// A git corpus is the tracked content of a commit's tree — never the
// working tree: cartlsp follows the repository's history, not its unsaved
// edits. Submodules are left out (each is a repository of its own), and so
// are symbolic links (never followed, whatever they point to).

// ErrNoCommits is returned for a repository whose HEAD names no commit yet.
var ErrNoCommits = errors.New("the repository has no commits yet: commit something, then train")

// Repo is a git repository corpora are read from.
//
// A Repo is safe for concurrent use: go-git's repository is not (it loads
// pack indexes lazily, unlocked), so every use of it holds mu.
type Repo struct {
	Root string // the work tree's root, absolute (the git directory for a bare repository)
	mu   sync.Mutex
	repo *git.Repository
}

// OpenRepo opens the repository (or linked worktree) holding dir.
func OpenRepo(dir string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("git: %w", err)
	}
	r, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) && isGitDir(abs) {
		r, err = git.PlainOpen(abs) // a bare repository: read from its objects
	}
	if err != nil {
		if errors.Is(err, git.ErrRepositoryNotExists) {
			return nil, fmt.Errorf("not in a git repository: %s (run inside one, or train a plain directory with --dir)", abs)
		}
		return nil, fmt.Errorf("git: opening %s: %w", abs, err)
	}
	root := abs
	if wt, err := r.Worktree(); err == nil {
		root = wt.Filesystem.Root()
	}
	return &Repo{Root: root, repo: r}, nil
}

// Commit describes a commit.
type Commit struct {
	Hash    string   // hex
	Tree    string   // its tree's hash, hex
	Parents []string // hex, first parent first
	Branch  string   // for HEAD: the branch it is on ("" when detached)
	Subject string   // first line of the message
	Time    time.Time
}

// Head resolves HEAD. A repository without commits gives ErrNoCommits.
func (r *Repo) Head() (Commit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref, err := r.repo.Head()
	if err != nil {
		if errors.Is(err, plumbing.ErrReferenceNotFound) {
			return Commit{}, ErrNoCommits
		}
		return Commit{}, fmt.Errorf("git: resolving HEAD: %w", err)
	}
	c, err := r.describe(ref.Hash().String())
	if err != nil {
		return Commit{}, err
	}
	if ref.Name().IsBranch() {
		c.Branch = ref.Name().Short()
	}
	return c, nil
}

// Commit describes the commit a revision (a hash, branch, tag or "HEAD~2")
// names.
func (r *Repo) Commit(rev string) (Commit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.describe(rev)
}

func (r *Repo) describe(rev string) (Commit, error) {
	c, err := r.commit(rev)
	if err != nil {
		return Commit{}, err
	}
	out := Commit{Hash: c.Hash.String(), Tree: c.TreeHash.String(), Time: c.Committer.When,
		Subject: strings.SplitN(strings.TrimSpace(c.Message), "\n", 2)[0]}
	for _, p := range c.ParentHashes {
		out.Parents = append(out.Parents, p.String())
	}
	return out, nil
}

func (r *Repo) commit(rev string) (*object.Commit, error) {
	if rev == "" || rev == "HEAD" {
		ref, err := r.repo.Head()
		if err != nil {
			if errors.Is(err, plumbing.ErrReferenceNotFound) {
				return nil, ErrNoCommits
			}
			return nil, fmt.Errorf("git: resolving HEAD: %w", err)
		}
		rev = ref.Hash().String()
	}
	h, err := r.repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return nil, fmt.Errorf("git: no commit %q: %w", rev, err)
	}
	c, err := r.repo.CommitObject(*h)
	if err != nil {
		return nil, fmt.Errorf("git: reading commit %s: %w", h, err)
	}
	return c, nil
}

// Corpus reads the corpus of a commit (HEAD when rev is ""): the files of
// its tree the filter and the tree's .cartignore files keep.
func (r *Repo) Corpus(ctx context.Context, rev string, filter Filter) (*Corpus, error) {
	if err := filter.Check(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.commit(rev)
	if err != nil {
		return nil, err
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("git: reading the tree of %s: %w", c.Hash, err)
	}
	corpus := &Corpus{Kind: "git", Source: r.Root, Commit: c.Hash.String(), Tree: c.TreeHash.String(), Filter: filter.Config()}
	if ref, err := r.repo.Head(); err == nil && ref.Hash() == c.Hash && ref.Name().IsBranch() {
		corpus.Branch = ref.Name().Short()
	}
	var rules ignoreRules
	if err := r.collectIgnores(ctx, tree, "", &rules); err != nil {
		return nil, err
	}
	if err := r.walk(ctx, tree, "", filter, &rules, corpus); err != nil {
		return nil, fmt.Errorf("git: reading %s at %s: %w", r.Root, ShortHash(corpus.Commit), err)
	}
	if len(corpus.Files) == 0 {
		return nil, fmt.Errorf("corpus: no text files in %s at %s (%d skipped); check .cartignore and --exclude",
			r.Root, ShortHash(corpus.Commit), len(corpus.Skipped))
	}
	corpus.sortFiles()
	return corpus, nil
}

// collectIgnores reads every IgnoreFile of the tree, shallowest first.
func (r *Repo) collectIgnores(ctx context.Context, t *object.Tree, dir string, rules *ignoreRules) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var subdirs []object.TreeEntry
	for _, e := range t.Entries {
		switch {
		case e.Mode == filemode.Dir:
			subdirs = append(subdirs, e)
		case e.Name == IgnoreFile && e.Mode.IsFile():
			b, err := r.blobBytes(e.Hash, 1<<20)
			if err != nil {
				return fmt.Errorf("reading %s: %w", path.Join(dir, e.Name), err)
			}
			rules.add(dir, string(b))
		}
	}
	for _, e := range subdirs {
		p := path.Join(dir, e.Name)
		if rules.ignored(p, true) {
			continue
		}
		sub, err := r.repo.TreeObject(e.Hash)
		if err != nil {
			return fmt.Errorf("reading tree %s: %w", p, err)
		}
		if err := r.collectIgnores(ctx, sub, p, rules); err != nil {
			return err
		}
	}
	return nil
}

// walk adds the files of a tree kept by the filter to the corpus.
func (r *Repo) walk(ctx context.Context, t *object.Tree, dir string, filter Filter, rules *ignoreRules, c *Corpus) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, e := range t.Entries {
		p := path.Join(dir, e.Name)
		switch e.Mode {
		case filemode.Dir:
			if filter.SkipDir(e.Name) || rules.ignored(p, true) {
				continue
			}
			sub, err := r.repo.TreeObject(e.Hash)
			if err != nil {
				return fmt.Errorf("reading tree %s: %w", p, err)
			}
			if err := r.walk(ctx, sub, p, filter, rules, c); err != nil {
				return err
			}
		case filemode.Submodule:
			c.Skipped = append(c.Skipped, Skip{p, "submodule"})
		case filemode.Symlink:
			c.Skipped = append(c.Skipped, Skip{p, "symbolic link"})
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
			if rules.ignored(p, false) {
				c.Skipped = append(c.Skipped, Skip{p, "excluded by " + IgnoreFile})
				continue
			}
			// The size first, from the object's header: go-git reads a loose
			// object whole into memory, so a large one is skipped unread.
			size, err := r.repo.Storer.EncodedObjectSize(e.Hash)
			if err != nil {
				return fmt.Errorf("reading %s: %w", p, err)
			}
			if why := filter.SkipPath(p, size); why != "" {
				c.Skipped = append(c.Skipped, Skip{p, why})
				continue
			}
			blob, err := r.repo.BlobObject(e.Hash)
			if err != nil {
				return fmt.Errorf("reading %s: %w", p, err)
			}
			b, err := readBlob(blob)
			if err != nil {
				return fmt.Errorf("reading %s: %w", p, err)
			}
			if why := SkipContent(b); why != "" {
				c.Skipped = append(c.Skipped, Skip{p, why})
				continue
			}
			c.Files = append(c.Files, File{Path: p, Text: string(b)})
		default:
			c.Skipped = append(c.Skipped, Skip{p, fmt.Sprintf("not a file (mode %s)", e.Mode)})
		}
	}
	return nil
}

// blobBytes reads a blob of at most max bytes.
func (r *Repo) blobBytes(h plumbing.Hash, max int64) ([]byte, error) {
	size, err := r.repo.Storer.EncodedObjectSize(h)
	if err != nil {
		return nil, err
	}
	if size > max {
		return nil, fmt.Errorf("%d bytes is larger than %d", size, max)
	}
	blob, err := r.repo.BlobObject(h)
	if err != nil {
		return nil, err
	}
	return readBlob(blob)
}

func readBlob(b *object.Blob) ([]byte, error) {
	rd, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(rd)
}

// LoadGit reads the corpus of the repository holding dir at HEAD.
func LoadGit(ctx context.Context, dir string, filter Filter) (*Corpus, error) {
	r, err := OpenRepo(dir)
	if err != nil {
		return nil, err
	}
	return r.Corpus(ctx, "", filter)
}

// TreeFingerprint identifies a git corpus without reading it: "sha256:…"
// over the commit's tree hash, the filter's configuration and the
// tokenizer's fingerprint. The tree hash covers every tracked byte
// (.cartignore files included), so equal fingerprints mean equal corpora
// cut into equal tokens; it is what the Cartridge store keys a repository's
// Cartridges by.
func TreeFingerprint(tree string, filter Filter, tokenizer string) string {
	h := sha256.New()
	fmt.Fprintf(h, "cartlsp git corpus v1\x00%s\x00%s\x00%s", tree, filter.Config(), tokenizer)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// ShortHash is a commit hash cut to 12 characters, for people.
func ShortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
