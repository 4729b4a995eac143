package indexer

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"regexp"
	"strings"
)

// Outline levels, from the most to the least detailed.
const (
	OutlineDocs      = iota // declarations with their whole doc comments
	OutlineFirstLine        // declarations with their doc comments' first lines
	OutlineSignature        // declarations alone
	OutlineExported         // exported functions and types only, one line each
	outlineLevels
)

// Outline renders the corpus's declarations — what its files define, with
// their doc comments, without function bodies — at the most detailed level
// that fits (fits reports whether a text is short enough), or else the
// exported names' first lines of every file, as many per file as fit. Go
// files are outlined from their syntax tree; other source files by their
// definition lines and the comments just above them; Markdown by its
// headings; other files are left out. It is what a Cartridge starts from
// (trainer.InitOutline): the facts a reader asks about most, denser than
// the corpus's first tokens. The outline is one fenced block, each file's
// lines after a "// path" line ("" when nothing is declared or nothing fits).
func Outline(c *Corpus, fits func(string) bool) string {
	var files [][]string
	for level := OutlineDocs; level < outlineLevels; level++ {
		files = outlineFiles(c, level)
		if text := joinOutline(c, files, -1); fits(text) {
			return text
		}
	}
	// Not even one line per name fits everything: keep the first k lines
	// of each file, k as large as fits.
	lo, hi := 0, 0
	for _, f := range files {
		hi = max(hi, len(f))
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(joinOutline(c, files, mid)) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if lo == 0 {
		return ""
	}
	return joinOutline(c, files, lo)
}

// outlineFiles is each file's outline lines at level (nil for a file
// that declares nothing).
func outlineFiles(c *Corpus, level int) [][]string {
	out := make([][]string, len(c.Files))
	for i, f := range c.Files {
		var o string
		switch Language(f.Path) {
		case "go":
			o = outlineGo(f.Text, level)
		case "markdown":
			o = outlineMarkdown(f.Text)
		case "":
		default:
			o = outlineLines(f.Text, level)
		}
		if o = strings.TrimRight(o, "\n"); o != "" {
			out[i] = strings.Split(o, "\n")
		}
	}
	return out
}

// joinOutline renders files' lines, at most k of each (k < 0: all).
func joinOutline(c *Corpus, files [][]string, k int) string {
	var b strings.Builder
	for i, lines := range files {
		if len(lines) == 0 {
			continue
		}
		if k >= 0 {
			lines = lines[:min(k, len(lines))]
		}
		if b.Len() == 0 {
			b.WriteString("### Outline\n```\n")
		}
		b.WriteString("// " + c.Files[i].Path + "\n")
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
	}
	if b.Len() == 0 {
		return ""
	}
	b.WriteString("```\n\n")
	return b.String()
}

// outlineGo prints a Go file's package clause and top-level declarations,
// bodies dropped; a file that does not parse falls back to outlineLines.
func outlineGo(src string, level int) string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return outlineLines(src, level)
	}
	var b strings.Builder
	doc := func(g *ast.CommentGroup) {
		if g == nil || level >= OutlineSignature {
			return
		}
		lines := strings.Split(strings.TrimRight(g.Text(), "\n"), "\n")
		if level == OutlineFirstLine {
			lines = lines[:1]
		}
		for _, l := range lines {
			b.WriteString(strings.TrimRight("// "+l, " "))
			b.WriteByte('\n')
		}
	}
	if f.Doc != nil && level < OutlineSignature {
		doc(f.Doc)
		b.WriteString("package " + f.Name.Name + "\n")
	}
	cfg := printer.Config{Mode: printer.UseSpaces | printer.TabIndent, Tabwidth: 8}
	for _, d := range f.Decls {
		var node ast.Node
		switch d := d.(type) {
		case *ast.FuncDecl:
			if level == OutlineExported && !d.Name.IsExported() {
				continue
			}
			doc(d.Doc)
			fd := *d
			fd.Doc, fd.Body = nil, nil
			node = &fd
		case *ast.GenDecl:
			if d.Tok == token.IMPORT {
				continue
			}
			if level == OutlineExported {
				exportedTypes(&b, d)
				continue
			}
			doc(d.Doc)
			gd := *d
			gd.Doc = nil
			node = &gd
		default:
			continue
		}
		var buf bytes.Buffer
		if cfg.Fprint(&buf, fset, node) != nil {
			continue
		}
		b.Write(buf.Bytes())
		b.WriteByte('\n')
	}
	return b.String()
}

// exportedTypes writes one line per exported type of d: its name and the
// first line of its definition ("type Config struct").
func exportedTypes(b *strings.Builder, d *ast.GenDecl) {
	if d.Tok != token.TYPE {
		return
	}
	for _, sp := range d.Specs {
		ts, ok := sp.(*ast.TypeSpec)
		if !ok || !ts.Name.IsExported() {
			continue
		}
		kind := "…"
		switch t := ts.Type.(type) {
		case *ast.StructType:
			kind = "struct"
		case *ast.InterfaceType:
			kind = "interface"
		case *ast.Ident:
			kind = t.Name
		case *ast.FuncType:
			kind = "func"
		case *ast.ArrayType, *ast.MapType, *ast.SelectorExpr, *ast.StarExpr, *ast.ChanType:
			var buf bytes.Buffer
			if printer.Fprint(&buf, token.NewFileSet(), t) == nil {
				kind = buf.String()
			}
		}
		b.WriteString("type " + ts.Name.Name + " " + kind + "\n")
	}
}

// definition matches the lines that define something in most languages.
var definition = regexp.MustCompile(`^\s{0,4}(export\s+|pub(\([a-z]+\))?\s+|public\s+|private\s+|protected\s+|static\s+|abstract\s+|async\s+|default\s+)*` +
	`(def|class|function|fn|func|struct|enum|trait|impl|interface|type|module|object|const|let|var|val|fun|record|protocol|extension|macro_rules!|union)\b`)

// comment matches a line that is only a comment.
var comment = regexp.MustCompile(`^\s*(//|#(\s|$)|--|;|/\*|\*(\s|/|$)|"""|''')`)

// outlineLines keeps a source file's definition lines and, above each, the
// comment lines just before it (level permitting).
func outlineLines(src string, level int) string {
	var b strings.Builder
	var com []string
	for _, l := range strings.Split(src, "\n") {
		switch {
		case comment.MatchString(l):
			com = append(com, l)
			continue
		case definition.MatchString(l):
			switch {
			case level == OutlineDocs:
				for _, c := range com {
					b.WriteString(c + "\n")
				}
			case level == OutlineFirstLine && len(com) > 0:
				b.WriteString(com[0] + "\n")
			}
			b.WriteString(strings.TrimRight(l, " \t{") + "\n")
		}
		com = com[:0]
	}
	return b.String()
}

// outlineMarkdown keeps a Markdown file's headings.
func outlineMarkdown(src string) string {
	var b strings.Builder
	fence := false
	for _, l := range strings.Split(src, "\n") {
		if strings.HasPrefix(l, "```") {
			fence = !fence
		}
		if !fence && strings.HasPrefix(l, "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
