package tokenizer

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/tokenizer/internal/jinja"
)

const chatMLPlain = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

// smolLM2Template is the template in SmolLM2-135M-Instruct's GGUF.
const smolLM2Template = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

// chatDir holds the chat templates (verbatim from the models' GGUF files)
// and reference.json.gz, written by scripts/chat_template_ref.py with
// jinja2.
var chatDir = filepath.Join("..", "..", "testdata", "chat")

func chatTemplateFile(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chatDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestApplyChatSmolLM2(t *testing.T) {
	tk := &Tokenizer{chatTemplate: smolLM2Template}
	cases := []struct {
		msgs []Message
		gen  bool
		want string
	}{
		{nil, true, "<|im_start|>assistant\n"},
		{[]Message{{Role: "user", Content: "Hi"}}, true,
			"<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n" +
				"<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"},
		{[]Message{{Role: "system", Content: "S"}, {Role: "user", Content: "U"}, {Role: "assistant", Content: "A"}}, false,
			"<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n"},
	}
	for _, c := range cases {
		got, err := tk.ApplyChat(c.msgs, c.gen)
		if err != nil || got != c.want {
			t.Errorf("ApplyChat(%v, %v) = %q, %v; want %q", c.msgs, c.gen, got, err, c.want)
		}
	}
	if s := chatTemplateFile(t, "smollm2.jinja"); s != strings.ReplaceAll(smolLM2Template, `\n`, "\n") {
		t.Errorf("testdata/chat/smollm2.jinja is not smolLM2Template:\n%q", s)
	}
}

func TestApplyChatQwen(t *testing.T) {
	tk := &Tokenizer{chatTemplate: chatTemplateFile(t, "qwen2.5.jinja")}
	const sys = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
	got, err := tk.ApplyChat([]Message{{Role: "user", Content: "Hi"}}, true)
	if want := sys + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"; err != nil || got != want {
		t.Errorf("ApplyChat = %q, %v; want %q", got, err, want)
	}
	msgs := []Message{
		{Role: "user", Content: "Weather in Köln?"},
		{Role: "assistant", ToolCalls: []ToolCall{{Name: "get_weather", Arguments: json.RawMessage(`{"location": "Köln", "days": 2, "unit": "celsius"}`)}}},
		{Role: "tool", Content: `{"temp": 15}`},
	}
	tools := []json.RawMessage{json.RawMessage(`{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"location":{"type":"string"}}}}}`)}
	got, err = tk.ApplyChatTools(msgs, tools, true)
	want := "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n# Tools\n\n" +
		"You may call one or more functions to assist with the user query.\n\n" +
		"You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
		`{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}` +
		"\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n" +
		"<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" +
		"<|im_start|>user\nWeather in Köln?<|im_end|>\n" +
		"<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Köln\", \"days\": 2, \"unit\": \"celsius\"}}\n</tool_call><|im_end|>\n" +
		"<|im_start|>user\n<tool_response>\n{\"temp\": 15}\n</tool_response><|im_end|>\n<|im_start|>assistant\n"
	if err != nil || got != want {
		t.Errorf("ApplyChatTools =\n%q, %v\nwant\n%q", got, err, want)
	}
	// jinja2 fails on messages[0] of an empty conversation; so do we.
	if s, err := tk.ApplyChat(nil, true); err == nil {
		t.Errorf("ApplyChat(nil) = %q, want an error", s)
	}
	if _, err := tk.ApplyChat([]Message{{Role: "assistant", ToolCalls: []ToolCall{{Name: "f", Arguments: json.RawMessage(`{bad`)}}}}, false); err == nil {
		t.Error("bad tool call arguments: no error")
	}
	if _, err := tk.ApplyChatTools(nil, []json.RawMessage{json.RawMessage(`[1,`)}, false); err == nil {
		t.Error("bad tool: no error")
	}
}

