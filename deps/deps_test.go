package deps

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/indexer/gittest"
	"golang.org/x/mod/module"
)

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// polyglot is a repository with a manifest of every kind, and source files
// that use some dependencies more than others.
func polyglot(t *testing.T) string {
	dir := t.TempDir()
	write(t, dir, "go.mod", `module example.com/app

go 1.22

require (
	github.com/google/uuid v1.6.0
	github.com/go-git/go-git/v5 v5.16.2
	gopkg.in/yaml.v3 v3.0.1
	golang.org/x/sys v0.30.0 // indirect
	example.com/local v0.0.0
)

replace example.com/local => ./local

replace golang.org/x/sys v0.30.0 => golang.org/x/sys v0.31.0
`)
	write(t, dir, "go.sum", `github.com/google/uuid v1.6.0 h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=
github.com/google/uuid v1.6.0/go.mod h1:TfCn3WyDZZdY0l3ZEV3Yn2g/j2J8Dds8gX2DWMQjoNA=
github.com/go-git/go-git/v5 v5.16.2 h1:fT6ZIOjE5iEnkzKyxTHK1W4HGAsPhqEqiSAssSO77hM=
gopkg.in/yaml.v3 v3.0.1 h1:fxVm/GzAzEWqLHuvctI91KS9hhNmmWOoWu0XTYJS7CA=
golang.org/x/sys v0.31.0 h1:ioabZlmFYtWhL+TRYpcnNlLwhyxaM9kWTDEmfnprqik=
`)
	write(t, dir, "main.go", `package main

import (
	"fmt"

	"github.com/google/uuid"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

func main() {
	id := uuid.New()
	fmt.Println(id, uuid.NewString(), uuid.Nil)
	r, _ := git.PlainOpen(".")
	_ = r
	_ = plumbing.ZeroHash
}
`)
	write(t, dir, "ids/ids.go", "package ids\n\nimport \"github.com/google/uuid\"\n\nfunc ID() string { return uuid.NewString() }\n")
	write(t, dir, "ids/ids_test.go", "package ids\n\nimport \"gopkg.in/yaml.v3\"\n\nvar _ = yaml.Marshal\n")
	write(t, dir, "vendor/x/x.go", "package x\n\nimport \"gopkg.in/yaml.v3\"\n\nvar _ = yaml.Marshal\n")
	write(t, dir, "package.json", `{"name": "app", "dependencies": {"lodash": "^4.17.0", "@scope/pkg": "1.x", "left-out": "*"}, "devDependencies": {"jest": "^29"}}`)
	write(t, dir, "package-lock.json", `{"lockfileVersion": 3, "packages": {
		"": {"name": "app"},
		"node_modules/lodash": {"version": "4.17.21", "integrity": "sha512-abc"},
		"node_modules/@scope/pkg": {"version": "1.2.3"},
		"node_modules/jest": {"version": "29.7.0", "dev": true},
		"node_modules/jest/node_modules/lodash": {"version": "3.0.0"},
		"node_modules/transitive": {"version": "0.1.0"},
		"node_modules/linked": {"link": true, "resolved": "../linked"}}}`)
	write(t, dir, "web/app.ts", `import _ from "lodash";
import { thing as t, other } from "@scope/pkg/sub";
const fp = require('lodash/fp');
_.map([1], fp.identity); t(); other(); _.each([]);
`)
	write(t, dir, "web/app.test.ts", `import { expect } from "jest"; expect(1);`)
	write(t, dir, "requirements.txt", `# pinned
requests==2.32.3 \
    --hash=sha256:abc
PyYAML==6.0.1 ; python_version >= "3.8"
flask>=2.0
-r extra.txt
-e ./local-pkg
`)
	write(t, dir, "extra.txt", "numpy===1.26.4\n")
	write(t, dir, "pyproject.toml", `[project]
name = "app"
dependencies = ["requests==2.32.3", "rich>=13", "Typing_Extensions == 4.12.2"]
[tool.poetry.dependencies]
python = "^3.10"
attrs = "==23.2.0"
`)
	write(t, dir, "app/main.py", `import requests
import yaml as y, numpy
from requests.adapters import HTTPAdapter
from typing_extensions import (
    Literal,
    TypedDict as TD,
)
requests.get("x"); requests.post("y"); y.safe_load(""); HTTPAdapter(); TD
`)
	write(t, dir, "app/test_main.py", "import numpy\nnumpy.zeros(1)\n")
	return dir
}

