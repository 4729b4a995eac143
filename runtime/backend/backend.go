// Package backend is the contract between the network code (runtime/model,
// runtime/student) and the hardware that runs it: tensors owned by a backend
// and the operations on them, in the manner of ggml's backends or ollama's ml
// package. The network code says what to compute, layer by layer; a backend
// says where the numbers live and how each operation is computed. Between
// operations activations stay in the backend's memory: the network code reads
// numbers back only where it needs them on the host (logits, a trained
// prefix's gradient).
//
// Two backends implement the contract:
//
//   - runtime/backend/cpu, the fast one: quantized weights kept in their GGUF
//     blocks and multiplied with llama.cpp's numerics bit for bit, SIMD kernels
//     in Go assembly with a plain Go twin each, a persistent worker pool;
//   - runtime/backend/ref, the reference: every operation written once as the
//     plain loops of its definition, generic over float32 and float64. It is
//     what the fast backend is tested against (runtime/backend/backendtest)
//     and, in float64, what the gradient checks of the student run on.
//
// # Plugging in another backend
//
// A backend (a GPU one, say) implements Backend and Tensor for its own memory.
// Nothing else changes: model.New and student.New take any Backend. To be
// accepted it must pass backendtest.Conformance, which runs every operation
// on random data against the reference backend in float64 and checks the
// results agree to float32 accuracy; llama.cpp parity (bit-exact logits) is a
// property of the CPU backend, checked by runtime/model's parity tests, and a
// device backend may instead match to a tolerance. docs/ARCHITECTURE.md
// describes the contract in the project's own words.
//
// # Conventions
//
// Every tensor is a row-major matrix [Rows, Cols]: an activation [tokens,
// features], a weight [out, in], a cache [positions, KVHeads·HeadDim].
// Slice(lo, hi) is a view of rows lo..hi−1 sharing memory, which is how a
// cache is appended to and how one sequence's rows of a batch are addressed.
// Operations check nothing on the hot path beyond what a panic would catch:
// the callers (model, student) validate shapes before the first operation.
// Operations on one backend may be called from several goroutines at once;
// tensors are not safe for concurrent writes.
package backend

import "github.com/cartlsp/cartlsp/runtime/gguf"

// Tensor is a matrix of numbers held by a backend.
type Tensor interface {
	Rows() int
	Cols() int
	// Type is the element encoding: gguf.TypeF32 (or TypeF64 on the
	// reference backend) for activations, a GGUF type for a loaded weight.
	Type() gguf.Type
	// Slice is rows lo..hi−1 of the tensor, sharing its memory.
	Slice(lo, hi int) Tensor
}

// InPlace is implemented by loaded weights that may read their GGUF bytes
// where they lie (in a mapped model file) instead of holding a copy.
type InPlace interface {
	InPlace() bool
}

// TableLoader is implemented by backends that can hold a weight only GetRows
// reads (an embedding table the output matrix does not share) more cheaply
// than LoadWeight's layout for the matrix kernels: the CPU backend reads its
// GGUF blocks where they lie (InPlace reports true) and dequantizes the rows
// asked for, so only those rows' pages of a mapped file become resident.
// A table is never a MatMul operand.
type TableLoader interface {
	LoadTable(typ gguf.Type, rows, cols int, raw []byte) (Tensor, error)
}

// AttnShape is the geometry of multi-head attention with grouped KV heads:
// query head h reads KV head h/(Heads/KVHeads).
type AttnShape struct {
	Heads, KVHeads, HeadDim int
}

// RopeShape says how RoPE rotates the heads of a [tokens, heads·HeadDim]
// tensor: the first Dims dimensions of each head, in pairs (2i, 2i+1) when
// Half is false (llama.cpp's NORM layout) or (i, i+Dims/2) when true (NEOX).
type RopeShape struct {
	Heads, HeadDim, Dims int
	Half                 bool
}

// Target is a teacher's distribution at one row of logits: the loss is
// −Σ_k e^LogProbs[k] · log softmax(z)[IDs[k]].
type Target struct {
	IDs      []int
	LogProbs []float32
}

