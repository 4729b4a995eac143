package answer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cartlsp/cartlsp/runtime/tokenizer"
)

// systemIntro opens the system message that holds corpus text: the
// teacher's during synthesis (package trainer), the in-context answers'
// before a Cartridge exists and the ICL condition of cartlsp eval.
const systemIntro = "You are an expert on the codebase below and answer questions about it precisely, " +
	"using the exact names, types and values in the code. The text may be only part of the codebase. " +
	"Do not begin answers with \"According to the code\" or \"According to the passage\".\n\n"

// SystemPrompt is the system message holding corpus text.
func SystemPrompt(corpusText string) string { return systemIntro + corpusText }

// Turns is a tokenized exchange without a system turn: the user turn and
// the assistant turn in the model's chat template.
type Turns struct {
	Tokens    []int
	UserStart int // first token of the user's message content
	AnsStart  int // first token of the assistant's content
	AnsEnd    int // the end-of-turn token after the answer (exclusive end of the content)
}

// Chat renders messages with the tokenizer's chat template.
type Chat struct {
	tok *tokenizer.Tokenizer
	end int // the end-of-turn token (<|im_end|>)
}

// NewChat checks that the tokenizer's chat template renders turns this
// package can cut apart (ChatML-style, with a single end-of-turn token).
func NewChat(tok *tokenizer.Tokenizer) (*Chat, error) {
	s, err := tok.ApplyChat([]tokenizer.Message{{Role: "system", Content: "s"}, {Role: "user", Content: "u"}}, true)
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	if !strings.Contains(s, "<|im_end|>") {
		return nil, fmt.Errorf("chat template: only ChatML templates (<|im_start|>…<|im_end|>) are supported")
	}
	end := tok.Encode("<|im_end|>", true)
	if len(end) != 1 {
		return nil, fmt.Errorf("chat template: <|im_end|> is %d tokens, want a single special token", len(end))
	}
	return &Chat{tok: tok, end: end[0]}, nil
}

// Tokenizer is the tokenizer the chat renders with.
func (c *Chat) Tokenizer() *tokenizer.Tokenizer { return c.tok }

// EndOfTurn is the end-of-turn token.
func (c *Chat) EndOfTurn() int { return c.end }

// System is the tokens of a system turn holding content, as the template
// renders it at the start of a conversation.
func (c *Chat) System(content string) ([]int, error) {
	s, err := c.tok.ApplyChat([]tokenizer.Message{{Role: "system", Content: content}}, false)
	if err != nil {
		return nil, err
	}
	return c.tok.Encode(s, true), nil
}

// cut renders msgs after a system turn and returns the text that follows
// that turn (the template's default system message is not inserted).
func (c *Chat) cut(msgs []tokenizer.Message, addGen bool) (string, error) {
	sys := tokenizer.Message{Role: "system", Content: "x"}
	head, err := c.tok.ApplyChat([]tokenizer.Message{sys}, false)
	if err != nil {
		return "", err
	}
	full, err := c.tok.ApplyChat(append([]tokenizer.Message{sys}, msgs...), addGen)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(full, head) {
		return "", fmt.Errorf("chat template: a conversation does not extend its system turn")
	}
	return full[len(head):], nil
}

// User is the tokens of a user turn followed by the assistant's header: a
// prompt after which the assistant answers. It follows a system turn, a
// Cartridge or nothing.
func (c *Chat) User(question string) ([]int, error) {
	s, err := c.cut([]tokenizer.Message{{Role: "user", Content: question}}, true)
	if err != nil {
		return nil, err
	}
	return c.tok.Encode(s, true), nil
}

// Exchange tokenizes a user message and the assistant's answer and says
// where each starts. The special tokens of the template split the text, so
// the tokens are exactly those of the whole conversation after any system
// turn or Cartridge.
func (c *Chat) Exchange(user, answer string) (Turns, error) {
	prompt, err := c.User(user)
	if err != nil {
		return Turns{}, err
	}
	s, err := c.cut([]tokenizer.Message{{Role: "user", Content: user}, {Role: "assistant", Content: answer}}, false)
	if err != nil {
		return Turns{}, err
	}
	toks := c.tok.Encode(s, true)
	if len(toks) < len(prompt) || !slices.Equal(toks[:len(prompt)], prompt) {
		return Turns{}, fmt.Errorf("chat template: the answer does not extend the prompt")
	}
	t := Turns{Tokens: toks, AnsStart: len(prompt)}
	end := slices.Index(toks[t.AnsStart:], c.end)
	if end < 0 {
		return Turns{}, fmt.Errorf("chat template: no end of turn after the answer")
	}
	t.AnsEnd = t.AnsStart + end
	t.UserStart, err = c.UserStart()
	if err != nil {
		return Turns{}, err
	}
	return t, nil
}

// UserStart is the length of the user turn's header ("<|im_start|>user\n"):
// the tokens of an empty user message up to its end token.
func (c *Chat) UserStart() (int, error) {
	empty, err := c.cut([]tokenizer.Message{{Role: "user", Content: ""}}, false)
	if err != nil {
		return 0, err
	}
	et := c.tok.Encode(empty, true)
	i := slices.Index(et, c.end)
	if i <= 0 {
		return 0, fmt.Errorf("chat template: cannot find the user turn's header")
	}
	return i, nil
}
