package modeltest

import (
	"fmt"

	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// RequantK writes the model at src to dst with its K-quant tensors (Q4_K,
// Q5_K, Q6_K) dequantized and re-encoded as Q8_0 and everything else copied
// unchanged (scripts/requant; the parity test's exact-order variant of a
// K-quant model). The Q8_0 bytes are those llama.cpp's quantizer writes.
func RequantK(src, dst string) error {
	f, err := gguf.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	w := gguf.NewWriter(f.Alignment)
	for _, kv := range f.KV {
		w.AddKV(kv.Key, kv.Value)
	}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		data, typ := f.TensorData(t), t.Type
		switch typ {
		case gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K:
			fl := make([]float32, t.Elems())
			if err := gguf.Dequantize(typ, data, fl); err != nil {
				return fmt.Errorf("%s: %w", t.Name, err)
			}
			if data, err = gguf.Quantize(gguf.TypeQ8_0, fl); err != nil {
				return fmt.Errorf("%s: %w", t.Name, err)
			}
			typ = gguf.TypeQ8_0
		}
		if err := w.AddTensor(t.Name, typ, t.Dims, data); err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
	}
	return w.WriteFile(dst)
}
