package deps

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// readGo adds the modules go.mod requires, with its replacements applied and
// go.sum's hashes. Since Go 1.17 a tidy go.mod lists every module the build
// needs, indirect ones marked, at the version the build selects, so go.mod
// alone resolves them exactly; go.sum confirms each.
func readGo(root string, d *Discovery) error {
	path := filepath.Join(root, "go.mod")
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("deps: %w", err)
	}
	f, err := modfile.Parse(path, b, nil)
	if err != nil {
		return fmt.Errorf("deps: %w", err)
	}
	sums, err := readGoSum(filepath.Join(root, "go.sum"))
	if err != nil {
		return err
	}
	if sums != nil {
		d.Manifests = append(d.Manifests, "go.sum")
	}
	missing := 0
	for _, r := range f.Require {
		dep := Dependency{Ecosystem: Go, Name: r.Mod.Path, Version: r.Mod.Version, Direct: !r.Indirect}
		src := r.Mod
		if rep := replacement(f.Replace, r.Mod); rep != nil {
			if rep.Version == "" {
				dep.Replace = rep.Path
			} else {
				dep.Replace = rep.String()
				src = *rep
			}
		}
		if !dep.Local() {
			dep.Sum = sums[src.Path+" "+src.Version]
			if dep.Sum == "" {
				missing++
			}
		}
		d.Deps = append(d.Deps, dep)
	}
	if missing > 0 {
		d.Notes = append(d.Notes, fmt.Sprintf("go.sum has no hash for %d of go.mod's modules (run go mod tidy)", missing))
	}
	return nil
}

// replacement is the go.mod replace that applies to m: one naming its exact
// version wins over one naming the path alone.
func replacement(reps []*modfile.Replace, m module.Version) *module.Version {
	var any *module.Version
	for _, r := range reps {
		if r.Old.Path != m.Path {
			continue
		}
		if r.Old.Version == m.Version {
			return &r.New
		}
		if r.Old.Version == "" {
			any = &r.New
		}
	}
	return any
}

// readGoSum maps "path version" to the module's h1: hash (not its go.mod's);
// nil when there is no go.sum.
func readGoSum(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("deps: %w", err)
	}
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 3 || !strings.HasPrefix(fields[2], "h1:") {
			return nil, fmt.Errorf("deps: %s:%d: not a go.sum line (module version h1:hash)", path, n)
		}
		if strings.HasSuffix(fields[1], "/go.mod") {
			continue
		}
		sums[fields[0]+" "+fields[1]] = fields[2]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("deps: %s: %w", path, err)
	}
	return sums, nil
}