func TestDiscover(t *testing.T) {
	d, err := Discover(context.Background(), polyglot(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"go.mod", "go.sum", "package.json", "package-lock.json", "requirements.txt", "pyproject.toml"}; !reflect.DeepEqual(d.Manifests, want) {
		t.Errorf("manifests %v, want %v", d.Manifests, want)
	}
	got := map[string]Dependency{}
	var order []string
	for _, x := range d.Deps {
		got[string(x.Ecosystem)+" "+x.ID()] = x
		order = append(order, string(x.Ecosystem)+" "+x.ID())
	}
	for _, c := range []struct {
		key           string
		direct, dev   bool
		files, uses   int
		sum, replaced string
	}{
		{key: "go github.com/google/uuid@v1.6.0", direct: true, files: 2, uses: 4, sum: "h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0="},
		{key: "go github.com/go-git/go-git/v5@v5.16.2", direct: true, files: 1, uses: 2, sum: "h1:fT6ZIOjE5iEnkzKyxTHK1W4HGAsPhqEqiSAssSO77hM="},
		{key: "go gopkg.in/yaml.v3@v3.0.1", direct: true, sum: "h1:fxVm/GzAzEWqLHuvctI91KS9hhNmmWOoWu0XTYJS7CA="},
		{key: "go golang.org/x/sys@v0.30.0", replaced: "golang.org/x/sys@v0.31.0", sum: "h1:ioabZlmFYtWhL+TRYpcnNlLwhyxaM9kWTDEmfnprqik="},
		{key: "go example.com/local@v0.0.0", direct: true, replaced: "./local"},
		{key: "npm lodash@4.17.21", direct: true, files: 1, uses: 3, sum: "sha512-abc"},
		{key: "npm @scope/pkg@1.2.3", direct: true, files: 1, uses: 2},
		{key: "npm jest@29.7.0", direct: true, dev: true},
		{key: "npm transitive@0.1.0"},
		{key: "pypi requests@2.32.3", direct: true, files: 1, uses: 3},
		{key: "pypi pyyaml@6.0.1", direct: true, files: 1, uses: 1},
		{key: "pypi numpy@1.26.4", direct: true, files: 1},
		{key: "pypi typing-extensions@4.12.2", direct: true, files: 1, uses: 1},
		{key: "pypi attrs@23.2.0", direct: true},
	} {
		x, ok := got[c.key]
		if !ok {
			t.Errorf("%s not found in %v", c.key, order)
			continue
		}
		if x.Direct != c.direct || x.Dev != c.dev || x.Files != c.files || x.Uses != c.uses || x.Sum != c.sum || x.Replace != c.replaced {
			t.Errorf("%s: %+v, want direct %v dev %v files %d uses %d sum %q replace %q", c.key, x, c.direct, c.dev, c.files, c.uses, c.sum, c.replaced)
		}
	}
	if len(d.Deps) != 14 {
		t.Errorf("%d dependencies, want 14: %v", len(d.Deps), order)
	}
	if order[0] != "go github.com/google/uuid@v1.6.0" {
		t.Errorf("most used first: got %v", order)
	}
	notes := strings.Join(d.Notes, "\n")
	for _, want := range []string{"left-out", "flask", "rich"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes do not mention %s: %q", want, notes)
		}
	}
	if !got["go example.com/local@v0.0.0"].Local() || got["go golang.org/x/sys@v0.30.0"].Local() {
		t.Error("Local: only a path replacement is local")
	}
}

func TestDiscoverErrors(t *testing.T) {
	for _, c := range []struct{ file, text, want string }{
		{"go.mod", "module x\nrequire (\n", "go.mod"},
		{"package.json", "{", "package.json"},
		{"pyproject.toml", "[project\n", "pyproject.toml"},
	} {
		dir := t.TempDir()
		write(t, dir, c.file, c.text)
		if _, err := Discover(context.Background(), dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %s", c.file, err, c.want)
		}
	}
	dir := t.TempDir()
	write(t, dir, "go.mod", "module x\n\ngo 1.22\n\nrequire github.com/a/b v1.0.0\n")
	d, err := Discover(context.Background(), dir)
	if err != nil || len(d.Deps) != 1 || !strings.Contains(strings.Join(d.Notes, ""), "go mod tidy") {
		t.Errorf("go.mod without go.sum: %+v, %v; want one dependency and a note", d, err)
	}
	empty, err := Discover(context.Background(), t.TempDir())
	if err != nil || len(empty.Deps) != 0 {
		t.Errorf("no manifests: %+v, %v", empty, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Discover(ctx, polyglot(t)); err == nil {
		t.Error("a cancelled discovery succeeded")
	}
}

func TestFind(t *testing.T) {
	ds := []Dependency{
		{Ecosystem: Go, Name: "github.com/a/b", Version: "v1.0.0"},
		{Ecosystem: NPM, Name: "@s/p", Version: "1.0.0"},
		{Ecosystem: NPM, Name: "dup", Version: "1.0.0"},
		{Ecosystem: Go, Name: "dup", Version: "v2.0.0"},
		{Ecosystem: PyPI, Name: "typing-extensions", Version: "4.0"},
	}
	for _, c := range []struct{ spec, want, err string }{
		{"github.com/a/b", "github.com/a/b@v1.0.0", ""},
		{"github.com/a/b@v1.0.0", "github.com/a/b@v1.0.0", ""},
		{"github.com/a/b@v9", "", "does not depend"},
		{"@s/p", "@s/p@1.0.0", ""},
		{"@s/p@1.0.0", "@s/p@1.0.0", ""},
		{"dup", "", "name@version"},
		{"dup@v2.0.0", "dup@v2.0.0", ""},
		{"Typing_Extensions", "typing-extensions@4.0", ""},
	} {
		d, err := Find(ds, c.spec)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want an error with %q", c.spec, err, c.err)
			}
			continue
		}
		if err != nil || d.ID() != c.want {
			t.Errorf("%s: %v %v, want %s", c.spec, d.ID(), err, c.want)
		}
	}
}

