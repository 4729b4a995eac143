package tokenizer

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// The Qwen2.5-Coder reference is written by
// `python3 scripts/tokenizer_ref.py --qwen MODEL.gguf` from llama.cpp.
var qwenRefPath = filepath.Join("..", "..", "testdata", "tokenizer", "qwen2.5_ref.jsonl.gz")

const qwenModelFile = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"

// qwenParityModel returns the Qwen2.5-Coder GGUF the reference was written
// for, by the rule of modeltest.RealPath (which these tests cannot import:
// it imports this package): $CARTLSP_MODEL when it names that file (set but
// missing fails the test), else the model cache; without either, or with
// -short, the test skips.
func qwenParityModel(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the Qwen2.5 tokenizer parity test loads the model's vocabulary")
	}
	if p := os.Getenv("CARTLSP_MODEL"); p != "" && filepath.Base(p) == qwenModelFile {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("CARTLSP_MODEL=%s: %v; fetch it (`cartlsp model pull`, then CARTLSP_MODEL=$(cartlsp model path)), or unset CARTLSP_MODEL to skip", p, err)
		}
		return p
	}
	if d, err := os.UserCacheDir(); err == nil {
		p := filepath.Join(d, "cartlsp", "models", qwenModelFile)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("%s not available: set CARTLSP_MODEL to it, or put it in the model cache (`cartlsp model pull`)", qwenModelFile)
	return ""
}

type qwenLoaded struct {
	tk   *Tokenizer
	load time.Duration
}

var qwenTokOnce sync.Map // path → func() (qwenLoaded, error)

func qwenTokenizer(t testing.TB) (*Tokenizer, time.Duration) {
	t.Helper()
	path := qwenParityModel(t)
	fn, _ := qwenTokOnce.LoadOrStore(path, sync.OnceValues(func() (qwenLoaded, error) {
		f, err := gguf.Open(path)
		if err != nil {
			return qwenLoaded{}, err
		}
		defer f.Close()
		start := time.Now()
		tk, err := FromGGUF(f)
		return qwenLoaded{tk, time.Since(start)}, err
	}))
	l, err := fn.(func() (qwenLoaded, error))()
	if err != nil {
		t.Fatal(err)
	}
	return l.tk, l.load
}

var loadQwenRefOnce = sync.OnceValues(func() (*refData, error) { return readRef(qwenRefPath) })

func loadQwenRef(t testing.TB) *refData {
	t.Helper()
	d, err := loadQwenRefOnce()
	if err != nil {
		t.Fatalf("reading %s: %v", qwenRefPath, err)
	}
	return d
}

