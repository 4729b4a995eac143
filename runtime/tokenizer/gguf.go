package tokenizer

import (
	"fmt"

	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// FromGGUF reads a tokenizer from GGUF metadata. tokenizer.ggml.model must
// be "gpt2"; tokens and merges are required; token_type, pre, the special
// token ids, add_bos_token and chat_template are optional.
//
// Defaults follow llama.cpp for "gpt2" vocabularies: BOS and EOS are 11 when
// the file does not name them (if the vocabulary has that many tokens), an
// id out of range is ignored, and add_bos_token defaults to true only for
// the Llama 3 pre-tokenizer family.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	model, _ := f.Str("tokenizer.ggml.model")
	if model != "gpt2" {
		return nil, fmt.Errorf("tokenizer: unsupported tokenizer model %q (tokenizer.ggml.model); only byte-level BPE (\"gpt2\") is supported", model)
	}
	var v Vocab
	var ok bool
	if v.Tokens, ok = f.Strings("tokenizer.ggml.tokens"); !ok {
		return nil, fmt.Errorf("tokenizer: tokenizer.ggml.tokens missing or not a string array")
	}
	if _, present := f.Get("tokenizer.ggml.token_type"); present {
		if v.Types, ok = f.Int32s("tokenizer.ggml.token_type"); !ok {
			return nil, fmt.Errorf("tokenizer: tokenizer.ggml.token_type is not an int32 array")
		}
	}
	if v.Merges, ok = f.Strings("tokenizer.ggml.merges"); !ok {
		return nil, fmt.Errorf("tokenizer: tokenizer.ggml.merges missing or not a string array")
	}
	v.Pre, _ = f.Str("tokenizer.ggml.pre")
	v.ChatTemplate, _ = f.Str("tokenizer.chat_template")

	n := len(v.Tokens)
	id := func(key string, def int) int {
		if def >= n {
			def = -1
		}
		u, ok := f.Uint("tokenizer.ggml." + key + "_token_id")
		if !ok || u >= uint64(n) {
			return def
		}
		return int(u)
	}
	v.BOS, v.EOS = id("bos", 11), id("eos", 11)
	v.EOT, v.PAD, v.UNK = id("eot", -1), id("padding", -1), id("unknown", -1)
	v.Extra = map[string]int{}
	// Later entries override earlier ones, as in llama.cpp (deprecated names last).
	for _, kn := range [][2]string{
		{"eom", "eom"}, {"seperator", "sep"}, {"mask", "mask"},
		{"fim_pre", "fim_pre"}, {"fim_suf", "fim_suf"}, {"fim_mid", "fim_mid"},
		{"fim_pad", "fim_pad"}, {"fim_rep", "fim_rep"}, {"fim_sep", "fim_sep"},
		{"prefix", "fim_pre"}, {"suffix", "fim_suf"}, {"middle", "fim_mid"},
	} {
		if x := id(kn[0], -1); x >= 0 {
			v.Extra[kn[1]] = x
		}
	}

	if fam, ok := preAliases[v.Pre]; ok && fam == preLlama3 {
		v.AddBOS = true
	}
	if b, ok := f.Bool("tokenizer.ggml.add_bos_token"); ok {
		v.AddBOS = b
	}
	return New(v)
}
