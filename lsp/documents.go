package lsp

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// documents mirrors the text of the documents the client has open
// (incremental sync); a document not open is read from disk.
type documents struct {
	mu   sync.Mutex
	docs map[uri.URI]*document
}

type document struct {
	text     string
	version  int32
	language string // the editor's languageId
}

func newDocuments() *documents { return &documents{docs: map[uri.URI]*document{}} }

func (d *documents) open(p *protocol.DidOpenTextDocumentParams) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.docs[p.TextDocument.URI] = &document{text: p.TextDocument.Text, version: p.TextDocument.Version, language: string(p.TextDocument.LanguageID)}
}

// language is an open document's languageId ("" when it is not open).
func (d *documents) language(u uri.URI) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if doc := d.docs[u]; doc != nil {
		return doc.language
	}
	return ""
}

func (d *documents) close(u uri.URI) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.docs, u)
}

// change applies content changes in order, each to the text the one before
// left.
func (d *documents) change(p *protocol.DidChangeTextDocumentParams) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	doc, ok := d.docs[p.TextDocument.URI]
	if !ok {
		return fmt.Errorf("didChange for %s, which is not open", p.TextDocument.URI)
	}
	text := doc.text
	for _, c := range p.ContentChanges {
		switch c := c.(type) {
		case *protocol.TextDocumentContentChangeWholeDocument:
			text = c.Text
		case *protocol.TextDocumentContentChangePartial:
			start, err := offset(text, c.Range.Start)
			if err != nil {
				return err
			}
			end, err := offset(text, c.Range.End)
			if err != nil {
				return err
			}
			if end < start {
				return fmt.Errorf("didChange: range end %v before its start %v", c.Range.End, c.Range.Start)
			}
			text = text[:start] + c.Text + text[end:]
		default:
			return fmt.Errorf("didChange: unknown content change %T", c)
		}
	}
	doc.text, doc.version = text, p.TextDocument.Version
	return nil
}

// maxDocumentBytes bounds a document read from disk (one the client has
// not opened): past it the request is refused.
const maxDocumentBytes = 8 << 20

// text is the document's current text: the client's copy when it is open,
// else the file on disk — only a regular file inside root (the workspace
// folder; symbolic links resolved) of at most maxDocumentBytes. Anything
// else is refused with an error saying why.
func (d *documents) text(u uri.URI, root string) (string, error) {
	d.mu.Lock()
	doc, ok := d.docs[u]
	d.mu.Unlock()
	if ok {
		return doc.text, nil
	}
	if u.Scheme() != "file" {
		return "", fmt.Errorf("%s is not open and not a file", u)
	}
	path, err := filepath.EvalSymlinks(u.FsPath())
	if err != nil {
		return "", fmt.Errorf("%s is not open and cannot be read: %w", u, err)
	}
	if !inside(root, path) {
		return "", fmt.Errorf("%s is not open and is outside the workspace folder: open it in the editor first", u)
	}
	// Stat before opening: opening a FIFO would wait for a writer.
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return "", err
	case !st.Mode().IsRegular():
		return "", fmt.Errorf("%s is not open and not a regular file", u)
	case st.Size() > maxDocumentBytes:
		return "", fmt.Errorf("%s is not open and is %d bytes, over the %d cartlsp reads from disk: open it in the editor first", u, st.Size(), maxDocumentBytes)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() { // the path changed meanwhile
		return "", fmt.Errorf("%s is not open and not a regular file", u)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxDocumentBytes+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxDocumentBytes {
		return "", fmt.Errorf("%s grew past %d bytes while it was read", u, maxDocumentBytes)
	}
	return string(b), nil
}

// inside reports whether path is root or below it (root's symbolic links
// resolved; an empty root contains nothing).
func inside(root, path string) bool {
	if root == "" {
		return false
	}
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// offset converts a position (line, UTF-16 code units) to a byte offset in
// text. A character past the end of its line means the line's end (the
// specification's rule); a line past the end of the text is an error.
func offset(text string, p protocol.Position) (int, error) {
	off := 0
	for line := uint32(0); line < p.Line; line++ {
		i := strings.IndexByte(text[off:], '\n')
		if i < 0 {
			if line+1 == p.Line && p.Character == 0 {
				return len(text), nil // the position just past a last line without a newline
			}
			return 0, fmt.Errorf("position %d:%d is past the document's %d lines", p.Line, p.Character, line+1)
		}
		off += i + 1
	}
	end := off + lineLen(text[off:])
	units := uint32(0)
	for off < end && units < p.Character {
		r, size := utf8.DecodeRuneInString(text[off:])
		if r >= 0x10000 {
			units += 2
		} else {
			units++
		}
		off += size
	}
	return off, nil
}

// position converts a byte offset in text to a position (UTF-16 units).
func position(text string, off int) protocol.Position {
	off = min(max(off, 0), len(text))
	var p protocol.Position
	lineStart := 0
	for i := 0; i < off; i++ {
		if text[i] == '\n' {
			p.Line++
			lineStart = i + 1
		}
	}
	p.Character = utf16Len(text[lineStart:off])
	return p
}

// lineLen is the length of s's first line without its end (\n or \r\n).
func lineLen(s string) int {
	i := strings.IndexByte(s, '\n')
	if i < 0 {
		return len(s)
	}
	if i > 0 && s[i-1] == '\r' {
		i--
	}
	return i
}