// TestQwenParity checks the tokenizer of Qwen2.5-Coder's GGUF against
// llama.cpp on that vocabulary: the special ids and EOG set, Encode with and
// without special-token parsing for every reference input, the round trip,
// the model's chat template prompts, and the decoded piece of every token.
func TestQwenParity(t *testing.T) {
	tk, load := qwenTokenizer(t)
	d := loadQwenRef(t)
	t.Logf("FromGGUF: %v", load)

	t.Run("meta", func(t *testing.T) {
		m := d.meta
		if tk.VocabSize() != m.NVocab || tk.BOS() != m.BOS || tk.EOS() != m.EOS || tk.PAD() != m.PAD || tk.AddBOS() != m.AddBOS {
			t.Errorf("got vocab %d bos %d eos %d pad %d addbos %v; llama.cpp: %d %d %d %d %v",
				tk.VocabSize(), tk.BOS(), tk.EOS(), tk.PAD(), tk.AddBOS(), m.NVocab, m.BOS, m.EOS, m.PAD, m.AddBOS)
		}
		// The file names no EOT token, so both pick one of the EOT texts:
		// llama.cpp the first in its std::unordered_map's order (with
		// libstdc++ <|im_end|> 151645 here, <|endoftext|> 0 for SmolLM2),
		// New the lowest id (<|endoftext|> 151643). Both must be EOG.
		if tk.EOT() != m.EOT {
			if !tk.IsEOG(tk.EOT()) || !tk.IsEOG(m.EOT) || !slices.Contains(autoTexts["eot"], tk.Token(tk.EOT())) || !slices.Contains(autoTexts["eot"], tk.Token(m.EOT)) {
				t.Errorf("EOT %d (%q), llama.cpp %d (%q)", tk.EOT(), tk.Token(tk.EOT()), m.EOT, tk.Token(m.EOT))
			}
			t.Logf("EOT %d %q, llama.cpp %d %q (both auto-detected EOT texts, both EOG)", tk.EOT(), tk.Token(tk.EOT()), m.EOT, tk.Token(m.EOT))
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
		for _, k := range []string{"pre", "suf", "mid", "pad", "rep", "sep"} {
			id, ok := m.FIM[k]
			if !ok || id < 0 {
				t.Errorf("reference has no FIM %s token", k)
			} else if !tk.IsSpecial(id) {
				t.Errorf("FIM %s token %d (%q) is not special", k, id, tk.Token(id))
			}
		}
	})

	t.Run("encode", func(t *testing.T) {
		bad, n := 0, 0
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
				want := resolveIDs(t, mode.ref, "qwen2")
				if got := tk.Encode(s, mode.special); !slices.Equal(got, want) {
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
		t.Logf("%d inputs, %d encodings compared", len(d.encs), n)
	})

	t.Run("roundtrip", func(t *testing.T) {
		bad, n := 0, 0
		for _, e := range d.encs {
			s := e.input(t)
			if !utf8.ValidString(s) || !tk.representable(s) {
				continue
			}
			n++
			for _, special := range []bool{true, false} {
				if got := tk.Decode(tk.Encode(s, special)); got != s {
					if bad++; bad <= 10 {
						t.Errorf("Decode(Encode(%q, %v)) = %q", s, special, got)
					}
				}
			}
		}
		t.Logf("%d inputs round-tripped", n)
	})

	t.Run("chat", func(t *testing.T) {
		for _, c := range d.chats {
			got, err := tk.ApplyChat(c.Messages, c.AddGen)
			if err != nil {
				t.Errorf("ApplyChat(%v): %v", c.Messages, err)
				continue
			}
			if got != c.Prompt {
				t.Errorf("ApplyChat(%v, %v):\n got %q\nwant %q", c.Messages, c.AddGen, got, c.Prompt)
			}
			if ids := tk.Encode(c.Prompt, true); !slices.Equal(ids, c.IDs) {
				t.Errorf("Encode(%q):\n got %v\nwant %v", c.Prompt, ids, c.IDs)
			}
		}
	})

	t.Run("pieces", func(t *testing.T) {
		p := d.pieces
		if p == nil || p.Block <= 0 || len(p.IDs) != len(p.B64) {
			t.Fatal("reference has no valid pieces record")
		}
		for i, id := range p.IDs {
			want, err := base64.StdEncoding.DecodeString(p.B64[i])
			if err != nil {
				t.Fatal(err)
			}
			if got := tk.Decode([]int{id}); got != string(want) {
				t.Errorf("Decode([%d]) = %q, llama.cpp %q", id, got, want)
			}
		}
		if want := (tk.VocabSize() + p.Block - 1) / p.Block; len(p.Digests) != want {
			t.Fatalf("%d piece digests, want %d", len(p.Digests), want)
		}
		var n [4]byte
		for b, want := range p.Digests {
			h := sha256.New()
			for id := b * p.Block; id < min((b+1)*p.Block, tk.VocabSize()); id++ {
				s := tk.Decode([]int{id})
				binary.LittleEndian.PutUint32(n[:], uint32(len(s)))
				h.Write(n[:])
				h.Write([]byte(s))
			}
			if got := hex.EncodeToString(h.Sum(nil))[:16]; got != want {
				t.Errorf("pieces of ids [%d,%d): digest %s, llama.cpp %s", b*p.Block, (b+1)*p.Block, got, want)
			}
		}
	})
}

// BenchmarkQwenTokenizer times loading the Qwen2.5 vocabulary (FromGGUF)
// and encoding 10 KB of Go source with an empty word cache:
//
//	go test ./runtime/tokenizer -run '^$' -bench QwenTokenizer
func BenchmarkQwenTokenizer(b *testing.B) {
	path := qwenParityModel(b)
	f, err := gguf.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	src, err := os.ReadFile("tokenizer.go")
	if err != nil {
		b.Fatal(err)
	}
	for len(src) < 10<<10 {
		src = append(src, src...)
	}
	text := string(src[:10<<10])
	for !utf8.ValidString(text) {
		text = text[:len(text)-1]
	}
	b.Run("load", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := FromGGUF(f); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode-10KB-cold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			tk, err := FromGGUF(f)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			tk.Encode(text, true)
		}
	})
}
