package deps

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// packageJSON is what package.json says about dependencies.
type packageJSON struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Dependencies         map[string]string `json:"dependencies"`
	DevDependencies      map[string]string `json:"devDependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
}

// packageLock is package-lock.json: "packages" (lockfileVersion 2 and 3,
// keyed by install path such as "node_modules/a") or "dependencies"
// (version 1, keyed by name).
type packageLock struct {
	LockfileVersion int                    `json:"lockfileVersion"`
	Packages        map[string]lockPackage `json:"packages"`
	Dependencies    map[string]lockPackage `json:"dependencies"`
}

type lockPackage struct {
	Version   string `json:"version"`
	Integrity string `json:"integrity"`
	Dev       bool   `json:"dev"`
	Link      bool   `json:"link"`
}

// readNPM adds the packages installed at the top of node_modules, as
// package-lock.json resolves them. Without a lock file package.json holds
// only ranges, which name no version: the dependencies are left out with a
// note.
func readNPM(root string, d *Discovery) error {
	var pkg packageJSON
	if err := readJSON(filepath.Join(root, "package.json"), &pkg); err != nil {
		return err
	}
	direct := map[string]bool{}
	for _, m := range []map[string]string{pkg.Dependencies, pkg.DevDependencies, pkg.OptionalDependencies, pkg.PeerDependencies} {
		for n := range m {
			direct[n] = true
		}
	}
	lockPath := filepath.Join(root, "package-lock.json")
	if _, err := os.Stat(lockPath); os.IsNotExist(err) {
		if len(direct) > 0 {
			d.Notes = append(d.Notes, fmt.Sprintf("package.json names %d packages but there is no package-lock.json to pin their versions (run npm install)", len(direct)))
		}
		return nil
	}
	var lock packageLock
	if err := readJSON(lockPath, &lock); err != nil {
		return err
	}
	d.Manifests = append(d.Manifests, "package-lock.json")
	resolved := map[string]lockPackage{}
	for key, p := range lock.Packages {
		name, ok := strings.CutPrefix(key, "node_modules/")
		// Only the top of node_modules: nested installs are other versions
		// that some package needs for itself.
		if !ok || strings.Contains(name, "/node_modules/") || p.Link || p.Version == "" {
			continue
		}
		resolved[name] = p
	}
	if lock.Packages == nil {
		for name, p := range lock.Dependencies {
			if p.Version != "" && !strings.Contains(p.Version, ":") { // not "file:…" or "git+…"
				resolved[name] = p
			}
		}
	}
	names := make([]string, 0, len(resolved))
	for n := range resolved {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := resolved[n]
		d.Deps = append(d.Deps, Dependency{Ecosystem: NPM, Name: n, Version: p.Version, Direct: direct[n], Dev: p.Dev, Sum: p.Integrity})
	}
	var unlocked []string
	for n := range direct {
		if _, ok := resolved[n]; !ok {
			unlocked = append(unlocked, n)
		}
	}
	if len(unlocked) > 0 {
		sort.Strings(unlocked)
		d.Notes = append(d.Notes, fmt.Sprintf("package-lock.json does not resolve %s (run npm install)", strings.Join(unlocked, ", ")))
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("deps: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("deps: %s: %w", path, err)
	}
	return nil
}
