package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"

	"github.com/cartlsp/cartlsp/atomicfile"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/trainer"
)

// hookNames are the git hooks cartlsp installs: each runs once HEAD may have
// moved to a new commit.
var hookNames = []string{"post-commit", "post-merge", "post-rewrite", "post-checkout"}

const (
	// hookMarker is the line that makes a hook file cartlsp's own.
	hookMarker = "# cartlsp hook v1"
	// hookMarkerPrefix recognises every version of the marker.
	hookMarkerPrefix = "# cartlsp hook v"
	// preCartlsp is the suffix of the user's previous hook, which ours runs first.
	preCartlsp = ".pre-cartlsp"
)

// notRebasing is true in sh unless a rebase is replaying commits.
const notRebasing = ` && [ ! -d "$(git rev-parse --git-path rebase-merge 2>/dev/null)" ] && [ ! -d "$(git rev-parse --git-path rebase-apply 2>/dev/null)" ]`

// hookGuards are the extra conditions under which a hook trains: a branch
// checkout (not a file checkout); not an amend, for post-commit already ran;
// not a checkout or commit made while a rebase replays, for post-rewrite
// follows it with the final HEAD.
var hookGuards = map[string]string{
	"post-checkout": ` && [ "$3" = 1 ]` + notRebasing,
	"post-rewrite":  ` && [ "$1" != amend ]`,
	"post-commit":   notRebasing,
}

// hookScript is the POSIX sh hook `name` that runs the previous hook, if any,
// then `cartlsp train --background` and exits with the previous hook's status.
// trainArgs are extra `cartlsp train` flags (--budget, --model) baked into it.
func hookScript(name, exe string, trainArgs []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\n%s\n", hookMarker)
	fmt.Fprintf(&b, "# Installed by `cartlsp hook install`; `cartlsp hook uninstall` removes it and restores\n")
	fmt.Fprintf(&b, "# the hook it chains (%s%s). It refreshes the repository's Cartridge in the\n", name, preCartlsp)
	fmt.Fprintf(&b, "# background and never fails the git command; CARTLSP_SKIP_HOOK=1 skips the training.\n")
	fmt.Fprintf(&b, "status=0\n")
	fmt.Fprintf(&b, "previous=\"$(dirname \"$0\")/%s%s\"\n", name, preCartlsp)
	fmt.Fprintf(&b, "if [ -f \"$previous\" ] && [ -x \"$previous\" ]; then\n")
	fmt.Fprintf(&b, "\t\"$previous\" \"$@\"\n")
	fmt.Fprintf(&b, "\tstatus=$?\n")
	fmt.Fprintf(&b, "fi\n")
	fmt.Fprintf(&b, "if [ \"${CARTLSP_SKIP_HOOK:-}\" != 1 ]%s; then\n", hookGuards[name])
	fmt.Fprintf(&b, "\tcartlsp=%s\n", shQuote(exe))
	fmt.Fprintf(&b, "\t[ -x \"$cartlsp\" ] || cartlsp=cartlsp\n")
	fmt.Fprintf(&b, "\ttop=$(git rev-parse --show-toplevel 2>/dev/null) &&\n")
	extra := ""
	for _, a := range trainArgs {
		extra += shQuote(a) + " "
	}
	fmt.Fprintf(&b, "\t\t\"$cartlsp\" train --background --quiet %s\"$top\" </dev/null >/dev/null 2>&1 || true\n", extra)
	fmt.Fprintf(&b, "fi\n")
	fmt.Fprintf(&b, "exit $status\n")
	return b.String()
}