func TestPinned(t *testing.T) {
	for _, c := range []struct{ req, name, version string }{
		{"requests==2.32.3", "requests", "2.32.3"},
		{"requests[socks] == 2.32.3 ; python_version<'3.9'", "requests", "2.32.3"},
		{"x===1.0", "x", "1.0"},
		{"x==1.*", "x", ""},
		{"x>=1", "x", ""},
		{"x==1,<2", "x", ""},
		{"x @ https://e.com/x.tar.gz", "x", ""},
		{"x", "x", ""},
	} {
		name, version, _, ok := pinned(c.req)
		if name != c.name || version != c.version || ok != (c.version != "") {
			t.Errorf("%q: %q %q %v, want %q %q", c.req, name, version, ok, c.name, c.version)
		}
	}
	if got := NormalizePyPI("Typing__Extensions.x"); got != "typing-extensions-x" {
		t.Errorf("normalised %q", got)
	}
}

// TestSourcesGo finds a module this repository builds with in the real
// module cache, checked against its go.sum hash, and refuses a cache whose
// recorded hash differs.
func TestSourcesGo(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	sum := goSumOf(t, "golang.org/x/mod", "v0.43.0")
	s := Sources{}
	dir, err := s.Dir(context.Background(), Dependency{Ecosystem: Go, Name: "golang.org/x/mod", Version: "v0.43.0", Sum: sum})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "modfile", "rule.go")); err != nil {
		t.Errorf("%s is not golang.org/x/mod's source: %v", dir, err)
	}
	// A fake module cache whose record disagrees with go.sum.
	cache := t.TempDir()
	write(t, cache, "example.com/m@v1.0.0/m.go", "package m\n")
	write(t, cache, "cache/download/example.com/m/@v/v1.0.0.ziphash", "h1:other=\n")
	if _, err := cachedModule(cache, modVersion("example.com/m", "v1.0.0"), "h1:want="); err == nil || !strings.Contains(err.Error(), "go.sum says") {
		t.Errorf("a mismatched cache: %v", err)
	}
	if d, err := cachedModule(cache, modVersion("example.com/m", "v1.0.0"), "h1:other="); err != nil || d == "" {
		t.Errorf("a matching cache: %q %v", d, err)
	}
	local := Dependency{Ecosystem: Go, Name: "example.com/local", Version: "v0.0.0", Replace: "./local"}
	if d, err := (Sources{Root: "/repo"}).Dir(context.Background(), local); err != nil || d != "/repo/local" {
		t.Errorf("a local replacement: %q %v", d, err)
	}
}

func goSumOf(t *testing.T, path, version string) string {
	b, err := os.ReadFile("../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == path && f[1] == version {
			return f[2]
		}
	}
	t.Fatalf("%s %s is not in go.sum", path, version)
	return ""
}

func TestSourcesNPM(t *testing.T) {
	root := t.TempDir()
	write(t, root, "node_modules/@s/p/package.json", `{"name": "@s/p", "version": "1.2.3"}`)
	s := Sources{Root: root}
	if d, err := s.Dir(context.Background(), Dependency{Ecosystem: NPM, Name: "@s/p", Version: "1.2.3"}); err != nil || d != filepath.Join(root, "node_modules/@s/p") {
		t.Errorf("installed: %q %v", d, err)
	}
	if _, err := s.Dir(context.Background(), Dependency{Ecosystem: NPM, Name: "@s/p", Version: "2.0.0"}); err == nil || !strings.Contains(err.Error(), "npm ci") {
		t.Errorf("another version installed: %v", err)
	}
	if _, err := s.Dir(context.Background(), Dependency{Ecosystem: NPM, Name: "absent", Version: "1.0.0"}); err == nil || !strings.Contains(err.Error(), "npm ci") {
		t.Errorf("not installed: %v", err)
	}
}

