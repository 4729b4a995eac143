package tokenizer

import (
	"strings"
	"testing"
)

const chatMLPlain = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

// smolLM2Template is the template in SmolLM2-135M-Instruct's GGUF.
const smolLM2Template = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

func TestApplyChatSmolLM2(t *testing.T) {
	tk := &Tokenizer{chatTemplate: smolLM2Template}
	cases := []struct {
		msgs []Message
		gen  bool
		want string
	}{
		{nil, true, "<|im_start|>assistant\n"},
		{[]Message{{"user", "Hi"}}, true,
			"<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n" +
				"<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"},
		{[]Message{{"system", "S"}, {"user", "U"}, {"assistant", "A"}}, false,
			"<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n"},
	}
	for _, c := range cases {
		got, err := tk.ApplyChat(c.msgs, c.gen)
		if err != nil || got != c.want {
			t.Errorf("ApplyChat(%v, %v) = %q, %v; want %q", c.msgs, c.gen, got, err, c.want)
		}
	}
}

func TestApplyChatUnsupported(t *testing.T) {
	cases := map[string]string{
		"none":           "",
		"llama3":         "{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}",
		"stray newlines": "{% for message in messages %}\n{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}\n{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
		"trim":           "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] | trim + '<|im_end|>\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
		"tools":          "{%- if tools %}{{- '<|im_start|>system\\n# Tools' }}{%- endif %}" + chatMLPlain,
		"no gen prompt":  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}",
		"think":          strings.Replace(chatMLPlain, "'<|im_start|>assistant\\n'", "'<|im_start|>assistant\\n<think>\\n'", 1),
		"unterminated":   "{% for message in messages %}{{'<|im_start|>",
		"odd quote":      "{{ '<|im_start|>",
	}
	for name, src := range cases {
		tk := &Tokenizer{chatTemplate: src}
		if s, err := tk.ApplyChat([]Message{{"user", "x"}}, true); err == nil {
			t.Errorf("%s: rendered %q", name, s)
		}
	}
}

func TestCanonJinja(t *testing.T) {
	cases := map[string]string{
		`  if   messages[0].role  !=  "system" `: `if messages[0]['role'] != 'system'`,
		`"it's" + message.content`:               `"it's" + message['content']`,
		`'a.role  b'`:                            `'a.role  b'`,
	}
	for in, want := range cases {
		if got := canonJinja(in); got != want {
			t.Errorf("canonJinja(%q) = %q, want %q", in, got, want)
		}
	}
}
