package model_test

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
)

// TestConfigOutOfRange: hyperparameters a forward pass cannot use (which
// made every logit NaN and the model answer nothing) are refused at load,
// naming the key.
func TestConfigOutOfRange(t *testing.T) {
	for _, c := range []struct {
		key  string
		v    float32
		want string
	}{
		{"llama.rope.freq_base", float32(math.NaN()), "rope.freq_base = NaN"},
		{"llama.rope.freq_base", float32(math.Inf(1)), "rope.freq_base = +Inf"},
		{"llama.rope.freq_base", 0, "rope.freq_base = 0"},
		{"llama.attention.layer_norm_rms_epsilon", float32(math.NaN()), "layer_norm_rms_epsilon = NaN"},
		{"llama.attention.layer_norm_rms_epsilon", -1, "layer_norm_rms_epsilon = -1"},
	} {
		w, err := modeltest.Build(modeltest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		w.AddKV(c.key, gguf.F32(c.v))
		path := filepath.Join(t.TempDir(), "m.gguf")
		if err := w.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		be := cpu.NewBackend(1)
		_, err = model.New(f, be)
		be.Close()
		f.Close()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s = %v: %v, want an error saying %q", c.key, c.v, err, c.want)
		}
	}
}
