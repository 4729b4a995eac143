package model_test

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/half"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
)

// tinyModel loads a tiny random model built from o.
func tinyModel(t testing.TB, o modeltest.Options, threads int) *model.Model {
	t.Helper()
	f := modeltest.Parse(t, o)
	be := cpu.NewBackend(threads)
	t.Cleanup(func() { be.Close() })
	m, err := model.New(f, be)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func randTokens(rng *rand.Rand, n, vocab int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = rng.IntN(vocab)
	}
	return out
}

// refForward is a plain float64 forward pass over dequantized weights, with
// the model's f16 rounding points (cache keys/values, queries, attention
// weights), for one sequence: logits [n, vocab].
func refForward(t *testing.T, f *gguf.File, c model.Config, toks []int) [][]float64 {
	get := func(name string) []float64 {
		v, err := f.TensorFloat32(name)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	}
	// matvec: y[rows] = W[rows, cols] · x
	matvec := func(w, x []float64, rows int) []float64 {
		cols := len(x)
		y := make([]float64, rows)
		for r := 0; r < rows; r++ {
			var s float64
			for i := 0; i < cols; i++ {
				s += w[r*cols+i] * x[i]
			}
			y[r] = s
		}
		return y
	}
	norm := func(x, w []float64) []float64 {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		sc := 1 / math.Sqrt(ss/float64(len(x))+float64(c.NormEps))
		out := make([]float64, len(x))
		for i := range x {
			out[i] = x[i] * sc * w[i]
		}
		return out
	}
	r16 := func(v float64) float64 { return float64(half.RoundF16(float32(v))) }
	rope := func(v []float64, pos int) {
		for h := 0; h < len(v)/c.HeadDim; h++ {
			x := v[h*c.HeadDim : (h+1)*c.HeadDim]
			for i := 0; i < c.RopeDims/2; i++ {
				th := float64(pos) * math.Pow(float64(c.RopeBase), -2*float64(i)/float64(c.RopeDims))
				a, b := 2*i, 2*i+1
				if c.Rope == model.RopeHalf {
					a, b = i, i+c.RopeDims/2
				}
				x0, x1 := x[a], x[b]
				x[a] = x0*math.Cos(th) - x1*math.Sin(th)
				x[b] = x0*math.Sin(th) + x1*math.Cos(th)
			}
		}
	}
	emb := get("token_embd.weight")
	kvd := c.KVDim()
	keys := make([][][]float64, c.NLayers)
	vals := make([][][]float64, c.NLayers)
	var logits [][]float64
	for pos, tok := range toks {
		x := append([]float64(nil), emb[tok*c.Dim:(tok+1)*c.Dim]...)
		for l := 0; l < c.NLayers; l++ {
			p := "blk." + strconv.Itoa(l) + "."
			h := norm(x, get(p+"attn_norm.weight"))
			q := matvec(get(p+"attn_q.weight"), h, c.Dim)
			k := matvec(get(p+"attn_k.weight"), h, kvd)
			v := matvec(get(p+"attn_v.weight"), h, kvd)
			if c.QKVBias {
				for i, b := range get(p + "attn_q.bias") {
					q[i] += b
				}
				for i, b := range get(p + "attn_k.bias") {
					k[i] += b
				}
				for i, b := range get(p + "attn_v.bias") {
					v[i] += b
				}
			}
			rope(q, pos)
			rope(k, pos)
			for i := range k {
				k[i], v[i] = r16(k[i]), r16(v[i])
			}
			keys[l] = append(keys[l], k)
			vals[l] = append(vals[l], v)
			att := make([]float64, c.Dim)
			for hh := 0; hh < c.Heads; hh++ {
				kvh := hh / (c.Heads / c.KVHeads)
				qh := q[hh*c.HeadDim : (hh+1)*c.HeadDim]
				w := make([]float64, pos+1)
				mx := math.Inf(-1)
				for j := 0; j <= pos; j++ {
					var s float64
					for i, qv := range qh {
						s += r16(qv) * keys[l][j][kvh*c.HeadDim+i]
					}
					w[j] = s / math.Sqrt(float64(c.HeadDim))
					mx = math.Max(mx, w[j])
				}
				var sum float64
				for j := range w {
					w[j] = math.Exp(w[j] - mx)
					sum += w[j]
				}
				for j := range w {
					pj := r16(w[j] / sum)
					for i := 0; i < c.HeadDim; i++ {
						att[hh*c.HeadDim+i] += pj * vals[l][j][kvh*c.HeadDim+i]
					}
				}
			}
			o := matvec(get(p+"attn_output.weight"), att, c.Dim)
			for i := range x {
				x[i] += o[i]
			}
			h = norm(x, get(p+"ffn_norm.weight"))
			g := matvec(get(p+"ffn_gate.weight"), h, c.FFN)
			u := matvec(get(p+"ffn_up.weight"), h, c.FFN)
			for i := range g {
				g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
			}
			d := matvec(get(p+"ffn_down.weight"), g, c.Dim)
			for i := range x {
				x[i] += d[i]
			}
		}
		logits = append(logits, matvec(emb, norm(x, get("output_norm.weight")), c.Vocab))
	}
	return logits
}