// TestApplyChatErrors: a template that does not compile or fails while
// rendering is an error that names the chat template, not a panic.
func TestApplyChatErrors(t *testing.T) {
	cases := map[string]string{
		"none":            "",
		"unterminated":    "{% for message in messages %}{{'<|im_start|>",
		"odd quote":       "{{ '<|im_start|>",
		"no endfor":       "{% for m in messages %}x",
		"unknown tag":     "{% frobnicate %}",
		"raise":           "{{ raise_exception('Conversation roles must alternate') }}",
		"undefined attr":  "{{ messages[5].role }}",
		"type error":      "{{ 'a' + 1 }}",
		"unknown filter":  "{{ messages | frobnicate }}",
		"endless loop":    "{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}",
		"recursion":       "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
		"huge string":     "{% set s = 'x' * 1000000 %}{% for i in range(100000) %}{{ s }}{% endfor %}",
		"string doubling": "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
		"huge range":      "{{ range(10000000000) | length }}",
	}
	for name, src := range cases {
		tk := &Tokenizer{chatTemplate: src}
		s, err := tk.ApplyChat([]Message{{Role: "user", Content: "x"}}, true)
		if err == nil {
			t.Errorf("%s: rendered %q", name, s)
			continue
		}
		if !strings.Contains(err.Error(), "chat template") {
			t.Errorf("%s: error %q does not name the chat template", name, err)
		}
	}
}

