package hooks

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cartlsp/cartlsp/atomicfile"
)

// Report is what Install, Uninstall or Status found and did: the hooks
// directory, one line per hook, and notes for the user.
type Report struct {
	Location Location `json:"location"`
	Hooks    []Line   `json:"hooks"`
	Notes    []string `json:"notes,omitempty"`
}

// Line is what happened to one hook, in words ("installed", "someone else's
// hook: left alone", ...).
type Line struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// Write prints the report as `cartlsp hook` shows it.
func (r *Report) Write(w io.Writer) {
	fmt.Fprintf(w, "hooks directory: %s", r.Location.Dir)
	if r.Location.Source != "" {
		fmt.Fprintf(w, " (from %s)", r.Location.Source)
	}
	fmt.Fprintln(w)
	for _, m := range r.Location.Warnings {
		fmt.Fprintf(w, "warning: %s\n", m)
	}
	for _, l := range r.Hooks {
		fmt.Fprintf(w, "  %-14s %s\n", l.Name, l.Message)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, n)
	}
}

// file is the state of one hook in the hooks directory.
type file struct {
	name       string
	path, prev string // the hook and the previous hook ours chains (<name>.pre-cartlsp)
	exists     bool
	ours       bool
	edited     bool // ours, changed since it was installed
	executable bool
	prevExists bool
}

