package lsp

import (
	"context"
	"testing"
	"time"
)

func TestIdentifierAt(t *testing.T) {
	text := "a := uuid.NewRandom() + b"
	s, e := identifierAt(text, 12)
	if text[s:e] != "uuid.NewRandom" {
		t.Errorf("identifierAt: %q", text[s:e])
	}
	if s, e := identifierAt(text, 2); s != e {
		t.Errorf("identifierAt on an operator: %q", text[s:e])
	}
}

// TestCompleterCancelsPrevious: a new completion cancels the one in
// flight, and the superseded one finishing leaves the new one alone.
func TestCompleterCancelsPrevious(t *testing.T) {
	var c completer
	first, done1 := c.start(context.Background())
	_, done2 := c.start(context.Background())
	select {
	case <-first.Done():
	case <-time.After(time.Second):
		t.Error("a new completion did not cancel the one in flight")
	}
	done1() // the superseded one finishing must not cancel the new one
	c.mu.Lock()
	if c.cancel == nil {
		t.Error("the superseded completion cleared the new one's cancel")
	}
	c.mu.Unlock()
	done2()
}
