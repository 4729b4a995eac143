package backend

import "context"

// Background work (training a Cartridge) marks its context with a yield
// function; the compute loops call Yield between layers, so that the work
// pauses there while interactive work (an editor's question) runs, instead
// of sharing the cores with it for the rest of a long step.

type yieldKey struct{}

// WithYield returns ctx carrying yield, which blocks while the work should
// pause and fails only when ctx is done.
func WithYield(ctx context.Context, yield func(context.Context) error) context.Context {
	return context.WithValue(ctx, yieldKey{}, yield)
}

// Yield pauses when ctx carries a yield function that says so, and reports
// ctx's error: compute loops call it where they would check ctx.Err().
func Yield(ctx context.Context) error {
	if y, ok := ctx.Value(yieldKey{}).(func(context.Context) error); ok {
		if err := y(ctx); err != nil {
			return err
		}
	}
	return ctx.Err()
}
