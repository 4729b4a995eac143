// Package tokenizer implements GPT-2-style byte-level BPE tokenizers as
// llama.cpp runs them from GGUF metadata (tokenizer.ggml.model = "gpt2"):
// special-token splitting, the pre-tokenizers named by tokenizer.ggml.pre
// (written by hand; see pretok.go), BPE with merges ranked by order, decoding,
// streaming decoding, and ChatML chat templates.
//
// Parity with llama.cpp is the goal: Encode returns the ids llama_tokenize
// returns with add_special=false, and the tests check that on a committed
// corpus of reference outputs (testdata/tokenizer, made by
// scripts/tokenizer_ref.py).
package tokenizer

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// llama token types (tokenizer.ggml.token_type).
const (
	TypeUndefined   = 0
	TypeNormal      = 1
	TypeUnknown     = 2
	TypeControl     = 3
	TypeUserDefined = 4
	TypeUnused      = 5
	TypeByte        = 6
)

// Vocab is a tokenizer's description, as stored in GGUF metadata.
type Vocab struct {
	Tokens []string // token text, GPT-2 byte alphabet for normal tokens
	Types  []int32  // llama token type per token (Type*); nil means all normal
	Merges []string // "left right", highest priority first
	Pre    string   // tokenizer.ggml.pre

	// Special token ids; -1 if none. An EOT of -1 is detected from the token
	// texts as llama.cpp does (see New).
	BOS, EOS, EOT, PAD, UNK int

	// Extra holds further special-token ids from the metadata, keyed like
	// tokenizer.ggml.<key>_token_id: "eom", "sep", "mask", "fim_pre",
	// "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep". Missing keys
	// mean none (fim_* are then detected from the token texts).
	Extra map[string]int

	AddBOS       bool   // the model wants BOS before a prompt (Encode never adds it; callers do)
	ChatTemplate string // tokenizer.chat_template (Jinja source)
}

// token attributes (llama_token_attr), after llama.cpp's load-time fix-ups.
type attr uint8

const (
	attrUnknown attr = 1 << iota
	attrUnused
	attrNormal
	attrControl
	attrUserDefined
	attrByte
	attrUndefined
)

func typeAttr(t int32) attr {
	switch t {
	case TypeUnknown:
		return attrUnknown
	case TypeUnused:
		return attrUnused
	case TypeNormal:
		return attrNormal
	case TypeControl:
		return attrControl
	case TypeUserDefined:
		return attrUserDefined
	case TypeByte:
		return attrByte
	default:
		return attrUndefined
	}
}

// Tokenizer encodes and decodes text. It is safe for concurrent use.
type Tokenizer struct {
	tokens   []string         // token text per id (as in the vocabulary; empty texts renamed)
	attrs    []attr           // attribute per id
	pieces   []string         // decoded bytes per id (special tokens: their text)
	textToID map[string]int32 // token text → id (the last id wins on duplicates, as in llama.cpp)
	rawToID  map[string]int32 // raw bytes → id; only with ignoreMerges

	bpe          bpeModel
	pre          *preTokenizer
	ignoreMerges bool
	specials     []int32 // control, user-defined and unknown tokens, longest text first

	bos, eos, eot, pad, unk int
	fim                     [3]int // fill-in-the-middle prefix, suffix, middle; -1: none
	eog                     map[int]bool
	addBOS                  bool
	chatTemplate            string
	chat                    atomic.Pointer[compiledChat] // chatTemplate compiled, on first use

	fp string // Fingerprint

	pool sync.Pool // *scratch

	cacheMu sync.Mutex
	cache   map[string][]int32 // raw word → ids
}

const (
	maxCacheWords   = 1 << 16 // the word cache is cleared when it reaches this many entries
	maxCachedWordSz = 128     // longer words are not cached
)

type scratch struct {
	text   cpText
	a, b   []int32
	bpe    bpeScratch
	ids    []int32
	syms   []int32
	frags  []fragment
	frags2 []fragment
}

// End-of-generation token texts (llama.cpp's list, by text).
var eogTexts = []string{
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
	"<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
	"<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
	"<｜end▁of▁sentence｜>", "[e~[",
}

