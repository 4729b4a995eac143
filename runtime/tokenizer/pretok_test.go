package tokenizer

import (
	"slices"
	"testing"
)

// words pre-tokenizes s (one fragment, no special tokens) with pre.
func words(t testing.TB, pre, s string) []string {
	t.Helper()
	p, _, err := newPreTokenizer(pre)
	if err != nil {
		t.Fatal(err)
	}
	var text cpText
	text.reset(s)
	ends, _ := p.split(&text, nil, nil)
	var out []string
	lo := int32(0)
	for _, e := range ends {
		out = append(out, s[text.offs[lo]:text.offs[e]])
		lo = e
	}
	return out
}

func TestPreTokenizers(t *testing.T) {
	type tc struct {
		in   string
		want []string
	}
	table := map[string][]tc{
		"smollm": {
			{"", nil},
			{"Hello world", []string{"Hello", " world"}},
			{" 123 456", []string{" ", "1", "2", "3", " ", "4", "5", "6"}},
			{"x²", []string{"x", "²"}},
			{"don't", []string{"don", "'t"}},
			{"DON'T", []string{"DON", "'", "T"}},
			{"we'll've", []string{"we", "'ll", "'ve"}},
			{"a  b", []string{"a", " ", " b"}},
			{"x   ", []string{"x", "   "}},
			{"\t\tx", []string{"\t", "\t", "x"}},
			{"  \n\n  x", []string{"  \n\n ", " x"}},
			{"foo.bar()", []string{"foo", ".", "bar", "()"}},
			{" (x)", []string{" (", "x", ")"}},
			{"a\u00a0b", []string{"a", "\u00a0", "b"}},
			{"café中文", []string{"café中文"}},
			{"e\u0301", []string{"e", "\u0301"}},
			{"👍🏽 ok", []string{"👍🏽", " ok"}},
			{"  ", []string{"  "}},
			{" ", []string{" "}},
			{"x ", []string{"x", " "}},
		},
		"gpt-2": {
			{" 123 456", []string{" 123", " 456"}},
			{"v1.2", []string{"v", "1", ".", "2"}},
			{"abc123", []string{"abc", "123"}},
		},
		"default": {
			{"12345", []string{"123", "45"}},
			{"don't", []string{"don", "'", "t"}},
			{"x = 1", []string{"x", " ", "=", " ", "1"}},
			{"a`b", []string{"a", "`", "b"}},
			{"a+b<=c", []string{"a", "+", "b", "<=", "c"}},
			{"x1234567y", []string{"x", "123", "456", "7", "y"}},
			{"«a»", []string{"«", "a", "»"}},
		},
		"llama-bpe": {
			{"Hello world", []string{"Hello", " world"}},
			{"1234567", []string{"123", "456", "7"}},
			{" 123", []string{" ", "123"}},
			{"DON'T", []string{"DON", "'T"}},
			{"foo.bar()", []string{"foo", ".bar", "()"}},
			{"x\n\ny", []string{"x", "\n\n", "y"}},
			{"a  \n  b", []string{"a", "  \n", " ", " b"}},
			{"!!!\n\nx", []string{"!!!\n\n", "x"}},
			{" !x", []string{" !", "x"}},
			{"\tx", []string{"\tx"}},
			{"\n x", []string{"\n", " x"}},
			{"1²3", []string{"1²3"}},
		},
		"qwen2": {
			{"1234", []string{"1", "2", "3", "4"}},
			{"foo.bar", []string{"foo", ".bar"}},
		},
	}
	for pre, cases := range table {
		for _, c := range cases {
			if got := words(t, pre, c.in); !slices.Equal(got, c.want) {
				t.Errorf("%s: split(%q) = %q, want %q", pre, c.in, got, c.want)
			}
		}
	}
}

func TestPreTokenizerAliases(t *testing.T) {
	for name, fam := range preAliases {
		p, im, err := newPreTokenizer(name)
		if err != nil || p.name != fam || im != (fam == preLlama3) {
			t.Errorf("%q: %v %v %v", name, p, im, err)
		}
	}
}

func TestClassTables(t *testing.T) {
	cases := []struct {
		r    rune
		want cclass
	}{
		{'a', cLetter}, {'Z', cLetter}, {'5', cNumber}, {' ', cSpace}, {'\t', cSpace}, {'\v', cSpace},
		{0x85, cSpace}, {0xA0, cSpace}, {0x3000, cSpace}, {0x200B, 0}, {0xFEFF, 0}, {'!', cPunct}, {'$', 0},
		{'é', cLetter}, {'中', cLetter}, {'²', cNumber}, {'Ⅻ', cNumber}, {0x0301, 0}, {0x2EBF0, cLetter},
		{0x1F600, 0}, {'«', cPunct}, {0x10FFFF, 0},
	}
	for _, c := range cases {
		if got := classOf(c.r) &^ cAny; got != c.want {
			t.Errorf("classOf(%U) = %b, want %b", c.r, got, c.want)
		}
	}
}
