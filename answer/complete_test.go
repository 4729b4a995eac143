package answer

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
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
		got, ended := LineStop(c.prefix, c.block, c.fences)(c.in)
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
		prompt, line, word, space := SplitCursor(c.before)
		if prompt != c.prompt || line != c.line || word != c.word || space != c.space {
			t.Errorf("SplitCursor(%q) = %q, %q, %q, %q; want %q, %q, %q, %q", c.before, prompt, line, word, space, c.prompt, c.line, c.word, c.space)
		}
	}
}

// TestContextWindow: the window's start moves in steps, so the next
// keystroke sees the same start.
func TestContextWindow(t *testing.T) {
	var b strings.Builder
	for b.Len() < 20000 {
		b.WriteString("line of some code here\n")
	}
	doc := b.String()
	w1 := ContextWindow(doc, 256)
	w2 := ContextWindow(doc+"x", 256)
	if !strings.HasPrefix(w2, w1) || len(w1) > 256*4 || len(w1) < 256*2 {
		t.Errorf("windows: %d then %d bytes; the second does not extend the first", len(w1), len(w2))
	}
	if !strings.HasPrefix(w1, "line") {
		t.Errorf("the window does not start at a line: %q", w1[:20])
	}
	if got := ContextWindow("short", 256); got != "short" {
		t.Errorf("a short document: %q", got)
	}
}

// TestSuffixWindow: the text after the cursor is cut at a line end within
// about tokens·4 bytes.
func TestSuffixWindow(t *testing.T) {
	after := strings.Repeat("x := 1\n", 100)
	w := suffixWindow(after, 16)
	if len(w) > 64 || !strings.HasSuffix(w, "\n") || !strings.HasPrefix(after, w) {
		t.Errorf("suffixWindow: %q", w)
	}
	if got := suffixWindow(")\n}\n", 16); got != ")\n}\n" {
		t.Errorf("a short suffix: %q", got)
	}
	if got := suffixWindow(strings.Repeat("y", 100), 4); got != strings.Repeat("y", 16) {
		t.Errorf("a suffix with no line end: %q", got)
	}
}

func TestWordBefore(t *testing.T) {
	if w := WordBefore("\treturn fooBar"); w != "fooBar" {
		t.Errorf("WordBefore: %q", w)
	}
	if w := WordBefore("x := "); w != "" {
		t.Errorf("WordBefore after a space: %q", w)
	}
}

