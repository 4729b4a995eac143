package lsp

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestLineStop: a completion ends at the end of the line, or of the block
// (a blank line, a line indented less than the completed line, a Markdown
// fence, eight lines).
func TestLineStop(t *testing.T) {
	cases := []struct {
		name          string
		prefix        string
		block, fences bool
		in, want      string
		ended         bool
	}{
		{"line, open", "\t", false, true, "return x", "return x", false},
		{"line, ended", "\t", false, true, "return x\n\tnext", "return x", true},
		{"block, blank line", "func f()", true, true, " {\n\tx := 1\n\n\ty", " {\n\tx := 1", true},
		{"block, dedent ends the body", "\t", true, true, "return a + b\n}\n", "return a + b", true},
		{"block, the closing brace of a header", "", true, true, "func f() {\n\treturn 1\n}\n\nfunc", "func f() {\n\treturn 1\n}", true},
		{"block, fence", "", true, true, "return a + b\n}\n```", "return a + b\n}", true},
		{"block, fence in Markdown", "", true, false, "return a + b\n}\n```", "return a + b\n}\n```", false},
		{"block, incomplete last line", "    ", true, true, "a\n    b\n  }", "a\n    b\n  }", false},
		{"block, eight lines", "", true, true, strings.Repeat("x\n", 10), strings.TrimSuffix(strings.Repeat("x\n", 8), "\n"), true},
	}
	for _, c := range cases {
		got, ended := lineStop(c.prefix, c.block, c.fences)(c.in)
		if got != c.want || ended != c.ended {
			t.Errorf("%s: %q, %v; want %q, %v", c.name, got, ended, c.want, c.ended)
		}
	}
}

// TestSplitCursor: the prompt ends before the white space that ends it
// (which the completion then replaces), never inside a word.
func TestSplitCursor(t *testing.T) {
	cases := []struct{ before, prompt, line, word, space string }{
		{"func f() {\n\t", "func f() {\n", "", "", "\t"},
		{"func f() {\n    ", "func f() {\n", "", "", "    "},
		{"\tx := ", "\tx :=", "\tx :=", "", " "},
		{"\treturn fooB", "\treturn fooB", "\treturn fooB", "fooB", ""},
		{"", "", "", "", ""},
	}
	for _, c := range cases {
		prompt, line, word, space := splitCursor(c.before)
		if prompt != c.prompt || line != c.line || word != c.word || space != c.space {
			t.Errorf("splitCursor(%q) = %q, %q, %q, %q; want %q, %q, %q, %q", c.before, prompt, line, word, space, c.prompt, c.line, c.word, c.space)
		}
	}
}

// TestContextWindow: the window's start moves in steps, so the next
// keystroke sees the same start.
func TestContextWindow(t *testing.T) {
	var b strings.Builder
	for i := 0; b.Len() < 20000; i++ {
		b.WriteString("line of some code here\n")
	}
	doc := b.String()
	w1 := contextWindow(doc, 256)
	w2 := contextWindow(doc+"x", 256)
	if !strings.HasPrefix(w2, w1) || len(w1) > 256*4 || len(w1) < 256*2 {
		t.Errorf("windows: %d then %d bytes; the second does not extend the first", len(w1), len(w2))
	}
	if !strings.HasPrefix(w1, "line") {
		t.Errorf("the window does not start at a line: %q", w1[:20])
	}
	if got := contextWindow("short", 256); got != "short" {
		t.Errorf("a short document: %q", got)
	}
}

func TestWordAndIdentifier(t *testing.T) {
	if w := wordBefore("\treturn fooBar"); w != "fooBar" {
		t.Errorf("wordBefore: %q", w)
	}
	if w := wordBefore("x := "); w != "" {
		t.Errorf("wordBefore after a space: %q", w)
	}
	text := "a := uuid.NewRandom() + b"
	s, e := identifierAt(text, 12)
	if text[s:e] != "uuid.NewRandom" {
		t.Errorf("identifierAt: %q", text[s:e])
	}
	if s, e := identifierAt(text, 2); s != e {
		t.Errorf("identifierAt on an operator: %q", text[s:e])
	}
}

// TestCompleterReusesCache: the next completion of the same document
// prefills only the tokens after the common start; a new completion
// cancels the one in flight.
func TestCompleterReusesCache(t *testing.T) {
	eng, err := loadEngine(withModel(tinyModel(t), t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.retire()
	pre, err := eng.prefixFor(context.Background(), contextSpec{})
	if err != nil {
		t.Fatal(err)
	}
	var c completer
	ids := eng.l.Tokenizer.Encode("func main() {\n\tfmt.Println(", false)
	if _, err := c.generate(context.Background(), eng, pre, ids, 4, nil); err != nil {
		t.Fatal(err)
	}
	more := eng.l.Tokenizer.Encode("func main() {\n\tfmt.Println(x", false)
	res, err := c.generate(context.Background(), eng, pre, more, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.PromptTokens >= len(more) || res.PromptTokens == 0 {
		t.Errorf("the second completion prefilled %d of %d tokens; want only the new ones", res.PromptTokens, len(more))
	}
	if c.cache.Len(0) != pre.Len()+len(more) {
		t.Errorf("the cache holds %d tokens, want %d", c.cache.Len(0), pre.Len()+len(more))
	}

	first, done1 := c.start(context.Background())
	_, done2 := c.start(context.Background())
	select {
	case <-first.Done():
	case <-time.After(time.Second):
		t.Error("a new completion did not cancel the one in flight")
	}
	done1() // the superseded one finishing must not cancel the new one
	c.mu.Lock()
	if c.cancel == nil {
		t.Error("the superseded completion cleared the new one's cancel")
	}
	c.mu.Unlock()
	done2()
}
