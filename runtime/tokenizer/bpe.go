package tokenizer

import "strings"

// GPT-2 byte-level BPE works on text whose bytes are first mapped to
// printable code points: bytes that are printable Latin-1 characters
// ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves, and the other 68 bytes
// take U+0100, U+0101, … in byte order. Vocabulary tokens and merges are
// written in that alphabet ("Ġ" is the space byte).
//
// Here BPE runs on raw bytes instead: every symbol is a token id (or a
// synthetic id for a merge result that is not in the vocabulary), and merges
// are keyed by pairs of ids.

var (
	byteToRune [256]rune     // byte → its GPT-2 code point
	runeToByte map[rune]byte // inverse
	byteToStr  [256]string   // byte → UTF-8 of its GPT-2 code point
)

func init() {
	runeToByte = make(map[rune]byte, 256)
	n := rune(0)
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = 256 + n
			n++
		}
		runeToByte[byteToRune[b]] = byte(b)
		byteToStr[b] = string(byteToRune[b])
	}
}

// gpt2Decode maps GPT-2 alphabet text back to raw bytes. ok is false if s
// holds a code point outside the alphabet; such code points are copied
// through as UTF-8.
func gpt2Decode(s string) (raw string, ok bool) {
	ok = true
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if c, in := runeToByte[r]; in {
			b.WriteByte(c)
		} else {
			ok = false
			b.WriteRune(r)
		}
	}
	return b.String(), ok
}

// gpt2Encode maps raw bytes to the GPT-2 alphabet.
func gpt2Encode(raw string) string {
	var b strings.Builder
	b.Grow(2 * len(raw))
	for i := 0; i < len(raw); i++ {
		b.WriteString(byteToStr[raw[i]])
	}
	return b.String()
}

// merge is the outcome of merging one ordered pair of symbols.
type merge struct {
	rank   int32 // position in tokenizer.ggml.merges; lower merges first
	result int32 // symbol id of the merged text
}

// bpeModel holds the merge table in symbol-id space.
//
// Symbol ids below nVocab are token ids; an id s ≥ nVocab names a text
// (extra[s-nVocab], GPT-2 alphabet) that a merge can build but that is not a
// token. llama.cpp looks texts up by string; ids here are assigned by the
// same lookup (textToID), so the two agree.
type bpeModel struct {
	nVocab  int32
	byteSym [256]int32       // symbol of each single byte
	merges  map[uint64]merge // key: left<<32 | right
	extra   []string
}

func pairKey(l, r int32) uint64 { return uint64(uint32(l))<<32 | uint64(uint32(r)) }

func newBPEModel(textToID map[string]int32, nVocab int, merges []string) bpeModel {
	m := bpeModel{nVocab: int32(nVocab), merges: make(map[uint64]merge, len(merges))}
	extraID := map[string]int32{}
	sym := func(text string) int32 {
		if id, ok := textToID[text]; ok {
			return id
		}
		if id, ok := extraID[text]; ok {
			return id
		}
		id := m.nVocab + int32(len(m.extra))
		m.extra = append(m.extra, text)
		extraID[text] = id
		return id
	}
	for b := 0; b < 256; b++ {
		m.byteSym[b] = sym(byteToStr[b])
	}
	for rank, line := range merges {
		// llama.cpp splits at the first space after the first byte.
		sp := -1
		if len(line) > 1 {
			if i := strings.IndexByte(line[1:], ' '); i >= 0 {
				sp = i + 1
			}
		}
		if sp < 0 {
			continue // llama.cpp records ("", ""), which never matches
		}
		a, b := line[:sp], line[sp+1:]
		k := pairKey(sym(a), sym(b))
		if _, dup := m.merges[k]; dup {
			continue // the first rank wins (std::unordered_map::emplace)
		}
		m.merges[k] = merge{rank: int32(rank), result: sym(a + b)}
	}
	return m
}

// bpeScratch holds reusable buffers for one word's merge loop.
//
//	id[i], prev[i], next[i]: symbol i (initially byte i of the word); id -1 once merged away
//	heap: candidate merges, min-ordered by (rank, left)
type bpeScratch struct {
	id, prev, next []int32
	heap           []cand
}

// cand is a possible merge of symbol left with its right neighbour right,
// valid while both still hold the ids lid and rid and are still adjacent.
type cand struct {
	rank, left, right, lid, rid, result int32
}

func (a cand) less(b cand) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.left < b.left)
}

func (s *bpeScratch) push(c cand) {
	h := append(s.heap, c)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].less(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	s.heap = h
}

func (s *bpeScratch) pop() cand {
	h := s.heap
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h[r].less(h[l]) {
			m = r
		}
		if !h[m].less(h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	s.heap = h
	return top
}

// word merges the bytes of w and appends the resulting symbol ids to out.
// It follows llama.cpp's loop: repeatedly apply the candidate with the lowest
// rank, the leftmost among equal ranks, until no adjacent pair has a merge.
func (m *bpeModel) word(w string, s *bpeScratch, out []int32) []int32 {
	n := len(w)
	if n == 1 {
		return append(out, m.byteSym[w[0]])
	}
	if cap(s.id) < n {
		s.id, s.prev, s.next = make([]int32, n), make([]int32, n), make([]int32, n)
	}
	id, prev, next := s.id[:n], s.prev[:n], s.next[:n]
	for i := 0; i < n; i++ {
		id[i] = m.byteSym[w[i]]
		prev[i] = int32(i - 1)
		next[i] = int32(i + 1)
	}
	next[n-1] = -1
	s.heap = s.heap[:0]
	try := func(l, r int32) {
		if l < 0 || r < 0 {
			return
		}
		if mg, ok := m.merges[pairKey(id[l], id[r])]; ok {
			s.push(cand{rank: mg.rank, left: l, right: r, lid: id[l], rid: id[r], result: mg.result})
		}
	}
	for i := 0; i+1 < n; i++ {
		try(int32(i), int32(i+1))
	}
	for len(s.heap) > 0 {
		c := s.pop()
		l, r := c.left, c.right
		if id[l] != c.lid || id[r] != c.rid || next[l] != r {
			continue // stale
		}
		id[l] = c.result
		id[r] = -1
		next[l] = next[r]
		if next[r] >= 0 {
			prev[next[r]] = l
		}
		try(prev[l], l)
		try(l, next[l])
	}
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, id[i])
	}
	return out
}
