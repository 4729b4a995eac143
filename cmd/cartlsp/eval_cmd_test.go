package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
	"github.com/cartlsp/cartlsp/trainer/eval"
)

// writeTinyChatModel writes a tiny random chat model to path (see
// writeChatModel) and returns its fingerprint.
func writeTinyChatModel(t *testing.T, path string) string {
	t.Helper()
	if err := os.Rename(writeChatModel(t, filepath.Dir(path)), path); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	be := cpu.NewBackend(1)
	defer be.Close()
	m, err := model.New(f, be)
	if err != nil {
		t.Fatal(err)
	}
	return m.Fingerprint()
}

// writeTinyCart writes a p-token Cartridge of the tiny model's shape
// (2 layers, 2 KV heads, head dim 16) for the model with fingerprint fp.
func writeTinyCart(t *testing.T, path, fp, method string, p int) {
	t.Helper()
	c := &cartridge.Cartridge{Meta: cartridge.Meta{
		Model: cartridge.ModelInfo{Fingerprint: fp, Arch: "llama", Layers: 2, KVHeads: 2, HeadDim: 16, Dim: 64,
			RopeLayout: cartridge.RopeAdjacent, RopeBase: 10000},
		P: p, Frozen: 1, Recipe: cartridge.Recipe{Method: method},
		Corpus: cartridge.CorpusInfo{Kind: "dir", Source: "demo"},
	}}
	for l := 0; l < 2; l++ {
		k, v := make([]float32, 2*p*16), make([]float32, 2*p*16)
		for i := range k {
			k[i] = float32(math.Sin(float64(i + 31*l)))
			v[i] = float32(math.Cos(float64(i + 17*l)))
		}
		c.Keys, c.Values = append(c.Keys, k), append(c.Values, v)
	}
	if err := cartridge.Write(path, c, cartridge.F16); err != nil {
		t.Fatal(err)
	}
}