// TestForwardMatchesReference compares the runtime with the float64
// reference on tiny F32 models of both RoPE layouts.
func TestForwardMatchesReference(t *testing.T) {
	for _, arch := range []string{"llama", "qwen2"} {
		t.Run(arch, func(t *testing.T) {
			o := modeltest.Options{Arch: arch, Seed: 3}
			m := tinyModel(t, o, 2)
			toks := randTokens(rand.New(rand.NewPCG(1, 1)), 20, m.Vocab)
			cache := m.NewCache(1, 64)
			got, err := m.Forward(context.Background(), cache, model.Batch{{Seq: 0, Tokens: toks, Logits: model.LogitsAll}})
			if err != nil {
				t.Fatal(err)
			}
			want := refForward(t, m.File, m.Config, toks)
			var maxd float64
			for p := range toks {
				for i := 0; i < m.Vocab; i++ {
					maxd = math.Max(maxd, math.Abs(float64(got[p*m.Vocab+i])-want[p][i]))
				}
			}
			// float32 accumulation against float64, plus rare f16 rounding
			// flips of values that sit between two f16 neighbours.
			if maxd > 2e-3 {
				t.Fatalf("max |Δlogit| = %g against the float64 reference", maxd)
			}
			t.Logf("max |Δlogit| vs float64 reference: %.2e", maxd)
		})
	}
}

// TestBatchingConsistent checks that logits do not depend on how tokens are
// grouped: one batch, one token at a time, or several sequences together.
func TestBatchingConsistent(t *testing.T) {
	types := []gguf.Type{gguf.TypeF32, gguf.TypeQ4_1, gguf.TypeQ8_0}
	for _, typ := range types {
		t.Run(typ.String(), func(t *testing.T) {
			m := tinyModel(t, modeltest.Options{Matrix: typ, Embed: gguf.TypeQ8_0, Seed: 5}, 2)
			rng := rand.New(rand.NewPCG(2, 2))
			seqs := [][]int{randTokens(rng, 17, m.Vocab), randTokens(rng, 5, m.Vocab), randTokens(rng, 40, m.Vocab)}
			ctx := context.Background()
			V := m.Vocab
			// Reference: each sequence alone, one token at a time.
			var single [][]float32
			for _, s := range seqs {
				c := m.NewCache(1, 64)
				var all []float32
				for _, tok := range s {
					l, err := m.Forward(ctx, c, model.Batch{{Seq: 0, Tokens: []int{tok}}})
					if err != nil {
						t.Fatal(err)
					}
					all = append(all, l...)
				}
				single = append(single, all)
			}
			// All three sequences in one batch, split at different points.
			c := m.NewCache(3, 64)
			got := make([][]float32, 3)
			cuts := []int{3, 11}
			prev := 0
			for _, cut := range append(cuts, 64) {
				var b model.Batch
				for si, s := range seqs {
					lo, hi := min(prev, len(s)), min(cut, len(s))
					if lo < hi {
						b = append(b, model.SeqTokens{Seq: si, Tokens: s[lo:hi], Logits: model.LogitsAll})
					}
				}
				l, err := m.Forward(ctx, c, b)
				if err != nil {
					t.Fatal(err)
				}
				off := 0
				for _, st := range b {
					got[st.Seq] = append(got[st.Seq], l[off:off+len(st.Tokens)*V]...)
					off += len(st.Tokens) * V
				}
				prev = cut
			}
			for si := range seqs {
				if len(got[si]) != len(single[si]) {
					t.Fatalf("seq %d: %d logits, want %d", si, len(got[si]), len(single[si]))
				}
				for i := range got[si] {
					if d := math.Abs(float64(got[si][i] - single[si][i])); d > 1e-4 {
						t.Fatalf("seq %d logit %d: batched %g vs single %g", si, i, got[si][i], single[si][i])
					}
				}
			}
		})
	}
}

