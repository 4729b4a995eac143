package deps

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/cartlsp/cartlsp/indexer"
)

// Rank counts, for each dependency, the repository's non-test source files
// that import it and the references to what they import (Dependency.Files,
// Dependency.Uses). The files are the repository's corpus — HEAD's tree in
// a git repository (so build outputs and other untracked files do not
// count), else the directory — under the corpus filter's defaults and
// .cartignore, without testdata. Go files are parsed (go/parser: imports,
// and selectors on an imported package's name); JavaScript, TypeScript and
// Python files are scanned for import statements and the names they bind.
func Rank(ctx context.Context, root string, ds []Dependency) error {
	idx := newUsageIndex(ds)
	files, err := sourceFiles(ctx, root)
	if err != nil {
		return fmt.Errorf("deps: ranking by use: %w", err)
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if isTestFile(path.Base(f.Path)) {
			continue
		}
		switch usageLanguage(f.Path) {
		case "go":
			idx.goFile([]byte(f.Text))
		case "js":
			idx.jsFile(f.Text)
		case "py":
			idx.pyFile(f.Text)
		}
	}
	for i := range ds {
		ds[i].Files, ds[i].Uses = 0, 0
		if u := idx.count[i]; u != nil {
			ds[i].Files, ds[i].Uses = u.files, u.uses
		}
	}
	return nil
}

// sourceFiles are the files Rank reads: HEAD's when root is a git
// repository's root with a commit, else the directory's.
func sourceFiles(ctx context.Context, root string) ([]indexer.File, error) {
	filter := indexer.Filter{SkipDirs: []string{"testdata"}}
	if repo, err := indexer.OpenRepo(root); err == nil && sameDir(repo.Root, root) {
		if c, err := repo.Corpus(ctx, "", filter); err == nil {
			return c.Files, nil
		}
	}
	c, err := indexer.LoadDir(ctx, root, filter)
	if errors.Is(err, indexer.ErrNoFiles) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return c.Files, nil
}

func sameDir(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

func usageLanguage(name string) string {
	switch path.Ext(name) {
	case ".go":
		return "go"
	case ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts":
		return "js"
	case ".py":
		return "py"
	}
	return ""
}

// isTestFile reports whether a file name is a test by its ecosystem's
// convention (foo_test.go, foo.test.ts, foo.spec.js, test_foo.py,
// foo_test.py, conftest.py).
func isTestFile(name string) bool {
	switch {
	case strings.HasSuffix(name, "_test.go"), strings.HasSuffix(name, "_test.py"),
		strings.HasPrefix(name, "test_") && strings.HasSuffix(name, ".py"), name == "conftest.py":
		return true
	}
	stem := strings.TrimSuffix(name, path.Ext(name))
	return strings.HasSuffix(stem, ".test") || strings.HasSuffix(stem, ".spec")
}

type usage struct{ files, uses int }

// usageIndex maps what a file imports to the dependency it belongs to.
type usageIndex struct {
	goMods []string       // Go module paths, longest first
	goDep  map[string]int // module path → index in ds
	npm    map[string]int // package name → index
	py     map[string]int // top-level import name → index
	count  map[int]*usage
}

func newUsageIndex(ds []Dependency) *usageIndex {
	x := &usageIndex{goDep: map[string]int{}, npm: map[string]int{}, py: map[string]int{}, count: map[int]*usage{}}
	for i, d := range ds {
		switch d.Ecosystem {
		case Go:
			x.goDep[d.Name] = i
			x.goMods = append(x.goMods, d.Name)
		case NPM:
			x.npm[d.Name] = i
		case PyPI:
			for _, m := range pythonImportNames(d.Name) {
				x.py[m] = i
			}
		}
	}
	sort.Slice(x.goMods, func(a, b int) bool { return len(x.goMods[a]) > len(x.goMods[b]) })
	return x
}

func (x *usageIndex) add(i, files, uses int) {
	u := x.count[i]
	if u == nil {
		u = &usage{}
		x.count[i] = u
	}
	u.files += files
	u.uses += uses
}

// goModule is the dependency an import path belongs to: the longest module
// path that is the import path or a directory above it.
func (x *usageIndex) goModule(importPath string) (int, bool) {
	for _, m := range x.goMods {
		if importPath == m || strings.HasPrefix(importPath, m+"/") {
			return x.goDep[m], true
		}
	}
	return 0, false
}

// goFile counts a Go file's imports of dependencies and the selectors on
// their package names. A package's name is not known without its source, so
// an unnamed import is matched by the names its path suggests (uuid for
// github.com/google/uuid, git for github.com/go-git/go-git/v5, yaml for
// gopkg.in/yaml.v3).
func (x *usageIndex) goFile(src []byte) {
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.SkipObjectResolution)
	if err != nil {
		return
	}
	names := map[string]int{} // local package name → dependency
	imported := map[int]bool{}
	for _, im := range f.Imports {
		p, err := strconv.Unquote(im.Path.Value)
		if err != nil {
			continue
		}
		i, ok := x.goModule(p)
		if !ok {
			continue
		}
		imported[i] = true
		if im.Name != nil {
			if n := im.Name.Name; n != "_" && n != "." {
				names[n] = i
			}
			continue
		}
		for _, n := range goPackageNames(p) {
			names[n] = i
		}
	}
	if len(imported) == 0 {
		return
	}
	uses := map[int]int{}
	ast.Inspect(f, func(n ast.Node) bool {
		if s, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := s.X.(*ast.Ident); ok {
				if i, ok := names[id.Name]; ok {
					uses[i]++
				}
			}
		}
		return true
	})
	for i := range imported {
		x.add(i, 1, uses[i])
	}
}

