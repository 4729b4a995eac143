package backend

import (
	"context"
	"errors"
	"testing"
)

func TestYield(t *testing.T) {
	if err := Yield(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls := 0
	ctx := WithYield(context.Background(), func(context.Context) error { calls++; return nil })
	if err := Yield(ctx); err != nil || calls != 1 {
		t.Fatalf("Yield with a hook: %v, %d calls", err, calls)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := Yield(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled context: %v", err)
	}
	stop := errors.New("stop")
	if err := Yield(WithYield(context.Background(), func(context.Context) error { return stop })); !errors.Is(err, stop) {
		t.Errorf("a failing hook: %v", err)
	}
}
