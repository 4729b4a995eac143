package tokenizer

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzEncode: Encode never panics, and Decode(Encode(s)) == s for valid
// UTF-8 whose bytes all have tokens (SmolLM2 lacks six control bytes, which
// llama.cpp drops), with every pre-tokenizer; the model's vocabulary is used when it
// is available, the synthetic one otherwise.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "Hello world", " 123 456", "don't", "<|im_start|>x<|im_end|>", "\xff\xfe", "\xed\xa0\x80",
		"a\u00a0b", "👨‍👩‍👧", "  \n\n  x", "'S'LL", "1²Ⅻ", "x<tool>y"} {
		f.Add(s)
	}
	pres := []string{"smollm", "gpt-2", "default", "llama-bpe", "qwen2"}
	var tks []*Tokenizer
	if haveModel(f) {
		for _, p := range pres {
			tks = append(tks, modelTokenizer(f, p))
		}
	} else {
		for _, p := range pres {
			tks = append(tks, newSynth(f, p))
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tk := range tks {
			for _, special := range []bool{true, false} {
				ids := tk.Encode(s, special)
				for _, id := range ids {
					if id < 0 || id >= tk.VocabSize() {
						t.Fatalf("%s: id %d out of range", tk.pre.name, id)
					}
				}
				if utf8.ValidString(s) && tk.representable(s) {
					if got := tk.Decode(ids); got != s {
						t.Fatalf("%s: Decode(Encode(%q, %v)) = %q", tk.pre.name, s, special, got)
					}
				}
			}
		}
	})
}

// FuzzApplyChat: any template renders or fails with an error, never a panic.
func FuzzApplyChat(f *testing.F) {
	f.Add(smolLM2Template)
	f.Add(chatMLPlain)
	f.Add(chatTemplateFile(f, "qwen2.5.jinja"))
	f.Add("{%- if x -%}{{ 'a' ~ \"b\" }}{# c #}")
	f.Fuzz(func(t *testing.T, tmpl string) {
		tk := &Tokenizer{chatTemplate: tmpl}
		_, err := tk.ApplyChat([]Message{{Role: "user", Content: "x"}}, true)
		if err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatalf("%q: %v", tmpl, err)
		}
	})
}

// benchSource is about 1 MB of Go source from GOROOT (net/http).
func benchSource(b *testing.B) string {
	files, _ := filepath.Glob(filepath.Join(runtime.GOROOT(), "src", "net", "http", "*.go"))
	var sb strings.Builder
	for _, p := range files {
		if sb.Len() > 1<<20 {
			break
		}
		data, err := os.ReadFile(p)
		if err == nil {
			sb.Write(data)
		}
	}
	if sb.Len() < 1<<18 {
		b.Skip("GOROOT sources not found")
	}
	return sb.String()
}

// BenchmarkEncode reports MB/s of Go source on one core
// (go test -bench Encode -cpu 1 ./runtime/tokenizer).
func BenchmarkEncode(b *testing.B) {
	src := benchSource(b)
	for _, pre := range []string{"smollm", "llama-bpe"} {
		b.Run(pre, func(b *testing.B) {
			tk := modelTokenizer(b, pre)
			b.SetBytes(int64(len(src)))
			n := 0
			for b.Loop() {
				n = len(tk.Encode(src, true))
			}
			b.ReportMetric(float64(len(src))/float64(n), "bytes/token")
		})
	}
}

// BenchmarkEncodeCold measures a fresh tokenizer (empty word cache) per
// iteration, excluding construction.
func BenchmarkEncodeCold(b *testing.B) {
	src := benchSource(b)
	v := modelVocab(b)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		b.StopTimer()
		tk, err := New(v)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		tk.Encode(src, true)
	}
}

func BenchmarkDecode(b *testing.B) {
	src := benchSource(b)
	tk := modelTokenizer(b, "smollm")
	ids := tk.Encode(src, true)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		tk.Decode(ids)
	}
}

func BenchmarkNew(b *testing.B) {
	v := modelVocab(b)
	for b.Loop() {
		if _, err := New(v); err != nil {
			b.Fatal(err)
		}
	}
}

// representable reports whether every byte of s has a single-byte token.
func (t *Tokenizer) representable(s string) bool {
	for i := 0; i < len(s); i++ {
		if t.bpe.byteSym[s[i]] >= t.bpe.nVocab {
			return false
		}
	}
	return true
}
