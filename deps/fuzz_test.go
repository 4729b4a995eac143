package deps

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzManifests: any go.mod, go.sum, package.json, package-lock.json,
// requirements.txt and pyproject.toml are read or refused with an error,
// never a panic; every dependency found has a name and version valid for its
// ecosystem, which never escape the directories they are joined to.
func FuzzManifests(f *testing.F) {
	f.Add([]byte("module example.com/a\n\ngo 1.22\n\nrequire github.com/google/uuid v1.6.0\n"),
		[]byte("github.com/google/uuid v1.6.0 h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=\n"),
		[]byte(`{"dependencies":{"lodash":"^4.17.21"}}`),
		[]byte(`{"lockfileVersion":3,"packages":{"node_modules/lodash":{"version":"4.17.21"},"node_modules/../../etc":{"version":"1.0.0"}}}`),
		[]byte("requests==2.32.3\nflask>=3\n-r other.txt\n"),
		[]byte("[project]\ndependencies = [\"numpy==2.1.0\", \"x==../../y\"]\n"))
	f.Add([]byte("module m\n"), []byte(""), []byte(`{}`), []byte(`{"dependencies":{"a":{"version":"1"}}}`), []byte("==\n"), []byte("[tool.poetry.dependencies]\nfoo = \"1.0\"\n"))
	f.Fuzz(func(t *testing.T, gomod, gosum, pkg, lock, req, pyproject []byte) {
		root := t.TempDir()
		for name, b := range map[string][]byte{"go.mod": gomod, "go.sum": gosum, "package.json": pkg,
			"package-lock.json": lock, "requirements.txt": req, "pyproject.toml": pyproject} {
			if len(b) > 0 {
				if err := os.WriteFile(filepath.Join(root, name), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		d, err := Discover(context.Background(), root)
		if err != nil {
			return
		}
		for _, dep := range d.Deps {
			if dep.Name == "" || dep.Version == "" {
				t.Fatalf("a dependency without a name or version: %+v", dep)
			}
			for _, p := range []string{filepath.Join(root, "node_modules", filepath.FromSlash(dep.Name)), filepath.Join(root, dep.Name+"@"+dep.Version)} {
				if rel, err := filepath.Rel(root, p); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
					t.Fatalf("%+v escapes the directory it is joined to: %s", dep, p)
				}
			}
		}
	})
}

// TestUnsafeNames: manifest entries whose names or versions would become
// paths outside their directories are left out, with a note.
func TestUnsafeNames(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "package.json"), []byte(`{"dependencies":{"lodash":"^4"}}`), 0o644)
	os.WriteFile(filepath.Join(root, "package-lock.json"), []byte(`{"lockfileVersion":3,"packages":{
		"node_modules/lodash":{"version":"4.17.21"},
		"node_modules/../../etc":{"version":"1.0.0"},
		"node_modules/ok":{"version":"../../x"}}}`), 0o644)
	os.WriteFile(filepath.Join(root, "requirements.txt"), []byte("requests==../../../tmp/x\nflask==3.0.0\n"), 0o644)
	d, err := Discover(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, dep := range d.Deps {
		ids = append(ids, dep.ID())
	}
	if strings.Join(ids, " ") != "flask@3.0.0 lodash@4.17.21" && strings.Join(ids, " ") != "lodash@4.17.21 flask@3.0.0" {
		t.Errorf("dependencies %v", ids)
	}
	if !strings.Contains(strings.Join(d.Notes, "\n"), "left out 3 entries") {
		t.Errorf("notes %q", d.Notes)
	}
}
