package tokenizer

import (
	"fmt"
	"sort"
	"strings"
)

// Pre-tokenization splits a text fragment (no special tokens in it) into
// words; BPE then runs inside each word. Every pre-tokenizer is a sequence
// of stages, as in llama.cpp: the first stage sees the whole fragment as one
// segment, and each later stage splits every piece the previous stage made,
// on its own (look-ahead never crosses a piece boundary).
//
// The stages are hand-written equivalents of the regular expressions
// llama.cpp uses (quoted above each one). Where llama.cpp runs its own
// hand-written matcher (GPT-2, Llama 3, Qwen2) the code here reproduces that
// matcher's decisions; the others reproduce std::regex on llama.cpp's
// "collapsed" text, where every non-ASCII code point stands for its class.

// cpText is one fragment decoded into code points.
//
//	cps[i]  code point i (after decodeRune)
//	cls[i]  classOf(cps[i]), always with cAny set
//	offs[i] byte offset of cps[i] in the fragment; offs[len(cps)] = len(fragment)
type cpText struct {
	cps  []rune
	cls  []cclass
	offs []int32
}

func (t *cpText) reset(s string) {
	t.cps, t.cls, t.offs = t.cps[:0], t.cls[:0], t.offs[:0]
	for i := 0; i < len(s); {
		b := s[i]
		if b < 0x80 {
			t.cps = append(t.cps, rune(b))
			t.cls = append(t.cls, asciiClass[b])
			t.offs = append(t.offs, int32(i))
			i++
			continue
		}
		r, n := decodeRune(s, i)
		t.cps = append(t.cps, r)
		t.cls = append(t.cls, classOf(r))
		t.offs = append(t.offs, int32(i))
		i += n
	}
	t.offs = append(t.offs, int32(len(s)))
}

// stage splits the segment [lo,hi) of t (code point indices) into pieces and
// appends the end index of each piece to out, in order; the last appended
// end is hi (when hi > lo). Pieces are never empty.
type stage func(t *cpText, lo, hi int, out []int32) []int32

// preTokenizer is a named sequence of stages.
type preTokenizer struct {
	name   string
	stages []stage
}

// split returns the end index (exclusive, in code points) of every word of
// t, reusing buffers a and b. Words cover t without gaps.
func (p *preTokenizer) split(t *cpText, a, b []int32) (ends, spare []int32) {
	n := len(t.cps)
	a = a[:0]
	if n == 0 {
		return a, b
	}
	a = append(a, int32(n))
	for _, st := range p.stages {
		b = b[:0]
		lo := 0
		for _, e := range a {
			b = st(t, lo, int(e), b)
			lo = int(e)
		}
		a, b = b, a
	}
	return a, b
}

// Pre-tokenizer families, by llama.cpp's tokenizer.ggml.pre names.
const (
	preSmolLM  = "smollm"
	preGPT2    = "gpt-2"
	preDefault = "default"
	preLlama3  = "llama-bpe"
	preQwen2   = "qwen2"
)

// preAliases maps tokenizer.ggml.pre values to the family whose splitting
// rules llama.cpp applies to them. Only names whose rules are implemented
// here are listed. ("gpt2" is not a llama.cpp name; it is accepted as an
// alias of "gpt-2".)
var preAliases = map[string]string{
	"smollm": preSmolLM, "starcoder": preSmolLM, "refact": preSmolLM, "command-r": preSmolLM,
	"codeshell": preSmolLM, "exaone": preSmolLM, "minerva-7b": preSmolLM,

	"gpt-2": preGPT2, "gpt2": preGPT2, "phi-2": preGPT2, "mpt": preGPT2, "olmo": preGPT2,
	"jais": preGPT2, "jina-es": preGPT2, "jina-de": preGPT2, "gigachat": preGPT2,
	"jina-v2-es": preGPT2, "jina-v2-de": preGPT2, "exaone4": preGPT2, "trillion": preGPT2,
	"granite-docling": preGPT2,

	"default": preDefault, "": preDefault,

	"llama-bpe": preLlama3, "llama3": preLlama3, "llama-v3": preLlama3, "falcon3": preLlama3,
	"falcon-h1": preLlama3, "pixtral": preLlama3, "midm-2.0": preLlama3, "lfm2": preLlama3,

	"qwen2": preQwen2, "deepseek-r1-qwen": preQwen2, "stablelm2": preQwen2, "megrez": preQwen2,
	"hunyuan": preQwen2, "kormo": preQwen2,
}

