package deps

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

// NormalizePyPI is a distribution name as PEP 503 compares them: lower case,
// each run of "-", "_" and "." one "-".
func NormalizePyPI(name string) string {
	return strings.ToLower(pypiSep.ReplaceAllString(name, "-"))
}

var pypiSep = regexp.MustCompile(`[-_.]+`)

// pep508 splits a requirement: the name, optional extras, the version
// specifiers. Markers (after ";") and URLs (after "@") are cut off before.
var pep508 = regexp.MustCompile(`^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$`)

// pinned parses one PEP 508 requirement and returns its name and version
// when it pins exactly one version (== or ===, no wildcard); ok is false for
// a range, a URL or anything else, with why.
func pinned(req string) (name, version, why string, ok bool) {
	req = strings.TrimSpace(req)
	if i := strings.IndexByte(req, ';'); i >= 0 { // environment markers
		req = strings.TrimSpace(req[:i])
	}
	m := pep508.FindStringSubmatch(req)
	if m == nil {
		return "", "", "not a requirement", false
	}
	name, spec := m[1], strings.TrimSpace(m[3])
	switch {
	case strings.HasPrefix(spec, "@"):
		return name, "", "a URL, not a version", false
	case spec == "":
		return name, "", "no version", false
	case strings.Contains(spec, ","):
		return name, "", "a range, not one version", false
	}
	for _, op := range []string{"===", "=="} {
		if v, ok := strings.CutPrefix(spec, op); ok {
			v = strings.TrimSpace(v)
			if v == "" || strings.Contains(v, "*") {
				return name, "", "a wildcard, not one version", false
			}
			return name, v, "", true
		}
	}
	return name, "", "a range, not one version", false
}

// readRequirements adds the distributions requirements.txt pins with ==,
// following -r includes; others are noted.
func readRequirements(root string, d *Discovery) error {
	var unpinned []string
	if err := readRequirementsFile(root, "requirements.txt", d, &unpinned, 0); err != nil {
		return err
	}
	notePython(d, "requirements.txt", unpinned)
	return nil
}

func readRequirementsFile(root, rel string, d *Discovery, unpinned *[]string, depth int) error {
	if depth > 8 {
		return fmt.Errorf("deps: %s: requirements include each other more than 8 deep", rel)
	}
	path := filepath.Join(root, rel)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("deps: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var line strings.Builder
	for sc.Scan() {
		t := sc.Text()
		if strings.HasSuffix(t, `\`) { // a continued line
			line.WriteString(strings.TrimSuffix(t, `\`) + " ")
			continue
		}
		line.WriteString(t)
		l := line.String()
		line.Reset()
		if i := strings.Index(l, " #"); i >= 0 {
			l = l[:i]
		}
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "-") {
			opt, arg, _ := strings.Cut(l, " ")
			if opt == "-r" || opt == "--requirement" {
				inc := filepath.Join(filepath.Dir(rel), strings.TrimSpace(arg))
				if err := readRequirementsFile(root, inc, d, unpinned, depth+1); err != nil {
					return err
				}
			}
			if v, ok := strings.CutPrefix(opt, "--requirement="); ok {
				if err := readRequirementsFile(root, filepath.Join(filepath.Dir(rel), v), d, unpinned, depth+1); err != nil {
					return err
				}
			}
			continue // -c, -e, --index-url and the like pin nothing here
		}
		if i := strings.Index(l, " --"); i >= 0 { // --hash=… per requirement
			l = l[:i]
		}
		name, version, _, ok := pinned(l)
		if !ok {
			if name == "" {
				name = l
			}
			*unpinned = append(*unpinned, name)
			continue
		}
		d.Deps = append(d.Deps, Dependency{Ecosystem: PyPI, Name: NormalizePyPI(name), Version: version, Direct: true})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("deps: %s: %w", path, err)
	}
	return nil
}

// pyproject holds the dependency lists of pyproject.toml: PEP 621's
// [project] and Poetry's [tool.poetry].
type pyproject struct {
	Project struct {
		Dependencies         []string            `toml:"dependencies"`
		OptionalDependencies map[string][]string `toml:"optional-dependencies"`
	} `toml:"project"`
	Tool struct {
		Poetry struct {
			Dependencies map[string]any `toml:"dependencies"`
		} `toml:"poetry"`
	} `toml:"tool"`
}

// readPyproject adds the distributions pyproject.toml pins with ==.
func readPyproject(root string, d *Discovery) error {
	path := filepath.Join(root, "pyproject.toml")
	var p pyproject
	if _, err := toml.DecodeFile(path, &p); err != nil {
		return fmt.Errorf("deps: %s: %w", path, err)
	}
	reqs := append([]string(nil), p.Project.Dependencies...)
	for _, extra := range p.Project.OptionalDependencies {
		reqs = append(reqs, extra...)
	}
	for name, v := range p.Tool.Poetry.Dependencies {
		if strings.EqualFold(name, "python") {
			continue
		}
		switch v := v.(type) {
		case string:
			reqs = append(reqs, name+v)
		case map[string]any:
			if s, ok := v["version"].(string); ok {
				reqs = append(reqs, name+s)
			} else {
				reqs = append(reqs, name) // git, path or url: no version
			}
		}
	}
	var unpinned []string
	for _, r := range reqs {
		name, version, _, ok := pinned(r)
		if !ok {
			if name == "" {
				name = r
			}
			unpinned = append(unpinned, name)
			continue
		}
		d.Deps = append(d.Deps, Dependency{Ecosystem: PyPI, Name: NormalizePyPI(name), Version: version, Direct: true})
	}
	notePython(d, "pyproject.toml", unpinned)
	return nil
}

func notePython(d *Discovery, file string, unpinned []string) {
	if len(unpinned) == 0 {
		return
	}
	d.Notes = append(d.Notes, fmt.Sprintf("%s does not pin one version (==) of %s: left out", file, strings.Join(unpinned, ", ")))
}