// shQuote quotes s for sh.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func hookUsage(w io.Writer) {
	fmt.Fprintf(w, "%s\n\nUsage:\n", commands["hook"].summary)
	fmt.Fprintf(w, "  cartlsp hook install [--repo DIR] [--budget B] [--model M.gguf]\n")
	fmt.Fprintf(w, "                                        add post-commit, post-merge, post-rewrite and post-checkout hooks\n")
	fmt.Fprintf(w, "                                        that run `cartlsp train --background`; existing hooks are kept and chained\n")
	fmt.Fprintf(w, "  cartlsp hook uninstall [--repo DIR]   remove them and restore the hooks they chained\n")
	fmt.Fprintf(w, "  cartlsp hook status [--repo DIR]      say which hooks are installed\n")
	fmt.Fprintf(w, "\nThe hooks directory is core.hooksPath when set, else the repository's .git/hooks (shared by its worktrees).\n")
	fmt.Fprintf(w, "Set CARTLSP_SKIP_HOOK=1 in a git command's environment to skip the training once.\n")
}

func runHook(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		hookUsage(stdout)
		return nil
	}
	sub := args[0]
	if sub != "install" && sub != "uninstall" && sub != "status" {
		return fmt.Errorf("unknown subcommand %q (want install, uninstall or status)", sub)
	}
	fs := newFlags("hook", "hook "+sub+" [--repo DIR]", stderr)
	repo := fs.String("repo", ".", "the repository: its work tree, a directory inside it, or a linked worktree")
	budget := fs.String("budget", "", "install: the training budget the hooks use (default: train's, small)")
	modelPath := fs.String("model", "", "install: the model file the hooks train for (default: train's)")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "cartlsp hook %s: unexpected argument %q (the repository is --repo DIR)\n", sub, pos[0])
		return errUsage
	}
	loc, err := findHooksDir(*repo)
	if err != nil {
		return err
	}
	switch sub {
	case "install":
		var extra []string
		if *budget != "" {
			if _, err := trainer.LookupBudget(*budget); err != nil {
				return err
			}
			extra = append(extra, "--budget", *budget)
		}
		if *modelPath != "" {
			abs, err := filepath.Abs(*modelPath)
			if err != nil {
				return err
			}
			extra = append(extra, "--model", abs)
		}
		return installHooks(loc, extra, stdout)
	case "uninstall":
		return uninstallHooks(loc, stdout)
	default:
		return hookStatus(loc, stdout)
	}
}

// hooksLocation is where a repository's hooks live.
type hooksLocation struct {
	dirs     indexer.GitDirs
	dir      string // the hooks directory, absolute
	source   string // "core.hooksPath (repository config)", "core.hooksPath (global config)" or ""
	warnings []string
}

