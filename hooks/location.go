package hooks

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"

	"github.com/cartlsp/cartlsp/indexer"
)

// Location is where a repository's hooks live.
type Location struct {
	Dirs     indexer.GitDirs `json:"-"`
	Dir      string          `json:"dir"`                // the hooks directory, absolute
	Source   string          `json:"source,omitempty"`   // "core.hooksPath (repository config)", "core.hooksPath (global config)" or ""
	Warnings []string        `json:"warnings,omitempty"` // configuration that could not be read, so was not honoured
}

// Find finds the hooks directory git uses for the repository containing
// dir. It asks git (`git rev-parse --git-path hooks`, which honours
// core.hooksPath from every config scope git reads: system, global with
// $GIT_CONFIG_GLOBAL, includes, local, worktree, $GIT_CONFIG_*). Without
// git on PATH it reads core.hooksPath itself: from the repository's config,
// else the global one, else the common git directory's hooks/ (shared by
// worktrees). A relative core.hooksPath is relative to the work tree root
// (the git directory for a bare repository), as git runs hooks there.
func Find(dir string) (Location, error) {
	dirs, err := indexer.FindGitDirs(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		abs, _ := filepath.Abs(dir)
		return Location{}, fmt.Errorf("not in a git repository: %s; run it inside one or pass --repo", abs)
	}
	if err != nil {
		return Location{}, fmt.Errorf("find the repository: %w", err)
	}
	loc := Location{Dirs: dirs, Dir: filepath.Join(dirs.CommonDir, "hooks")}
	if dir, source, err := fromGit(dirs); err == nil {
		loc.Dir, loc.Source = dir, source
		return loc, nil
	} else if !errors.Is(err, exec.ErrNotFound) {
		loc.Warnings = append(loc.Warnings, fmt.Sprintf("asking git where its hooks are: %v; core.hooksPath is read by cartlsp instead", err))
	}

	hooksPath, source := "", ""
	// A config go-git cannot parse is a warning, not a failure: git may read it fine.
	local, err := readGitConfig(filepath.Join(dirs.CommonDir, "config"))
	if err != nil {
		loc.Warnings = append(loc.Warnings, fmt.Sprintf("%v; core.hooksPath there is not honoured", err))
	}
	if local != nil {
		hooksPath, source = local.Raw.Section("core").Option("hooksPath"), "core.hooksPath (repository config)"
	}
	if hooksPath == "" {
		global, err := gitconfig.LoadConfig(gitconfig.GlobalScope)
		if err != nil {
			loc.Warnings = append(loc.Warnings, fmt.Sprintf("read the global git config: %v; core.hooksPath there is not honoured", err))
		} else {
			hooksPath, source = global.Raw.Section("core").Option("hooksPath"), "core.hooksPath (global config)"
		}
	}
	if hooksPath == "" {
		return loc, nil
	}
	if hooksPath == "~" || strings.HasPrefix(hooksPath, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return loc, fmt.Errorf("expand core.hooksPath %q: %w", hooksPath, err)
		}
		hooksPath = filepath.Join(home, strings.TrimPrefix(hooksPath, "~"))
	}
	if !filepath.IsAbs(hooksPath) {
		base := dirs.WorkTree
		if base == "" {
			base = dirs.GitDir
		}
		hooksPath = filepath.Join(base, hooksPath)
	}
	loc.Dir, loc.Source = filepath.Clean(hooksPath), source
	return loc, nil
}

// fromGit asks git where the hooks of the repository dirs describe are,
// and which config scope set core.hooksPath ("" for the default).
func fromGit(dirs indexer.GitDirs) (dir, source string, err error) {
	git, err := exec.LookPath("git")
	if err != nil {
		return "", "", err
	}
	base := dirs.WorkTree
	if base == "" {
		base = dirs.GitDir
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(git, args...)
		cmd.Dir = base
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return strings.TrimRight(string(out), "\r\n"), nil
	}
	p, err := run("rev-parse", "--git-path", "hooks")
	if err != nil {
		return "", "", err
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	// The scope that set it (exit status 1: nobody did).
	if out, err := run("config", "--show-scope", "--get", "core.hooksPath"); err == nil {
		if scope, _, ok := strings.Cut(out, "\t"); ok {
			if scope == "local" {
				scope = "repository"
			}
			source = "core.hooksPath (" + scope + " config)"
		}
	}
	return filepath.Clean(p), source, nil
}

// Outside says whether the hooks directory is outside the repository (its
// work tree and git directories): hooks there run for every repository
// that shares the configuration that points there.
func (l Location) Outside() bool {
	d := l.Dirs
	in := func(dir string) bool { return dir != "" && within(l.Dir, dir) }
	return !in(d.WorkTree) && !in(d.GitDir) && !in(d.CommonDir)
}

// InWorkTree says whether the hooks directory is inside the work tree (and
// not inside a git directory), where git sees the hook files as changes.
func (l Location) InWorkTree() bool {
	d := l.Dirs
	return d.WorkTree != "" && within(l.Dir, d.WorkTree) && !within(l.Dir, d.GitDir) && !within(l.Dir, d.CommonDir)
}

// readGitConfig reads a git config file; nil when there is none.
func readGitConfig(path string) (*gitconfig.Config, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the repository config: %w", err)
	}
	defer f.Close()
	c, err := gitconfig.ReadConfig(f)
	if err != nil {
		return nil, fmt.Errorf("read the repository config %s: %w", path, err)
	}
	return c, nil
}

// within says whether path is dir or below it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