func TestUnpack(t *testing.T) {
	targz := func(entries map[string]string, extra ...*tar.Header) string {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		for name, text := range entries {
			tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(text)), Typeflag: tar.TypeReg})
			tw.Write([]byte(text))
		}
		for _, h := range extra {
			tw.WriteHeader(h)
		}
		tw.Close()
		gz.Close()
		p := filepath.Join(t.TempDir(), "x-1.0.tar.gz")
		os.WriteFile(p, buf.Bytes(), 0o644)
		return p
	}
	ok := targz(map[string]string{"x-1.0/x/__init__.py": "A = 1\n", "x-1.0/README.md": "# x\n"},
		&tar.Header{Name: "x-1.0/link", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink})
	dir := filepath.Join(t.TempDir(), "out")
	if err := Unpack(ok, dir, 1<<20); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(sdistRoot(dir), "x", "__init__.py")); err != nil || string(b) != "A = 1\n" {
		t.Errorf("unpacked %q %v", b, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "x-1.0", "link")); err == nil {
		t.Error("a symbolic link was unpacked")
	}
	for name, c := range map[string]struct {
		archive string
		max     int64
		want    string
	}{
		"escape":   {targz(map[string]string{"../evil.py": "x"}), 1 << 20, "outside"},
		"absolute": {targz(map[string]string{"/tmp/evil.py": "x"}), 1 << 20, "outside"},
		"too big":  {targz(map[string]string{"a/big.py": strings.Repeat("x", 2000)}), 1000, "more than 1000 bytes"},
	} {
		if err := Unpack(c.archive, filepath.Join(t.TempDir(), "out"), c.max); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
	}
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, _ := zw.Create("y-2.0/y.py")
	w.Write([]byte("B = 2\n"))
	zw.Close()
	zp := filepath.Join(t.TempDir(), "y-2.0.zip")
	os.WriteFile(zp, zbuf.Bytes(), 0o644)
	zdir := filepath.Join(t.TempDir(), "out")
	if err := Unpack(zp, zdir, 1<<20); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(zdir, "y-2.0", "y.py")); string(b) != "B = 2\n" {
		t.Errorf("zip unpacked %q", b)
	}
}

func TestFilter(t *testing.T) {
	for _, c := range []struct {
		eco          Ecosystem
		file, reason string
	}{
		{Go, "a/a_test.go", "excluded"},
		{Go, "a/a.go", ""},
		{NPM, "src/a.spec.ts", "excluded"},
		{NPM, "src/a.ts", ""},
		{PyPI, "pkg/test_a.py", "excluded"},
		{PyPI, "pkg/a.py", ""},
	} {
		if got := Filter(c.eco, indexerFilter()).SkipPath(c.file, 10); !strings.HasPrefix(got, c.reason) || (c.reason == "") != (got == "") {
			t.Errorf("%s %s: %q, want %q", c.eco, c.file, got, c.reason)
		}
	}
	if !Filter(Go, indexerFilter()).SkipDir("testdata") || Filter(NPM, indexerFilter()).SkipDir("dist") || !Filter(PyPI, indexerFilter()).SkipDir("x.egg-info") {
		t.Error("directory rules")
	}
}

func indexerFilter() indexer.Filter { return indexer.Filter{} }

func modVersion(p, v string) module.Version { return module.Version{Path: p, Version: v} }

// In a git repository only HEAD's files count: an untracked file (a build
// output, a copy of a dependency under bin/) imports nothing.
func TestRankGitHead(t *testing.T) {
	r := gittest.New(t)
	r.Commit("first", map[string]string{
		"go.mod":  "module example.com/app\n\ngo 1.22\n\nrequire github.com/google/uuid v1.6.0\n",
		"main.go": "package main\n\nimport \"github.com/google/uuid\"\n\nvar X = uuid.New()\n",
	})
	write(t, r.Dir, "bin/copy/a.go", "package a\n\nimport \"github.com/google/uuid\"\n\nvar Y, Z = uuid.New(), uuid.Nil\n")
	d, err := Discover(context.Background(), r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Deps) != 1 || d.Deps[0].Files != 1 || d.Deps[0].Uses != 1 {
		t.Errorf("ranked %+v; want 1 file, 1 use (HEAD's main.go only)", d.Deps)
	}
}
