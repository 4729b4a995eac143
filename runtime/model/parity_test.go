package model_test

import (
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
	"github.com/cartlsp/cartlsp/runtime/sample"
	"github.com/cartlsp/cartlsp/runtime/tokenizer"
)

// reference is testdata/parity/reference.json.gz, written by scripts/llama_ref.py.
type reference struct {
	Vocab int `json:"vocab"`
	Cases []struct {
		Text      string      `json:"text"`
		IDs       []int       `json:"ids"`
		TopIDs    [][]int     `json:"top_ids"`
		TopLogits [][]float32 `json:"top_logits"`
		Full      []struct {
			Pos   int     `json:"pos"`
			Scale float64 `json:"scale"`
			Q     string  `json:"q"`
		} `json:"full"`
		Greedy []int `json:"greedy"`
	} `json:"cases"`
}

func loadReference(t *testing.T) *reference {
	f, err := os.Open("../../testdata/parity/reference.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.NewDecoder(zr).Decode(&ref); err != nil {
		t.Fatal(err)
	}
	return &ref
}

// realModel loads the default model, or skips when it is unavailable.
func realModel(t testing.TB, threads int) (*model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	_, m, tok := modeltest.Real(t, threads)
	return m, tok
}

// The Go runtime reproduces, bit for bit, what llama.cpp's CPU backend
// computes for this model in the build that wrote the reference (x86-64,
// AVX-512; see runtime/backend/cpu and runtime/fmath): activations quantized
// as its quantizers do, the Q4_1 and Q8_0 dot products summed in its lane
// order, RoPE angles from glibc's sincosf with its fused multiply-adds,
// softmax and SiLU with ggml's vector exp, the f16 attention products in
// tinyBLAS's (prompt) or ggml_vec_dot_f16's (one token) order. So the logits
// are the same floats, and every difference left is the reference's own
// storage precision: top-40 logits are kept to 5 decimals (|Δ| ≤ 5e-6, plus
// an ulp when read back as float32), full rows as int16 multiples of a scale
// (|Δ| ≤ scale/2, plus the float32 rounding of logit/scale).
const (
	maxTopDelta  = 1e-5 // largest |Δlogit| over the top-40 logits
	maxFullSteps = 0.51 // largest |Δlogit| in a full row, in units of its scale
	minTop1Agree = 1.0  // share of positions with the same argmax
)

func TestParityWithLlamaCpp(t *testing.T) {
	if testing.Short() {
		t.Skip("uses the real model")
	}
	m, tok := realModel(t, 2)
	ref := loadReference(t)
	if ref.Vocab != m.Vocab {
		t.Fatalf("reference vocab %d, model %d", ref.Vocab, m.Vocab)
	}
	ctx := context.Background()
	var positions, agree, nTop, nFull int
	var sumTop, maxTop, sumFull, maxFull, maxSteps float64
	for ci, c := range ref.Cases {
		ids := tok.Encode(c.Text, true)
		if !equalInts(ids, c.IDs) {
			t.Errorf("case %d: tokens differ from llama.cpp:\n go    %v\n llama %v", ci, ids, c.IDs)
			continue
		}
		cache := m.NewCache(1, len(ids)+len(c.Greedy)+1)
		logits, err := m.Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: ids, Logits: model.LogitsAll}})
		if err != nil {
			t.Fatal(err)
		}
		V := m.Vocab
		for p := range ids {
			row := logits[p*V : (p+1)*V]
			positions++
			if sample.Greedy(row) == c.TopIDs[p][0] {
				agree++
			}
			for k, id := range c.TopIDs[p] {
				d := math.Abs(float64(row[id] - c.TopLogits[p][k]))
				sumTop += d
				maxTop = math.Max(maxTop, d)
				nTop++
			}
		}
		for _, fr := range c.Full {
			raw, _ := base64.StdEncoding.DecodeString(fr.Q)
			row := logits[fr.Pos*V : (fr.Pos+1)*V]
			for i := 0; i < V; i++ {
				want := float64(int16(binary.LittleEndian.Uint16(raw[2*i:]))) * fr.Scale
				d := math.Abs(float64(row[i]) - want)
				sumFull += d
				maxFull = math.Max(maxFull, d)
				maxSteps = math.Max(maxSteps, d/fr.Scale)
				nFull++
			}
		}
		// Greedy continuation, decoding one token at a time after the prompt.
		last := logits[(len(ids)-1)*V:]
		var got []int
		for range c.Greedy {
			id := sample.Greedy(last)
			got = append(got, id)
			if last, err = m.Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: []int{id}}}); err != nil {
				t.Fatal(err)
			}
		}
		if !equalInts(got, c.Greedy) {
			t.Errorf("case %d: greedy continuation differs from llama.cpp:\n go    %q\n llama %q", ci, tok.Decode(got), tok.Decode(c.Greedy))
		}
	}
	meanTop, meanFull := sumTop/float64(nTop), sumFull/float64(nFull)
	t.Logf("%d positions: top-1 agreement %d/%d; top-40 logits (%d): mean |Δ| %.2g, max %.2g; full rows (%d logits): mean |Δ| %.2g, max %.2g (%.3f of the row's scale)",
		positions, agree, positions, nTop, meanTop, maxTop, nFull, meanFull, maxFull, maxSteps)
	if float64(agree) < minTop1Agree*float64(positions) {
		t.Errorf("top-1 agreement %d/%d below %.0f%%", agree, positions, 100*minTop1Agree)
	}
	if maxTop > maxTopDelta {
		t.Errorf("max |Δlogit| over the top-40 logits %.2g above %g", maxTop, maxTopDelta)
	}
	if maxSteps > maxFullSteps {
		t.Errorf("max |Δlogit| in full rows %.3f of the row's scale, above %g", maxSteps, maxFullSteps)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