var majorVersion = regexp.MustCompile(`^v[0-9]+$`)

// goPackageNames are the names an import path's package probably has.
func goPackageNames(importPath string) []string {
	elems := strings.Split(importPath, "/")
	last := elems[len(elems)-1]
	if majorVersion.MatchString(last) && len(elems) > 1 {
		last = elems[len(elems)-2]
	}
	if strings.HasPrefix(importPath, "gopkg.in/") {
		if i := strings.LastIndex(last, ".v"); i > 0 {
			last = last[:i]
		}
	}
	cands := []string{last, strings.TrimPrefix(last, "go-"), strings.TrimSuffix(last, "-go"),
		strings.TrimSuffix(last, ".go"), strings.ReplaceAll(last, "-", ""), strings.NewReplacer("-", "_", ".", "_").Replace(last)}
	return cands
}

// JavaScript and TypeScript module specifiers: import … from "x", import
// "x", export … from "x", require("x"), import("x").
var (
	jsFrom      = regexp.MustCompile(`(?m)\b(?:import|export)\s+([^;'"]*?)\s*from\s*['"]([^'"]+)['"]`)
	jsBare      = regexp.MustCompile(`(?m)\bimport\s*['"]([^'"]+)['"]`)
	jsRequire   = regexp.MustCompile(`(?:\b(?:const|let|var)\s+([\w$]+|\{[^}]*\})\s*=\s*)?\b(?:require|import)\s*\(\s*['"]([^'"]+)['"]\s*\)`)
	jsIdent     = regexp.MustCompile(`[A-Za-z_$][\w$]*`)
	jsClauseSep = regexp.MustCompile(`[{},]`)
)

// npmPackage is the package a module specifier names ("lodash/fp" →
// "lodash", "@scope/a/b" → "@scope/a"); "" for a relative path or a
// built-in ("node:fs").
func npmPackage(spec string) string {
	if strings.HasPrefix(spec, ".") || strings.HasPrefix(spec, "/") || strings.Contains(spec, ":") {
		return ""
	}
	parts := strings.SplitN(spec, "/", 3)
	if strings.HasPrefix(spec, "@") {
		if len(parts) < 2 {
			return ""
		}
		return parts[0] + "/" + parts[1]
	}
	return parts[0]
}

// jsBindings are the local names an import clause binds: "React, {useState
// as uS}" → React, uS; "* as fs" → fs.
func jsBindings(clause string) []string {
	clause = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(clause), "type "))
	var out []string
	for _, part := range jsClauseSep.Split(clause, -1) {
		part = strings.TrimSpace(part)
		if part == "" || part == "*" {
			continue
		}
		if _, alias, ok := strings.Cut(part, " as "); ok {
			part = strings.TrimSpace(alias)
		}
		if id := jsIdent.FindString(part); id != "" && id != "type" {
			out = append(out, id)
		}
	}
	return out
}