func TestCLIEval(t *testing.T) {
	dir := t.TempDir()
	modelPath := filepath.Join(dir, "tiny.gguf")
	fp := writeTinyChatModel(t, modelPath)
	corpus := filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(corpus, "pkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"main.go":          "package main\n\nconst Port = 7341\n",
		"pkg/open.go":      "package pkg\n\nfunc Open() error { return nil }\n",
		"pkg/open_test.go": "package pkg\n",
	} {
		if err := os.WriteFile(filepath.Join(corpus, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	qpath := filepath.Join(dir, "q.jsonl")
	qs := `{"id":"port","question":"What port?","answer":"7341","distractors":["80","8080","22"],"kind":"fact","source":"main.go"}
{"id":"open","question":"What does Open return?","answer":"an error","distractors":["nothing","a file","an int"]}
`
	if err := os.WriteFile(qpath, []byte(qs), 0o644); err != nil {
		t.Fatal(err)
	}
	cart, ntp := filepath.Join(dir, "a.cart"), filepath.Join(dir, "n.cart")
	writeTinyCart(t, cart, fp, "self-study", 6)
	writeTinyCart(t, ntp, fp, "ntp", 4)
	out := filepath.Join(dir, "reports", "r1")

	code, stdout, errs := runCLI(t, "eval", "--model", modelPath, "--threads", "1", "--questions", qpath, "--corpus", corpus,
		"--exclude", "*_test.go", "--cart", cart, "--ntp", ntp, "--gen", "3", "--out", out)
	if code != 0 {
		t.Fatalf("eval: code %d, stderr %q", code, errs)
	}
	for _, want := range []string{"| condition | prefix tokens | KV bytes |", "| none | 0 | 0 B |", "| icl |", "| cartridge | 6 |",
		"| ntp | 4 |", "ICL / cartridge KV memory", "ntp NLL / ICL NLL", "wrote " + out + ".md and " + out + ".json"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	md, err := os.ReadFile(out + ".md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "### 1. port (fact)") || !strings.Contains(string(md), "**Reference:** an error") {
		t.Errorf("markdown report:\n%s", md)
	}
	js, err := os.ReadFile(out + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var r eval.Report
	if err := json.Unmarshal(js, &r); err != nil {
		t.Fatal(err)
	}
	if r.Model.Path != modelPath || r.Model.Fingerprint != fp || r.QuestionFile != qpath || r.NumQuestions != 2 ||
		r.Corpus == nil || r.Corpus.Files != 2 || len(r.Summary) != 4 || r.Summary[2].Source != cart ||
		r.Summary[2].KVBytes != 6*2*2*2*16*2 || len(r.Questions) != 2 || len(r.Questions[1].Results) != 4 ||
		r.Settings.Gen != 3 || strings.Join(r.Settings.Exclude, ",") != "*_test.go" || r.Settings.Threads != 1 {
		t.Errorf("JSON report: %+v", r)
	}

	// Flags after nothing, a limit and one condition; the default prefix.
	t.Chdir(dir)
	code, _, errs = runCLI(t, "eval", "--model", modelPath, "--threads", "1", "--questions", qpath, "--limit", "1",
		"--conditions", "none", "--gen", "0")
	if code != 0 {
		t.Fatalf("eval --limit: code %d, stderr %q", code, errs)
	}
	js, err = os.ReadFile(filepath.Join(dir, "eval-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	r = eval.Report{}
	if err := json.Unmarshal(js, &r); err != nil || r.NumQuestions != 1 || len(r.Summary) != 1 || r.Corpus != nil {
		t.Errorf("eval --limit 1 --conditions none: %v %+v", err, r)
	}
}

func TestCLIEvalErrors(t *testing.T) {
	dir := t.TempDir()
	modelPath := filepath.Join(dir, "tiny.gguf")
	writeTinyChatModel(t, modelPath)
	qpath := filepath.Join(dir, "q.jsonl")
	if err := os.WriteFile(qpath, []byte(`{"id":"a","question":"q?","answer":"x","distractors":["b","c","d"]}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte(`{"id":"a","question":"q?","answer":"x","distractors":["b"]}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := writeTestCart(t, dir, "other", cmdTestFP, cartridge.F16)
	m := []string{"--model", modelPath, "--threads", "1", "--out", filepath.Join(dir, "r")}
	cases := []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"eval", "--help"}, 0, "in-context learning"},
		{[]string{"eval"}, 2, "--questions is required"},
		{[]string{"eval", "--questions", qpath, "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"eval", "--questions", qpath, "--conditions", "cartridge"}, 2, "condition cartridge needs --cart FILE"},
		{[]string{"eval", "--questions", qpath, "--conditions", "icl"}, 2, "condition icl needs --corpus DIR"},
		{[]string{"eval", "--questions", qpath, "--conditions", "none,magic"}, 2, `unknown condition "magic"`},
		{[]string{"eval", "--questions", qpath, "--gen", "-1"}, 2, "--gen must be 0 or more"},
		{append([]string{"eval", "--questions", filepath.Join(dir, "none.jsonl")}, m...), 1, "none.jsonl"},
		{append([]string{"eval", "--questions", bad}, m...), 1, "bad.jsonl:1: \"distractors\" has 1 entries"},
		{append([]string{"eval", "--questions", qpath, "--corpus", filepath.Join(dir, "nowhere")}, m...), 1, "nowhere"},
		{append([]string{"eval", "--questions", qpath, "--cart", other}, m...), 1, "this Cartridge was trained for"},
	}
	for _, c := range cases {
		code, out, errs := runCLI(t, c.args...)
		if c.code == 0 {
			errs = out // help asked for goes to stdout
		}
		if code != c.code || !strings.Contains(errs, c.inStderr) {
			t.Errorf("cartlsp %v: code %d, output %q; want code %d and %q", c.args, code, errs, c.code, c.inStderr)
		}
	}
}

// TestEvalRealModel runs the question set on the real model with the
// corpus in context and without: the corpus must help.
func TestEvalRealModel(t *testing.T) {
	modeltest.RealPath(t) // what the CLI resolves: $CARTLSP_MODEL, else the pulled default
	dir := t.TempDir()
	corpus := filepath.Join(dir, "quill")
	if err := os.MkdirAll(corpus, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"config.go": "package quill\n\n// DefaultPort is the port the quill server listens on.\nconst DefaultPort = 7341\n\n" +
			"// MaxBatch is the most records Flush writes at once.\nconst MaxBatch = 96\n",
		"store.go": "package quill\n\n// Open opens the store in dir and returns ErrLocked when another process holds it.\n" +
			"func Open(dir string) (*Store, error) { return nil, ErrLocked }\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(corpus, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	qs := `{"id":"port","question":"In the quill codebase, what port does the server listen on by default?","answer":"7341","distractors":["8080","443","5432"],"kind":"fact","source":"config.go"}
{"id":"batch","question":"In the quill codebase, what is MaxBatch?","answer":"96","distractors":["64","128","1024"],"kind":"fact","source":"config.go"}
{"id":"locked","question":"In the quill codebase, which error does Open return when another process holds the store?","answer":"ErrLocked","distractors":["ErrClosed","ErrNotFound","io.EOF"],"kind":"api","source":"store.go"}
`
	qpath := filepath.Join(dir, "q.jsonl")
	if err := os.WriteFile(qpath, []byte(qs), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "real")
	code, stdout, errs := runCLI(t, "eval", "--threads", "2", "--questions", qpath, "--corpus", corpus,
		"--conditions", "none,icl", "--gen", "8", "--out", out)
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, errs)
	}
	t.Logf("\n%s", stdout)
	md, _ := os.ReadFile(out + ".md")
	t.Logf("\n%s", md)
	js, err := os.ReadFile(out + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var r eval.Report
	if err := json.Unmarshal(js, &r); err != nil {
		t.Fatal(err)
	}
	none, icl := r.Summary[0], r.Summary[1]
	if icl.Truncated || icl.NLLPerToken >= none.NLLPerToken || icl.MCAccuracy < none.MCAccuracy || icl.DecodeTokS <= 0 {
		t.Errorf("the corpus in context did not help: none %+v\nicl %+v", none, icl)
	}
	for _, q := range r.Questions {
		if q.Results[1].GenTokens == 0 {
			t.Errorf("%s: nothing generated with icl", q.ID)
		}
	}
}

// TestCLIEvalCompletion: eval --completion draws lines from the files
// --include names, completes them with and without the Cartridge, and
// writes the report; a bad --include or a directory without such files is
// an error that says so.
func TestCLIEvalCompletion(t *testing.T) {
	dir := t.TempDir()
	modelPath := filepath.Join(dir, "tiny.gguf")
	fp := writeTinyChatModel(t, modelPath)
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(src, "pkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"main.go":          "package main\n\nconst Port = 7341\n",
		"pkg/open_test.go": "package pkg\n\nfunc TestOpen(t *testing.T) {\n\tif err := Open(); err != nil {\n\t\tt.Fatal(err)\n\t}\n}\n",
	} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cart := filepath.Join(dir, "a.cart")
	writeTinyCart(t, cart, fp, "self-study", 6)
	out := filepath.Join(dir, "c")
	code, stdout, errs := runCLI(t, "eval", "--model", modelPath, "--threads", "1", "--completion", src, "--include", "*_test.go",
		"--cart", cart, "--cases", "3", "--max-tokens", "4", "--out", out)
	if code != 0 {
		t.Fatalf("eval --completion: code %d, stderr %q", code, errs)
	}
	for _, want := range []string{"| condition | prefix | exact match |", "| none | 0 |", "| cartridge | 6 |", "3 lines from 1 files"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	var rep struct {
		Cases []struct{ File string }
	}
	b, err := os.ReadFile(out + ".json")
	if err != nil || json.Unmarshal(b, &rep) != nil || len(rep.Cases) != 3 {
		t.Fatalf("report %s: %v\n%s", out+".json", err, b)
	}
	for _, c := range rep.Cases {
		if c.File != "pkg/open_test.go" {
			t.Errorf("a line drawn from %s, which --include leaves out", c.File)
		}
	}
	if md, err := os.ReadFile(out + ".md"); err != nil || !strings.Contains(string(md), "## The first completions") {
		t.Errorf("the Markdown report: %v", err)
	}
	code, _, errs = runCLI(t, "eval", "--model", modelPath, "--completion", src, "--include", "[", "--out", out)
	if code != 2 || !strings.Contains(errs, "--include") {
		t.Errorf("a bad --include: code %d, stderr %q", code, errs)
	}
	code, _, errs = runCLI(t, "eval", "--model", modelPath, "--completion", src, "--include", "*.py", "--out", out)
	if code == 0 || !strings.Contains(errs, "no lines to complete") {
		t.Errorf("no file to draw from: code %d, stderr %q", code, errs)
	}
}