// newPreTokenizer returns the pre-tokenizer for a tokenizer.ggml.pre value
// and whether llama.cpp uses "ignore merges" with it (a word that is itself
// a token is emitted whole, without BPE).
func newPreTokenizer(pre string) (*preTokenizer, bool, error) {
	fam, ok := preAliases[pre]
	if !ok {
		names := make([]string, 0, len(preAliases))
		for k := range preAliases {
			if k != "" {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		return nil, false, fmt.Errorf("tokenizer: unsupported pre-tokenizer %q (tokenizer.ggml.pre); supported: %s", pre, strings.Join(names, ", "))
	}
	switch fam {
	case preSmolLM:
		// "\p{N}", then the GPT-2 regex.
		return &preTokenizer{fam, []stage{splitEachNumber, splitGPT2}}, false, nil
	case preGPT2:
		return &preTokenizer{fam, []stage{splitGPT2}}, false, nil
	case preDefault:
		// "[\p{P}\$\+<=>\^~\|]+", the GPT-2 regex, "\p{N}+", "[0-9][0-9][0-9]".
		return &preTokenizer{fam, []stage{splitDefaultPunct, splitGPT2, splitNumberRuns, splitDigitTriples}}, false, nil
	case preLlama3:
		return &preTokenizer{fam, []stage{splitLlama3}}, true, nil
	default: // preQwen2
		return &preTokenizer{fam, []stage{splitQwen2}}, false, nil
	}
}

// splitGPT2 is the GPT-2 regex
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
func splitGPT2(t *cpText, lo, hi int, out []int32) []int32 {
	cps, cls := t.cps[:hi], t.cls[:hi]
	for pos := lo; pos < hi; {
		c := cps[pos]
		// 's|'t|'re|'ve|'m|'ll|'d (case-sensitive)
		if c == '\'' && pos+1 < hi {
			n := cps[pos+1]
			if n == 's' || n == 't' || n == 'm' || n == 'd' {
				pos += 2
				out = append(out, int32(pos))
				continue
			}
			if pos+2 < hi {
				nn := cps[pos+2]
				if (n == 'r' && nn == 'e') || (n == 'v' && nn == 'e') || (n == 'l' && nn == 'l') {
					pos += 3
					out = append(out, int32(pos))
					continue
				}
			}
		}
		// f is the class that decides the branch: that of the code point
		// after an optional leading space.
		f := cls[pos]
		if c == ' ' {
			f = 0
			if pos+1 < hi {
				f = cls[pos+1]
			}
		}
		switch {
		case f&cLetter != 0: // ' ?\p{L}+'
			if c == ' ' {
				pos++
			}
			for pos < hi && cls[pos]&cLetter != 0 {
				pos++
			}
		case f&cNumber != 0: // ' ?\p{N}+'
			if c == ' ' {
				pos++
			}
			for pos < hi && cls[pos]&cNumber != 0 {
				pos++
			}
		case f != 0 && f&(cLetter|cNumber|cSpace) == 0: // ' ?[^\s\p{L}\p{N}]+'
			if c == ' ' {
				pos++
			}
			for pos < hi && cls[pos]&(cLetter|cNumber|cSpace) == 0 {
				pos++
			}
		default: // '\s+(?!\S)|\s+'
			n := 0
			for pos+n < hi && cls[pos+n]&cSpace != 0 {
				n++
			}
			switch {
			case n > 1 && pos+n < hi: // leave the last space to the next word
				pos += n - 1
			case n > 0:
				pos += n
			default:
				pos++
			}
		}
		out = append(out, int32(pos))
	}
	return out
}

// splitLlama3 is the Llama 3 regex (llama.cpp's adapted form)
//
//	(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//	 ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func splitLlama3(t *cpText, lo, hi int, out []int32) []int32 {
	return splitLlama3Digits(t, lo, hi, out, 3)
}

// splitQwen2 is splitLlama3 with \p{N} (single digits) instead of \p{N}{1,3}.
func splitQwen2(t *cpText, lo, hi int, out []int32) []int32 {
	return splitLlama3Digits(t, lo, hi, out, 1)
}

func asciiLower(r rune) rune {
	if r >= 'A' && r <= 'Z' {
		return r + ('a' - 'A')
	}
	return r
}

func splitLlama3Digits(t *cpText, lo, hi int, out []int32, maxDigits int) []int32 {
	cps, cls := t.cps[:hi], t.cls[:hi]
	at := func(i int) cclass {
		if i < hi {
			return cls[i]
		}
		return 0
	}
	last := lo // end of the last piece appended
	for pos := lo; pos < hi; {
		c, f := cps[pos], cls[pos]
		// contractions, ASCII case-insensitive
		if c == '\'' && pos+1 < hi {
			n := asciiLower(cps[pos+1])
			if n == 's' || n == 't' || n == 'm' || n == 'd' {
				pos += 2
				out, last = append(out, int32(pos)), pos
				continue
			}
			if pos+2 < hi {
				nn := asciiLower(cps[pos+2])
				if (n == 'r' && nn == 'e') || (n == 'v' && nn == 'e') || (n == 'l' && nn == 'l') {
					pos += 3
					out, last = append(out, int32(pos)), pos
					continue
				}
			}
		}
		// [^\r\n\p{L}\p{N}]?\p{L}+
		if !(c == '\r' || c == '\n' || f&cNumber != 0) && (f&cLetter != 0 || at(pos+1)&cLetter != 0) {
			pos++
			for pos < hi && cls[pos]&cLetter != 0 {
				pos++
			}
			out, last = append(out, int32(pos)), pos
			continue
		}
		// \p{N}{1,maxDigits}
		if f&cNumber != 0 {
			ini := pos
			for pos < hi && cls[pos]&cNumber != 0 {
				pos++
				if pos-ini >= maxDigits {
					out, last = append(out, int32(pos)), pos
					ini = pos
				}
			}
			if pos > last {
				out, last = append(out, int32(pos)), pos
			}
			continue
		}
		// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
		f2 := f
		if c == ' ' {
			f2 = at(pos + 1)
		}
		if f2&(cLetter|cNumber|cSpace) == 0 {
			if c == ' ' {
				pos++
			}
			for pos < hi && cls[pos]&(cLetter|cNumber|cSpace) == 0 {
				pos++
			}
			for pos < hi && (cps[pos] == '\r' || cps[pos] == '\n') {
				pos++
			}
			out, last = append(out, int32(pos)), pos
			continue
		}
		// '\s*[\r\n]+|\s+(?!\S)|\s+'
		n, endNL := 0, -1
		for pos+n < hi && cls[pos+n]&cSpace != 0 {
			if r := cps[pos+n]; r == '\r' || r == '\n' {
				endNL = pos + n + 1
			}
			n++
		}
		switch {
		case endNL >= 0: // up to the last newline of the run
			pos = endNL
		case n > 1 && pos+n < hi:
			pos += n - 1
		case n > 0:
			pos += n
		default:
			pos++
		}
		out, last = append(out, int32(pos)), pos
	}
	return out
}

// splitRuns splits [lo,hi) into maximal runs of code points that do and do
// not satisfy in; it is how llama.cpp splits on a regex of the form "X+"
// (each match is a piece, and so is each gap between matches).
func splitRuns(t *cpText, lo, hi int, out []int32, in func(r rune, c cclass) bool) []int32 {
	for pos := lo; pos < hi; {
		want := in(t.cps[pos], t.cls[pos])
		pos++
		for pos < hi && in(t.cps[pos], t.cls[pos]) == want {
			pos++
		}
		out = append(out, int32(pos))
	}
	return out
}

// splitEachNumber is "\p{N}": every number code point is a piece of its own.
func splitEachNumber(t *cpText, lo, hi int, out []int32) []int32 {
	cls := t.cls
	for pos := lo; pos < hi; {
		if cls[pos]&cNumber != 0 {
			pos++
		} else {
			for pos < hi && cls[pos]&cNumber == 0 {
				pos++
			}
		}
		out = append(out, int32(pos))
	}
	return out
}

// splitNumberRuns is "\p{N}+".
func splitNumberRuns(t *cpText, lo, hi int, out []int32) []int32 {
	return splitRuns(t, lo, hi, out, func(_ rune, c cclass) bool { return c&cNumber != 0 })
}

// defaultPunctASCII marks the ASCII members of [\p{P}\$\+<=>\^~\|]: every
// ASCII punctuation or symbol character except '`'.
var defaultPunctASCII = func() (m [128]bool) {
	for _, c := range "!\"#$%&'()*+,-./:;<=>?@[\\]^_{|}~" {
		m[c] = true
	}
	return m
}()

// splitDefaultPunct is "[\p{P}\$\+<=>\^~\|]+".
func splitDefaultPunct(t *cpText, lo, hi int, out []int32) []int32 {
	return splitRuns(t, lo, hi, out, func(r rune, c cclass) bool {
		if r < 128 {
			return defaultPunctASCII[r]
		}
		return c&cPunct != 0 && c&cSpace == 0
	})
}

// splitDigitTriples is "[0-9][0-9][0-9]": non-overlapping ASCII digit
// triples, leftmost first, each a piece; the text between them too.
func splitDigitTriples(t *cpText, lo, hi int, out []int32) []int32 {
	cps := t.cps
	isD := func(i int) bool { return cps[i] >= '0' && cps[i] <= '9' }
	last := lo
	for pos := lo; pos+3 <= hi; {
		if isD(pos) && isD(pos+1) && isD(pos+2) {
			if pos > last {
				out = append(out, int32(pos))
			}
			pos += 3
			out, last = append(out, int32(pos)), pos
			continue
		}
		pos++
	}
	if hi > last {
		out = append(out, int32(hi))
	}
	return out
}
