package model

import "context"

// Trace observes a forward pass, the way net/http/httptrace observes a
// request: a tool that studies what the model attends to (the Cartridge
// initialisation that picks the corpus tokens attended to most,
// student.InitSelected) sets it on the context it passes to Forward. A
// forward pass without one pays nothing.
type Trace struct {
	// Queries, when set, is called in every layer of every step with the
	// step's queries after RoPE (unscaled), q: [len(pos), Heads·HeadDim],
	// row t being position pos[t] of sequence seq[t]. q is the callee's to
	// keep; it is called after the step's keys are in the cache.
	Queries func(layer int, seq, pos []int, q []float32)
}

type traceKey struct{}

// WithTrace returns a context whose forward passes report to tr.
func WithTrace(ctx context.Context, tr *Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, tr)
}

func traceFrom(ctx context.Context) *Trace {
	tr, _ := ctx.Value(traceKey{}).(*Trace)
	if tr == nil || tr.Queries == nil {
		return nil
	}
	return tr
}
