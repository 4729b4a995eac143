package student

import "unsafe"

// arena hands out zeroed buffers for one call's activations and scratch. A
// net keeps the arena of its last call, so the steps of a training loop,
// which ask for the same buffers in the same order, allocate nothing after
// the first and the heap stays near the working set instead of the garbage
// collector's twice that. Buffers never leave the call that got them.
type arena[T Float] struct {
	bufs [][]T
	next int
}

// get returns a zeroed buffer of n elements.
func (a *arena[T]) get(n int) []T {
	if a.next < len(a.bufs) && cap(a.bufs[a.next]) >= n {
		b := a.bufs[a.next][:n]
		clear(b)
		a.next++
		return b
	}
	b := make([]T, n)
	if a.next < len(a.bufs) {
		a.bufs[a.next] = b
	} else {
		a.bufs = append(a.bufs, b)
	}
	a.next++
	return b
}

// acquire takes the net's spare arena (or a new one when another call holds
// it); release gives it back for the next call.
func (n *net[T]) acquire() *arena[T] {
	if a := n.spare.Swap(nil); a != nil {
		a.next = 0
		return a
	}
	return new(arena[T])
}

func (n *net[T]) release(a *arena[T]) { n.spare.Store(a) }

// FreeBuffers drops the buffers the model keeps from its last call (about
// the activations of one training step); the next call allocates afresh.
func (m *Model) FreeBuffers() { m.net.spare.Store(nil) }

// bytes is the memory the arena holds.
func (a *arena[T]) bytes() int64 {
	var n int64
	for _, b := range a.bufs {
		n += int64(cap(b))
	}
	var z T
	return n * int64(unsafe.Sizeof(z))
}