// Backend owns tensors and computes on them.
type Backend interface {
	// Name is a short human name ("cpu/avx512-vnni", "ref/f64").
	Name() string
	// Threads is the number of host threads the backend computes with.
	Threads() int
	// Close releases workers and device memory; tensors are invalid after.
	Close() error

	// ---- Memory.

	// LoadWeight prepares a frozen [rows, cols] weight from GGUF row-major
	// blocks of type typ. A backend may read raw in place (the weight then
	// implements InPlace and reports true): the caller keeps raw valid and
	// unchanged while the weight is in use. Otherwise raw is not retained.
	LoadWeight(typ gguf.Type, rows, cols int, raw []byte) (Tensor, error)
	// TrainWeight is a frozen float weight [rows, cols] of the student,
	// used by MatMul, MatMulBack, GetRows and Download only. The backend chooses its
	// storage: data itself as float32, or bf16 for a matrix unit (Type then
	// says TypeBF16, and data is not retained).
	TrainWeight(rows, cols int, data []float32) Tensor
	// NewTensor is a zeroed [rows, cols] activation.
	NewTensor(rows, cols int) Tensor
	// NewCache is a zeroed [rows, cols] tensor for a KV cache's keys or
	// values, in the backend's cache precision (binary16 on the CPU
	// backend; Type says which). Copy and Upload into it round to that
	// precision, Download widens; Attention reads it. Callers round keys and
	// values with RoundF16 first, so every backend holds the same numbers.
	NewCache(rows, cols int) Tensor
	// FromHost is a [rows, cols] tensor holding data (len rows·cols); the
	// backend may keep data as its memory, so the caller must not change it
	// while the tensor is in use.
	FromHost(rows, cols int, data []float32) Tensor
	// Upload copies src (len Rows·Cols) into dst; Download copies src out.
	Upload(dst Tensor, src []float32)
	Download(dst []float32, src Tensor)
	// Copy copies src into dst (same shape); Zero clears t.
	Copy(dst, src Tensor)
	Zero(t Tensor)

	// ---- Forward operations (an inference step, and the student's forward).

	// GetRows sets dst[i] = table[ids[i]]: an embedding lookup (table a
	// weight, dequantized) or a gather of activation rows.
	GetRows(dst, table Tensor, ids []int)
	// MatMul sets dst[n, w.Rows] = x[n, w.Cols] · wᵀ. For a quantized weight
	// the CPU backend first quantizes each row of x as llama.cpp does.
	MatMul(dst, x, w Tensor)
	// Add sets dst += x (same shape); AddRow adds the row b [1, Cols] to
	// every row of dst (a bias).
	Add(dst, x Tensor)
	AddRow(dst, b Tensor)
	// RMSNorm sets dst[t] = x[t]·r[t]·w, r[t] = 1/√(mean(x[t]²)+eps) with
	// llama.cpp's rounding (squares summed in float64, the mean rounded to
	// float32); when rstd [n, 1] is not nil it receives r for the backward.
	RMSNorm(dst, rstd, x, w Tensor, eps float32)
	// RoPE rotates x in place by the angles cs [n, Dims/2·2] (cos, sin pairs,
	// one row per row of x); inverse rotates by −θ (the backward).
	RoPE(x, cs Tensor, s RopeShape, inverse bool)
	// SwiGLU sets dst = silu(g)·u elementwise (dst may be g).
	SwiGLU(dst, g, u Tensor)
	// RoundF16 rounds every element to the nearest binary16 value (an F16
	// KV cache's storage).
	RoundF16(x Tensor)
	// Attention is causal attention over a KV cache: query row i of q
	// [n, Heads·hd] (at position pos0+i) attends to rows 0..pos0+i of k and
	// v [≥ pos0+n, KVHeads·hd] (cache tensors from NewCache, or
	// activations), and out [n, Heads·hd] receives softmax(q·kᵀ/√hd)·v. A
	// backend may round q and the softmax weights to f16 on the way, as
	// llama.cpp does with an F16 cache (the CPU backend's exact mode);
	// batched tells that the step holds more than one token, which selects
	// llama.cpp's summation order there.
	Attention(out, q, k, v Tensor, s AttnShape, pos0 int, batched bool)

	// ---- The student: attention over a trainable prefix, backward passes,
	// losses.

	// PrefixAttention is causal attention over [prefix ‖ own tokens] for
	// the sequences of a flattened batch: sequence b owns rows
	// off[b]..off[b+1]−1 of q [N, Heads·hd], k and v [N, KVHeads·hd] (q and
	// k rotated); the prefix kp, vp are [KVHeads·P, hd] (head-major, keys
	// rotated for positions 0..P−1). It writes att [N, Heads·hd] and the
	// log-sum-exp of every softmax row into lse [N, Heads].
	PrefixAttention(att, lse, q, k, v, kp, vp Tensor, s AttnShape, off []int)
	// PrefixAttentionBack adds the prefix gradients into dkp, dvp
	// [KVHeads·P, hd] and, when dq is not nil, writes dq, dk, dv, all from
	// datt; the softmax weights are recomputed from lse.
	PrefixAttentionBack(dkp, dvp, dq, dk, dv, datt, lse, q, k, v, kp, vp Tensor, s AttnShape, off []int)
	// MatMulBack sets (acc: adds to) dx[n, w.Cols] = dy[n, w.Rows] · w,
	// the input gradient of MatMul; w must be a float weight (FromHost or
	// TrainWeight).
	MatMulBack(dx, dy, w Tensor, acc bool)
	// RMSNormBack adds to dx the gradient through RMSNorm from dy, given the
	// forward's input x and its rstd.
	RMSNormBack(dx, dy, x, rstd, w Tensor)
	// SwiGLUBack writes dg and du from da, given the forward's g and u.
	SwiGLUBack(dg, du, da, g, u Tensor)
	// DistillLoss takes logits z [m, V] and one target per row, returns
	// each row's loss (log-softmax over the full vocabulary, then the
	// target's cross-entropy); z is scratch, and holds the gradient of
	// scale·loss afterwards when grad is set.
	DistillLoss(z Tensor, targets []Target, scale float64, grad bool) []float64
	// TopK returns, for each row of logits [m, V], the k most likely ids in
	// descending order with their log-probabilities (log-softmax over the
	// full vocabulary): ids and lp are [m·k].
	TopK(logits Tensor, k int) (ids []int, lp []float32)
}
