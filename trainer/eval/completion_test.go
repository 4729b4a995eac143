package eval

import (
	"context"
	"strings"
	"testing"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/model"
)

var completionFiles = []indexer.File{
	{Path: "a.go", Text: "package demo\n\n// Open opens the named file.\nfunc Open(name string) (*File, error) {\n\treturn openFile(name, O_RDONLY, 0)\n}\n"},
	{Path: "b.go", Text: "package demo\n\nvar names = []string{\"héllo\", \"wörld\"}\n\nfunc Names() []string { return names }\n"},
}

// TestCompletionCases: the same seed draws the same cases; each case is
// its file cut at a cursor inside a line, with the rest of that line as
// the reference.
func TestCompletionCases(t *testing.T) {
	a := CompletionCases(completionFiles, 5, 7)
	b := CompletionCases(completionFiles, 5, 7)
	if len(a) != 5 {
		t.Fatalf("%d cases; want 5", len(a))
	}
	texts := map[string]string{}
	for _, f := range completionFiles {
		texts[f.Path] = f.Text
	}
	for i, c := range a {
		if c != b[i] {
			t.Errorf("case %d differs between two draws with one seed: %+v, %+v", i, c, b[i])
		}
		if c.Before+c.Want+c.After != texts[c.File] {
			t.Errorf("case %d does not put its file back together: %+v", i, c)
		}
		if len(strings.TrimSpace(c.Want)) < minRest || strings.Contains(c.Want, "\n") {
			t.Errorf("case %d: the rest of the line %q", i, c.Want)
		}
		if c.After != "" && !strings.HasPrefix(c.After, "\n") {
			t.Errorf("case %d: After %q does not start at the end of the line", i, c.After)
		}
		line := c.Before[strings.LastIndexByte(c.Before, '\n')+1:]
		if strings.TrimSpace(line) == "" && line != "" && strings.TrimLeft(c.Want, " \t") != c.Want {
			t.Errorf("case %d: the cursor is inside the indentation", i)
		}
	}
	// Seven lines have 8 or more non-space characters; the two at a file's
	// start are left out when the cursor falls at the start.
	all := CompletionCases(completionFiles, 100, 1)
	lines := map[string]bool{}
	for _, c := range all {
		lines[c.File+":"+string(rune('0'+c.Line))] = true
	}
	for _, l := range []string{"a.go:3", "a.go:4", "a.go:5", "b.go:3", "b.go:5"} {
		if !lines[l] {
			t.Errorf("line %s was not drawn", l)
		}
	}
	if len(all) > 7 {
		t.Errorf("%d cases from 7 eligible lines", len(all))
	}
}

func TestEditSimilarity(t *testing.T) {
	cases := []struct {
		a, b string
		want float64
	}{
		{"", "", 1},
		{"abc", "abc", 1},
		{"abc", "", 0},
		{"kitten", "sitting", 1 - 3.0/7},
		{"héllo", "hello", 0.8},
	}
	for _, c := range cases {
		if got := editSimilarity(c.a, c.b); !near(got, c.want) {
			t.Errorf("editSimilarity(%q, %q) = %v; want %v", c.a, c.b, got, c.want)
		}
	}
}

// TestRunCompletion: the reference's NLL is the one a plain forward pass of
// the prompt and the reference gives; exact match and edit similarity
// compare the completion with the reference.
func TestRunCompletion(t *testing.T) {
	m, tok, _ := tinyChatModel(t, 512)
	cases := CompletionCases(completionFiles, 3, 1)
	o := CompletionOptions{CompleteOptions: answer.CompleteOptions{MaxTokens: 6, ContextTokens: 96}}
	sums, err := RunCompletion(context.Background(), m, tok, cases, []CompletionCondition{{Name: "none"}}, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := sums[0]
	if s.Cases != 3 || len(s.Results) != 3 || s.Cut != 0 {
		t.Fatalf("summary %+v", s)
	}
	var nll float64
	var toks int
	for i, r := range s.Results {
		c := cases[i]
		p := answer.CompletionPrompt(tok, c.Before, c.After, o.CompleteOptions)
		target := tok.Encode(p.Space+c.Want, false)
		cache := m.NewCache(1, len(p.IDs)+len(target))
		all := append(append([]int(nil), p.IDs...), target...)
		logits, err := m.Forward(context.Background(), cache, model.Batch{{Seq: 0, Tokens: all, Logits: model.LogitsAll}})
		if err != nil {
			t.Fatal(err)
		}
		var want float64
		for j, id := range target {
			want -= logProb(logits[(len(p.IDs)-1+j)*m.Vocab:(len(p.IDs)+j)*m.Vocab], id)
		}
		if !near(r.NLL, want) || r.Tokens != len(target) {
			t.Errorf("case %d: NLL %v over %d tokens; a plain forward pass gives %v over %d", i, r.NLL, r.Tokens, want, len(target))
		}
		if r.Exact != (strings.TrimSpace(r.Got) == strings.TrimSpace(c.Want)) || !near(r.EditSim, editSimilarity(strings.TrimSpace(r.Got), strings.TrimSpace(c.Want))) {
			t.Errorf("case %d: exact %v, similarity %v for %q against %q", i, r.Exact, r.EditSim, r.Got, c.Want)
		}
		nll += r.NLL
		toks += r.Tokens
	}
	if !near(s.NLLPerToken, nll/float64(toks)) {
		t.Errorf("NLL per token %v; want %v", s.NLLPerToken, nll/float64(toks))
	}
}
