package model

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// Layer holds one transformer block's frozen weights, all backend tensors.
type Layer struct {
	AttnNorm backend.Tensor // [1, Dim]
	Wq       backend.Tensor // [Dim, Dim]
	Wk       backend.Tensor // [KVDim, Dim]
	Wv       backend.Tensor // [KVDim, Dim]
	Wo       backend.Tensor // [Dim, Dim]
	Bq       backend.Tensor // [1, Dim] or nil
	Bk       backend.Tensor // [1, KVDim] or nil
	Bv       backend.Tensor // [1, KVDim] or nil
	FFNNorm  backend.Tensor // [1, Dim]
	Wgate    backend.Tensor // [FFN, Dim]
	Wup      backend.Tensor // [FFN, Dim]
	Wdown    backend.Tensor // [Dim, FFN]
}

// Model is a loaded, frozen language model.
type Model struct {
	Config
	Layers  []Layer
	Embed   backend.Tensor // [Vocab, Dim]
	OutNorm backend.Tensor // [1, Dim]
	Output  backend.Tensor // [Vocab, Dim]; the embedding when tied
	Backend backend.Backend
	File    *gguf.File
	inPlace map[string]bool // tensors whose weights read the file's bytes in place
	fpOnce  sync.Once
	fp      string
}

// New builds a model from an open GGUF file, loading every weight into be.
// The file must stay open while the model is in use.
func New(f *gguf.File, be backend.Backend) (*Model, error) {
	cfg, err := ConfigFromGGUF(f)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, Backend: be, File: f, inPlace: map[string]bool{}}
	// An embedding the output does not share is only looked up: a backend
	// that can keep such a table cheaply (backend.TableLoader) gets it as one.
	_, untied := f.Tensor("output.weight")
	if m.Embed, err = loadMatrix(f, be, "token_embd.weight", cfg.Vocab, cfg.Dim, untied, m.inPlace); err != nil {
		return nil, err
	}
	if m.OutNorm, err = loadVector(f, be, "output_norm.weight", cfg.Dim); err != nil {
		return nil, err
	}
	if untied {
		if m.Output, err = loadMatrix(f, be, "output.weight", cfg.Vocab, cfg.Dim, false, m.inPlace); err != nil {
			return nil, err
		}
	} else {
		m.Output = m.Embed
	}
	kv := cfg.KVDim()
	m.Layers = make([]Layer, cfg.NLayers)
	for i := range m.Layers {
		l := &m.Layers[i]
		p := fmt.Sprintf("blk.%d.", i)
		mats := []struct {
			dst        *backend.Tensor
			name       string
			rows, cols int
		}{
			{&l.Wq, "attn_q.weight", cfg.Dim, cfg.Dim},
			{&l.Wk, "attn_k.weight", kv, cfg.Dim},
			{&l.Wv, "attn_v.weight", kv, cfg.Dim},
			{&l.Wo, "attn_output.weight", cfg.Dim, cfg.Dim},
			{&l.Wgate, "ffn_gate.weight", cfg.FFN, cfg.Dim},
			{&l.Wup, "ffn_up.weight", cfg.FFN, cfg.Dim},
			{&l.Wdown, "ffn_down.weight", cfg.Dim, cfg.FFN},
		}
		for _, mt := range mats {
			if *mt.dst, err = loadMatrix(f, be, p+mt.name, mt.rows, mt.cols, false, m.inPlace); err != nil {
				return nil, err
			}
		}
		if l.AttnNorm, err = loadVector(f, be, p+"attn_norm.weight", cfg.Dim); err != nil {
			return nil, err
		}
		if l.FFNNorm, err = loadVector(f, be, p+"ffn_norm.weight", cfg.Dim); err != nil {
			return nil, err
		}
		if cfg.QKVBias {
			if l.Bq, err = loadVector(f, be, p+"attn_q.bias", cfg.Dim); err != nil {
				return nil, err
			}
			if l.Bk, err = loadVector(f, be, p+"attn_k.bias", kv); err != nil {
				return nil, err
			}
			if l.Bv, err = loadVector(f, be, p+"attn_v.bias", kv); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// loadMatrix loads a weight (as a table when table is true and the backend
// keeps tables, backend.TableLoader) and notes in inPlaceSet whether it
// reads the file's bytes in place; the pages of one that does not are
// released.
func loadMatrix(f *gguf.File, be backend.Backend, name string, rows, cols int, table bool, inPlaceSet map[string]bool) (backend.Tensor, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("model: tensor %s is missing", name)
	}
	if len(t.Dims) != 2 || t.Dims[0] != uint64(cols) || t.Dims[1] != uint64(rows) {
		return nil, fmt.Errorf("model: tensor %s has shape %v, want [%d %d]", name, t.Dims, cols, rows)
	}
	load := be.LoadWeight
	if tl, ok := be.(backend.TableLoader); ok && table {
		load = tl.LoadTable
	}
	mat, err := load(t.Type, rows, cols, f.TensorData(t))
	if err != nil {
		return nil, fmt.Errorf("model: loading %s: %w", name, err)
	}
	if inPlace(mat) {
		inPlaceSet[name] = true
	} else {
		f.Release(t) // repacked: the file's pages need not stay resident
	}
	return mat, nil
}

func inPlace(w backend.Tensor) bool {
	ip, ok := w.(backend.InPlace)
	return ok && ip.InPlace()
}

// loadVector reads a norm weight or bias as a [1, n] tensor.
func loadVector(f *gguf.File, be backend.Backend, name string, n int) (backend.Tensor, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("model: tensor %s is missing", name)
	}
	if t.Elems() != uint64(n) {
		return nil, fmt.Errorf("model: tensor %s has %d elements, want %d", name, t.Elems(), n)
	}
	v, err := f.TensorFloat32(name)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	return be.FromHost(1, n, v), nil
}

// Fingerprint identifies the model: a SHA-256 over the architecture numbers
// and every tensor's name, type, shape and bytes. Cartridges record it so a
// Cartridge is never used with another model. Computed once, on first call.
func (m *Model) Fingerprint() string {
	m.fpOnce.Do(func() {
		h := sha256.New()
		fmt.Fprintf(h, "%s|%d|%d|%d|%d|%d|%d|%d|%g|%g|%d|%s|%v\n", m.Arch, m.NLayers, m.Dim, m.Heads, m.KVHeads,
			m.HeadDim, m.FFN, m.Vocab, m.NormEps, m.RopeBase, m.RopeDims, m.Rope, m.QKVBias)
		var buf [8]byte
		for i := range m.File.Tensors {
			t := &m.File.Tensors[i]
			fmt.Fprintf(h, "%s|%d|%v\n", t.Name, t.Type, t.Dims)
			binary.LittleEndian.PutUint64(buf[:], t.Size)
			h.Write(buf[:])
			h.Write(m.File.TensorData(t))
			if !m.inPlace[t.Name] {
				m.File.Release(t) // hashed; the weights do not read these pages
			}
		}
		m.fp = "sha256:" + hex.EncodeToString(h.Sum(nil))
	})
	return m.fp
}
