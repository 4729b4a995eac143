package tokenizer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// plainBPE is the slow twin of bpeModel.word + appendSymbols, written the
// way llama.cpp's loop reads: symbols are GPT-2 alphabet strings, and each
// step merges the adjacent pair with the lowest rank (leftmost on ties)
// until none is left; then every symbol is looked up, falling back to its
// single bytes.
func plainBPE(t *Tokenizer, ranks map[[2]string]int, word string) []int {
	var syms []string
	for i := 0; i < len(word); i++ {
		syms = append(syms, byteToStr[word[i]])
	}
	for {
		best, at := -1, -1
		for i := 0; i+1 < len(syms); i++ {
			if r, ok := ranks[[2]string{syms[i], syms[i+1]}]; ok && (best < 0 || r < best) {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		syms = slices.Replace(syms, at, at+2, syms[at]+syms[at+1])
	}
	var out []int
	for _, s := range syms {
		if id, ok := t.textToID[s]; ok {
			out = append(out, int(id))
			continue
		}
		for i := 0; i < len(s); i++ {
			if id, ok := t.textToID[s[i:i+1]]; ok {
				out = append(out, int(id))
			}
		}
	}
	return out
}

func mergeRanks(merges []string) map[[2]string]int {
	ranks := map[[2]string]int{}
	for i, m := range merges {
		if k := strings.IndexByte(m[1:], ' '); k >= 0 {
			p := [2]string{m[:k+1], m[k+2:]}
			if _, ok := ranks[p]; !ok {
				ranks[p] = i
			}
		}
	}
	return ranks
}

func checkBPETwin(t *testing.T, tk *Tokenizer, merges []string, words []string) {
	t.Helper()
	ranks := mergeRanks(merges)
	var sc bpeScratch
	for _, w := range words {
		if w == "" {
			continue
		}
		got32 := tk.appendSymbols(nil, tk.bpe.word(w, &sc, nil))
		got := make([]int, len(got32))
		for i, x := range got32 {
			got[i] = int(x)
		}
		if want := plainBPE(tk, ranks, w); !slices.Equal(got, want) {
			t.Fatalf("BPE(%q) = %v, plain twin %v", w, got, want)
		}
	}
}

func randomWords(rng *rand.Rand, alphabet []string, n, maxLen int) []string {
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for range 1 + rng.IntN(maxLen) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		out[i] = b.String()
	}
	return out
}

func TestBPETwinSynthetic(t *testing.T) {
	tk := newSynth(t, "gpt-2")
	rng := rand.New(rand.NewPCG(5, 6))
	words := randomWords(rng, []string{"t", "h", "e", " ", "in", "g", "x", "y", "z", "é", "caf", "1", "2", "\n", "'s"}, 5000, 12)
	checkBPETwin(t, tk, synthMerges, words)
}

func TestBPETwinModel(t *testing.T) {
	v := modelVocab(t)
	tk := modelTokenizer(t, "smollm")
	rng := rand.New(rand.NewPCG(7, 8))
	alphabet := []string{"a", "e", "i", "o", "n", "t", "r", "s", "th", "ing", " ", "  ", "_", "(", ")", ".", "\n", "\t", "é", "中", "😀", "A", "Z", "q", "x"}
	words := randomWords(rng, alphabet, 3000, 16)
	words = append(words, strings.Repeat(" ", 300), strings.Repeat("ab", 400), strings.Repeat("\n", 50), "supercalifragilisticexpialidocious")
	checkBPETwin(t, tk, v.Merges, words)
}

func TestWordCacheBound(t *testing.T) {
	tk := newSynth(t, "smollm")
	var b strings.Builder
	for i := range maxCacheWords + 10 {
		b.WriteString(" w")
		for x := i; x > 0; x /= 26 {
			b.WriteByte(byte('a' + x%26))
		}
	}
	s := b.String()
	if got := tk.Decode(tk.Encode(s, false)); got != s {
		t.Fatal("round trip failed")
	}
	if n := len(tk.cache); n > maxCacheWords {
		t.Errorf("cache holds %d words", n)
	}
}