func stat(dir, name string) (file, error) {
	h := file{name: name, path: filepath.Join(dir, name), prev: filepath.Join(dir, name+PreCartlsp)}
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
			h.ours = isOurs(b)
			h.edited = h.ours && edited(b)
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

func statAll(loc Location) ([]file, error) {
	hooks := make([]file, 0, len(Names))
	for _, name := range Names {
		h, err := stat(loc.Dir, name)
		if err != nil {
			return nil, err
		}
		hooks = append(hooks, h)
	}
	return hooks, nil
}

// Options are what a user confirms.
type Options struct {
	// Outside allows installing into a hooks directory outside the
	// repository (a core.hooksPath shared by other repositories).
	Outside bool
	// Force replaces (install) or removes (uninstall) cartlsp hooks the user
	// edited since they were installed.
	Force bool
}

// Install writes cartlsp's hooks into loc, each running exe (the cartlsp
// binary, absolute) with trainArgs. A hook that is not cartlsp's is renamed
// to <name>.pre-cartlsp and chained: ours runs it first and exits with its
// status. It refuses, touching nothing, when a foreign hook's backup name is
// already taken, when a hook of ours was edited (without o.Force), and when
// the hooks directory is outside the repository (without o.Outside). On an
// error part way the report says what was done.
func Install(loc Location, exe string, trainArgs []string, o Options) (*Report, error) {
	if loc.Outside() && !o.Outside {
		from := "it"
		if loc.Source != "" {
			from = loc.Source
		}
		return nil, fmt.Errorf("nothing installed: the hooks directory %s (from %s) is outside this repository, so hooks there run for every repository that uses it; pass --outside to install there anyway, or give this repository its own (git config core.hooksPath .git/hooks)", loc.Dir, from)
	}
	hooks, err := statAll(loc)
	if err != nil {
		return nil, err
	}
	var conflicts []error
	for _, h := range hooks {
		if h.edited && !o.Force {
			conflicts = append(conflicts, fmt.Errorf("%s was edited since cartlsp installed it: move your edits into a hook of your own (cartlsp chains it), or pass --force to replace it", h.path))
		}
		if h.exists && !h.ours && h.prevExists {
			conflicts = append(conflicts, fmt.Errorf("%s is not cartlsp's hook and %s already exists; cartlsp would have to overwrite one of them: merge or remove one by hand, then run `cartlsp hook install` again", h.path, filepath.Base(h.prev)))
		}
	}
	if len(conflicts) > 0 {
		return nil, fmt.Errorf("nothing installed: %w", errors.Join(conflicts...))
	}
	if err := os.MkdirAll(loc.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create the hooks directory: %w", err)
	}

	r := &Report{Location: loc}
	for _, h := range hooks {
		var msg string
		switch {
		case h.ours:
			msg = "already installed (refreshed)"
		case h.exists:
			if err := os.Rename(h.path, h.prev); err != nil {
				return r, fmt.Errorf("hook %s: keep the previous hook: %w", h.name, err)
			}
			h.prevExists = true
			msg = fmt.Sprintf("installed; the previous hook is kept as %s and runs first", filepath.Base(h.prev))
		default:
			msg = "installed"
		}
		script := []byte(Script(h.name, exe, trainArgs))
		if err := atomicfile.WriteFile(h.path, script, 0o755); err != nil {
			if !h.ours && h.exists { // put the user's hook back where it was
				os.Rename(h.prev, h.path)
			}
			return r, fmt.Errorf("hook %s: %w", h.name, err)
		}
		if h.prevExists && (h.ours || !h.exists) {
			msg += ", chaining the previous hook " + filepath.Base(h.prev)
		}
		if h.prevExists {
			if st, err := os.Stat(h.prev); err == nil && st.Mode()&0o111 == 0 {
				msg += " (not executable, so neither git nor cartlsp runs it)"
			}
		}
		r.Hooks = append(r.Hooks, Line{h.name, msg})
	}
	if loc.InWorkTree() {
		r.Notes = append(r.Notes, "note: the hooks directory is inside the work tree: git sees these files as changes unless they are ignored")
	}
	r.Notes = append(r.Notes,
		"After each commit, merge, rewrite (rebase) and branch checkout, `cartlsp train --background` refreshes",
		"the Cartridge. Set CARTLSP_SKIP_HOOK=1 to skip it for one git command; `cartlsp hook uninstall` removes the hooks.")
	return r, nil
}

// Uninstall removes cartlsp's hooks from loc and puts back the hooks they
// chained; someone else's hooks are left alone, and so are cartlsp's hooks
// the user edited (unless o.Force).
func Uninstall(loc Location, o Options) (*Report, error) {
	hooks, err := statAll(loc)
	if err != nil {
		return nil, err
	}
	r := &Report{Location: loc}
	for _, h := range hooks {
		var msg string
		switch {
		case h.exists && !h.ours:
			msg = "someone else's hook: left alone"
			if h.prevExists {
				msg += fmt.Sprintf(" (and so is %s)", filepath.Base(h.prev))
			}
		case h.edited && !o.Force:
			msg = "edited since cartlsp installed it: left alone (remove it by hand, or run `cartlsp hook uninstall --force`)"
		case h.ours:
			if err := os.Remove(h.path); err != nil {
				return r, fmt.Errorf("hook %s: %w", h.name, err)
			}
			msg = "removed"
			if h.prevExists {
				if err := os.Rename(h.prev, h.path); err != nil {
					return r, fmt.Errorf("hook %s: restore the previous hook: %w", h.name, err)
				}
				msg += ", the previous hook restored"
			}
		case h.prevExists: // ours was deleted by hand; the previous hook waits
			if err := os.Rename(h.prev, h.path); err != nil {
				return r, fmt.Errorf("hook %s: restore the previous hook: %w", h.name, err)
			}
			msg = "not installed; the previous hook restored from " + filepath.Base(h.prev)
		default:
			msg = "not installed"
		}
		r.Hooks = append(r.Hooks, Line{h.name, msg})
	}
	return r, nil
}

// Status says which of cartlsp's hooks are installed in loc.
func Status(loc Location) (*Report, error) {
	hooks, err := statAll(loc)
	if err != nil {
		return nil, err
	}
	r := &Report{Location: loc}
	for _, h := range hooks {
		var msg string
		switch {
		case h.ours && h.prevExists:
			msg = "installed, chaining the previous hook " + filepath.Base(h.prev)
		case h.ours && h.edited:
			msg = "installed, then edited by hand"
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
		r.Hooks = append(r.Hooks, Line{h.name, msg})
	}
	return r, nil
}