// findHooksDir finds the hooks directory git uses for the repository
// containing dir: core.hooksPath from the repository's config, else from the
// global config, else the common git directory's hooks/ (shared by worktrees).
// A relative core.hooksPath is relative to the work tree root (the git
// directory for a bare repository), as git runs hooks there.
func findHooksDir(dir string) (hooksLocation, error) {
	dirs, err := indexer.FindGitDirs(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		abs, _ := filepath.Abs(dir)
		return hooksLocation{}, fmt.Errorf("not in a git repository: %s; run it inside one or pass --repo", abs)
	}
	if err != nil {
		return hooksLocation{}, fmt.Errorf("find the repository: %w", err)
	}
	loc := hooksLocation{dirs: dirs, dir: filepath.Join(dirs.CommonDir, "hooks")}

	hooksPath, source := "", ""
	// A config go-git cannot parse is a warning, not a failure: git may read it fine.
	local, err := readGitConfig(filepath.Join(dirs.CommonDir, "config"))
	if err != nil {
		loc.warnings = append(loc.warnings, fmt.Sprintf("%v; core.hooksPath there is not honoured", err))
	}
	if local != nil {
		hooksPath, source = local.Raw.Section("core").Option("hooksPath"), "core.hooksPath (repository config)"
	}
	if hooksPath == "" {
		global, err := gitconfig.LoadConfig(gitconfig.GlobalScope)
		if err != nil {
			loc.warnings = append(loc.warnings, fmt.Sprintf("read the global git config: %v; core.hooksPath there is not honoured", err))
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
	loc.dir, loc.source = filepath.Clean(hooksPath), source
	return loc, nil
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

// hookFile is the state of one hook in the hooks directory.
type hookFile struct {
	name       string
	path, prev string // the hook and the previous hook ours chains (<name>.pre-cartlsp)
	exists     bool
	ours       bool
	executable bool
	prevExists bool
}

func inspectHook(dir, name string) (hookFile, error) {
	h := hookFile{name: name, path: filepath.Join(dir, name), prev: filepath.Join(dir, name+preCartlsp)}
	st, err := os.Lstat(h.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return h, fmt.Errorf("hook %s: %w", name, err)
	case st.IsDir():
		return h, fmt.Errorf("hook %s: %s is a directory", name, h.path)
	default:
		h.exists = true
		b, err := os.ReadFile(h.path)
		switch {
		case err == nil:
			h.ours = isOurHook(b)
		case st.Mode()&fs.ModeSymlink != 0 && errors.Is(err, fs.ErrNotExist): // a dangling link: not ours
		default:
			return h, fmt.Errorf("hook %s: %w", name, err)
		}
		if fst, err := os.Stat(h.path); err == nil {
			h.executable = fst.Mode()&0o111 != 0
		}
	}
	if _, err := os.Lstat(h.prev); err == nil {
		h.prevExists = true
	} else if !errors.Is(err, fs.ErrNotExist) {
		return h, fmt.Errorf("hook %s: %w", name, err)
	}
	return h, nil
}

// isOurHook says whether a hook file carries cartlsp's marker line near its top.
func isOurHook(b []byte) bool {
	lines := strings.SplitN(string(b), "\n", 6)
	for _, l := range lines[:min(len(lines), 5)] {
		if strings.HasPrefix(strings.TrimSpace(l), hookMarkerPrefix) {
			return true
		}
	}
	return false
}

func inspectHooks(loc hooksLocation) ([]hookFile, error) {
	hooks := make([]hookFile, 0, len(hookNames))
	for _, name := range hookNames {
		h, err := inspectHook(loc.dir, name)
		if err != nil {
			return nil, err
		}
		hooks = append(hooks, h)
	}
	return hooks, nil
}

func printHooksDir(w io.Writer, loc hooksLocation) {
	fmt.Fprintf(w, "hooks directory: %s", loc.dir)
	if loc.source != "" {
		fmt.Fprintf(w, " (from %s)", loc.source)
	}
	fmt.Fprintln(w)
	for _, m := range loc.warnings {
		fmt.Fprintf(w, "warning: %s\n", m)
	}
}

func installHooks(loc hooksLocation, trainArgs []string, stdout io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locate the cartlsp binary: %w", err)
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return fmt.Errorf("locate the cartlsp binary: %w", err)
	}
	hooks, err := inspectHooks(loc)
	if err != nil {
		return err
	}
	// Refuse before touching anything: a foreign hook whose backup name is taken.
	var conflicts []error
	for _, h := range hooks {
		if h.exists && !h.ours && h.prevExists {
			conflicts = append(conflicts, fmt.Errorf("%s is not cartlsp's hook and %s already exists; cartlsp would have to overwrite one of them: merge or remove one by hand, then run `cartlsp hook install` again", h.path, filepath.Base(h.prev)))
		}
	}
	if len(conflicts) > 0 {
		return fmt.Errorf("nothing installed: %w", errors.Join(conflicts...))
	}
	if err := os.MkdirAll(loc.dir, 0o755); err != nil {
		return fmt.Errorf("create the hooks directory: %w", err)
	}

	printHooksDir(stdout, loc)
	for _, h := range hooks {
		var msg string
		switch {
		case h.ours:
			msg = "already installed (refreshed)"
		case h.exists:
			if err := os.Rename(h.path, h.prev); err != nil {
				return fmt.Errorf("hook %s: keep the previous hook: %w", h.name, err)
			}
			h.prevExists = true
			msg = fmt.Sprintf("installed; the previous hook is kept as %s and runs first", filepath.Base(h.prev))
		default:
			msg = "installed"
		}
		if err := writeFileAtomic(h.path, []byte(hookScript(h.name, exe, trainArgs)), 0o755); err != nil {
			if !h.ours && h.exists { // put the user's hook back where it was
				os.Rename(h.prev, h.path)
			}
			return fmt.Errorf("hook %s: %w", h.name, err)
		}
		if h.prevExists && (h.ours || !h.exists) {
			msg += ", chaining the previous hook " + filepath.Base(h.prev)
		}
		if h.prevExists {
			if st, err := os.Stat(h.prev); err == nil && st.Mode()&0o111 == 0 {
				msg += " (not executable, so neither git nor cartlsp runs it)"
			}
		}
		fmt.Fprintf(stdout, "  %-14s %s\n", h.name, msg)
	}
	if loc.dirs.WorkTree != "" && within(loc.dir, loc.dirs.WorkTree) && !within(loc.dir, loc.dirs.GitDir) && !within(loc.dir, loc.dirs.CommonDir) {
		fmt.Fprintf(stdout, "note: the hooks directory is inside the work tree: git sees these files as changes unless they are ignored\n")
	}
	fmt.Fprintf(stdout, "After each commit, merge, rewrite (rebase) and branch checkout, `cartlsp train --background` refreshes\n")
	fmt.Fprintf(stdout, "the Cartridge. Set CARTLSP_SKIP_HOOK=1 to skip it for one git command; `cartlsp hook uninstall` removes the hooks.\n")
	return nil
}

func uninstallHooks(loc hooksLocation, stdout io.Writer) error {
	hooks, err := inspectHooks(loc)
	if err != nil {
		return err
	}
	printHooksDir(stdout, loc)
	for _, h := range hooks {
		var msg string
		switch {
		case h.exists && !h.ours:
			msg = "someone else's hook: left alone"
			if h.prevExists {
				msg += fmt.Sprintf(" (and so is %s)", filepath.Base(h.prev))
			}
		case h.ours:
			if err := os.Remove(h.path); err != nil {
				return fmt.Errorf("hook %s: %w", h.name, err)
			}
			msg = "removed"
			if h.prevExists {
				if err := os.Rename(h.prev, h.path); err != nil {
					return fmt.Errorf("hook %s: restore the previous hook: %w", h.name, err)
				}
				msg += ", the previous hook restored"
			}
		case h.prevExists: // ours was deleted by hand; the previous hook waits
			if err := os.Rename(h.prev, h.path); err != nil {
				return fmt.Errorf("hook %s: restore the previous hook: %w", h.name, err)
			}
			msg = "not installed; the previous hook restored from " + filepath.Base(h.prev)
		default:
			msg = "not installed"
		}
		fmt.Fprintf(stdout, "  %-14s %s\n", h.name, msg)
	}
	return nil
}

func hookStatus(loc hooksLocation, stdout io.Writer) error {
	hooks, err := inspectHooks(loc)
	if err != nil {
		return err
	}
	printHooksDir(stdout, loc)
	for _, h := range hooks {
		var msg string
		switch {
		case h.ours && h.prevExists:
			msg = "installed, chaining the previous hook " + filepath.Base(h.prev)
		case h.ours:
			msg = "installed"
		case h.exists:
			msg = "someone else's hook"
		default:
			msg = "not installed"
		}
		if h.ours && !h.executable {
			msg += " (but not executable: git skips it; run `cartlsp hook install` again)"
		}
		if !h.ours && h.prevExists {
			msg += fmt.Sprintf(" (%s is left from an earlier install)", filepath.Base(h.prev))
		}
		fmt.Fprintf(stdout, "  %-14s %s\n", h.name, msg)
	}
	return nil
}

// within says whether path is dir or below it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// writeFileAtomic writes a file with atomicfile.WriteFile, so git never
// runs a half-written hook.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	if err := atomicfile.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
