package eval

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
	"github.com/cartlsp/cartlsp/runtime/tokenizer"
	"github.com/cartlsp/cartlsp/trainer"
)

// chatML is a plain ChatML template without a default system message.
const chatML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

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

// tinyChatModel writes a tiny random Llama with a byte-level tokenizer
// (three ChatML special tokens, the 256 bytes and two merges) and a
// ChatML template: the shape of a real chat model in a few thousand
// parameters.
func tinyChatModel(tb testing.TB, context int) (*model.Model, *tokenizer.Tokenizer, *trainer.Chat) {
	tb.Helper()
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
	w, err := modeltest.Build(modeltest.Options{Vocab: len(tokens), Context: context, Seed: 3})
	if err != nil {
		tb.Fatal(err)
	}
	w.AddKV("tokenizer.ggml.model", gguf.String("gpt2"))
	w.AddKV("tokenizer.ggml.pre", gguf.String("smollm"))
	w.AddKV("tokenizer.ggml.tokens", gguf.StringArray(tokens))
	w.AddKV("tokenizer.ggml.token_type", gguf.I32Array(types))
	w.AddKV("tokenizer.ggml.merges", gguf.StringArray(merges))
	w.AddKV("tokenizer.ggml.bos_token_id", gguf.U32(1))
	w.AddKV("tokenizer.ggml.eos_token_id", gguf.U32(2))
	w.AddKV("tokenizer.chat_template", gguf.String(chatML))
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		tb.Fatal(err)
	}
	be := cpu.NewBackend(1)
	tb.Cleanup(func() { be.Close() })
	m, err := model.New(f, be)
	if err != nil {
		tb.Fatal(err)
	}
	chat, err := trainer.NewChat(tok)
	if err != nil {
		tb.Fatal(err)
	}
	return m, tok, chat
}
