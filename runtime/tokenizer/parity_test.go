package tokenizer

import (
	"bufio"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// The reference file is written by scripts/tokenizer_ref.py from llama.cpp.
var refPath = filepath.Join("..", "..", "testdata", "tokenizer", "smollm2_ref.jsonl.gz")

type refMeta struct {
	ModelSHA256  string `json:"model_sha256"`
	NVocab       int    `json:"n_vocab"`
	BOS, EOS     int
	EOT, PAD     int
	EOG          []int    `json:"eog"`
	AddBOS       bool     `json:"add_bos"`
	Pres         []string `json:"pres"`
	ChatTemplate string   `json:"chat_template"`

	FIM         map[string]int `json:"fim"`           // Qwen reference only: llama_vocab_fim_*
	NBaseInputs int            `json:"n_base_inputs"` // Qwen reference only: inputs shared with smollm2_ref
}

type refEnc struct {
	S     *string                    `json:"s"`
	B64   string                     `json:"b64"`
	IDs   map[string]json.RawMessage `json:"ids"`
	Plain map[string]json.RawMessage `json:"plain"`
}

type refChat struct {
	Template    string    `json:"template"`
	TemplateSrc string    `json:"template_src"`
	Messages    []Message `json:"messages"`
	AddGen      bool      `json:"add_generation_prompt"`
	Prompt      string    `json:"prompt"`
	IDs         []int     `json:"ids"`
}

// refPieces (Qwen reference only): llama_token_to_piece with special=true
// for the listed ids (base64), and per block of ids a digest of all pieces.
type refPieces struct {
	IDs     []int    `json:"ids"`
	B64     []string `json:"b64"`
	Block   int      `json:"block"`
	Digests []string `json:"digests"`
}

type refData struct {
	meta   refMeta
	encs   []refEnc
	chats  []refChat
	pieces *refPieces
}

var loadRefOnce = sync.OnceValues(func() (*refData, error) { return readRef(refPath) })

// readRef reads a reference file written by scripts/tokenizer_ref.py.
func readRef(path string) (*refData, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	d := &refData{}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var kind struct{ Kind string }
		if err := json.Unmarshal(sc.Bytes(), &kind); err != nil {
			return nil, err
		}
		switch kind.Kind {
		case "meta":
			err = json.Unmarshal(sc.Bytes(), &d.meta)
		case "enc":
			var e refEnc
			err = json.Unmarshal(sc.Bytes(), &e)
			d.encs = append(d.encs, e)
		case "chat":
			var c refChat
			err = json.Unmarshal(sc.Bytes(), &c)
			d.chats = append(d.chats, c)
		case "pieces":
			d.pieces = &refPieces{}
			err = json.Unmarshal(sc.Bytes(), d.pieces)
		}
		if err != nil {
			return nil, err
		}
	}
	return d, sc.Err()
}

func loadRef(t testing.TB) *refData {
	t.Helper()
	d, err := loadRefOnce()
	if err != nil {
		t.Fatalf("reading %s: %v", refPath, err)
	}
	return d
}

