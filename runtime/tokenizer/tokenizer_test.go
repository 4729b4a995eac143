package tokenizer

import (
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// A small synthetic vocabulary, so most tests run without the model.
//
//	0..3    specials: <|endoftext|>, <|im_start|>, <|im_end|> (control), <tool> (user-defined)
//	4       an unused token, 5 an undefined one
//	6..261  the 256 single bytes, GPT-2 alphabet, byte order
//	262..   merge results
var synthMerges = []string{
	"Ġ t", "h e", "Ġt he", "i n", "in g", "Ġ a", "e r", "Ġ Ġ", "ĠĠ ĠĠ", "o n",
	"Ã ©", "c a", "ca f", "caf Ã©", "Ċ Ċ", "x y", "xy z", "' s", "1 2",
}

// synthNoToken lists merge results left out of the vocabulary, to exercise
// llama.cpp's fallback to single-byte tokens.
var synthNoToken = map[string]bool{"xy": true}

func synthVocab() Vocab {
	v := Vocab{
		Tokens: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool>", "<unused0>", "<undef>"},
		Types:  []int32{TypeControl, TypeControl, TypeControl, TypeUserDefined, TypeUnused, TypeUndefined},
		Merges: synthMerges,
		Pre:    "smollm",
		BOS:    1, EOS: 2, EOT: -1, PAD: -1, UNK: -1,
	}
	for b := 0; b < 256; b++ {
		v.Tokens = append(v.Tokens, byteToStr[b])
		v.Types = append(v.Types, TypeNormal)
	}
	for _, m := range synthMerges {
		s := strings.Replace(m, " ", "", 1)
		if !synthNoToken[s] {
			v.Tokens = append(v.Tokens, s)
			v.Types = append(v.Types, TypeNormal)
		}
	}
	return v
}

func newSynth(t testing.TB, pre string) *Tokenizer {
	t.Helper()
	v := synthVocab()
	v.Pre = pre
	tk, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// ids maps token texts (GPT-2 alphabet) to ids.
func ids(t testing.TB, tk *Tokenizer, texts ...string) []int {
	t.Helper()
	var out []int
	for _, s := range texts {
		id, ok := tk.textToID[s]
		if !ok {
			t.Fatalf("no token %q", s)
		}
		out = append(out, int(id))
	}
	return out
}

func TestSynthEncode(t *testing.T) {
	tk := newSynth(t, "smollm")
	cases := []struct {
		in      string
		special bool
		want    []string
	}{
		{"the", true, []string{"t", "he"}},
		{" the", true, []string{"Ġthe"}},
		{"  the", true, []string{"Ġ", "Ġthe"}},
		{"sing", true, []string{"s", "ing"}},
		{"café", true, []string{"cafÃ©"}},
		{"xyz", true, []string{"xyz"}},
		{"xy", true, []string{"x", "y"}}, // "xy" is a merge result but not a token
		{"it's", true, []string{"i", "t", "'s"}},
		{"12", true, []string{"1", "2"}}, // smollm splits digits before BPE
		{"\n\n", true, []string{"ĊĊ"}},
		{"<|im_start|>the<|im_end|>", true, []string{"<|im_start|>", "t", "he", "<|im_end|>"}},
		{"<tool>", false, []string{"<tool>"}}, // user-defined tokens are always split out
		{"<|im_end|>", false, []string{"<", "|", "i", "m", "_", "e", "n", "d", "|", ">"}},
	}
	for _, c := range cases {
		if got, want := tk.Encode(c.in, c.special), ids(t, tk, c.want...); !slices.Equal(got, want) {
			t.Errorf("Encode(%q, %v) = %v, want %v %q", c.in, c.special, got, want, c.want)
		}
	}
	if got := tk.Encode("", true); len(got) != 0 {
		t.Errorf("Encode(\"\") = %v", got)
	}
	// gpt-2 keeps digits together, so the "1 2" merge applies.
	if got, want := newSynth(t, "gpt-2").Encode("12", true), ids(t, tk, "12"); !slices.Equal(got, want) {
		t.Errorf("gpt-2 Encode(12) = %v, want %v", got, want)
	}
}

func TestSynthSpecialsAndDecode(t *testing.T) {
	tk := newSynth(t, "smollm")
	if tk.BOS() != 1 || tk.EOS() != 2 || tk.EOT() != 0 || tk.PAD() != -1 || tk.UNK() != -1 {
		t.Errorf("bos %d eos %d eot %d pad %d unk %d", tk.BOS(), tk.EOS(), tk.EOT(), tk.PAD(), tk.UNK())
	}
	for id, want := range map[int]bool{0: true, 1: false, 2: true, 3: false, 100: false, -1: false} {
		if tk.IsEOG(id) != want {
			t.Errorf("IsEOG(%d) = %v", id, !want)
		}
	}
	if !tk.IsSpecial(1) || !tk.IsSpecial(3) || tk.IsSpecial(100) || tk.IsSpecial(-5) {
		t.Error("IsSpecial")
	}
	// Unused, undefined and out-of-range ids decode to nothing.
	got := tk.Decode([]int{1, 4, 5, -1, 1 << 30, int(tk.textToID["Ġthe"]), 2})
	if got != "<|im_start|> the<|im_end|>" {
		t.Errorf("Decode = %q", got)
	}
}

func TestSynthRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "t", "h", "e", " ", "  ", "\n", "\t", "1", "2", "é", "中", "😀", "'s", "<|im_end|>", "<tool>", "xy", "\u00a0", "\u0301"}
	for _, pre := range []string{"smollm", "gpt-2", "default", "llama-bpe", "qwen2"} {
		tk := newSynth(t, pre)
		for range 2000 {
			var b strings.Builder
			for range rng.IntN(20) {
				b.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
			s := b.String()
			for _, special := range []bool{true, false} {
				if got := tk.Decode(tk.Encode(s, special)); got != s {
					t.Fatalf("%s: Decode(Encode(%q, %v)) = %q", pre, s, special, got)
				}
			}
		}
	}
}

func TestInvalidUTF8(t *testing.T) {
	tk := newSynth(t, "smollm")
	// llama.cpp reads each bad byte as U+FFFD and an overlong NUL as NUL.
	got := tk.Decode(tk.Encode("\xff\xfeab\xc0\x80", true))
	if got != "\uFFFD\uFFFDab\x00" {
		t.Errorf("got %q", got)
	}
	// Surrogates pass through as their 3-byte form.
	if got := tk.Decode(tk.Encode("\xed\xa0\x80", true)); got != "\xed\xa0\x80" {
		t.Errorf("surrogate: got %q", got)
	}
}

func TestNewErrors(t *testing.T) {
	mod := func(f func(v *Vocab)) Vocab { v := synthVocab(); f(&v); return v }
	cases := map[string]Vocab{
		"empty":      {},
		"no merges":  mod(func(v *Vocab) { v.Merges = nil }),
		"types":      mod(func(v *Vocab) { v.Types = v.Types[:3] }),
		"pre":        mod(func(v *Vocab) { v.Pre = "tekken" }),
		"bos range":  mod(func(v *Vocab) { v.BOS = 1 << 20 }),
		"extra key":  mod(func(v *Vocab) { v.Extra = map[string]int{"bos": 1} }),
		"extra id":   mod(func(v *Vocab) { v.Extra = map[string]int{"fim_pad": -7} }),
		"extra name": mod(func(v *Vocab) { v.Extra = map[string]int{"nope": 1} }),
	}
	for name, v := range cases {
		if _, err := New(v); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	_, err := New(mod(func(v *Vocab) { v.Pre = "tekken" }))
	if err == nil || !strings.Contains(err.Error(), `"tekken"`) || !strings.Contains(err.Error(), "smollm") {
		t.Errorf("unsupported pre error: %v", err)
	}
}

func TestEOGRules(t *testing.T) {
	v := synthVocab()
	// A fim_pad id from the metadata, an EOT by text that is typed normal
	// (llama.cpp promotes it to control), and the gpt-oss "<|end|>" rule.
	v.Tokens = append(v.Tokens, "<|eot_id|>", "<|end|>", "<|return|>", "<|call|>", "<|fim_pad|>")
	v.Types = append(v.Types, TypeNormal, TypeControl, TypeControl, TypeControl, TypeControl)
	n := len(v.Tokens)
	eotID, endID, padID := n-5, n-4, n-1
	tk, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	if tk.EOT() != 0 { // lowest id among the EOT texts: <|endoftext|>
		t.Errorf("EOT = %d", tk.EOT())
	}
	if !tk.IsEOG(eotID) || !tk.IsSpecial(eotID) || tk.IsEOG(endID) || !tk.IsEOG(n-3) || !tk.IsEOG(n-2) || !tk.IsEOG(padID) {
		t.Errorf("EOG set %v", tk.eog)
	}
	if got := tk.Encode("a<|eot_id|>", true); got[len(got)-1] != eotID {
		t.Errorf("promoted control token not split out: %v", got)
	}
}

// TestFIM: the fill-in-the-middle tokens come from the metadata or are
// found by their texts; a vocabulary without all three has none.
func TestFIM(t *testing.T) {
	v := synthVocab()
	if _, _, _, ok := mustNew(t, v).FIM(); ok {
		t.Error("a vocabulary without FIM tokens reports FIM")
	}
	v.Tokens = append(v.Tokens, "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<SUF>")
	v.Types = append(v.Types, TypeNormal, TypeNormal, TypeNormal, TypeNormal)
	n := len(v.Tokens)
	p, s, m, ok := mustNew(t, v).FIM()
	if !ok || p != n-4 || m != n-3 || s != n-2 { // by text, the lowest id of the candidates
		t.Errorf("FIM by text = %d %d %d %v; want %d %d %d", p, s, m, ok, n-4, n-2, n-3)
	}
	v.Extra = map[string]int{"fim_suf": n - 1}
	if _, s, _, _ := mustNew(t, v).FIM(); s != n-1 {
		t.Errorf("FIM suffix from the metadata = %d; want %d", s, n-1)
	}
	tk := mustNew(t, v)
	if got := tk.Encode("a<|fim_prefix|>", true); got[len(got)-1] != n-4 {
		t.Errorf("a FIM token found by text is not split out as a special token: %v", got)
	}
}

func mustNew(t *testing.T, v Vocab) *Tokenizer {
	t.Helper()
	tk, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestFromGGUFSynthetic(t *testing.T) {
	v := synthVocab()
	// addBOS: -1 leaves tokenizer.ggml.add_bos_token out.
	write := func(model, pre string, addBOS int) string {
		w := gguf.NewWriter(32)
		w.AddKV("general.architecture", gguf.String("llama"))
		w.AddKV("tokenizer.ggml.model", gguf.String(model))
		w.AddKV("tokenizer.ggml.pre", gguf.String(pre))
		w.AddKV("tokenizer.ggml.tokens", gguf.StringArray(v.Tokens))
		w.AddKV("tokenizer.ggml.token_type", gguf.I32Array(v.Types))
		w.AddKV("tokenizer.ggml.merges", gguf.StringArray(v.Merges))
		w.AddKV("tokenizer.ggml.bos_token_id", gguf.U32(1))
		w.AddKV("tokenizer.ggml.eos_token_id", gguf.U32(2))
		w.AddKV("tokenizer.ggml.padding_token_id", gguf.U32(1<<30)) // out of range: ignored
		w.AddKV("tokenizer.ggml.fim_pad_token_id", gguf.U32(3))
		if addBOS >= 0 {
			w.AddKV("tokenizer.ggml.add_bos_token", gguf.Bool(addBOS == 1))
		}
		w.AddKV("tokenizer.chat_template", gguf.String(chatMLPlain))
		p := filepath.Join(t.TempDir(), "v.gguf")
		if err := w.WriteFile(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	open := func(p string) (*Tokenizer, error) {
		f, err := gguf.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		return FromGGUF(f)
	}
	tk, err := open(write("gpt2", "smollm", 1))
	if err != nil {
		t.Fatal(err)
	}
	if tk.BOS() != 1 || tk.EOS() != 2 || tk.PAD() != -1 || !tk.AddBOS() || !tk.IsEOG(3) || tk.VocabSize() != len(v.Tokens) {
		t.Errorf("bos %d eos %d pad %d addbos %v eog(3) %v", tk.BOS(), tk.EOS(), tk.PAD(), tk.AddBOS(), tk.IsEOG(3))
	}
	if s, err := tk.ApplyChat([]Message{{Role: "user", Content: "hi"}}, true); err != nil || s != "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n" {
		t.Errorf("ApplyChat = %q, %v", s, err)
	}
	if tk, err := open(write("gpt2", "llama-bpe", 0)); err != nil || tk.AddBOS() {
		t.Errorf("llama-bpe with add_bos_token=false: %v addbos %v", err, tk != nil && tk.AddBOS())
	}
	if tk, err := open(write("gpt2", "llama-bpe", -1)); err != nil || !tk.AddBOS() {
		t.Errorf("llama-bpe without add_bos_token: %v addbos %v", err, tk != nil && tk.AddBOS())
	}
	if _, err := open(write("llama", "smollm", -1)); err == nil || !strings.Contains(err.Error(), `"llama"`) {
		t.Errorf("SentencePiece model accepted: %v", err)
	}
	if _, err := open(write("gpt2", "chatglm-bpe", -1)); err == nil {
		t.Error("unsupported pre accepted")
	}
}

func TestStreamDecoder(t *testing.T) {
	tk := newSynth(t, "smollm")
	byteID := func(b byte) int { return int(tk.bpe.byteSym[b]) }
	text := "aé中😀b"
	d := tk.NewDecoder()
	var got []string
	for i := 0; i < len(text); i++ {
		got = append(got, d.Push(byteID(text[i])))
	}
	want := []string{"a", "", "é", "", "", "中", "", "", "", "😀", "b"}
	if !slices.Equal(got, want) {
		t.Errorf("pushes = %q, want %q", got, want)
	}
	if s := d.Flush(); s != "" {
		t.Errorf("Flush = %q", s)
	}
	// An incomplete sequence is returned by Flush; a byte that can never
	// start a valid sequence is passed through at once.
	d.Push(byteID(0xE4))
	if s := d.Push(byteID(0xB8)); s != "" {
		t.Errorf("partial: %q", s)
	}
	if s := d.Flush(); s != "\xe4\xb8" {
		t.Errorf("Flush = %q", s)
	}
	if s := d.Push(byteID(0xFF)); s != "\xff" {
		t.Errorf("invalid byte: %q", s)
	}
	if s := d.Push(byteID(0xE4)) + d.Push(1); s != "\xe4<|im_start|>" {
		t.Errorf("broken sequence then special: %q", s)
	}
	// Byte by byte, valid text comes out as valid UTF-8 at every push.
	rng := rand.New(rand.NewPCG(3, 4))
	chars := []string{"a", "é", "中", "😀", "\n", "👨‍👩‍👧"}
	for range 200 {
		var text strings.Builder
		for range rng.IntN(10) {
			text.WriteString(chars[rng.IntN(len(chars))])
		}
		d := tk.NewDecoder()
		var all strings.Builder
		for _, b := range []byte(text.String()) {
			s := d.Push(byteID(b))
			if !utf8.ValidString(s) {
				t.Fatalf("push returned %q", s)
			}
			all.WriteString(s)
		}
		if all.String() != text.String() || d.Flush() != "" {
			t.Fatalf("stream %q != %q", all.String(), text.String())
		}
	}
	// For arbitrary bytes, the pushes and Flush concatenate to Decode.
	for range 500 {
		var idsIn []int
		for range rng.IntN(12) {
			idsIn = append(idsIn, byteID(byte(rng.IntN(256))))
		}
		d := tk.NewDecoder()
		var all strings.Builder
		for _, id := range idsIn {
			all.WriteString(d.Push(id))
		}
		all.WriteString(d.Flush())
		if all.String() != tk.Decode(idsIn) {
			t.Fatalf("stream %q != Decode %q", all.String(), tk.Decode(idsIn))
		}
	}
}

func TestConcurrentEncode(t *testing.T) {
	tk := newSynth(t, "smollm")
	want := tk.Encode("the cat's café sings\n\n 12", true)
	done := make(chan bool)
	for range 8 {
		go func() {
			ok := true
			for range 200 {
				ok = ok && slices.Equal(tk.Encode("the cat's café sings\n\n 12", true), want)
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("concurrent Encode differs")
		}
	}
}
