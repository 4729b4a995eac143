package lsp

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cartlsp/cartlsp/registry"
	"github.com/cartlsp/cartlsp/runtime/cartridge"
)

// Dependencies finds and fetches a workspace's dependency Cartridges in the
// store, keyed as `cartlsp deps` keys them (trainer/storetrain gives it).
type Dependencies interface {
	// Find resolves spec (module@version, or a module the repository at
	// root resolves to one version) and returns its Cartridge in the store
	// ("" when the store has none) and its module@version.
	Find(ctx context.Context, root, spec string) (path, id string, err error)
	// Pull fetches it from a registry location into the store, checked.
	Pull(ctx context.Context, root, spec, location string, o registry.Options, po registry.PullOptions) (path, id string, err error)
}

// DependencyStatus says what became of one entry of the dependencies
// setting.
type DependencyStatus struct {
	Name string `json:"name"` // the setting's entry
	// ID is the module@version a module entry resolved to.
	ID string `json:"id,omitempty"`
	// State: "loaded" (answers compose its Cartridge), "missing" (the
	// store has none: cartlsp.pullDependencies, or `cartlsp deps train`),
	// "skipped" (past the dependencyTokens cap) or "error".
	State     string `json:"state"`
	Cartridge string `json:"cartridge,omitempty"`
	Tokens    int    `json:"tokens,omitempty"` // its p
	Message   string `json:"message,omitempty"`
}

// cmdPullDependencies pulls the module entries of the dependencies setting
// from the registry setting into the store.
const cmdPullDependencies = "cartlsp.pullDependencies"

// isCartridgeFile reports whether a dependencies entry is a Cartridge file
// rather than a module: a path ending in .cart, or one starting with /,
// ./, ../ or ~/.
func isCartridgeFile(entry string) bool {
	return strings.HasSuffix(entry, ".cart") || filepath.IsAbs(entry) ||
		strings.HasPrefix(entry, "./") || strings.HasPrefix(entry, "../") || strings.HasPrefix(entry, "~/")
}

