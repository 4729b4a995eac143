package answer

import (
	"regexp"
	"sort"
	"strings"

	"github.com/cartlsp/cartlsp/indexer"
)

// Citation is where a name an answer mentions is declared in the corpus:
// the file the answer draws on for it.
type Citation struct {
	Path string `json:"path"` // the corpus's path, relative to its root
	Line int    `json:"line"` // 1-based
	Name string `json:"name"`
}

// Declarations indexes the names a corpus declares, by name: functions,
// methods, types, classes, constants and variables, as the common languages
// write them at the start of a line (Go, Python, JavaScript/TypeScript,
// Rust, Java/C#/Kotlin, C/C++ types). It is a line scan, not a parser:
// enough to point at the file a name comes from.
type Declarations map[string][]Citation

var declRe = regexp.MustCompile(`^\s*(?:export\s+)?(?:default\s+)?(?:pub(?:\(crate\))?\s+)?(?:public\s+|private\s+|protected\s+|internal\s+)?(?:static\s+)?(?:async\s+)?(?:abstract\s+)?(?:final\s+)?` +
	`(?:func(?:\s*\([^)]*\))?|type|class|interface|struct|enum|trait|def|fn|function|const|var|let|val|typedef\s+struct|impl)\s+` +
	`\*?([A-Za-z_][A-Za-z0-9_]*)`)

// goGroupRe is a name declared in a Go const/var/type group: an indented
// `Name Type = …`, `Name = …` or `Name` alone, inside `const (` … `)`.
var goGroupRe = regexp.MustCompile(`^\t([A-Za-z_][A-Za-z0-9_]*)(?:\s|$)`)

// IndexDeclarations scans every file of c.
func IndexDeclarations(c *indexer.Corpus) Declarations {
	d := Declarations{}
	if c == nil {
		return d
	}
	for _, f := range c.Files {
		group := false
		for i, line := range strings.Split(f.Text, "\n") {
			trimmed := strings.TrimSpace(line)
			switch {
			case group && trimmed == ")":
				group = false
				continue
			case strings.HasSuffix(trimmed, "(") && (strings.HasPrefix(trimmed, "const ") || strings.HasPrefix(trimmed, "var ") || strings.HasPrefix(trimmed, "type ")):
				group = true
				continue
			}
			name := ""
			if m := declRe.FindStringSubmatch(line); m != nil && !localVar(line) {
				name = m[1]
			} else if group {
				if m := goGroupRe.FindStringSubmatch(line); m != nil {
					name = m[1]
				}
			}
			if len(name) >= 3 && name != "func" && name != "struct" {
				d[name] = append(d[name], Citation{Path: f.Path, Line: i + 1, Name: name})
			}
		}
	}
	return d
}

// localVarRe is an indented variable or constant: a function's local, not
// what the corpus declares for its readers.
var localVarRe = regexp.MustCompile(`^\s+(?:const|var|let|val)\s`)

func localVar(line string) bool { return localVarRe.MatchString(line) }

var identRe = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// Cite lists where the names that text mentions (an answer, with its
// question before it) are declared, at most max: names mentioned more
// often first, then in the order they come; for a name declared in several
// places, the first place (the corpus's file order). A name qualified in
// text (uuid.Parse, Parse(…), `Parse`) counts like a bare one.
func (d Declarations) Cite(text string, max int) []Citation {
	count := map[string]int{}
	first := map[string]int{}
	for i, id := range identRe.FindAllString(text, -1) {
		if _, ok := d[id]; !ok {
			continue
		}
		if _, seen := first[id]; !seen {
			first[id] = i
		}
		count[id]++
	}
	names := make([]string, 0, len(count))
	for n := range count {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := names[i], names[j]
		if count[a] != count[b] {
			return count[a] > count[b]
		}
		return first[a] < first[b]
	})
	var out []Citation
	for _, n := range names {
		if len(out) == max {
			break
		}
		out = append(out, d[n][0])
	}
	return out
}
