package student

import "github.com/cartlsp/cartlsp/runtime/backend"

// arena hands out zeroed tensors for one call's activations. A model keeps
// the arena of its last call, so the steps of a training loop, which ask for
// the same tensors in the same order, allocate nothing after the first (a
// tensor with enough rows of the same width is reused as a view of its first
// rows) and the heap stays near the working set instead of the garbage
// collector's twice that. Tensors never leave the call that got them.
type arena struct {
	be   backend.Backend
	bufs []backend.Tensor
	next int
}

// get returns a zeroed [rows, cols] tensor.
func (a *arena) get(rows, cols int) backend.Tensor {
	if a.next < len(a.bufs) {
		if b := a.bufs[a.next]; b.Cols() == cols && b.Rows() >= rows {
			a.next++
			t := b.Slice(0, rows)
			a.be.Zero(t)
			return t
		}
	}
	b := a.be.NewTensor(rows, cols)
	if a.next < len(a.bufs) {
		a.bufs[a.next] = b
	} else {
		a.bufs = append(a.bufs, b)
	}
	a.next++
	return b.Slice(0, rows)
}

// acquire takes the model's spare arena (or a new one when another call
// holds it); release gives it back for the next call.
func (m *Model) acquire() *arena {
	if a := m.spare.Swap(nil); a != nil {
		a.next = 0
		return a
	}
	return &arena{be: m.be}
}

func (m *Model) release(a *arena) { m.spare.Store(a) }

// FreeBuffers drops the buffers the model keeps from its last call (about
// the activations of one training step); the next call allocates afresh.
func (m *Model) FreeBuffers() { m.spare.Store(nil) }

// bytes is the memory the arena holds, at 4 bytes an element.
func (a *arena) bytes() int64 {
	var n int64
	for _, b := range a.bufs {
		n += int64(b.Rows()) * int64(b.Cols()) * 4
	}
	return n
}
