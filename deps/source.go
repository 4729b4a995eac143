package deps

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/cartlsp/cartlsp/indexer"
	"golang.org/x/mod/module"
)

// Sources finds dependencies' source directories.
type Sources struct {
	// Root is the repository (for node_modules and local replacements).
	Root string
	// CacheDir keeps unpacked Python sdists (<user cache>/cartlsp/deps when
	// empty).
	CacheDir string
	// GoCmd and Python are the commands run to fetch sources ("go" and
	// "python3" when empty).
	GoCmd, Python string
	// MaxBytes bounds an unpacked sdist (DefaultMaxSourceBytes when 0).
	MaxBytes int64
}

// DefaultMaxSourceBytes bounds an unpacked sdist.
const DefaultMaxSourceBytes = 512 << 20

// Dir returns the directory holding d's source, fetching it first when it is
// not on this machine:
//   - a Go module from the module cache (`go env GOMODCACHE`), else with
//     `go mod download`, checked against go.sum's hash;
//   - an npm package from the repository's node_modules, which must hold the
//     locked version (npm ci puts it there);
//   - a Python distribution's sdist from the package index (`pip download
//     --no-binary :all:`), unpacked under CacheDir.
func (s Sources) Dir(ctx context.Context, d Dependency) (string, error) {
	switch d.Ecosystem {
	case Go:
		return s.goDir(ctx, d)
	case NPM:
		return s.npmDir(d)
	case PyPI:
		return s.pypiDir(ctx, d)
	}
	return "", fmt.Errorf("deps: %s: unknown ecosystem %q", d.ID(), d.Ecosystem)
}

func (s Sources) goCmd() string { return cmpOr(s.GoCmd, "go") }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s Sources) goDir(ctx context.Context, d Dependency) (string, error) {
	if d.Local() {
		dir := d.Replace
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(s.Root, dir)
		}
		return dir, nil
	}
	mod := module.Version{Path: d.Name, Version: d.Version}
	if d.Replace != "" {
		p, v, _ := strings.Cut(d.Replace, "@")
		mod = module.Version{Path: p, Version: v}
	}
	cache, err := s.goEnv(ctx, "GOMODCACHE")
	if err != nil {
		return "", err
	}
	if dir, err := cachedModule(cache, mod, d.Sum); err != nil || dir != "" {
		return dir, err
	}
	// go mod download outside any module, so the repository's go.mod is
	// neither read nor changed.
	cmd := exec.CommandContext(ctx, s.goCmd(), "mod", "download", "-json", mod.String())
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	out, err := cmd.Output()
	var info struct{ Dir, Sum, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("deps: go mod download %s: %s", mod, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("deps: go mod download %s: %w%s", mod, err, stderrOf(err))
	}
	if d.Sum != "" && info.Sum != d.Sum {
		return "", fmt.Errorf("deps: %s: the module proxy's hash %s is not go.sum's %s", mod, info.Sum, d.Sum)
	}
	if info.Dir == "" {
		return "", fmt.Errorf("deps: go mod download %s gave no directory", mod)
	}
	return info.Dir, nil
}

// cachedModule is the module's directory in the module cache, "" when it is
// not there; when go.sum has a hash, the cache's record of the module's zip
// hash must agree.
func cachedModule(cache string, mod module.Version, sum string) (string, error) {
	ep, err := module.EscapePath(mod.Path)
	if err != nil {
		return "", fmt.Errorf("deps: %s: %w", mod, err)
	}
	ev, err := module.EscapeVersion(mod.Version)
	if err != nil {
		return "", fmt.Errorf("deps: %s: %w", mod, err)
	}
	dir := filepath.Join(cache, ep+"@"+ev)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", nil
	}
	if sum == "" {
		return dir, nil
	}
	zh, err := os.ReadFile(filepath.Join(cache, "cache", "download", ep, "@v", ev+".ziphash"))
	if err != nil {
		return "", nil // no record: let go mod download check it
	}
	if got := strings.TrimSpace(string(zh)); got != sum {
		return "", fmt.Errorf("deps: %s in the module cache has hash %s, go.sum says %s (run go clean -modcache)", mod, got, sum)
	}
	return dir, nil
}

func (s Sources) goEnv(ctx context.Context, name string) (string, error) {
	out, err := exec.CommandContext(ctx, s.goCmd(), "env", name).Output()
	if err != nil {
		return "", fmt.Errorf("deps: go env %s (is Go installed?): %w%s", name, err, stderrOf(err))
	}
	return strings.TrimSpace(string(out)), nil
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return ": " + strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}

func (s Sources) npmDir(d Dependency) (string, error) {
	dir := filepath.Join(s.Root, "node_modules", filepath.FromSlash(d.Name))
	var pkg packageJSON
	if err := readJSON(filepath.Join(dir, "package.json"), &pkg); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("deps: %s is not installed in node_modules (run npm ci)", d.ID())
		}
		return "", err
	}
	if pkg.Version != d.Version {
		return "", fmt.Errorf("deps: node_modules holds %s@%s, package-lock.json says %s (run npm ci)", d.Name, pkg.Version, d.Version)
	}
	return dir, nil
}

func (s Sources) cacheDir() (string, error) {
	if s.CacheDir != "" {
		return s.CacheDir, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("deps: no cache directory (set XDG_CACHE_HOME): %w", err)
	}
	return filepath.Join(base, "cartlsp", "deps"), nil
}

