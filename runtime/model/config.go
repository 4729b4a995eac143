// Package model runs decoder-only transformer language models (Llama family)
// read from GGUF files: weights, forward pass, KV cache.
package model

import (
	"fmt"
	"math"

	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// RopeLayout says which pairs of a head's dimensions RoPE rotates.
type RopeLayout string

const (
	// RopeAdjacent rotates (x[2i], x[2i+1]): llama.cpp's NORM type, used for
	// GGUF Llama models whose Q/K rows the converter permuted.
	RopeAdjacent RopeLayout = "adjacent"
	// RopeHalf rotates (x[i], x[i+d/2]): llama.cpp's NEOX type (Qwen2, and
	// Llama weights read from Hugging Face checkpoints).
	RopeHalf RopeLayout = "half"
)

// Config holds a model's architecture numbers, all read from file metadata.
type Config struct {
	Arch       string
	NLayers    int     // transformer blocks
	Dim        int     // hidden size
	Heads      int     // query heads
	KVHeads    int     // key/value heads (GQA when < Heads)
	HeadDim    int     // Dim / Heads
	FFN        int     // SwiGLU inner size
	Vocab      int     // output rows
	ContextLen int     // trained context window
	NormEps    float32 // RMSNorm epsilon
	RopeBase   float32 // RoPE theta
	RopeDims   int     // rotated dims per head (usually HeadDim)
	Rope       RopeLayout
	QKVBias    bool // attention projections carry biases (Qwen2)
}

// KVDim is the width of one token's keys (or values) in one layer.
func (c Config) KVDim() int { return c.KVHeads * c.HeadDim }

// supportedArch lists the architectures this runtime runs, with their RoPE layout.
var supportedArch = map[string]RopeLayout{
	"llama": RopeAdjacent,
	"qwen2": RopeHalf,
}

// ConfigFromGGUF reads the architecture numbers of f.
func ConfigFromGGUF(f *gguf.File) (Config, error) {
	arch := f.Architecture()
	rope, ok := supportedArch[arch]
	if !ok {
		return Config{}, fmt.Errorf("model: architecture %q is not supported (supported: llama, qwen2)", arch)
	}
	c := Config{Arch: arch, Rope: rope}
	need := func(key string) (int, error) {
		v, ok := f.ArchUint(key)
		if !ok {
			return 0, fmt.Errorf("model: metadata %s.%s is missing", arch, key)
		}
		if v == 0 || v > 1<<24 {
			return 0, fmt.Errorf("model: metadata %s.%s = %d is out of range", arch, key, v)
		}
		return int(v), nil
	}
	var err error
	if c.NLayers, err = need("block_count"); err != nil {
		return c, err
	}
	if c.Dim, err = need("embedding_length"); err != nil {
		return c, err
	}
	if c.FFN, err = need("feed_forward_length"); err != nil {
		return c, err
	}
	if c.Heads, err = need("attention.head_count"); err != nil {
		return c, err
	}
	c.KVHeads = c.Heads
	if v, ok := f.ArchUint("attention.head_count_kv"); ok {
		c.KVHeads = int(v)
	}
	if c.ContextLen, err = need("context_length"); err != nil {
		return c, err
	}
	if c.Dim%c.Heads != 0 {
		return c, fmt.Errorf("model: embedding length %d is not a multiple of %d heads", c.Dim, c.Heads)
	}
	c.HeadDim = c.Dim / c.Heads
	if v, ok := f.ArchUint("attention.key_length"); ok && int(v) != c.HeadDim {
		return c, fmt.Errorf("model: key length %d differs from embedding/heads %d: not supported", v, c.HeadDim)
	}
	if c.KVHeads == 0 || c.Heads%c.KVHeads != 0 {
		return c, fmt.Errorf("model: %d query heads cannot share %d key/value heads", c.Heads, c.KVHeads)
	}
	eps, ok := f.ArchFloat("attention.layer_norm_rms_epsilon")
	if !ok {
		return c, fmt.Errorf("model: metadata %s.attention.layer_norm_rms_epsilon is missing", arch)
	}
	c.NormEps = float32(eps)
	c.RopeBase = 10000
	if v, ok := f.ArchFloat("rope.freq_base"); ok {
		c.RopeBase = float32(v)
	}
	// Numbers a forward pass divides by or raises to powers: out of range,
	// they make every logit NaN and the model answer nothing.
	if e := float64(c.NormEps); math.IsNaN(e) || e <= 0 || e > 1e-1 {
		return c, fmt.Errorf("model: metadata %s.attention.layer_norm_rms_epsilon = %v is out of range (0, 0.1]: the model file is damaged", arch, eps)
	}
	if b := float64(c.RopeBase); math.IsNaN(b) || math.IsInf(b, 0) || b <= 1 || b > 1e9 {
		return c, fmt.Errorf("model: metadata %s.rope.freq_base = %v is out of range (1, 1e9]: the model file is damaged", arch, c.RopeBase)
	}
	c.RopeDims = c.HeadDim
	if v, ok := f.ArchUint("rope.dimension_count"); ok {
		c.RopeDims = int(v)
	}
	if c.RopeDims > c.HeadDim || c.RopeDims%2 != 0 {
		return c, fmt.Errorf("model: rope dimension count %d does not fit head dim %d", c.RopeDims, c.HeadDim)
	}
	emb, ok := f.Tensor("token_embd.weight")
	if !ok {
		return c, fmt.Errorf("model: tensor token_embd.weight is missing")
	}
	if len(emb.Dims) != 2 || int(emb.Dims[0]) != c.Dim {
		return c, fmt.Errorf("model: token_embd.weight has shape %v, want [%d, vocab]", emb.Dims, c.Dim)
	}
	c.Vocab = int(emb.Dims[1])
	_, c.QKVBias = f.Tensor("blk.0.attn_q.bias")
	return c, nil
}
