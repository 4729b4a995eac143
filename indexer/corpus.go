// Package indexer turns a codebase into a corpus: the files a Cartridge
// learns, in a deterministic order, each rendered with a path header.
package indexer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strings"
)

// File is one file of a corpus.
type File struct {
	Path string // slash-separated, relative to the corpus root
	Text string // the content, valid UTF-8
}

// Corpus is the text a Cartridge learns: files in lexical path order.
type Corpus struct {
	Kind        string // "dir" (a directory), "git" (a repository's tree)
	Source      string // the directory, repository path or URL, or module@version
	Commit      string // the commit, for git corpora
	Tree        string // the commit's tree hash, for git corpora
	Branch      string // the branch HEAD was on when read ("" when detached or not HEAD)
	Filter      string // the filter's configuration (Filter.Config)
	Description string // an optional one-line description, shown to the model
	Files       []File
	Skipped     []Skip // files left out and why
}

// Skip says why a file was left out of a corpus.
type Skip struct {
	Path, Reason string
}

// sortFiles puts files in lexical path order.
func (c *Corpus) sortFiles() {
	sort.Slice(c.Files, func(i, j int) bool { return c.Files[i].Path < c.Files[j].Path })
	sort.Slice(c.Skipped, func(i, j int) bool { return c.Skipped[i].Path < c.Skipped[j].Path })
}

// Bytes is the total size of the files' text.
func (c *Corpus) Bytes() int {
	n := 0
	for _, f := range c.Files {
		n += len(f.Text)
	}
	return n
}

// Fingerprint is "sha256:…" over the files' paths and contents, in order.
// Two corpora with the same files have the same fingerprint wherever they
// were read from.
func (c *Corpus) Fingerprint() string {
	h := sha256.New()
	for _, f := range c.Files {
		fmt.Fprintf(h, "%d:%s\x00%d:", len(f.Path), f.Path, len(f.Text))
		h.Write([]byte(f.Text))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Header is the line that introduces a file in the rendered corpus, and
// Continued the one that introduces a piece of a file that starts in the
// middle of it (a chunk of the corpus).
func Header(p string) string    { return "### " + p + "\n```" + Language(p) + "\n" }
func Continued(p string) string { return "### " + p + " (continued)\n```" + Language(p) + "\n" }

// Footer closes a file opened by Header.
const Footer = "\n```\n\n"

// Document renders one file as it appears in the corpus: a Markdown
// heading with its path, then its text in a fenced block.
func Document(f File) string {
	return Header(f.Path) + strings.TrimRight(f.Text, "\n") + Footer
}

// Render is the whole corpus as one text: the description (when set), then
// every file's Document in order.
func (c *Corpus) Render() string {
	var b strings.Builder
	if c.Description != "" {
		b.WriteString(c.Description)
		b.WriteString("\n\n")
	}
	for _, f := range c.Files {
		b.WriteString(Document(f))
	}
	return b.String()
}

// languages maps file extensions to the fence info string of Markdown.
var languages = map[string]string{
	".go": "go", ".py": "python", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
	".ts": "typescript", ".tsx": "tsx", ".jsx": "jsx", ".rs": "rust", ".c": "c", ".h": "c",
	".cc": "cpp", ".cpp": "cpp", ".hpp": "cpp", ".cxx": "cpp", ".java": "java", ".kt": "kotlin",
	".rb": "ruby", ".php": "php", ".cs": "csharp", ".swift": "swift", ".scala": "scala",
	".sh": "bash", ".bash": "bash", ".zsh": "bash", ".lua": "lua", ".sql": "sql", ".md": "markdown",
	".json": "json", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".xml": "xml", ".html": "html",
	".css": "css", ".proto": "protobuf", ".s": "asm", ".mk": "make", ".vim": "vim", ".el": "elisp",
	".hs": "haskell", ".ml": "ocaml", ".ex": "elixir", ".exs": "elixir", ".erl": "erlang", ".zig": "zig",
	".dart": "dart", ".r": "r", ".jl": "julia", ".pl": "perl", ".tf": "hcl", ".nix": "nix",
}

// Language is the Markdown fence language for a path ("" when unknown).
func Language(p string) string {
	base := path.Base(p)
	switch base {
	case "Makefile", "GNUmakefile":
		return "make"
	case "Dockerfile":
		return "dockerfile"
	}
	return languages[strings.ToLower(path.Ext(base))]
}