// TestCompleterReusesCache: the next completion of the same document
// prefills only the tokens after the common start; a model without FIM
// tokens completes from the text before the cursor even when asked for FIM.
func TestCompleterReusesCache(t *testing.T) {
	m, tok, _ := tinyChat(t, 256)
	var pre *Prefix // nothing before the document
	var c Completer
	o := CompleteOptions{MaxTokens: 4, ContextTokens: 64, SuffixTokens: 16}
	ctx := context.Background()
	first, err := c.Complete(ctx, m, tok, pre, "func main() {\n\tfmt.Println(", ")\n}\n", o)
	if err != nil {
		t.Fatal(err)
	}
	if first.FIM || first.Prefilled != first.PromptTokens || first.PromptTokens == 0 {
		t.Errorf("first completion: FIM %v, prefilled %d of %d", first.FIM, first.Prefilled, first.PromptTokens)
	}
	next, err := c.Complete(ctx, m, tok, pre, "func main() {\n\tfmt.Println(x", ")\n}\n", o)
	if err != nil {
		t.Fatal(err)
	}
	if next.Prefilled >= next.PromptTokens || next.Prefilled == 0 {
		t.Errorf("the second completion prefilled %d of %d tokens; want only the new ones", next.Prefilled, next.PromptTokens)
	}
	if c.cache.Len(0) != pre.Len()+next.PromptTokens {
		t.Errorf("the cache holds %d tokens, want %d", c.cache.Len(0), pre.Len()+next.PromptTokens)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	got, err := c.Complete(cancelled, m, tok, pre, "func main() {\n\tfmt.Println(xy", "", o)
	if err != nil || got.Text != "" {
		t.Errorf("a cancelled completion: %+v, %v; want nothing and no error", got, err)
	}
}

// TestCompleteFIMRealModel: on the default model (Qwen2.5-Coder) the
// prompt is <|fim_prefix|> before <|fim_suffix|> after <|fim_middle|>, and
// the model fills an obvious middle.
func TestCompleteFIMRealModel(t *testing.T) {
	_, m, tok := modeltest.Real(t, 2)
	fp, fs, fm, ok := tok.FIM()
	if !ok {
		t.Skipf("the model at %s has no FIM tokens", modeltest.RealPath(t))
	}
	if tok.Token(fp) != "<|fim_prefix|>" || tok.Token(fs) != "<|fim_suffix|>" || tok.Token(fm) != "<|fim_middle|>" {
		t.Errorf("FIM tokens %q %q %q", tok.Token(fp), tok.Token(fs), tok.Token(fm))
	}
	before := "package calc\n\n// Add returns the sum of a and b.\nfunc Add(a, b int) int {\n\treturn a "
	after := "\n}\n\n// Sub returns a minus b.\nfunc Sub(a, b int) int {\n\treturn a - b\n}\n"
	o := CompleteOptions{MaxTokens: 16, ContextTokens: 256, SuffixTokens: 64}
	ids := CompletionPrompt(tok, before, after, o).IDs
	if ids[0] != fp || ids[len(ids)-1] != fm || slices.Index(ids, fs) < 0 {
		t.Fatalf("FIM prompt %v", ids)
	}
	if got := tok.Decode(ids[slices.Index(ids, fs)+1 : len(ids)-1]); got != after {
		t.Errorf("the suffix in the prompt: %q; want %q", got, after)
	}
	var pre *Prefix // nothing before the document
	var c Completer
	got, err := c.Complete(context.Background(), m, tok, pre, before, after, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("FIM: %q (space %q, %d generated, %s)", got.Text, got.Space, got.Generated, got.Reason)
	if !got.FIM || strings.TrimSpace(got.Text) != "+ b" {
		t.Errorf("FIM completion %q (FIM %v); want \"+ b\"", got.Text, got.FIM)
	}
}

// TestCompleterPromptTime: with a known prefill rate, a prompt whose
// prefill would take longer than PromptTime loses tokens of the text
// before the cursor from its start, and the next keystroke keeps that cut
// and reuses the cache.
func TestCompleterPromptTime(t *testing.T) {
	m, tok, _ := tinyChat(t, 512)
	var pre *Prefix
	var c Completer
	c.rate = 1000 // tokens/s: 50 ms allow 50 tokens
	doc := strings.Repeat("x := y + z\n", 20)
	o := CompleteOptions{MaxTokens: 2, ContextTokens: 256, PromptTime: 50 * time.Millisecond}
	ctx := context.Background()
	full := len(CompletionPrompt(tok, doc+"q", "", o).IDs)
	first, err := c.Complete(ctx, m, tok, pre, doc+"q", "", o)
	if err != nil {
		t.Fatal(err)
	}
	if first.Cut == 0 || first.Cut%cutStep != 0 || first.PromptTokens != full-first.Cut || first.Prefilled > 50 {
		t.Errorf("first: cut %d of %d, prompt %d, prefilled %d; want a cut in steps of %d leaving ≤ 50 to prefill",
			first.Cut, full, first.PromptTokens, first.Prefilled, cutStep)
	}
	next, err := c.Complete(ctx, m, tok, pre, doc+"qr", "", o)
	if err != nil {
		t.Fatal(err)
	}
	if next.Cut != first.Cut || next.Prefilled > 3 {
		t.Errorf("next keystroke: cut %d (first %d), prefilled %d; want the same cut and the cache reused", next.Cut, first.Cut, next.Prefilled)
	}
	c.Forget()
	c.rate = 1000
	other, err := c.Complete(ctx, m, tok, pre, "short", "", o)
	if err != nil {
		t.Fatal(err)
	}
	if other.Cut != 0 {
		t.Errorf("a prompt that fits was cut by %d", other.Cut)
	}
}

// TestCompleterPromptTimeFIM: with fill-in-the-middle, what the cut of the
// text before the cursor leaves too long comes off the end of the text
// after it; the FIM tokens stay.
func TestCompleterPromptTimeFIM(t *testing.T) {
	m, tok, _ := tinyChat(t, 512)
	var c Completer
	c.rate = 1000              // 50 ms allow 50 tokens
	const fp, fs, fm = 0, 1, 2 // stand-ins: the tiny model has no FIM tokens
	p := Prompt{FIM: true, Text: 1}
	p.IDs = append(p.IDs, fp)
	for i := 0; i < 100; i++ {
		p.IDs = append(p.IDs, 10+i%50)
	}
	p.TextEnd = len(p.IDs)
	p.IDs = append(p.IDs, fs)
	for i := 0; i < 60; i++ {
		p.IDs = append(p.IDs, 70+i%50)
	}
	p.IDs = append(p.IDs, fm)
	o := CompleteOptions{MaxTokens: 1, PromptTime: 50 * time.Millisecond}
	res, err := c.generate(context.Background(), m, tok, nil, p, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The text before: 100 tokens, cut in steps of 32 while more than 32 stay: 96; then 17 of the suffix.
	if res.cut != 96 || res.suffixCut != 17 || res.promptTokens != 50 {
		t.Errorf("cut %d, suffix cut %d, prompt %d tokens; want 96, 17, 50", res.cut, res.suffixCut, res.promptTokens)
	}
	if c.toks[0] != fp || c.toks[len(c.toks)-1] != fm || c.toks[1+4] != fs {
		t.Errorf("the cut prompt %v lost a FIM token", c.toks)
	}
}
