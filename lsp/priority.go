package lsp

import (
	"context"
	"sync"
	"time"
)

// maxHold bounds how long one yield of the training waits, so that a
// stream of editor requests cannot starve it.
const maxHold = 30 * time.Second

// priority lets an editor's requests go before the background training:
// while one decodes, the training waits at its next step (a synthesis
// decoding step or an optimiser step). The two share the CPU otherwise.
type priority struct {
	mu     sync.Mutex
	active int
	free   chan struct{} // closed when active falls to 0
}

// hold marks a request decoding until release is called.
func (p *priority) hold() (release func()) {
	p.mu.Lock()
	if p.active == 0 {
		p.free = make(chan struct{})
	}
	p.active++
	p.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			p.active--
			if p.active == 0 {
				close(p.free)
			}
			p.mu.Unlock()
		})
	}
}

// yield waits while requests decode (at most maxHold); it fails only when
// ctx is done.
func (p *priority) yield(ctx context.Context) error {
	p.mu.Lock()
	if p.active == 0 {
		p.mu.Unlock()
		return ctx.Err()
	}
	free := p.free
	p.mu.Unlock()
	t := time.NewTimer(maxHold)
	defer t.Stop()
	select {
	case <-free:
	case <-t.C:
	case <-ctx.Done():
	}
	return ctx.Err()
}
