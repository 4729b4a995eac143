package lsp

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/modelfile"
	"github.com/cartlsp/cartlsp/trainer/eval"
)

// TestEvalAnswersAsTheEditor: for the same question and the same prefix
// (the corpus in context), the answer the server gives an editor and the
// answer cartlsp eval generates are the same tokens: eval measures what an
// editor gets. With the tiny random model always, and with the real one
// when CARTLSP_MODEL names it.
func TestEvalAnswersAsTheEditor(t *testing.T) {
	models := map[string]string{"tiny": tinyModel(t)}
	if p := os.Getenv("CARTLSP_MODEL"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("CARTLSP_MODEL: %v", err)
		}
		models["real"] = p
	}
	for name, path := range models {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for f, text := range goFiles() {
				if err := os.WriteFile(filepath.Join(dir, f), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			const question, maxTokens = "What does Area return?", 24
			ctx := context.Background()

			// The editor's: a folder outside git is answered with its files in context.
			e := newEditor(t, Options{Config: withModel(path, t.TempDir())}, nil)
			e.initialize(dir, map[string]any{"inContextTokens": 4096})
			e.waitStatus("idle", time.Minute, func(s Status) bool { return s.State == "idle" })
			ss, done, err := e.s.session(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got, pre, err := e.s.answer(ctx, ss, question, maxTokens, nil)
			done()
			if err != nil {
				t.Fatal(err)
			}
			if pre.source != sourceInContext || pre.InContext.Truncated {
				t.Fatalf("the server's prefix: %s, %+v", pre.source, pre.InContext)
			}

			// eval's: the ICL condition on the same files.
			l, err := modelfile.Load(path, modelfile.DeviceCPU, 2)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			chat, err := answer.NewChat(l.Tokenizer)
			if err != nil {
				t.Fatal(err)
			}
			corpus, err := indexer.LoadDir(ctx, dir, indexer.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			qs := []eval.Question{{ID: "area", Question: question, Answer: "w * h", Distractors: []string{"w + h", "0", "an error"}}}
			r, err := eval.Run(ctx, l.Model, chat, qs, []eval.Condition{eval.ICL()}, eval.Options{Corpus: corpus, Gen: maxTokens})
			if err != nil {
				t.Fatal(err)
			}
			res := r.Questions[0].Results[0]
			if r.Summary[0].PrefixTokens != pre.Len() || r.Summary[0].Truncated {
				t.Fatalf("eval's prefix holds %d tokens, the server's %d", r.Summary[0].PrefixTokens, pre.Len())
			}
			if len(got.Tokens) == 0 || !slices.Equal(res.GenIDs, got.Tokens) || res.Stop != string(got.Stop) || res.Generated != got.Text {
				t.Errorf("the editor got %v (%q, stop %s)\neval generated %v (%q, stop %s)", got.Tokens, got.Text, got.Stop, res.GenIDs, res.Generated, res.Stop)
			}
			t.Logf("%d identical tokens, stop %s: %q", len(got.Tokens), got.Stop, got.Text)
		})
	}
}
