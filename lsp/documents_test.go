package lsp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

func pos(l, c uint32) protocol.Position { return protocol.Position{Line: l, Character: c} }

// TestOffset: positions count UTF-16 code units, clamp to the line's end,
// and a line past the end is an error.
func TestOffset(t *testing.T) {
	text := "aé😀b\r\nline2\nlast"
	cases := []struct {
		p    protocol.Position
		want int
		err  bool
	}{
		{pos(0, 0), 0, false},
		{pos(0, 1), 1, false},  // after a
		{pos(0, 2), 3, false},  // after é (2 bytes, 1 unit)
		{pos(0, 4), 7, false},  // after 😀 (4 bytes, 2 units)
		{pos(0, 5), 8, false},  // after b
		{pos(0, 99), 8, false}, // past the end: the line's end, before \r\n
		{pos(1, 0), 10, false},
		{pos(2, 4), 20, false},
		{pos(4, 0), 0, true},
		{pos(3, 1), 0, true},
	}
	for _, c := range cases {
		got, err := offset(text, c.p)
		if (err != nil) != c.err || (!c.err && got != c.want) {
			t.Errorf("offset(%v) = %d, %v; want %d (error %v)", c.p, got, err, c.want, c.err)
		}
		if !c.err && c.p.Character < 99 {
			if back := position(text, got); back != c.p {
				t.Errorf("position(%d) = %v, want %v", got, back, c.p)
			}
		}
	}
	// Clients address the end of a document without a final newline as
	// the start of the line after it.
	if got, err := offset(text, pos(3, 0)); err != nil || got != len(text) {
		t.Errorf("the line after the last: %d, %v", got, err)
	}
	if got, err := offset("a\n", pos(1, 0)); err != nil || got != 2 {
		t.Errorf("the position after a final newline: %d, %v", got, err)
	}
}

// TestIncrementalSync applies edits in order, each on the text the one
// before left, and refuses bad ones.
func TestIncrementalSync(t *testing.T) {
	d := newDocuments()
	u := uri.File("/x/a.go")
	d.open(&protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{URI: u, Version: 1, Text: "hello 😀 world\nbye\n"}})
	edit := func(r protocol.Range, text string) protocol.TextDocumentContentChangeEvent {
		return &protocol.TextDocumentContentChangePartial{Range: r, Text: text}
	}
	err := d.change(&protocol.DidChangeTextDocumentParams{
		TextDocument: protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: u}, Version: 2},
		ContentChanges: []protocol.TextDocumentContentChangeEvent{
			edit(protocol.Range{Start: pos(0, 9), End: pos(0, 14)}, "there"), // "world" after the emoji (2 units)
			edit(protocol.Range{Start: pos(1, 0), End: pos(1, 3)}, "ciao"),
			edit(protocol.Range{Start: pos(2, 0), End: pos(2, 0)}, "end"),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := d.text(u, ""); got != "hello 😀 there\nciao\nend" {
		t.Errorf("text %q", got)
	}
	whole := &protocol.TextDocumentContentChangeWholeDocument{Text: "new"}
	if err := d.change(&protocol.DidChangeTextDocumentParams{TextDocument: protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: u}}, ContentChanges: []protocol.TextDocumentContentChangeEvent{whole}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.text(u, ""); got != "new" {
		t.Errorf("after a whole-document change: %q", got)
	}
	bad := []protocol.TextDocumentContentChangeEvent{edit(protocol.Range{Start: pos(5, 0), End: pos(5, 1)}, "x")}
	if err := d.change(&protocol.DidChangeTextDocumentParams{TextDocument: protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: u}}, ContentChanges: bad}); err == nil {
		t.Error("an edit past the end was applied")
	}
	if err := d.change(&protocol.DidChangeTextDocumentParams{TextDocument: protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: uri.File("/x/closed.go")}}}); err == nil {
		t.Error("a change to a document that is not open was accepted")
	}
}

// FuzzOffset: any position in any text gives an offset on a rune boundary
// within the text (or an error), and positions of offsets round-trip.
func FuzzOffset(f *testing.F) {
	f.Add("aé😀b\r\nline2\nlast", uint32(0), uint32(3))
	f.Add("", uint32(1), uint32(0))
	f.Add("\xff\xfe\n\x80", uint32(1), uint32(1))
	f.Fuzz(func(t *testing.T, text string, line, char uint32) {
		off, err := offset(text, pos(line%64, char%256))
		if err != nil {
			return
		}
		if off < 0 || off > len(text) {
			t.Fatalf("offset %d outside a text of %d bytes", off, len(text))
		}
		p := position(text, off)
		if back, err := offset(text, p); err != nil || back != off {
			t.Fatalf("position(%d) = %v, back %d, %v", off, p, back, err)
		}
	})
}

// TestDocumentFromDisk: a document the client has not opened is read only
// when it is a regular file inside the workspace, under the size limit.
func TestDocumentFromDisk(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(root, "a.go"), []byte("package a\n"), 0o644)
	os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("s3cret"), 0o644)
	os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(root, "link.txt"))
	big := filepath.Join(root, "big.txt")
	if f, err := os.Create(big); err == nil {
		f.Truncate(maxDocumentBytes + 1)
		f.Close()
	}
	os.Mkdir(filepath.Join(root, "dir"), 0o755)
	fifo := filepath.Join(root, "fifo")
	fifoErr := mkfifo(fifo)
	d := newDocuments()
	for _, c := range []struct {
		path, want string
	}{
		{filepath.Join(root, "a.go"), ""},
		{filepath.Join(outside, "secret.txt"), "outside the workspace"},
		{filepath.Join(root, "link.txt"), "outside the workspace"},
		{filepath.Join(root, "..", filepath.Base(outside), "secret.txt"), "outside the workspace"},
		{"/dev/zero", "outside the workspace"},
		{big, "over the"},
		{filepath.Join(root, "dir"), "not a regular file"},
		{filepath.Join(root, "absent.go"), "cannot be read"},
	} {
		got, err := d.text(uri.File(c.path), root)
		switch {
		case c.want == "" && (err != nil || got != "package a\n"):
			t.Errorf("%s: %q %v", c.path, got, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %q %v, want an error saying %q", c.path, got, err, c.want)
		}
	}
	if fifoErr == nil {
		done := make(chan error, 1)
		go func() { _, err := d.text(uri.File(fifo), root); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("a FIFO: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("reading a FIFO hangs")
		}
	}
	if _, err := d.text(uri.File(filepath.Join(root, "a.go")), ""); err == nil {
		t.Error("without a workspace folder a file on disk was read")
	}
}
