package cartridge

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

const testFP = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// testMeta is a Meta with every field set.
func testMeta(layers, kvHeads, p, headDim int) Meta {
	return Meta{
		FormatVersion: FormatVersion,
		Model: ModelInfo{
			Fingerprint: testFP, Arch: "llama", Layers: layers, KVHeads: kvHeads, HeadDim: headDim,
			Dim: 4 * headDim, RopeLayout: RopeAdjacent, RopeBase: 100000,
		},
		P:      p,
		Frozen: 1,
		Corpus: CorpusInfo{Kind: "git", Source: "https://example.com/a/b.git", Commit: "0123456789abcdef0123456789abcdef01234567",
			Tree: "89abcdef0123456789abcdef0123456789abcdef", Tokens: 100 * p, Files: 7, Description: "a <test> & corpus"},
		Recipe: Recipe{Method: "self-study", SeedTypes: []string{"structuring", "summarization", "question", "use-case", "creative"},
			Conversations: 1024, Steps: 64, Epochs: 1, LR: 0.02, Init: "first-tokens", Seed: 1<<63 + 5, Budget: "10m", TrainSeconds: 12.5},
		Metrics: map[string]float64{"nll_cartridge": 1.25, "nll_icl": 1.0625, "mc_acc": 0.55},
		Created: time.Date(2026, 3, 4, 5, 6, 7, 891011, time.UTC),
	}
}

// randCartridge fills a Cartridge of Meta m with seeded normal values.
func randCartridge(seed uint64, m Meta) *Cartridge {
	rng := rand.New(rand.NewPCG(seed, 7))
	c := &Cartridge{Meta: m}
	n := m.Model.KVHeads * m.P * m.Model.HeadDim
	for l := 0; l < m.Model.Layers; l++ {
		k, v := make([]float32, n), make([]float32, n)
		for i := range k {
			k[i] = float32(rng.NormFloat64())
			v[i] = float32(rng.NormFloat64())
		}
		c.Keys = append(c.Keys, k)
		c.Values = append(c.Values, v)
	}
	return c
}

// fileBytes encodes c as a file in memory.
func fileBytes(t testing.TB, c *Cartridge, dt DType) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, c, dt); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// splitFile returns a file's header as generic JSON and its data section.
func splitFile(t testing.TB, file []byte) (map[string]any, []byte) {
	t.Helper()
	n := binary.LittleEndian.Uint64(file)
	var h map[string]any
	if err := json.Unmarshal(file[8:8+n], &h); err != nil {
		t.Fatal(err)
	}
	return h, file[8+n:]
}

// joinFile assembles a file from a header and a data section.
func joinFile(t testing.TB, h map[string]any, data []byte) []byte {
	t.Helper()
	js, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	return rawFile(js, data)
}

func rawFile(header, data []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, data...)
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