// cartridgePath is where a Cartridge file entry is: ~/ in the home
// directory, a relative path in the workspace folder.
func (w *workspace) cartridgePath(entry string) string {
	if rest, ok := strings.CutPrefix(entry, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	if !filepath.IsAbs(entry) && w.dir != "" {
		return filepath.Join(w.dir, entry)
	}
	return entry
}

// resolveDependencies finds the Cartridge of every entry of the
// dependencies setting: files as they are, modules in the store (through
// the Training's Dependencies). With pull, modules the store lacks are
// fetched from the registry setting first. It returns what changed, for a
// message.
func (w *workspace) resolveDependencies(ctx context.Context, cfg Config, pull bool) string {
	var out []DependencyStatus
	pulled, missing, failed, skipped, tokens := 0, 0, 0, 0, 0
	for _, entry := range cfg.Dependencies {
		st := DependencyStatus{Name: entry}
		switch {
		case isCartridgeFile(entry):
			st.State, st.Cartridge = "loaded", w.cartridgePath(entry)
		case w.deps == nil:
			st.State, st.Message = "error", "this server resolves no modules: name the Cartridge file instead"
		case w.dir == "":
			st.State, st.Message = "error", "no workspace folder to read the dependencies of"
		default:
			path, id, err := w.deps.Find(ctx, w.root(), entry)
			st.ID = id
			if err == nil && path == "" && pull && cfg.Registry != "" {
				var po registry.PullOptions
				if po, err = pullOptions(cfg); err == nil {
					path, id, err = w.deps.Pull(ctx, w.root(), entry, cfg.Registry, registry.Options{PlainHTTP: cfg.RegistryPlainHTTP}, po)
				}
				if err == nil {
					st.ID = id
					pulled++
				}
			}
			switch {
			case err != nil:
				st.State, st.Message = "error", err.Error()
				failed++
			case path == "":
				st.State, st.Message = "missing", "the store has no Cartridge for "+id+" with this model and budget: run the command "+cmdPullDependencies+" (setting registry) or `cartlsp deps train "+id+"`"
				missing++
			default:
				st.State, st.Cartridge = "loaded", path
			}
		}
		if st.State == "loaded" {
			switch m, _, err := cartridge.ReadHeader(st.Cartridge); {
			case err != nil:
				st.State, st.Message = "error", err.Error()
				failed++
			case tokens+m.P > cfg.DependencyTokens:
				st.State, st.Tokens = "skipped", m.P
				st.Message = fmt.Sprintf("its %d tokens would take the dependency Cartridges past the dependencyTokens cap of %d (%d taken before it): raise dependencyTokens or drop an entry", m.P, cfg.DependencyTokens, tokens)
				skipped++
			default:
				st.Tokens = m.P
				tokens += m.P
			}
		}
		out = append(out, st)
	}
	w.mu.Lock()
	w.depStatus, w.depKey = out, dependencyKey(cfg)
	w.status.Dependencies = out
	w.mu.Unlock()
	msg := fmt.Sprintf("%d dependency Cartridges loaded (%d tokens)", len(out)-missing-failed-skipped, tokens)
	if pull {
		msg = fmt.Sprintf("%d pulled from %s; %s", pulled, cfg.Registry, msg)
	}
	if missing > 0 {
		msg += fmt.Sprintf(", %d missing", missing)
	}
	if skipped > 0 {
		msg += fmt.Sprintf(", %d skipped past the dependencyTokens cap of %d", skipped, cfg.DependencyTokens)
	}
	if failed > 0 {
		msg += fmt.Sprintf(", %d failed (see cartlsp.status)", failed)
	}
	return msg
}

// root is the directory whose manifests name the dependencies: the
// repository's root, else the workspace folder.
func (w *workspace) root() string {
	if w.repo != nil {
		return w.repo.Root
	}
	return w.dir
}

// dependencyKey is what, when it changes, resolves the dependencies again.
func dependencyKey(cfg Config) string {
	return strings.Join(cfg.Dependencies, "\x00") + "\x01" + cfg.Registry + "\x01" + strconv.Itoa(cfg.DependencyTokens)
}

// refreshDependencies resolves the dependencies again when cfg changed
// them (the setting, the registry, the cap) and reports whether it did.
func (w *workspace) refreshDependencies(ctx context.Context, cfg Config) bool {
	w.mu.Lock()
	stale := w.depKey != dependencyKey(cfg)
	w.mu.Unlock()
	if stale {
		w.resolveDependencies(ctx, cfg, false)
	}
	return stale
}

// dependencyFiles are the loaded dependency Cartridges of cfg's
// dependencies setting, in its order, and their names for answers
// (module@version, or the file). A changed setting is resolved again.
func (w *workspace) dependencyFiles(cfg Config) (files, names []string) {
	w.refreshDependencies(context.Background(), cfg)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range w.depStatus {
		if d.State != "loaded" {
			continue
		}
		files = append(files, d.Cartridge)
		name := d.ID
		if name == "" {
			name = d.Name
		}
		names = append(names, name)
	}
	return files, names
}

// PullDependenciesResult is cartlsp.pullDependencies' result.
type PullDependenciesResult struct {
	Message      string             `json:"message"`
	Dependencies []DependencyStatus `json:"dependencies"`
}

// pullDependencies fetches the dependencies setting's modules from the
// registry setting and loads them.
func (s *Server) pullDependencies(ctx context.Context) (*PullDependenciesResult, error) {
	select {
	case <-s.engReady:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	ws := s.ws
	s.mu.Unlock()
	if ws == nil {
		return &PullDependenciesResult{Message: "the workspace is not open yet; try again in a moment"}, nil
	}
	if s.config().Registry == "" {
		return &PullDependenciesResult{Message: "set registry (a registry repository, dir:PATH or https:// URL) to pull dependency Cartridges from",
			Dependencies: ws.currentStatus().Dependencies}, nil
	}
	cfg := s.config()
	before, _ := ws.dependencyFiles(cfg)
	msg := ws.resolveDependencies(ctx, cfg, true)
	if after, _ := ws.dependencyFiles(cfg); cfg.TrainBeside && !slices.Equal(before, after) {
		// The repository's Cartridge trains behind what is loaded now.
		go s.restartWorkspace(context.WithoutCancel(ctx))
		msg += "; the repository's Cartridge will train beside them"
	}
	st := ws.currentStatus()
	s.notifyStatus(ctx, st)
	go ws.warm()
	return &PullDependenciesResult{Message: msg, Dependencies: st.Dependencies}, nil
}

// pullOptions are the checks a pull makes beyond registry.Pull's own: a
// signature by registryVerifyKey when it is set.
func pullOptions(cfg Config) (registry.PullOptions, error) {
	var po registry.PullOptions
	if cfg.RegistryVerifyKey == "" {
		return po, nil
	}
	keys, err := registry.LoadPublicKeys(cfg.RegistryVerifyKey)
	if err != nil {
		return po, fmt.Errorf("setting registryVerifyKey: %w", err)
	}
	po.Keys = keys
	return po, nil
}