// Texts llama.cpp uses to find an unset EOT/EOM/FIM token. llama.cpp takes
// the first match in its std::unordered_map's iteration order, which depends
// on the C++ library's hashing (with libstdc++: <|endoftext|> 0 for SmolLM2,
// but <|im_end|> 151645 rather than <|endoftext|> 151643 for Qwen2.5); here
// the lowest id wins.
var autoTexts = map[string][]string{
	"eot": {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
		"<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"},
	"eom":     {"<|eom_id|>"},
	"fim_pre": {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"},
	"fim_suf": {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"},
	"fim_mid": {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"},
	"fim_pad": {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"},
	"fim_rep": {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"},
	"fim_sep": {"<|file_sep|>"},
}

// New builds a tokenizer. It fails on an empty vocabulary, missing merges,
// token types shorter than the token list, special ids out of range, or an
// unsupported pre-tokenizer.
func New(v Vocab) (*Tokenizer, error) {
	n := len(v.Tokens)
	if n == 0 {
		return nil, errors.New("tokenizer: empty vocabulary")
	}
	if len(v.Merges) == 0 {
		return nil, errors.New("tokenizer: a BPE vocabulary needs merges (tokenizer.ggml.merges)")
	}
	if v.Types != nil && len(v.Types) < n {
		return nil, fmt.Errorf("tokenizer: %d token types for %d tokens", len(v.Types), n)
	}
	fp := vocabFingerprint(v)
	pre, ignoreMerges, err := newPreTokenizer(v.Pre)
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{
		fp:           fp,
		tokens:       make([]string, n),
		attrs:        make([]attr, n),
		textToID:     make(map[string]int32, n),
		pre:          pre,
		ignoreMerges: ignoreMerges,
		addBOS:       v.AddBOS,
		chatTemplate: v.ChatTemplate,
		cache:        map[string][]int32{},
	}
	for i, s := range v.Tokens {
		if s == "" {
			s = "[EMPTY_" + strconv.Itoa(i) + "]" // as llama.cpp renames it
		}
		t.tokens[i] = s
		t.textToID[s] = int32(i)
		t.attrs[i] = attrNormal
		if v.Types != nil {
			t.attrs[i] = typeAttr(v.Types[i])
		}
	}
	check := func(name string, id int) (int, error) {
		if id < -1 || id >= n {
			return -1, fmt.Errorf("tokenizer: %s id %d out of range [0,%d)", name, id, n)
		}
		return id, nil
	}
	ids := map[string]int{"bos": v.BOS, "eos": v.EOS, "eot": v.EOT, "pad": v.PAD, "unk": v.UNK}
	for _, k := range []string{"eom", "sep", "mask", "fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep"} {
		ids[k] = -1
	}
	for k, id := range v.Extra {
		if _, known := ids[k]; !known || k == "bos" || k == "eos" || k == "eot" || k == "pad" || k == "unk" {
			return nil, fmt.Errorf("tokenizer: unknown extra special token %q", k)
		}
		ids[k] = id
	}
	for k, id := range ids {
		if ids[k], err = check(k, id); err != nil {
			return nil, err
		}
	}

	// Detect unset EOT/EOM/FIM tokens by text; such a token becomes a control
	// token (llama.cpp does the same and warns).
	for _, k := range []string{"eot", "eom", "fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep"} {
		if ids[k] != -1 {
			continue
		}
		best := -1
		for _, s := range autoTexts[k] {
			if id, ok := t.textToID[s]; ok && (best < 0 || int(id) < best) {
				best = int(id)
			}
		}
		if best >= 0 {
			ids[k] = best
			t.attrs[best] |= attrControl
		}
	}

	// End-of-generation set.
	t.eog = map[int]bool{}
	for _, k := range []string{"fim_pad", "fim_rep", "fim_sep"} {
		if ids[k] >= 0 {
			t.eog[ids[k]] = true
		}
	}
	for _, s := range eogTexts {
		if id, ok := t.textToID[s]; ok {
			t.eog[int(id)] = true
			t.attrs[id] |= attrControl
		}
	}
	for _, s := range []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"} {
		if id, ok := t.textToID[s]; ok {
			t.attrs[id] = attrUserDefined
		}
	}
	for _, k := range []string{"eos", "eot", "eom"} {
		if ids[k] >= 0 {
			t.eog[ids[k]] = true
		}
	}
	eogText := func(s string) (int, bool) {
		id, ok := t.textToID[s]
		return int(id), ok && t.eog[int(id)]
	}
	// gpt-oss / solar-open: "<|end|>" ends a message, not the generation.
	if end, hasEnd := eogText("<|end|>"); hasEnd {
		_, ret := eogText("<|return|>")
		_, call := eogText("<|call|>")
		_, calls := eogText("<|calls|>")
		_, flush := eogText("<|flush|>")
		call = call || calls
		if (ret && call) || (call && flush) {
			delete(t.eog, end)
			t.attrs[end] = attrUserDefined
		}
	}
	// gemma4 / plamo: "</s>" is a normal token there.
	if s, hasS := eogText("</s>"); hasS {
		_, a := eogText("<|tool_response>")
		_, b := eogText("<|plamo:eos|>")
		if a || b {
			delete(t.eog, s)
			t.attrs[s] = attrNormal
		}
	}
	t.bos, t.eos, t.eot, t.pad, t.unk = ids["bos"], ids["eos"], ids["eot"], ids["pad"], ids["unk"]
	t.fim = [3]int{ids["fim_pre"], ids["fim_suf"], ids["fim_mid"]}

	// Special tokens, longest text first (ties: lower id first).
	for i, a := range t.attrs {
		if a&(attrControl|attrUserDefined|attrUnknown) != 0 {
			t.specials = append(t.specials, int32(i))
		}
	}
	sort.SliceStable(t.specials, func(i, j int) bool {
		return len(t.tokens[t.specials[i]]) > len(t.tokens[t.specials[j]])
	})

	// Decoded pieces (llama_token_to_piece with special=true).
	t.pieces = make([]string, n)
	for i, s := range t.tokens {
		a := t.attrs[i]
		switch {
		case a&(attrUnknown|attrControl|attrUserDefined) != 0:
			t.pieces[i] = s
		case a&attrNormal != 0:
			t.pieces[i], _ = gpt2Decode(s)
		case a&attrByte != 0:
			if len(s) == 6 && strings.HasPrefix(s, "<0x") && s[5] == '>' {
				if b, err := strconv.ParseUint(s[3:5], 16, 8); err == nil {
					t.pieces[i] = string([]byte{byte(b)})
				}
			}
		}
	}

	t.bpe = newBPEModel(t.textToID, n, v.Merges)
	if ignoreMerges {
		t.rawToID = make(map[string]int32, n)
		for s, id := range t.textToID {
			if raw, ok := gpt2Decode(s); ok {
				t.rawToID[raw] = id
			}
		}
	}
	t.pool.New = func() any { return new(scratch) }
	return t, nil
}

// VocabSize is the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// Token returns the text of token id as stored in the vocabulary (GPT-2 byte
// alphabet for normal tokens), or "" if id is out of range.
func (t *Tokenizer) Token(id int) string {
	if id < 0 || id >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// BOS, EOS and EOT return those token ids, or -1.
func (t *Tokenizer) BOS() int { return t.bos }
func (t *Tokenizer) EOS() int { return t.eos }
func (t *Tokenizer) EOT() int { return t.eot }

// PAD and UNK return those token ids, or -1.
func (t *Tokenizer) PAD() int { return t.pad }
func (t *Tokenizer) UNK() int { return t.unk }

// FIM returns the fill-in-the-middle tokens (Qwen2.5-Coder's
// <|fim_prefix|>, <|fim_suffix|>, <|fim_middle|>; from the metadata or
// found by their texts, as llama.cpp finds them) and whether the vocabulary
// has all three.
func (t *Tokenizer) FIM() (prefix, suffix, middle int, ok bool) {
	p, s, m := t.fim[0], t.fim[1], t.fim[2]
	return p, s, m, p >= 0 && s >= 0 && m >= 0
}

// AddBOS reports whether the model wants BOS prepended to a prompt.
func (t *Tokenizer) AddBOS() bool { return t.addBOS }

// ChatTemplate returns the Jinja chat template from the metadata.
func (t *Tokenizer) ChatTemplate() string { return t.chatTemplate }

// IsEOG reports whether generating id ends the generation: EOS, EOT, EOM,
// the FIM pad/repo/file-separator tokens, and tokens whose text llama.cpp
// lists (<|im_end|>, <|endoftext|>, <|eot_id|>, …).
func (t *Tokenizer) IsEOG(id int) bool { return t.eog[id] }

// IsSpecial reports whether id is a control, user-defined or unknown token.
func (t *Tokenizer) IsSpecial(id int) bool {
	return id >= 0 && id < len(t.attrs) && t.attrs[id]&(attrControl|attrUserDefined|attrUnknown) != 0
}

// fragment is a piece of the input: raw text s[lo:hi], or special token id.
type fragment struct {
	id     int32 // -1 for text
	lo, hi int
}

// partition splits text at special tokens the way llama.cpp does
// (tokenizer_st_partition): for each special token in turn, longest first,
// every occurrence in the remaining text fragments is cut out. Without
// parseSpecial only user-defined tokens are cut out.
func (t *Tokenizer) partition(text string, parseSpecial bool, sc *scratch) []fragment {
	frags := append(sc.frags[:0], fragment{id: -1, lo: 0, hi: len(text)})
	for _, sid := range t.specials {
		if !parseSpecial && t.attrs[sid]&(attrControl|attrUnknown) != 0 {
			continue
		}
		tok := t.tokens[sid]
		if !strings.Contains(text, tok) {
			continue
		}
		next := sc.frags2[:0]
		for _, f := range frags {
			if f.id >= 0 {
				next = append(next, f)
				continue
			}
			lo := f.lo
			for {
				i := strings.Index(text[lo:f.hi], tok)
				if i < 0 {
					break
				}
				if i > 0 {
					next = append(next, fragment{id: -1, lo: lo, hi: lo + i})
				}
				next = append(next, fragment{id: sid, lo: lo + i, hi: lo + i + len(tok)})
				lo += i + len(tok)
			}
			if lo < f.hi {
				next = append(next, fragment{id: -1, lo: lo, hi: f.hi})
			}
		}
		frags, sc.frags2 = next, frags
	}
	sc.frags = frags
	return frags
}

// Encode tokenizes text (without BOS/EOS). With parseSpecial, the texts of
// control tokens such as <|im_start|> become those tokens; without it they
// are tokenized as plain text (user-defined tokens are always recognised).
// Invalid UTF-8 is tokenized as llama.cpp does: each bad byte as U+FFFD.
func (t *Tokenizer) Encode(text string, parseSpecial bool) []int {
	sc := t.pool.Get().(*scratch)
	defer t.pool.Put(sc)
	ids := sc.ids[:0]
	if text != "" {
		for _, f := range t.partition(text, parseSpecial, sc) {
			if f.id >= 0 {
				ids = append(ids, f.id)
				continue
			}
			ids = t.encodeText(text[f.lo:f.hi], ids, sc)
		}
	}
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	sc.ids = ids
	return out
}

// encodeText pre-tokenizes and BPE-encodes a text fragment.
func (t *Tokenizer) encodeText(s string, out []int32, sc *scratch) []int32 {
	s = normalizeUTF8(s)
	sc.text.reset(s)
	var ends []int32
	ends, sc.b = t.pre.split(&sc.text, sc.a, sc.b)
	sc.a = ends
	offs := sc.text.offs
	lo := int32(0)
	for _, e := range ends {
		out = t.encodeWord(s[offs[lo]:offs[e]], out, sc)
		lo = e
	}
	return out
}

// encodeWord appends the ids of one pre-tokenized word (raw bytes).
func (t *Tokenizer) encodeWord(w string, out []int32, sc *scratch) []int32 {
	if t.ignoreMerges {
		if id, ok := t.rawToID[w]; ok {
			return append(out, id)
		}
	}
	if len(w) == 1 {
		return t.appendSymbols(out, t.bpe.byteSym[w[0]:w[0]+1])
	}
	cacheable := len(w) <= maxCachedWordSz
	if cacheable {
		t.cacheMu.Lock()
		ids, ok := t.cache[w]
		t.cacheMu.Unlock()
		if ok {
			return append(out, ids...)
		}
	}
	start := len(out)
	sc.syms = t.bpe.word(w, &sc.bpe, sc.syms[:0])
	out = t.appendSymbols(out, sc.syms)
	if cacheable {
		ids := make([]int32, len(out)-start)
		copy(ids, out[start:])
		t.cacheMu.Lock()
		if len(t.cache) >= maxCacheWords {
			clear(t.cache)
		}
		t.cache[w] = ids
		t.cacheMu.Unlock()
	}
	return out
}

// appendSymbols appends token ids for BPE symbols. A symbol that is not a
// token falls back, as in llama.cpp, to the tokens of its single bytes
// (bytes of its GPT-2 alphabet text), skipping bytes that are not tokens.
func (t *Tokenizer) appendSymbols(out, syms []int32) []int32 {
	for _, s := range syms {
		if s < t.bpe.nVocab {
			out = append(out, s)
			continue
		}
		text := t.bpe.extra[s-t.bpe.nVocab]
		for i := 0; i < len(text); i++ {
			if id, ok := t.textToID[text[i:i+1]]; ok {
				out = append(out, id)
			}
		}
	}
	return out
}

// Decode returns the text of ids, as llama_token_to_piece with special=true
// concatenated: normal tokens decode to their bytes, control, user-defined
// and unknown tokens to their text; unused or undefined tokens and
// out-of-range ids give nothing. No spaces are cleaned up, so
// Decode(Encode(s, p)) == s for valid UTF-8 s whose bytes all have tokens.
// (A normal token with a character outside the GPT-2 byte alphabet decodes
// to that character's UTF-8; llama.cpp writes an "[UNK_BYTE_…]" marker.)
func (t *Tokenizer) Decode(ids []int) string {
	n := 0
	for _, id := range ids {
		n += len(t.piece(id))
	}
	var b strings.Builder
	b.Grow(n)
	for _, id := range ids {
		b.WriteString(t.piece(id))
	}
	return b.String()
}

func (t *Tokenizer) piece(id int) string {
	if id < 0 || id >= len(t.pieces) {
		return ""
	}
	return t.pieces[id]
}