func (s Sources) pypiDir(ctx context.Context, d Dependency) (string, error) {
	cache, err := s.cacheDir()
	if err != nil {
		return "", err
	}
	final := filepath.Join(cache, "pypi", d.Name+"@"+d.Version)
	if st, err := os.Stat(final); err == nil && st.IsDir() {
		return sdistRoot(final), nil
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return "", fmt.Errorf("deps: %w", err)
	}
	dl, err := os.MkdirTemp(filepath.Dir(final), ".download-*")
	if err != nil {
		return "", fmt.Errorf("deps: %w", err)
	}
	defer os.RemoveAll(dl)
	py := cmpOr(s.Python, "python3")
	cmd := exec.CommandContext(ctx, py, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
		"--no-build-isolation", "--disable-pip-version-check", "--quiet", "--dest", dl, d.Name+"=="+d.Version)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("deps: pip download %s==%s: %w: %s", d.Name, d.Version, err, strings.TrimSpace(stderr.String()))
	}
	entries, err := os.ReadDir(dl)
	if err != nil || len(entries) != 1 {
		return "", fmt.Errorf("deps: pip download %s==%s left %d files, want one sdist", d.Name, d.Version, len(entries))
	}
	unpacked := filepath.Join(dl, "src")
	if err := Unpack(filepath.Join(dl, entries[0].Name()), unpacked, cmpInt(s.MaxBytes, DefaultMaxSourceBytes)); err != nil {
		return "", err
	}
	if err := os.Rename(unpacked, final); err != nil && !errors.Is(err, os.ErrExist) {
		if st, serr := os.Stat(final); serr != nil || !st.IsDir() { // not another process's finished copy
			return "", fmt.Errorf("deps: %w", err)
		}
	}
	return sdistRoot(final), nil
}

func cmpInt(a, b int64) int64 {
	if a > 0 {
		return a
	}
	return b
}

// sdistRoot is the one directory an sdist unpacks to (name-version/), or
// dir itself.
func sdistRoot(dir string) string {
	es, err := os.ReadDir(dir)
	if err == nil && len(es) == 1 && es[0].IsDir() {
		return filepath.Join(dir, es[0].Name())
	}
	return dir
}

// Unpack extracts a .tar.gz, .tgz or .zip archive into dir (which must not
// exist), refusing entries that would land outside it, links and device
// files (skipped), and more than max bytes in all.
func Unpack(archive, dir string, max int64) error {
	f, err := os.Open(archive)
	if err != nil {
		return fmt.Errorf("deps: %w", err)
	}
	defer f.Close()
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("deps: %w", err)
	}
	budget := max
	write := func(name string, mode os.FileMode, r io.Reader) error {
		clean := path.Clean(strings.ReplaceAll(name, `\`, "/"))
		if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return fmt.Errorf("deps: %s: entry %q would land outside the directory", archive, name)
		}
		p := filepath.Join(dir, filepath.FromSlash(clean))
		if mode.IsDir() {
			return os.MkdirAll(p, 0o755)
		}
		if !mode.IsRegular() {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return fmt.Errorf("deps: %s: %w", archive, err)
		}
		n, err := io.Copy(out, io.LimitReader(r, budget+1))
		budget -= n
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("deps: %s: %w", archive, err)
		}
		if budget < 0 {
			return fmt.Errorf("deps: %s unpacks to more than %d bytes", archive, max)
		}
		return nil
	}
	switch {
	case strings.HasSuffix(archive, ".zip"):
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("deps: %w", err)
		}
		zr, err := zip.NewReader(f, st.Size())
		if err != nil {
			return fmt.Errorf("deps: %s: %w", archive, err)
		}
		for _, zf := range zr.File {
			rc, err := zf.Open()
			if err != nil {
				return fmt.Errorf("deps: %s: %w", archive, err)
			}
			err = write(zf.Name, zf.Mode(), rc)
			rc.Close()
			if err != nil {
				return err
			}
		}
	case strings.HasSuffix(archive, ".tar.gz"), strings.HasSuffix(archive, ".tgz"):
		gz, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("deps: %s: %w", archive, err)
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("deps: %s: %w", archive, err)
			}
			if err := write(h.Name, h.FileInfo().Mode(), tr); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("deps: %s is not a .tar.gz or .zip sdist", archive)
	}
	return nil
}

// Filter is the corpus filter for a dependency of an ecosystem: the
// repository's filter plus the ecosystem's test files and directories,
// since a dependency Cartridge is about the API and its documentation. An
// npm package's dist/, lib/ and build/ are read: published packages often
// have their code only there.
func Filter(eco Ecosystem, base indexer.Filter) indexer.Filter {
	f := base
	f.Exclude = append([]string(nil), base.Exclude...)
	switch eco {
	case Go:
		f.Exclude = append(f.Exclude, "*_test.go")
		f.SkipDirs = append(f.SkipDirs, "testdata")
	case NPM:
		for _, ext := range []string{"js", "jsx", "mjs", "cjs", "ts", "tsx", "mts", "cts"} {
			f.Exclude = append(f.Exclude, "*.test."+ext, "*.spec."+ext)
		}
		f.Exclude = append(f.Exclude, "*.d.ts.map", "CHANGELOG.md")
		f.SkipDirs = append(f.SkipDirs, "test", "tests", "__tests__", "__mocks__", "coverage")
		f.KeepDirs = append(f.KeepDirs, "dist", "build")
	case PyPI:
		f.Exclude = append(f.Exclude, "test_*.py", "*_test.py", "conftest.py", "PKG-INFO", "setup.cfg")
		f.SkipDirs = append(f.SkipDirs, "tests", "test", "*.egg-info")
	}
	return f
}
