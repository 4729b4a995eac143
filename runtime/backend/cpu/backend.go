package cpu

import (
	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// Backend is the CPU compute backend: weights kept in their quantized blocks,
// products by the SIMD kernels this CPU supports, work split over a Pool.
type Backend struct {
	pool *Pool
}

var _ backend.Backend = (*Backend)(nil)

// NewBackend starts a CPU backend with the given number of threads.
func NewBackend(threads int) *Backend { return &Backend{pool: NewPool(threads)} }

// Name is "cpu/<kernel level>".
func (b *Backend) Name() string { return "cpu/" + Features() }

// Threads is the number of worker threads.
func (b *Backend) Threads() int { return b.pool.Threads() }

// Pool is the backend's worker pool.
func (b *Backend) Pool() *Pool { return b.pool }

// LoadMatrix repacks a GGUF weight for the kernels.
func (b *Backend) LoadMatrix(typ gguf.Type, rows, cols int, raw []byte) (backend.Matrix, error) {
	w, err := NewWeight(typ, rows, cols, raw)
	if err != nil {
		return nil, err
	}
	return &matrix{w: w, pool: b.pool}, nil
}

// Parallel runs fn over chunks of [0, n) on the pool.
func (b *Backend) Parallel(n int, fn func(lo, hi int)) { b.pool.Run(n, fn) }

// Close stops the workers.
func (b *Backend) Close() error {
	b.pool.Close()
	return nil
}

// matrix binds a Weight to the pool it computes on.
type matrix struct {
	w    *Weight
	pool *Pool
}

func (m *matrix) Rows() int                    { return m.w.Rows() }
func (m *matrix) Cols() int                    { return m.w.Cols() }
func (m *matrix) Type() gguf.Type              { return m.w.Type() }
func (m *matrix) MatMul(y, x []float32, n int) { m.w.MatMul(m.pool, y, x, n) }
func (m *matrix) Row(r int, out []float32)     { m.w.Row(r, out) }
