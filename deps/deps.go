// Package deps finds what a repository depends on, exactly as its lock files
// resolve it, ranks the dependencies by how much the repository uses them,
// and finds each one's source: the corpus a dependency Cartridge is trained
// on. It reads Go modules (go.mod, go.sum), npm packages (package.json,
// package-lock.json) and Python distributions pinned in requirements.txt or
// pyproject.toml; docs/ARCHITECTURE.md, "Dependency Cartridges", says how.
package deps

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"golang.org/x/mod/module"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Ecosystem names a package system.
type Ecosystem string

const (
	Go   Ecosystem = "go"
	NPM  Ecosystem = "npm"
	PyPI Ecosystem = "pypi"
)

// Dependency is one resolved dependency of a repository.
type Dependency struct {
	Ecosystem Ecosystem `json:"ecosystem"`
	// Name is the module path (Go), the package name (npm) or the
	// distribution's normalised name (PyPI, PEP 503: lower case, runs of
	// "-", "_" and "." as one "-").
	Name    string `json:"name"`
	Version string `json:"version"`
	// Direct is set when the manifest itself names the dependency (go.mod
	// without "// indirect", package.json, requirements.txt), not only the
	// lock file.
	Direct bool `json:"direct"`
	// Dev marks a development-only dependency (npm devDependencies).
	Dev bool `json:"dev,omitempty"`
	// Sum is the lock file's checksum of the dependency: go.sum's h1: hash of
	// the module, package-lock.json's integrity; "" when it has none.
	Sum string `json:"sum,omitempty"`
	// Replace is go.mod's replacement, "path@version" or a local directory
	// relative to the repository ("" when there is none). A local one is the
	// dependency's source.
	Replace string `json:"replace,omitempty"`
	// Files is the number of the repository's non-test source files that
	// import the dependency; Uses counts references to what they import
	// (selectors such as uuid.New in Go, bound names in JavaScript and
	// Python). Both are 0 until Rank.
	Files int `json:"files"`
	Uses  int `json:"uses"`
}

// ID is "name@version", the dependency's name in commands and store keys.
func (d Dependency) ID() string { return d.Name + "@" + d.Version }

// Local reports whether the dependency is a directory of the repository's
// own (a go.mod replace with a path), which has no version to share.
func (d Dependency) Local() bool {
	return d.Replace != "" && (strings.HasPrefix(d.Replace, ".") || filepath.IsAbs(d.Replace))
}

// Discovery is what Discover found.
type Discovery struct {
	Deps []Dependency `json:"deps"`
	// Manifests are the files read, relative to the repository.
	Manifests []string `json:"manifests"`
	// Notes say what was left out and why (an unpinned requirement, a
	// package.json without a lock file), one line each.
	Notes []string `json:"notes,omitempty"`
}

// Discover reads the manifests at the root of the repository (go.mod,
// package.json, requirements.txt, pyproject.toml) and returns the
// dependencies they resolve, ranked by Rank, most used first. A repository
// with none of these files has no dependencies; a malformed one is an error
// naming the file.
func Discover(ctx context.Context, root string) (*Discovery, error) {
	d := &Discovery{}
	readers := []struct {
		file string
		read func(root string, d *Discovery) error
	}{
		{"go.mod", readGo},
		{"package.json", readNPM},
		{"requirements.txt", readRequirements},
		{"pyproject.toml", readPyproject},
	}
	for _, r := range readers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, err := os.Stat(filepath.Join(root, r.file)); errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("deps: %w", err)
		}
		d.Manifests = append(d.Manifests, r.file)
		if err := r.read(root, d); err != nil {
			return nil, err
		}
	}
	d.Deps = d.sane(d.Deps)
	d.Deps = dedupe(d.Deps)
	if err := Rank(ctx, root, d.Deps); err != nil {
		return nil, err
	}
	Sort(d.Deps)
	return d, nil
}

// dedupe keeps one entry per (ecosystem, name): requirements.txt and
// pyproject.toml may both pin a distribution; the first reading wins, and
// Direct is kept if either had it.
func dedupe(ds []Dependency) []Dependency {
	seen := map[string]int{}
	var out []Dependency
	for _, d := range ds {
		k := string(d.Ecosystem) + "\x00" + d.Name
		if i, ok := seen[k]; ok {
			out[i].Direct = out[i].Direct || d.Direct
			continue
		}
		seen[k] = len(out)
		out = append(out, d)
	}
	return out
}

// Sort orders dependencies most used first: by importing files, then
// references, direct before indirect, then by ecosystem and name.
func Sort(ds []Dependency) {
	slices.SortStableFunc(ds, func(a, b Dependency) int {
		if c := cmp.Compare(b.Files, a.Files); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Uses, a.Uses); c != 0 {
			return c
		}
		if a.Direct != b.Direct {
			if a.Direct {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(a.Ecosystem, b.Ecosystem); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
}

// Find returns the dependency a user names: "name@version" exactly, or a
// bare name when only one version of it is resolved.
func Find(ds []Dependency, spec string) (Dependency, error) {
	name, version, _ := strings.Cut(spec, "@")
	if strings.HasPrefix(spec, "@") { // an npm scope: @scope/name@version
		n, v, _ := strings.Cut(spec[1:], "@")
		name, version = "@"+n, v
	}
	var hits []Dependency
	for _, d := range ds {
		if d.Name == name || d.Ecosystem == PyPI && d.Name == NormalizePyPI(name) {
			if version == "" || d.Version == version {
				hits = append(hits, d)
			}
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		return Dependency{}, fmt.Errorf("deps: the repository does not depend on %s (see cartlsp deps ls)", spec)
	}
	return Dependency{}, fmt.Errorf("deps: %s names %d dependencies; say which with name@version", spec, len(hits))
}

// Names and versions a dependency may have: they become paths
// (node_modules/NAME, the source cache's NAME@VERSION) and arguments, so
// anything else in a manifest is left out rather than trusted.
var (
	npmName     = regexp.MustCompile(`^(@[a-z0-9~-][a-z0-9._~-]*/)?[a-z0-9~-][a-z0-9._~-]*$`)
	pypiName    = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$`)
	safeVersion = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+!_-]*$`)
)

// sane keeps the dependencies whose name and version are valid for their
// ecosystem (and safe as path parts), noting the others.
func (d *Discovery) sane(ds []Dependency) []Dependency {
	out := ds[:0]
	var bad []string
	for _, dep := range ds {
		ok := safeVersion.MatchString(dep.Version) && len(dep.Name) <= 214 && len(dep.Version) <= 128
		switch dep.Ecosystem {
		case Go:
			ok = ok && module.CheckPath(dep.Name) == nil
		case NPM:
			ok = ok && npmName.MatchString(strings.ToLower(dep.Name))
		case PyPI:
			ok = ok && pypiName.MatchString(dep.Name)
		}
		if !ok {
			bad = append(bad, fmt.Sprintf("%.60q@%.30q", dep.Name, dep.Version))
			continue
		}
		out = append(out, dep)
	}
	if len(bad) > 0 {
		d.Notes = append(d.Notes, fmt.Sprintf("left out %d entries whose name or version is not valid: %s", len(bad), strings.Join(bad, ", ")))
	}
	return out
}
