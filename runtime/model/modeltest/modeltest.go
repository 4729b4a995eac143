// Package modeltest makes tiny random models as GGUF files for tests: the
// same file format, metadata and tensor names as a real model, a few
// thousand parameters, seeded so every run sees the same weights.
package modeltest

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// Options describe a tiny model. Zero fields take the defaults of Tiny.
type Options struct {
	Arch    string // "llama" (adjacent RoPE) or "qwen2" (half RoPE, QKV biases)
	Layers  int
	Dim     int
	Heads   int
	KVHeads int
	FFN     int
	Vocab   int
	Context int
	Matrix  gguf.Type // type of the projection matrices (F32, F16, Q8_0, Q4_0, Q4_1, …)
	Embed   gguf.Type // type of the embedding (tied output)
	Seed    uint64
	// NaN names a tensor filled with NaN instead (tests of numerical
	// faults).
	NaN string
}

// Tiny is a small Llama: 2 layers, hidden 64, 4 heads / 2 KV heads, FFN 96,
// vocabulary 96, all F32.
var Tiny = Options{Arch: "llama", Layers: 2, Dim: 64, Heads: 4, KVHeads: 2, FFN: 96, Vocab: 96, Context: 256,
	Matrix: gguf.TypeF32, Embed: gguf.TypeF32, Seed: 1}

func (o Options) withDefaults() Options {
	d := Tiny
	if o.Arch != "" {
		d.Arch = o.Arch
	}
	if o.Layers != 0 {
		d.Layers = o.Layers
	}
	if o.Dim != 0 {
		d.Dim = o.Dim
	}
	if o.Heads != 0 {
		d.Heads = o.Heads
	}
	if o.KVHeads != 0 {
		d.KVHeads = o.KVHeads
	}
	if o.FFN != 0 {
		d.FFN = o.FFN
	}
	if o.Vocab != 0 {
		d.Vocab = o.Vocab
	}
	if o.Context != 0 {
		d.Context = o.Context
	}
	if o.Matrix != 0 {
		d.Matrix = o.Matrix
	}
	if o.Embed != 0 {
		d.Embed = o.Embed
	}
	if o.Seed != 0 {
		d.Seed = o.Seed
	}
	d.NaN = o.NaN
	return d
}

// Build returns the GGUF writer of a tiny random model.
func Build(o Options) (*gguf.Writer, error) {
	o = o.withDefaults()
	rng := rand.New(rand.NewPCG(o.Seed, 7))
	w := gguf.NewWriter(0)
	a := o.Arch
	w.AddKV("general.architecture", gguf.String(a))
	w.AddKV("general.name", gguf.String("tiny-random-"+a))
	w.AddKV(a+".block_count", gguf.U32(uint32(o.Layers)))
	w.AddKV(a+".embedding_length", gguf.U32(uint32(o.Dim)))
	w.AddKV(a+".feed_forward_length", gguf.U32(uint32(o.FFN)))
	w.AddKV(a+".attention.head_count", gguf.U32(uint32(o.Heads)))
	w.AddKV(a+".attention.head_count_kv", gguf.U32(uint32(o.KVHeads)))
	w.AddKV(a+".context_length", gguf.U32(uint32(o.Context)))
	w.AddKV(a+".attention.layer_norm_rms_epsilon", gguf.F32(1e-5))
	w.AddKV(a+".rope.freq_base", gguf.F32(10000))

	hd := o.Dim / o.Heads
	kv := o.KVHeads * hd
	// normal returns n values ~ N(0, std²).
	normal := func(n int, std float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * std)
		}
		return v
	}
	add := func(name string, typ gguf.Type, dims []uint64, vals []float32) error {
		if name == o.NaN {
			for i := range vals {
				vals[i] = float32(math.NaN())
			}
		}
		data, err := gguf.Quantize(typ, vals)
		if err != nil {
			return fmt.Errorf("modeltest: %s: %w", name, err)
		}
		return w.AddTensor(name, typ, dims, data)
	}
	// Matrices [rows, cols] are stored with dims [cols, rows].
	mat := func(name string, rows, cols int) error {
		return add(name, o.Matrix, []uint64{uint64(cols), uint64(rows)}, normal(rows*cols, 1/float64(cols)*2))
	}
	norm := func(name string, n int) error {
		v := normal(n, 0.1)
		for i := range v {
			v[i] += 1
		}
		return add(name, gguf.TypeF32, []uint64{uint64(n)}, v)
	}
	if err := add("token_embd.weight", o.Embed, []uint64{uint64(o.Dim), uint64(o.Vocab)}, normal(o.Vocab*o.Dim, 1)); err != nil {
		return nil, err
	}
	if err := norm("output_norm.weight", o.Dim); err != nil {
		return nil, err
	}
	for l := 0; l < o.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		steps := []error{
			norm(p+"attn_norm.weight", o.Dim),
			mat(p+"attn_q.weight", o.Dim, o.Dim),
			mat(p+"attn_k.weight", kv, o.Dim),
			mat(p+"attn_v.weight", kv, o.Dim),
			mat(p+"attn_output.weight", o.Dim, o.Dim),
			norm(p+"ffn_norm.weight", o.Dim),
			mat(p+"ffn_gate.weight", o.FFN, o.Dim),
			mat(p+"ffn_up.weight", o.FFN, o.Dim),
			mat(p+"ffn_down.weight", o.Dim, o.FFN),
		}
		if a == "qwen2" {
			steps = append(steps,
				add(p+"attn_q.bias", gguf.TypeF32, []uint64{uint64(o.Dim)}, normal(o.Dim, 0.1)),
				add(p+"attn_k.bias", gguf.TypeF32, []uint64{uint64(kv)}, normal(kv, 0.1)),
				add(p+"attn_v.bias", gguf.TypeF32, []uint64{uint64(kv)}, normal(kv, 0.1)))
		}
		for _, err := range steps {
			if err != nil {
				return nil, err
			}
		}
	}
	return w, nil
}

// Write writes a tiny random model to path.
func Write(path string, o Options) error {
	w, err := Build(o)
	if err != nil {
		return err
	}
	return w.WriteFile(path)
}
