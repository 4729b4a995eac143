package indexer

import (
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// IgnoreFile is the file that leaves paths out of a corpus, in gitignore
// syntax, on top of the Filter's defaults. One may sit in any directory; its
// patterns apply below it, and a deeper file's patterns win over a
// shallower one's (as with .gitignore). A pattern can only leave files out:
// a negation (!pattern) re-includes a path another .cartignore pattern
// excluded, never one the defaults skip.
const IgnoreFile = ".cartignore"

// ignoreRules are the patterns of every IgnoreFile of a tree.
type ignoreRules struct {
	patterns []gitignore.Pattern
	m        gitignore.Matcher
}

// add appends the patterns of an IgnoreFile found in dir (slash path, ""
// for the root). Files must be added shallowest first.
func (r *ignoreRules) add(dir, text string) {
	var domain []string
	if dir != "" {
		domain = strings.Split(dir, "/")
	}
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		r.patterns = append(r.patterns, gitignore.ParsePattern(l, domain))
	}
	r.m = nil
}

// ignored reports whether a slash path is left out by the rules.
func (r *ignoreRules) ignored(p string, isDir bool) bool {
	if len(r.patterns) == 0 {
		return false
	}
	if r.m == nil {
		r.m = gitignore.NewMatcher(r.patterns)
	}
	return r.m.Match(strings.Split(p, "/"), isDir)
}
