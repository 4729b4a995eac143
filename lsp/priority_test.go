package lsp

import (
	"context"
	"testing"
	"time"
)

// TestPriority: the training's yield waits while a request holds the
// priority, goes on when the last one releases it, and stops waiting
// when its context ends.
func TestPriority(t *testing.T) {
	var p priority
	if err := p.yield(context.Background()); err != nil {
		t.Fatal(err)
	}
	r1, r2 := p.hold(), p.hold()
	done := make(chan error, 1)
	go func() { done <- p.yield(context.Background()) }()
	r1()
	r1() // a second release of the same hold does nothing
	select {
	case <-done:
		t.Fatal("the yield went on while a request still held the priority")
	case <-time.After(50 * time.Millisecond):
	}
	r2()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the yield did not go on after the last release")
	}
	release := p.hold()
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- p.yield(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a cancelled yield returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled yield kept waiting")
	}
}