// TestApplyChatOtherTemplates: shapes the old ChatML matcher refused now
// render (they are plain Jinja).
func TestApplyChatOtherTemplates(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"llama3 trim", "{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}",
			"<|start_header_id|>user<|end_header_id|>\n\nx<|eot_id|>"},
		{"stray newlines", "{% for message in messages %}\n{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}\n{% endfor %}",
			"<|im_start|>user\n x<|im_end|>\n\n"},
		{"think", strings.Replace(chatMLPlain, "'<|im_start|>assistant\\n'", "'<|im_start|>assistant\\n<think>\\n'", 1),
			"<|im_start|>user\n x<|im_end|>\n<|im_start|>assistant\n<think>\n"},
		{"bos", "{{ bos_token }}{{ messages[0].content }}", "<s> x"},
	}
	for _, c := range cases {
		tk := &Tokenizer{chatTemplate: c.src, pieces: []string{"<s>", "</s>"}, bos: 0, eos: 1}
		got, err := tk.ApplyChat([]Message{{Role: "user", Content: " x"}}, true)
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

type chatRefCase struct {
	Template string          `json:"template"`
	Messages json.RawMessage `json:"messages"`
	Tools    json.RawMessage `json:"tools"`
	AddGen   bool            `json:"add_generation_prompt"`
	GoAPI    bool            `json:"go_api"`
	Prompt   *string         `json:"prompt"`
	Error    string          `json:"error"`
}

var loadChatRef = sync.OnceValues(func() ([]chatRefCase, error) {
	f, err := os.Open(filepath.Join(chatDir, "reference.json.gz"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var ref struct {
		Cases []chatRefCase `json:"cases"`
	}
	return ref.Cases, json.NewDecoder(zr).Decode(&ref)
})

// TestChatTemplateJinja2 renders the conversations of
// testdata/chat/reference.json.gz with SmolLM2's and Qwen2.5's templates
// and compares with jinja2's prompts (and failures) byte for byte: once
// with the messages as they were given to jinja2, once (where
// tokenizer.Message can express them) through ApplyChatTools.
func TestChatTemplateJinja2(t *testing.T) {
	cases, err := loadChatRef()
	if err != nil {
		t.Fatal(err)
	}
	tks := map[string]*Tokenizer{
		"smollm2": {chatTemplate: chatTemplateFile(t, "smollm2.jinja")},
		"qwen2.5": {chatTemplate: chatTemplateFile(t, "qwen2.5.jinja")},
	}
	counts := map[string]int{}
	for i, c := range cases {
		tk := tks[c.Template]
		if tk == nil {
			t.Fatalf("case %d: unknown template %q", i, c.Template)
		}
		check := func(how, got string, err error) {
			t.Helper()
			switch {
			case c.Prompt == nil && err == nil:
				t.Errorf("case %d (%s, %s): rendered %q; jinja2 failed: %s\nmessages %s", i, c.Template, how, got, c.Error, c.Messages)
			case c.Prompt != nil && err != nil:
				t.Errorf("case %d (%s, %s): %v\nmessages %s", i, c.Template, how, err, c.Messages)
			case c.Prompt != nil && got != *c.Prompt:
				t.Errorf("case %d (%s, %s):\n got %q\nwant %q\nmessages %s", i, c.Template, how, got, *c.Prompt, c.Messages)
			}
		}
		msgs, err := jinja.FromJSON(c.Messages)
		if err != nil {
			t.Fatal(err)
		}
		tools, err := jinja.FromJSON(c.Tools)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tk.renderChat(msgs, tools, c.AddGen)
		check("as given", got, err)
		counts[c.Template]++
		if c.GoAPI {
			var ms []Message
			var raw []struct {
				ToolCalls []struct {
					Function struct {
						Name      string          `json:"name"`
						Arguments json.RawMessage `json:"arguments"`
					} `json:"function"`
				} `json:"tool_calls"`
			}
			if err := json.Unmarshal(c.Messages, &ms); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(c.Messages, &raw); err != nil {
				t.Fatal(err)
			}
			for k := range ms {
				ms[k].ToolCalls = nil
				for _, tc := range raw[k].ToolCalls {
					ms[k].ToolCalls = append(ms[k].ToolCalls, ToolCall{Name: tc.Function.Name, Arguments: tc.Function.Arguments})
				}
			}
			var ts []json.RawMessage
			if err := json.Unmarshal(c.Tools, &ts); err != nil {
				t.Fatal(err)
			}
			got, err := tk.ApplyChatTools(ms, ts, c.AddGen)
			check("ApplyChatTools", got, err)
			counts[c.Template+" via ApplyChatTools"]++
		}
	}
	t.Logf("cases checked: %v", counts)
}

// qwenModelPath is a Qwen2.5 GGUF: $CARTLSP_QWEN_MODEL or /tmp/qwen05.gguf.
func qwenModelPath() string {
	if p := os.Getenv("CARTLSP_QWEN_MODEL"); p != "" {
		return p
	}
	return "/tmp/qwen05.gguf"
}

// TestQwenChatTokens: with the Qwen2.5 model file, the template is the one
// in testdata/chat and a rendered prompt tokenizes (special tokens parsed)
// with <|im_start|> and <|im_end|> as single tokens. Skipped without the
// file.
func TestQwenChatTokens(t *testing.T) {
	path := qwenModelPath()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("Qwen model not available (%s); set CARTLSP_QWEN_MODEL", path)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tk, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	if tk.ChatTemplate() != chatTemplateFile(t, "qwen2.5.jinja") {
		t.Error("the model's chat template differs from testdata/chat/qwen2.5.jinja")
	}
	prompt, err := tk.ApplyChat([]Message{{Role: "user", Content: "What does func main do?"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	ids := tk.Encode(prompt, true)
	const imStart, imEnd = 151644, 151645
	var starts, ends int
	for _, id := range ids {
		switch id {
		case imStart:
			starts++
		case imEnd:
			ends++
		}
	}
	// system (the default), user and the generation prompt; two ends.
	if starts != 3 || ends != 2 || ids[0] != imStart || ids[len(ids)-3] != imStart {
		t.Errorf("Encode(%q) = %v: %d <|im_start|>, %d <|im_end|>", prompt, ids, starts, ends)
	}
	for _, s := range []string{"<|im_start|>", "<|im_end|>"} {
		if got := tk.Encode(s, true); len(got) != 1 {
			t.Errorf("Encode(%q) = %v, want one token", s, got)
		}
	}
	if got := tk.Encode("<|im_start|>", true); got[0] != imStart {
		t.Errorf("<|im_start|> = %v, want %d", got, imStart)
	}
	if got := tk.Encode("<|im_end|>", true); got[0] != imEnd {
		t.Errorf("<|im_end|> = %v, want %d", got, imEnd)
	}
}

// BenchmarkApplyChatQwen renders a typical question: system, user and
// assistant turns plus a new user turn.
func BenchmarkApplyChatQwen(b *testing.B) {
	tk := &Tokenizer{chatTemplate: chatTemplateFile(b, "qwen2.5.jinja")}
	msgs := []Message{
		{Role: "system", Content: "You are an expert on the codebase below and answer questions about it precisely."},
		{Role: "user", Content: "What does the function ApplyChat return when the template fails?"},
		{Role: "assistant", Content: "It returns an error that names the model's chat template."},
	}
	if _, err := tk.ApplyChat(msgs, true); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tk.ApplyChat(msgs, true); err != nil {
			b.Fatal(err)
		}
	}
}