func (x *usageIndex) jsFile(src string) {
	binds := map[int][]string{}
	imported := map[int]bool{}
	rest := src
	take := func(spec, clause string) {
		if i, ok := x.npm[npmPackage(spec)]; ok {
			imported[i] = true
			binds[i] = append(binds[i], jsBindings(clause)...)
		}
	}
	for _, m := range jsFrom.FindAllStringSubmatch(src, -1) {
		take(m[2], m[1])
	}
	for _, m := range jsBare.FindAllStringSubmatch(src, -1) {
		take(m[1], "")
	}
	for _, m := range jsRequire.FindAllStringSubmatch(src, -1) {
		take(m[2], m[1])
	}
	if len(imported) == 0 {
		return
	}
	for _, re := range []*regexp.Regexp{jsFrom, jsBare, jsRequire} {
		rest = re.ReplaceAllString(rest, "")
	}
	for i := range imported {
		x.add(i, 1, countNames(rest, binds[i], false))
	}
}

// countNames counts whole-word references to names in src; with dotted,
// only those followed by "." (a module's members).
func countNames(src string, names []string, dotted bool) int {
	n := 0
	for _, name := range names {
		pat := `(?:^|[^\w$.])` + regexp.QuoteMeta(name) + `\b`
		if dotted {
			pat += `\s*\.`
		}
		n += len(regexp.MustCompile(pat).FindAllStringIndex(src, -1))
	}
	return n
}

// Python import statements; a parenthesised from-import may span lines.
var (
	pyImport = regexp.MustCompile(`(?m)^[ \t]*import[ \t]+([^\n#;]+)`)
	pyFrom   = regexp.MustCompile(`(?m)^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)`)
)

func (x *usageIndex) pyFile(src string) {
	type bind struct {
		names  []string
		dotted bool
	}
	binds := map[int][]bind{}
	imported := map[int]bool{}
	for _, m := range pyImport.FindAllStringSubmatch(src, -1) {
		for _, item := range strings.Split(m[1], ",") {
			mod, alias, hasAlias := strings.Cut(strings.TrimSpace(item), " as ")
			top, _, _ := strings.Cut(strings.TrimSpace(mod), ".")
			if i, ok := x.py[top]; ok {
				imported[i] = true
				name := top
				if hasAlias {
					name = strings.TrimSpace(alias)
				}
				binds[i] = append(binds[i], bind{[]string{name}, true})
			}
		}
	}
	for _, m := range pyFrom.FindAllStringSubmatch(src, -1) {
		if strings.HasPrefix(m[1], ".") {
			continue // relative: the repository's own
		}
		top, _, _ := strings.Cut(m[1], ".")
		i, ok := x.py[top]
		if !ok {
			continue
		}
		imported[i] = true
		var names []string
		for _, item := range strings.Split(strings.Trim(m[2], "()"), ",") {
			name, alias, hasAlias := strings.Cut(strings.TrimSpace(item), " as ")
			if hasAlias {
				name = alias
			}
			if name = strings.TrimSpace(name); name != "" && name != "*" {
				names = append(names, name)
			}
		}
		binds[i] = append(binds[i], bind{names, false})
	}
	if len(imported) == 0 {
		return
	}
	rest := pyFrom.ReplaceAllString(pyImport.ReplaceAllString(src, ""), "")
	for i := range imported {
		n := 0
		for _, b := range binds[i] {
			n += countNames(rest, b.names, b.dotted)
		}
		x.add(i, 1, n)
	}
}

// pythonImportNames are the top-level modules a distribution probably
// provides: its name with "-" as "_", without a "python-" or "py" prefix
// or "-python" suffix, and the few well-known ones that differ entirely.
// The true list is in the distribution's metadata (top_level.txt), which
// is not at hand before its source is.
func pythonImportNames(dist string) []string {
	base := strings.ReplaceAll(dist, "-", "_")
	names := []string{base, strings.TrimPrefix(base, "python_"), strings.TrimSuffix(base, "_python")}
	if known, ok := pythonKnownModules[dist]; ok {
		names = append(names, known...)
	}
	return names
}

var pythonKnownModules = map[string][]string{
	"pyyaml": {"yaml"}, "beautifulsoup4": {"bs4"}, "pillow": {"PIL"}, "scikit-learn": {"sklearn"},
	"opencv-python": {"cv2"}, "opencv-python-headless": {"cv2"}, "protobuf": {"google"},
	"python-dateutil": {"dateutil"}, "attrs": {"attr", "attrs"}, "pyjwt": {"jwt"},
	"typing-extensions": {"typing_extensions"}, "msgpack-python": {"msgpack"}, "pymysql": {"pymysql"},
	"psycopg2-binary": {"psycopg2"}, "scikit-image": {"skimage"}, "pycryptodome": {"Crypto"},
}
