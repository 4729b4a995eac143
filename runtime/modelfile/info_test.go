package modelfile_test

import (
	"path/filepath"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
	"github.com/cartlsp/cartlsp/runtime/modelfile"
)

func TestDescribe(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tiny.gguf")
	o := modeltest.Tiny
	o.Matrix = gguf.TypeQ8_0
	if err := modeltest.Write(p, o); err != nil {
		t.Fatal(err)
	}
	in, err := modelfile.Describe(p)
	if err != nil {
		t.Fatal(err)
	}
	c := in.Config
	if in.ConfigErr != nil || c.Arch != "llama" || c.NLayers != o.Layers || c.Dim != o.Dim || c.KVHeads != o.KVHeads || c.Vocab != o.Vocab {
		t.Fatalf("config %+v (%v)", c, in.ConfigErr)
	}
	if want := int64(2 * 2 * o.Layers * o.KVHeads * (o.Dim / o.Heads)); in.KVBytesToken != want {
		t.Errorf("KV bytes per token %d, want %d", in.KVBytesToken, want)
	}
	n := 0
	for _, tc := range in.TensorTypes {
		n += tc.Count
	}
	if n != in.Tensors || n == 0 || in.TensorTypes[0].Count < in.TensorTypes[len(in.TensorTypes)-1].Count {
		t.Errorf("tensor types %+v, %d tensors", in.TensorTypes, in.Tensors)
	}
	if in.AttnType != "Q8_0" || in.Size == 0 || in.Catalog != nil {
		t.Errorf("attention %s, size %d, catalog %v", in.AttnType, in.Size, in.Catalog)
	}
	if _, err := modelfile.Describe(filepath.Join(t.TempDir(), "none.gguf")); err == nil {
		t.Error("a missing file must fail")
	}
}
