package modeltest

import (
	"strings"

	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/tokenizer"
)

// ChatML is a plain ChatML chat template without a default system message.
const ChatML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

// byteAlphabet is GPT-2's byte → printable character map.
func byteAlphabet() [256]string {
	var out [256]string
	n := 0
	for b := 0; b < 256; b++ {
		if '!' <= b && b <= '~' || 0xA1 <= b && b <= 0xAC || 0xAE <= b && b <= 0xFF {
			out[b] = string(rune(b))
		} else {
			out[b] = string(rune(256 + n))
			n++
		}
	}
	return out
}

// ChatVocab is the vocabulary size of BuildChat's tokenizer.
const ChatVocab = 3 + 256 + 2

// BuildChat is Build with a byte-level BPE tokenizer (the three ChatML
// special tokens <|endoftext|> <|im_start|> <|im_end|> as ids 0–2, the 256
// bytes and two merges) and the ChatML template: the shape of a real chat
// model in a few thousand parameters. o.Vocab is set to ChatVocab.
func BuildChat(o Options) (*gguf.Writer, error) {
	tokens := []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}
	types := []int32{tokenizer.TypeControl, tokenizer.TypeControl, tokenizer.TypeControl}
	for _, s := range byteAlphabet() {
		tokens = append(tokens, s)
		types = append(types, tokenizer.TypeNormal)
	}
	merges := []string{"Ġ t", "h e"}
	for _, mg := range merges {
		tokens = append(tokens, strings.Replace(mg, " ", "", 1))
		types = append(types, tokenizer.TypeNormal)
	}
	o.Vocab = len(tokens)
	w, err := Build(o)
	if err != nil {
		return nil, err
	}
	w.AddKV("tokenizer.ggml.model", gguf.String("gpt2"))
	w.AddKV("tokenizer.ggml.pre", gguf.String("smollm"))
	w.AddKV("tokenizer.ggml.tokens", gguf.StringArray(tokens))
	w.AddKV("tokenizer.ggml.token_type", gguf.I32Array(types))
	w.AddKV("tokenizer.ggml.merges", gguf.StringArray(merges))
	w.AddKV("tokenizer.ggml.bos_token_id", gguf.U32(1))
	w.AddKV("tokenizer.ggml.eos_token_id", gguf.U32(2))
	w.AddKV("tokenizer.chat_template", gguf.String(ChatML))
	return w, nil
}
