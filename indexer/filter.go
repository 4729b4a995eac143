package indexer

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// Filter decides which files of a codebase belong to its corpus. The zero
// value applies the defaults only.
type Filter struct {
	MaxFileBytes int      // larger files are skipped; 0 means DefaultMaxFileBytes
	Exclude      []string // extra glob patterns (path.Match) matched against the path and every suffix of it, e.g. "*_test.go", "docs/*"
	// SkipDirs are more directory names (or path.Match patterns of names)
	// never descended into, e.g. "testdata" or "*.egg-info" for a
	// dependency, whose tests are not its API.
	SkipDirs []string
	// KeepDirs are names of the default skipped directories that are read
	// after all (e.g. "dist" for an npm package, whose published code often
	// lives there).
	KeepDirs []string
}

// DefaultMaxFileBytes is the largest file a corpus takes by default.
const DefaultMaxFileBytes = 256 << 10

// skippedDirs are directory names never descended into.
var skippedDirs = map[string]bool{
	".git": true, ".hg": true, ".svn": true, "node_modules": true, "vendor": true, "third_party": true,
	"__pycache__": true, ".venv": true, "venv": true, "dist": true, "build": true, "target": true,
	".idea": true, ".vscode": true, ".cache": true,
}

// lockfiles are generated dependency pins, not code.
var lockfiles = map[string]bool{
	"go.sum": true, "package-lock.json": true, "yarn.lock": true, "pnpm-lock.yaml": true, "Cargo.lock": true,
	"poetry.lock": true, "Pipfile.lock": true, "composer.lock": true, "Gemfile.lock": true, "uv.lock": true,
}

// binaryExts are extensions of files that are never text worth learning.
var binaryExts = map[string]bool{
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".ico": true, ".pdf": true, ".zip": true,
	".gz": true, ".tgz": true, ".xz": true, ".bz2": true, ".zst": true, ".tar": true, ".jar": true,
	".so": true, ".dylib": true, ".dll": true, ".exe": true, ".a": true, ".o": true, ".wasm": true,
	".gguf": true, ".cart": true, ".bin": true, ".pb": true, ".woff": true, ".woff2": true, ".ttf": true,
	".mp3": true, ".mp4": true, ".mov": true, ".svg": true, ".min.js": true, ".map": true,
}

// FilterVersion changes whenever the default rules change, so that
// corpora read under other rules get other fingerprints.
const FilterVersion = 1

// Config is the filter's configuration as one canonical line: the rules'
// version, the size limit and the exclude patterns in order.
func (f Filter) Config() string {
	max := f.MaxFileBytes
	if max <= 0 {
		max = DefaultMaxFileBytes
	}
	c := fmt.Sprintf("defaults=v%d max=%d exclude=%q", FilterVersion, max, f.Exclude)
	// Written only when set, so that a repository's fingerprint is the
	// same as before these fields existed.
	if len(f.SkipDirs) > 0 {
		c += fmt.Sprintf(" skipdirs=%q", f.SkipDirs)
	}
	if len(f.KeepDirs) > 0 {
		c += fmt.Sprintf(" keepdirs=%q", f.KeepDirs)
	}
	return c
}

// SkipDir reports whether a directory (its base name) is left out.
func (f Filter) SkipDir(name string) bool {
	for _, pat := range f.SkipDirs {
		if ok, _ := path.Match(pat, name); ok {
			return true
		}
	}
	if skippedDirs[name] && slices.Contains(f.KeepDirs, name) {
		return false
	}
	return skippedDirs[name] || strings.HasPrefix(name, ".") && name != "."
}

// Check validates the exclude and directory patterns.
func (f Filter) Check() error {
	for _, p := range f.SkipDirs {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("directory pattern %q: %w", p, err)
		}
	}
	for _, p := range f.Exclude {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("exclude pattern %q: %w", p, err)
		}
	}
	return nil
}

// Excluded reports whether a slash path matches an exclude pattern (the
// path or any of its tails after a slash).
func (f Filter) Excluded(p string) bool {
	for _, pat := range f.Exclude {
		for s := p; ; {
			if ok, _ := path.Match(pat, s); ok {
				return true
			}
			i := strings.IndexByte(s, '/')
			if i < 0 {
				break
			}
			s = s[i+1:]
		}
	}
	return false
}

// SkipPath reports why a file is left out by its path and size alone, or "".
func (f Filter) SkipPath(p string, size int64) string {
	base := path.Base(p)
	max := f.MaxFileBytes
	if max <= 0 {
		max = DefaultMaxFileBytes
	}
	switch {
	case f.Excluded(p):
		return "excluded"
	case strings.HasPrefix(base, "."):
		return "hidden"
	case lockfiles[base]:
		return "lockfile"
	case binaryExts[strings.ToLower(path.Ext(base))] || strings.HasSuffix(base, ".min.js"):
		return "binary"
	case size > int64(max):
		return fmt.Sprintf("larger than %d bytes", max)
	case size == 0:
		return "empty"
	}
	return ""
}

// SkipContent reports why a file is left out by its content, or "".
func SkipContent(b []byte) string {
	head := b[:min(len(b), 8000)]
	switch {
	case bytes.IndexByte(head, 0) >= 0:
		return "binary"
	case !utf8.Valid(b):
		return "not UTF-8"
	case generated(head):
		return "generated"
	}
	return ""
}

// generated reports whether a file says it was generated (Go's convention
// and the common variants of it).
func generated(head []byte) bool {
	for _, line := range bytes.SplitN(head, []byte("\n"), 40) {
		l := bytes.TrimSpace(line)
		if bytes.Contains(l, []byte("DO NOT EDIT")) && (bytes.Contains(l, []byte("generated")) || bytes.Contains(l, []byte("Generated"))) {
			return true
		}
		if bytes.Contains(l, []byte("@generated")) {
			return true
		}
	}
	return false
}
