// Package backend defines what a compute backend offers the model runtime.
//
// The model code (runtime/model) owns the network's structure; a backend owns
// where weights live and how the heavy products are computed. The CPU backend
// (runtime/backend/cpu) keeps weights in their quantized GGUF blocks and
// computes with integer dot products; a CUDA backend (build tag `cuda`) slots
// in behind the same interface.
package backend

import "github.com/cartlsp/cartlsp/runtime/gguf"

// Matrix is a frozen weight matrix W: [rows, cols] held by a backend.
type Matrix interface {
	Rows() int
	Cols() int
	Type() gguf.Type
	// MatMul computes y[n, rows] = x[n, cols] · Wᵀ.
	MatMul(y, x []float32, n int)
	// Row dequantizes row r into out[cols] (embedding lookup).
	Row(r int, out []float32)
}

// Backend loads weights and runs parallel work.
type Backend interface {
	// Name is a short human name ("cpu/avx512-vnni", "cuda/H100").
	Name() string
	// Threads is the number of workers the backend computes with.
	Threads() int
	// LoadMatrix prepares a [rows, cols] weight given as GGUF row-major blocks.
	LoadMatrix(typ gguf.Type, rows, cols int, raw []byte) (Matrix, error)
	// Parallel splits [0, n) into chunks run concurrently and waits for them.
	Parallel(n int, fn func(lo, hi int))
	// Close releases workers and device memory.
	Close() error
}