func (e refEnc) input(t testing.TB) string {
	if e.S != nil {
		return *e.S
	}
	b, err := base64.StdEncoding.DecodeString(e.B64)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ids resolves a per-pre entry: a list, or the name of a pre with equal ids.
func resolveIDs(t testing.TB, m map[string]json.RawMessage, pre string) []int {
	t.Helper()
	for range 8 {
		raw, ok := m[pre]
		if !ok {
			t.Fatalf("reference has no ids for %q", pre)
		}
		var ids []int
		if json.Unmarshal(raw, &ids) == nil {
			return ids
		}
		if err := json.Unmarshal(raw, &pre); err != nil {
			t.Fatalf("bad reference entry %s", raw)
		}
	}
	t.Fatal("reference alias loop")
	return nil
}

// modelPath is the SmolLM2 GGUF (the small test model, whose tokenizer the
// reference was written for): $CARTLSP_SMALL_MODEL, else the model cache.
func modelPath() string {
	if p := os.Getenv("CARTLSP_SMALL_MODEL"); p != "" {
		return p
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "cartlsp", "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
	}
	return "SmolLM2-135M-Instruct.Q4_1.gguf"
}

// haveModel reports whether the real model is there, by the rule of
// modeltest.RealPath (which these tests cannot import: it imports this
// package): $CARTLSP_MODEL set asks for a model, and a missing one fails
// the test; unset, a test without the model skips.
func haveModel(t testing.TB) bool {
	t.Helper()
	_, err := os.Stat(modelPath())
	if err != nil && os.Getenv("CARTLSP_SMALL_MODEL") != "" {
		t.Fatalf("CARTLSP_SMALL_MODEL=%s: %v; point it at the SmolLM2 GGUF (`cartlsp model pull smollm2-135m`, then CARTLSP_SMALL_MODEL=$(cartlsp model path smollm2-135m)), or unset it to skip", modelPath(), err)
	}
	return err == nil
}

// modelVocab reads the model's vocabulary once; tests skip without the model.
var modelVocabOnce = sync.OnceValues(func() (*Vocab, error) {
	f, err := gguf.Open(modelPath())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tk, err := FromGGUF(f)
	if err != nil {
		return nil, err
	}
	v := &Vocab{}
	v.Tokens, _ = f.Strings("tokenizer.ggml.tokens")
	v.Types, _ = f.Int32s("tokenizer.ggml.token_type")
	v.Merges, _ = f.Strings("tokenizer.ggml.merges")
	v.Pre, _ = f.Str("tokenizer.ggml.pre")
	v.ChatTemplate = tk.ChatTemplate()
	v.BOS, v.EOS, v.EOT, v.PAD, v.UNK = tk.BOS(), tk.EOS(), -1, tk.PAD(), tk.UNK()
	v.AddBOS = tk.AddBOS()
	return v, nil
})

func modelVocab(t testing.TB) Vocab {
	t.Helper()
	if !haveModel(t) {
		t.Skip("model not available; set CARTLSP_SMALL_MODEL")
	}
	v, err := modelVocabOnce()
	if err != nil {
		t.Fatal(err)
	}
	return *v
}

var modelTokOnce sync.Map // pre → *Tokenizer

func modelTokenizer(t testing.TB, pre string) *Tokenizer {
	t.Helper()
	v := modelVocab(t)
	if tk, ok := modelTokOnce.Load(pre); ok {
		return tk.(*Tokenizer)
	}
	v.Pre = pre
	tk, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	modelTokOnce.Store(pre, tk)
	return tk
}

func TestFromGGUFModel(t *testing.T) {
	modelVocab(t)
	f, err := gguf.Open(modelPath())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tk, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	m := loadRef(t).meta
	if tk.VocabSize() != m.NVocab || tk.BOS() != m.BOS || tk.EOS() != m.EOS || tk.EOT() != m.EOT || tk.PAD() != m.PAD || tk.AddBOS() != m.AddBOS {
		t.Errorf("got vocab %d bos %d eos %d eot %d pad %d addbos %v; llama.cpp: %d %d %d %d %d %v",
			tk.VocabSize(), tk.BOS(), tk.EOS(), tk.EOT(), tk.PAD(), tk.AddBOS(), m.NVocab, m.BOS, m.EOS, m.EOT, m.PAD, m.AddBOS)
	}
	var eog []int
	for id := range tk.VocabSize() {
		if tk.IsEOG(id) {
			eog = append(eog, id)
		}
	}
	if !slices.Equal(eog, m.EOG) {
		t.Errorf("EOG set %v, llama.cpp %v", eog, m.EOG)
	}
	if tk.Token(1) != "<|im_start|>" || tk.Token(-1) != "" || tk.Token(1<<20) != "" {
		t.Errorf("Token: %q %q %q", tk.Token(1), tk.Token(-1), tk.Token(1<<20))
	}
	if tk.ChatTemplate() != m.ChatTemplate {
		t.Errorf("chat template differs from the reference's")
	}
}

// TestParity checks Encode against llama.cpp for every reference input and
// every pre-tokenizer, with and without special-token parsing.
func TestParity(t *testing.T) {
	d := loadRef(t)
	for _, pre := range d.meta.Pres {
		t.Run(pre, func(t *testing.T) {
			tk := modelTokenizer(t, pre)
			bad := 0
			n := 0
			for _, e := range d.encs {
				s := e.input(t)
				for _, mode := range []struct {
					special bool
					ref     map[string]json.RawMessage
				}{{true, e.IDs}, {false, e.Plain}} {
					if mode.ref == nil {
						continue
					}
					n++
					want := resolveIDs(t, mode.ref, pre)
					got := tk.Encode(s, mode.special)
					if !slices.Equal(got, want) {
						bad++
						if bad <= 10 {
							t.Errorf("Encode(%q, %v):\n got %v\nwant %v", s, mode.special, got, want)
						}
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d encodings differ from llama.cpp", bad, n)
			}
			t.Logf("%s: %d encodings compared", pre, n)
		})
	}
}

func TestRoundTripReference(t *testing.T) {
	d := loadRef(t)
	for _, pre := range d.meta.Pres {
		tk := modelTokenizer(t, pre)
		for _, e := range d.encs {
			s := e.input(t)
			if !utf8.ValidString(s) || !tk.representable(s) {
				continue
			}
			for _, special := range []bool{true, false} {
				if got := tk.Decode(tk.Encode(s, special)); got != s {
					t.Errorf("%s: Decode(Encode(%q, %v)) = %q", pre, s, special, got)
				}
			}
		}
	}
}

// TestChatReference checks ApplyChat against prompts rendered by jinja2 and,
// for the model's own template, the tokens llama.cpp makes of them.
func TestChatReference(t *testing.T) {
	d := loadRef(t)
	srcs := map[string]string{"smollm2": d.meta.ChatTemplate}
	for _, c := range d.chats {
		if c.TemplateSrc != "" {
			srcs[c.Template] = c.TemplateSrc
		}
	}
	for _, c := range d.chats {
		name := fmt.Sprintf("%s/%d msgs/gen=%v", c.Template, len(c.Messages), c.AddGen)
		tk := &Tokenizer{chatTemplate: srcs[c.Template]}
		got, err := tk.ApplyChat(c.Messages, c.AddGen)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got != c.Prompt {
			t.Errorf("%s:\n got %q\nwant %q", name, got, c.Prompt)
		}
	}
	if !haveModel(t) {
		t.Skip("model not available: token ids of chat prompts not checked")
	}
	tk := modelTokenizer(t, "smollm")
	for _, c := range d.chats {
		if c.IDs == nil {
			continue
		}
		p, err := tk.ApplyChat(c.Messages, c.AddGen)
		if err != nil {
			t.Fatal(err)
		}
		if got := tk.Encode(p, true); !slices.Equal(got, c.IDs) {
			t.Errorf("Encode(ApplyChat(%v)):\n got %v\nwant %v", c.Messages, got, c.IDs)
		}
	}
}