func TestForwardErrors(t *testing.T) {
	m := tinyModel(t, modeltest.Options{}, 1)
	ctx := context.Background()
	cases := []struct {
		name string
		b    model.Batch
		want string
	}{
		{"token out of range", model.Batch{{Seq: 0, Tokens: []int{m.Vocab}}}, "outside the vocabulary"},
		{"negative token", model.Batch{{Seq: 0, Tokens: []int{-1}}}, "outside the vocabulary"},
		{"bad sequence", model.Batch{{Seq: 2, Tokens: []int{1}}}, "outside the cache"},
		{"sequence twice", model.Batch{{Seq: 0, Tokens: []int{1}}, {Seq: 0, Tokens: []int{2}}}, "twice"},
		{"too long", model.Batch{{Seq: 0, Tokens: make([]int, 9)}}, "more than the cache"},
	}
	for _, c := range cases {
		cache := m.NewCache(2, 8)
		if _, err := m.Forward(ctx, cache, c.b); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
		if cache.Len(0) != 0 {
			t.Errorf("%s: a failed forward left %d tokens in the cache", c.name, cache.Len(0))
		}
	}
	// A cancelled context returns its error and leaves the cache as it was.
	cache := m.NewCache(1, 8)
	if _, err := m.Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: []int{1, 2}}}); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Forward(cctx, cache, model.Batch{{Seq: 0, Tokens: []int{3}}}); err == nil {
		t.Fatal("cancelled forward succeeded")
	}
	if cache.Len(0) != 2 {
		t.Fatalf("cancelled forward changed the cache length to %d", cache.Len(0))
	}
}

func TestModelFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := modeltest.Write(path, modeltest.Options{Matrix: gguf.TypeQ4_1, Embed: gguf.TypeQ8_0}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	be := cpu.NewBackend(1)
	defer be.Close()
	m, err := model.New(f, be)
	if err != nil {
		t.Fatal(err)
	}
	if m.NLayers != 2 || m.Dim != 64 || m.KVHeads != 2 || m.Rope != model.RopeAdjacent {
		t.Fatalf("config %+v", m.Config)
	}
	fp := m.Fingerprint()
	if !strings.HasPrefix(fp, "sha256:") || fp != m.Fingerprint() {
		t.Fatalf("fingerprint %q", fp)
	}
	m2 := tinyModel(t, modeltest.Options{Matrix: gguf.TypeQ4_1, Embed: gguf.TypeQ8_0, Seed: 9}, 1)
	if m2.Fingerprint() == fp {
		t.Fatal("different weights gave the same fingerprint")
	}
}

// TestLongBatchSplitsIntoSteps: a batch longer than model.UBatch runs as
// several steps, with the same logits as feeding its pieces one Forward at
// a time, LogitsLast still meaning each sequence's last token, and an error
// in a later step leaving the cache as it was.
func TestLongBatchSplitsIntoSteps(t *testing.T) {
	m := tinyModel(t, modeltest.Options{Matrix: gguf.TypeQ8_0, Embed: gguf.TypeQ8_0, Context: 2048, Seed: 6}, 2)
	rng := rand.New(rand.NewPCG(4, 4))
	a, b := randTokens(rng, 700, m.Vocab), randTokens(rng, 400, m.Vocab)
	ctx := context.Background()
	V := m.Vocab
	c := m.NewCache(2, 2048)
	got, err := m.Forward(ctx, c, model.Batch{{Seq: 0, Tokens: a, Logits: model.LogitsLast}, {Seq: 1, Tokens: b, Logits: model.LogitsAll}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != (1+len(b))*V || c.Len(0) != len(a) || c.Len(1) != len(b) {
		t.Fatalf("%d logits, cache %d/%d; want %d logits, %d/%d", len(got)/V, c.Len(0), c.Len(1), 1+len(b), len(a), len(b))
	}
	ref := m.NewCache(2, 2048)
	var want []float32
	for _, piece := range []model.Batch{
		{{Seq: 0, Tokens: a[:300], Logits: model.LogitsNone}},
		{{Seq: 0, Tokens: a[300:], Logits: model.LogitsLast}},
		{{Seq: 1, Tokens: b[:256], Logits: model.LogitsAll}},
		{{Seq: 1, Tokens: b[256:], Logits: model.LogitsAll}},
	} {
		l, err := m.Forward(ctx, ref, piece)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, l...)
	}
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-4 {
			t.Fatalf("logit %d: one long batch %g, pieces %g", i, got[i], want[i])
		}
	}
	// A bad token in what would be the third step: refused before any step, nothing kept.
	bad := append(randTokens(rng, 1200, m.Vocab), m.Vocab)
	if _, err := m.Forward(ctx, c, model.Batch{{Seq: 0, Tokens: bad}}); err == nil {
		t.Fatal("a token outside the vocabulary was accepted")
	}
	if c.Len(0) != len(a) {
		t.Fatalf("after a failed long batch the cache holds %d tokens, want %d", c.Len(0), len(a))
	}
}
