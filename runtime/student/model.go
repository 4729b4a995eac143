// Package student is the differentiable model a Cartridge is trained
// through: the frozen language model, its weights dequantized to float32,
// run forward over a trainable KV prefix (the Cartridge) and backward to that
// prefix. No weight gradient is ever computed or stored.
//
// The student sequences the layers; the backend (runtime/backend) computes
// each operation, forward and backward, on tensors it owns, so a training
// step runs with its activations in the backend's memory. On the CPU backend
// the large products are its float32 GEMM; on the reference backend in
// float64 (runtime/backend/ref) the same code is what the gradient checks
// run on.
//
// Shapes are written as in llm.c: N is the number of student tokens in a
// batch (all sequences flattened, sequence b owning rows off[b]..off[b+1]−1),
// D the hidden size, KV = KVHeads·HeadDim, F the SwiGLU inner size, V the
// vocabulary, P the prefix length. Student token t of a sequence sits at
// position P+t; the prefix keys are stored already rotated for positions
// 0..P−1.
package student

import (
	"fmt"
	"sync/atomic"

	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/model"
)

// Model is a frozen language model that can be differentiated with respect
// to a KV prefix. It is safe for concurrent use.
type Model struct {
	model.Config
	be    backend.Backend
	w     weights
	spare atomic.Pointer[arena] // buffers of the last call (arena.go)
}

// weights are a model's frozen parameters as float tensors of the backend;
// matrices [out, in].
type weights struct {
	embed   backend.Tensor // [V, D]
	output  backend.Tensor // [V, D]; the embedding when tied
	outNorm backend.Tensor // [1, D]
	layers  []layerWeights
}

type layerWeights struct {
	attnNorm   backend.Tensor // [1, D]
	wq, wo     backend.Tensor // [D, D]
	wk, wv     backend.Tensor // [KV, D]
	bq, bk, bv backend.Tensor // [1, D], [1, KV], [1, KV] or nil
	ffnNorm    backend.Tensor // [1, D]
	wg, wu     backend.Tensor // [F, D]
	wd         backend.Tensor // [D, F]
}

// New dequantizes every weight of f to float32 and hands them to be, which
// runs the products: the matrices as training weights (Backend.TrainWeight,
// which may keep them in bf16 for a matrix unit), the norms' gains and the
// biases as float32. About 4 bytes a parameter either way (2 GB for a 0.5B
// model). The file may be closed afterwards.
func New(f *gguf.File, be backend.Backend) (*Model, error) {
	cfg, err := model.ConfigFromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("student: %w", err)
	}
	D, KV, F, V := cfg.Dim, cfg.KVDim(), cfg.FFN, cfg.Vocab
	load := func(name string, rows, cols int) (backend.Tensor, error) {
		t, ok := f.Tensor(name)
		if !ok {
			return nil, fmt.Errorf("student: tensor %s is missing", name)
		}
		if t.Elems() != uint64(rows*cols) {
			return nil, fmt.Errorf("student: tensor %s has %d elements, want %d", name, t.Elems(), rows*cols)
		}
		v, err := f.TensorFloat32(name)
		if err != nil {
			return nil, fmt.Errorf("student: %w", err)
		}
		if rows == 1 {
			return be.FromHost(rows, cols, v), nil // a norm's gain or a bias
		}
		return be.TrainWeight(rows, cols, v), nil
	}
	var w weights
	if w.embed, err = load("token_embd.weight", V, D); err != nil {
		return nil, err
	}
	w.output = w.embed
	if _, ok := f.Tensor("output.weight"); ok {
		if w.output, err = load("output.weight", V, D); err != nil {
			return nil, err
		}
	}
	if w.outNorm, err = load("output_norm.weight", 1, D); err != nil {
		return nil, err
	}
	w.layers = make([]layerWeights, cfg.NLayers)
	for i := range w.layers {
		l := &w.layers[i]
		p := fmt.Sprintf("blk.%d.", i)
		type spec struct {
			dst        *backend.Tensor
			name       string
			rows, cols int
		}
		specs := []spec{
			{&l.attnNorm, "attn_norm.weight", 1, D},
			{&l.wq, "attn_q.weight", D, D},
			{&l.wk, "attn_k.weight", KV, D},
			{&l.wv, "attn_v.weight", KV, D},
			{&l.wo, "attn_output.weight", D, D},
			{&l.ffnNorm, "ffn_norm.weight", 1, D},
			{&l.wg, "ffn_gate.weight", F, D},
			{&l.wu, "ffn_up.weight", F, D},
			{&l.wd, "ffn_down.weight", D, F},
		}
		if cfg.QKVBias {
			specs = append(specs, spec{&l.bq, "attn_q.bias", 1, D}, spec{&l.bk, "attn_k.bias", 1, KV}, spec{&l.bv, "attn_v.bias", 1, KV})
		}
		for _, s := range specs {
			if *s.dst, err = load(p+s.name, s.rows, s.cols); err != nil {
				return nil, err
			}
		}
	}
	return &Model{Config: cfg, be: be, w: w}, nil
}

// Backend is the backend the student computes on.
func (m *Model) Backend() backend.Backend { return m.be }
