package answer

import (
	"testing"
)

func TestChatExchange(t *testing.T) {
	_, tok, chat := tinyChat(t, 512)
	for _, c := range []struct{ user, answer string }{
		{"What does F01 return?", "It returns 1."},
		{"multi\nline", "x"},
		{"q", ""},
	} {
		tr, err := chat.Exchange(c.user, c.answer)
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.Decode(tr.Tokens[tr.AnsStart:tr.AnsEnd]); got != c.answer {
			t.Errorf("answer span %q, want %q", got, c.answer)
		}
		if got := tok.Decode(tr.Tokens[:tr.UserStart]); got != "<|im_start|>user\n" {
			t.Errorf("user header %q", got)
		}
		if tr.Tokens[tr.AnsEnd] != chat.EndOfTurn() {
			t.Errorf("no end of turn after the answer")
		}
		prompt, err := chat.User(c.user)
		if err != nil {
			t.Fatal(err)
		}
		if len(prompt) != tr.AnsStart {
			t.Errorf("prompt of %d tokens, answer starts at %d", len(prompt), tr.AnsStart)
		}
	}
	sys, err := chat.System("corpus")
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Decode(sys); got != "<|im_start|>system\ncorpus<|im_end|>\n" {
		t.Errorf("system turn %q", got)
	}
}
