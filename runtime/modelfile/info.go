package modelfile

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/model"
)

// Info describes a model file from its GGUF metadata and tensor directory
// alone, so it works for files the runtime cannot run (yet).
type Info struct {
	Path string
	Size int64 // bytes of the file
	// Catalog is the catalog entry whose file this is (same file name and
	// size), or nil.
	Catalog *Spec

	// Config holds the architecture numbers, read from the metadata without
	// the runtime's checks (a zero field: absent). Rope is set only for
	// architectures the runtime knows.
	Config model.Config
	// ConfigErr is why the runtime would refuse the metadata, or nil.
	ConfigErr error

	Name         string // general.name, when present
	FileType     int    // general.file_type, -1 when absent
	Quantization string // FileType's llama.cpp name ("Q4_K_M"), "" when absent

	Tensors      int         // tensor count
	TensorTypes  []TypeCount // tensors per type, most numerous first
	EmbedType    string      // token_embd.weight's type
	AttnType     string      // blk.0.attn_q.weight's type
	OutputType   string      // output.weight's type, "tied" when the embedding is reused
	KVBytesToken int64       // KV cache bytes per token in F16: 2 × 2 (K, V) × layers × KV heads × head dim

	License     string // general.license, when present
	LicenseLink string // general.license.link, when present
}

// TypeCount is how many tensors of a file have one type, and their bytes.
type TypeCount struct {
	Type  gguf.Type
	Count int
	Bytes uint64
}

// Describe reads what Info holds from the GGUF file at path.
func Describe(path string) (*Info, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	in := &Info{Path: path, Size: st.Size(), FileType: -1, Tensors: len(f.Tensors)}
	for i := range Catalog {
		if c := &Catalog[i]; c.File == filepath.Base(path) && c.Size == st.Size() {
			in.Catalog = c
		}
	}
	in.Config = rawConfig(f)
	if c, err := model.ConfigFromGGUF(f); err != nil {
		in.ConfigErr = err
	} else {
		in.Config = c
	}
	in.Name, _ = f.Str("general.name")
	if v, ok := f.Uint("general.file_type"); ok {
		in.FileType = int(v)
		in.Quantization = FileTypeName(in.FileType)
	}
	in.License, _ = f.Str("general.license")
	in.LicenseLink, _ = f.Str("general.license.link")

	byType := map[gguf.Type]*TypeCount{}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		tc := byType[t.Type]
		if tc == nil {
			tc = &TypeCount{Type: t.Type}
			byType[t.Type] = tc
		}
		tc.Count++
		tc.Bytes += t.Size
	}
	for _, tc := range byType {
		in.TensorTypes = append(in.TensorTypes, *tc)
	}
	slices.SortFunc(in.TensorTypes, func(a, b TypeCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Type, b.Type))
	})
	typeOf := func(name, missing string) string {
		if t, ok := f.Tensor(name); ok {
			return t.Type.String()
		}
		return missing
	}
	in.EmbedType = typeOf("token_embd.weight", "absent")
	in.AttnType = typeOf("blk.0.attn_q.weight", "absent")
	in.OutputType = typeOf("output.weight", "tied")
	c := in.Config
	in.KVBytesToken = 2 * 2 * int64(c.NLayers) * int64(c.KVHeads) * int64(c.HeadDim)
	return in, nil
}

// rawConfig reads the architecture numbers of f as they are, for files
// model.ConfigFromGGUF refuses.
func rawConfig(f *gguf.File) model.Config {
	c := model.Config{Arch: f.Architecture()}
	u := func(key string) int {
		v, _ := f.ArchUint(key)
		return int(min(v, 1<<31))
	}
	c.NLayers = u("block_count")
	c.Dim = u("embedding_length")
	c.FFN = u("feed_forward_length")
	c.Heads = u("attention.head_count")
	c.KVHeads = u("attention.head_count_kv")
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	c.ContextLen = u("context_length")
	c.HeadDim = u("attention.key_length")
	if c.HeadDim == 0 && c.Heads > 0 {
		c.HeadDim = c.Dim / c.Heads
	}
	c.RopeDims = u("rope.dimension_count")
	if eps, ok := f.ArchFloat("attention.layer_norm_rms_epsilon"); ok {
		c.NormEps = float32(eps)
	}
	if base, ok := f.ArchFloat("rope.freq_base"); ok {
		c.RopeBase = float32(base)
	}
	if t, ok := f.Tensor("token_embd.weight"); ok && len(t.Dims) == 2 {
		c.Vocab = int(t.Dims[1])
	} else if toks, ok := f.Strings("tokenizer.ggml.tokens"); ok {
		c.Vocab = len(toks)
	}
	return c
}

// fileTypes are llama.cpp's names for general.file_type (enum llama_ftype,
// "MOSTLY_" dropped); the gaps are types llama.cpp removed.
var fileTypes = map[int]string{
	0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 4: "Q4_1_SOME_F16",
	7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
	10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
	16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
	19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S",
	25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS",
	31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE",
}

// FileTypeName is llama.cpp's name for a general.file_type value ("Q4_K_M"
// for 15), or "file type N" for one it does not know.
func FileTypeName(t int) string {
	if n, ok := fileTypes[t]; ok {
		return n
	}
	return fmt.Sprintf("file type %d", t)
}
