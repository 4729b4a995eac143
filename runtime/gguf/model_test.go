package gguf_test

import (
	"reflect"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
)

// TestRealModelFile reads a real model file, the small one
// (modeltest.SmallPath: $CARTLSP_SMALL_MODEL, else the pulled
// SmolLM2-135M-Instruct Q4_1).
func TestRealModelFile(t *testing.T) {
	f, err := gguf.Open(modeltest.SmallPath(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if a := f.Architecture(); a != "llama" {
		t.Fatalf("architecture %q", a)
	}
	if n, ok := f.ArchUint("block_count"); !ok || n != 30 {
		t.Errorf("block_count %d %v", n, ok)
	}
	if e, ok := f.ArchFloat("attention.layer_norm_rms_epsilon"); !ok || e < 1e-6 || e > 1e-4 {
		t.Errorf("rms eps %v %v", e, ok)
	}
	if toks, ok := f.Strings("tokenizer.ggml.tokens"); !ok || len(toks) != 49152 || toks[1] != "<|im_start|>" {
		t.Errorf("tokens: %d %v", len(toks), ok)
	}
	check := func(name string, typ gguf.Type, dims ...uint64) *gguf.TensorInfo {
		t.Helper()
		ti, ok := f.Tensor(name)
		if !ok {
			t.Fatalf("no tensor %s", name)
		}
		if ti.Type != typ || !reflect.DeepEqual(ti.Dims, dims) {
			t.Errorf("%s: %s %v, want %s %v", name, ti.Type, ti.Dims, typ, dims)
		}
		if len(f.TensorData(ti)) != int(ti.Size) {
			t.Errorf("%s: data length", name)
		}
		return ti
	}
	check("token_embd.weight", gguf.TypeQ8_0, 576, 49152)
	check("blk.0.attn_q.weight", gguf.TypeQ4_1, 576, 576)
	check("output_norm.weight", gguf.TypeF32, 576)
	x, err := f.TensorFloat32("output_norm.weight")
	if err != nil || len(x) != 576 {
		t.Fatalf("output_norm: %d %v", len(x), err)
	}
	q, err := f.TensorFloat32("blk.0.attn_k.weight")
	if err != nil || len(q) != 576*192 {
		t.Fatalf("attn_k: %d %v", len(q), err)
	}
	var sum float64
	for _, v := range q {
		sum += float64(v * v)
	}
	if sum == 0 || sum != sum {
		t.Errorf("attn_k sum of squares %v", sum)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if f.TensorData(&f.Tensors[0]) != nil {
		t.Error("TensorData after Close")
	}
}
