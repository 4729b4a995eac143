package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cartlsp/cartlsp/runtime/tokenizer/internal/jinja"
)

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
	// ToolCalls are the function calls of an assistant turn. The template
	// sees message.tool_calls only when there are some (absent otherwise,
	// as in a Python message dict without the key).
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
}

// ToolCall is one function call of an assistant turn. The template sees it
// in the shape Hugging Face documents (OpenAI's):
//
//	{"id": ID (only when set), "type": "function",
//	 "function": {"name": Name, "arguments": Arguments}}
type ToolCall struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
	// Arguments is a JSON value, usually an object; empty means {}. Object
	// keys keep their order, as json.loads keeps them in Python.
	Arguments json.RawMessage `json:"arguments,omitempty"`
}

// ApplyChat renders msgs with the model's chat template, as Hugging Face's
// apply_chat_template does (no tools). See ApplyChatTools.
func (t *Tokenizer) ApplyChat(msgs []Message, addGenerationPrompt bool) (string, error) {
	return t.ApplyChatTools(msgs, nil, addGenerationPrompt)
}

// ApplyChatTools renders msgs with the model's chat template (the Jinja
// source in tokenizer.chat_template) exactly as Hugging Face's
// apply_chat_template(msgs, tools=tools, add_generation_prompt=…) renders
// it with jinja2. Each tool is a JSON value, usually a function schema
// {"type": "function", "function": {"name", "description", "parameters"}};
// no tools (nil or empty) is tools=None.
//
// The template's variables are messages (dicts with role, content and
// tool_calls), tools, documents (None), add_generation_prompt, and
// bos_token and eos_token (the texts of the BOS and EOS tokens, as
// llama.cpp passes them). The template is compiled once per Tokenizer.
// A template that does not compile or fails to render (a syntax error,
// raise_exception, an undefined value used, a loop past the work limit)
// is an error, never a panic.
func (t *Tokenizer) ApplyChatTools(msgs []Message, tools []json.RawMessage, addGenerationPrompt bool) (string, error) {
	ms := make([]any, len(msgs))
	for i, m := range msgs {
		d, err := messageValue(m)
		if err != nil {
			return "", fmt.Errorf("tokenizer: message %d: %w", i, err)
		}
		ms[i] = d
	}
	var ts any // None
	if len(tools) > 0 {
		l := make([]any, len(tools))
		for i, raw := range tools {
			v, err := jinja.FromJSON(raw)
			if err != nil {
				return "", fmt.Errorf("tokenizer: tool %d: %w", i, err)
			}
			l[i] = v
		}
		ts = l
	}
	return t.renderChat(ms, ts, addGenerationPrompt)
}

// messageValue is m as the template sees it.
func messageValue(m Message) (*jinja.Dict, error) {
	d := jinja.NewDict()
	d.Set("role", m.Role)
	d.Set("content", m.Content)
	if len(m.ToolCalls) == 0 {
		return d, nil
	}
	calls := make([]any, len(m.ToolCalls))
	for i, c := range m.ToolCalls {
		var args any = jinja.NewDict()
		if len(c.Arguments) > 0 {
			var err error
			if args, err = jinja.FromJSON(c.Arguments); err != nil {
				return nil, fmt.Errorf("tool call %d (%s): arguments: %w", i, c.Name, err)
			}
		}
		fn := jinja.NewDict()
		fn.Set("name", c.Name)
		fn.Set("arguments", args)
		call := jinja.NewDict()
		if c.ID != "" {
			call.Set("id", c.ID)
		}
		call.Set("type", "function")
		call.Set("function", fn)
		calls[i] = call
	}
	d.Set("tool_calls", calls)
	return d, nil
}

// renderChat renders the chat template with messages and tools given as
// template values (package jinja's, as from jinja.FromJSON).
func (t *Tokenizer) renderChat(messages, tools any, addGenerationPrompt bool) (string, error) {
	const name = "the model's chat template (tokenizer.chat_template)"
	if t.chatTemplate == "" {
		return "", errors.New("tokenizer: the model has no chat template (tokenizer.chat_template)")
	}
	c := t.chat.Load()
	if c == nil || c.src != t.chatTemplate {
		tm, err := jinja.Compile(t.chatTemplate)
		c = &compiledChat{src: t.chatTemplate, tmpl: tm, err: err}
		t.chat.Store(c)
	}
	if c.err != nil {
		return "", fmt.Errorf("tokenizer: %s does not compile: %w", name, c.err)
	}
	vars := map[string]any{
		"messages":              messages,
		"tools":                 tools,
		"documents":             nil,
		"add_generation_prompt": addGenerationPrompt,
	}
	if t.bos >= 0 && t.bos < len(t.pieces) {
		vars["bos_token"] = t.pieces[t.bos]
	}
	if t.eos >= 0 && t.eos < len(t.pieces) {
		vars["eos_token"] = t.pieces[t.eos]
	}
	s, err := c.tmpl.Render(vars)
	if err != nil {
		return "", fmt.Errorf("tokenizer: %s fails to render: %w", name, err)
	}
	return s, nil
}

// compiledChat caches a compiled template with its source (tests build
// Tokenizers by hand and may change the source).
type compiledChat struct {
	src  string
	tmpl *jinja.Template
	err  error
}
