package student

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/backend/ref"
	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
)

// archs are the tiny models the whole-model checks run on: Llama (adjacent
// RoPE, no biases) and Qwen2 (half RoPE, QKV biases), both with GQA, F32.
var archs = []struct {
	name string
	opts modeltest.Options
}{
	{"llama", modeltest.Options{Arch: "llama", Seed: 11}},
	{"qwen2", modeltest.Options{Arch: "qwen2", Seed: 12, Heads: 4, KVHeads: 1}},
}

// teacherTopK returns a sparse teacher at pos: the k most likely ids of a
// random distribution with their log-probabilities (not renormalised).
func teacherTopK(rng *rand.Rand, pos, vocab, k int) Target {
	logq := normals(rng, vocab, 2)
	logSoftmax64(logq)
	ids := make([]int, vocab)
	for i := range ids {
		ids[i] = i
	}
	sort.Slice(ids, func(a, b int) bool { return logq[ids[a]] > logq[ids[b]] })
	tg := Target{Pos: pos, IDs: ids[:k]}
	for _, id := range tg.IDs {
		tg.LogProbs = append(tg.LogProbs, float32(logq[id]))
	}
	return tg
}

func randTokens(rng *rand.Rand, n, vocab int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = rng.IntN(vocab)
	}
	return out
}

// testBatch mixes the cases a batch can hold: sparse top-k targets at some
// positions, next-token targets everywhere, a target early in a longer
// sequence (the rest is cut), and an example without targets.
func testBatch(rng *rand.Rand, vocab int) []Example {
	ex0 := Example{Tokens: randTokens(rng, 6, vocab)}
	for _, p := range []int{1, 3, 5} {
		ex0.Targets = append(ex0.Targets, teacherTopK(rng, p, vocab, 4))
	}
	ex2 := Example{Tokens: randTokens(rng, 7, vocab), Targets: []Target{teacherTopK(rng, 2, vocab, 3)}}
	return []Example{ex0, NextToken(randTokens(rng, 4, vocab)), ex2, {Tokens: randTokens(rng, 3, vocab)}}
}

// testPrefix is the inference KV of p random tokens plus noise, so that no
// coordinate sits at a special value.
func testPrefix(t *testing.T, infer *model.Model, rng *rand.Rand, p, frozen int) *Prefix {
	t.Helper()
	pre, err := InitFromTokens(context.Background(), infer, randTokens(rng, p, infer.Vocab), p, frozen)
	if err != nil {
		t.Fatal(err)
	}
	for l := range pre.K {
		for i := range pre.K[l] {
			pre.K[l][i] += float32(rng.NormFloat64() * 0.1)
			pre.V[l][i] += float32(rng.NormFloat64() * 0.1)
		}
	}
	return pre
}

// fdGrid makes every prefix value a multiple of 2^−20, so that x ± fdStep
// (a power of two) is exact in float32 and the central differences of the
// float64 reference see steps of exactly ±h.
func fdGrid(pre *Prefix) {
	for _, x := range [][][]float32{pre.K, pre.V} {
		for l := range x {
			for i, v := range x[l] {
				x[l][i] = float32(math.Round(float64(v)*(1<<20)) / (1 << 20))
			}
		}
	}
}

// centralDiff32 perturbs x[i] by ±h for each i in idx and returns
// (f(x+h) − f(x−h)) / 2h; x[i] ± h must be exact in float32.
func centralDiff32(x []float32, idx []int, h float64, f func() float64) []float64 {
	out := make([]float64, len(idx))
	for k, i := range idx {
		x0 := x[i]
		x[i] = float32(float64(x0) + h)
		fp := f()
		x[i] = float32(float64(x0) - h)
		fm := f()
		x[i] = x0
		out[k] = (fp - fm) / (2 * h)
	}
	return out
}

func widen(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// TestModelGradient checks the whole model's gradient with respect to the
// prefix keys and values in float64 against central differences of the
// mean loss, on coordinates sampled over every layer and head (frozen rows
// excluded), and that the frozen rows' gradient is exactly zero.
func TestModelGradient(t *testing.T) {
	for ai, a := range archs {
		t.Run(a.name, func(t *testing.T) {
			f := tinyFile(t, a.opts)
			_, infer := tinyPair(t, a.opts)
			s, err := New(f, ref.New64())
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(ai)+21, 5))
			const p, frozen = 5, 1
			pre := testPrefix(t, infer, rng, p, frozen)
			fdGrid(pre)
			batch := testBatch(rng, s.Vocab)
			ctx := context.Background()
			loss, g, err := s.Loss(ctx, pre, batch)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("mean loss %.6f", loss)
			fn := func() float64 {
				l, n, err := s.Eval(ctx, pre, batch)
				if err != nil {
					t.Fatal(err)
				}
				return l / float64(n)
			}
			hd, kvh := s.HeadDim, s.KVHeads
			for _, which := range []struct {
				name string
				x, g [][]float32
			}{{"K", pre.K, g.K}, {"V", pre.V, g.V}} {
				var ga, fa []float64
				for l := range which.x {
					// Trainable coordinates of layer l: token j ≥ frozen of each head.
					var idx []int
					for _, i := range sample(rng, len(which.x[l]), 48) {
						if (i/hd)%p >= frozen {
							idx = append(idx, i)
						}
					}
					ga = append(ga, pick(widen(which.g[l]), idx)...)
					fa = append(fa, centralDiff32(which.x[l], idx, modelFDStep, fn)...)
					// Frozen rows: gradient exactly zero (their true derivative is not).
					for h := 0; h < kvh; h++ {
						for i := h * p * hd; i < (h*p+frozen)*hd; i++ {
							if which.g[l][i] != 0 {
								t.Fatalf("%s layer %d head %d: frozen gradient %g at %d", which.name, l, h, which.g[l][i], i)
							}
						}
					}
				}
				r := compareGrads(ga, fa)
				t.Logf("d/dprefix-%s: %d coords over %d layers: rel %.2e, worst coord %.2e", which.name, r.n, len(which.x), r.rel, r.worst)
				if !(r.rel <= fdBound) {
					t.Errorf("d/dprefix-%s: relative error %.3e > %.0e", which.name, r.rel, fdBound)
				}
			}
		})
	}
}

func relDiff(a, b [][]float32) float64 {
	var num, den float64
	for l := range a {
		for i := range a[l] {
			d := float64(a[l][i]) - float64(b[l][i])
			num += d * d
			den += float64(a[l][i]) * float64(a[l][i])
		}
	}
	return math.Sqrt(num / den)
}

// TestFastPathMatchesReference: the student on the CPU backend (sgemm,
// ggml's exp, llama.cpp's RMSNorm and RoPE rounding) agrees with the
// reference backend's plain loops in float32 and in float64 on loss and
// gradient.
func TestFastPathMatchesReference(t *testing.T) {
	for ai, a := range archs {
		t.Run(a.name, func(t *testing.T) {
			s, infer := tinyPair(t, a.opts)
			f := tinyFile(t, a.opts)
			rng := rand.New(rand.NewPCG(uint64(ai)+31, 5))
			pre := testPrefix(t, infer, rng, 7, 1)
			batch := testBatch(rng, s.Vocab)
			ctx := context.Background()
			loss, g, err := s.Loss(ctx, pre, batch)
			if err != nil {
				t.Fatal(err)
			}
			var refLoss [2]float64
			var refGrad [2]*Grad
			for i, be := range []backend.Backend{ref.New32(), ref.New64()} {
				r, err := New(f, be)
				if err != nil {
					t.Fatal(err)
				}
				if refLoss[i], refGrad[i], err = r.Loss(ctx, pre, batch); err != nil {
					t.Fatal(err)
				}
			}
			lossP, l64, gP, g64 := refLoss[0], refLoss[1], refGrad[0], refGrad[1]
			rk, rv := relDiff(g64.K, g.K), relDiff(g64.V, g.V)
			pk, pv := relDiff(gP.K, g.K), relDiff(gP.V, g.V)
			t.Logf("loss fast %.7f plain %.7f float64 %.7f; grad rel diff vs float64 K %.1e V %.1e, vs plain K %.1e V %.1e",
				loss, lossP, l64, rk, rv, pk, pv)
			if math.Abs(loss-l64) > 1e-5*math.Abs(l64) || math.Abs(lossP-l64) > 1e-5*math.Abs(l64) {
				t.Errorf("loss: fast %v plain %v float64 %v", loss, lossP, l64)
			}
			for _, d := range []float64{rk, rv, pk, pv} {
				if d > 1e-4 {
					t.Errorf("gradients differ by %.2e (relative norm)", d)
				}
			}
		})
	}
}

// TestLogitsMatchInference: the student's logits after a prefix made of the
// KV of tokens[:p] agree with the inference model's logits for the whole
// sequence at positions ≥ p. Tiny F32 models, where the inference path does
// not quantize activations; it does round its KV cache to binary16 and, as
// llama.cpp, the queries and attention weights meeting that cache (relative
// steps of 2^−11 ≈ 5e−4 inside attention; the student keeps float32). The
// bound: the largest difference is at most 1e−3 of the largest |logit| and
// at most 2e−3 of the largest change the prefix makes to the logits (so a
// wrong position, layout or head mapping cannot hide under the embedding's
// share of the logits: queries one position off give 4e−3 and 1.3e−2).
// Measured: about 2e−6 and 1e−4 of them.
// Loading the same prefix into an inference cache with AppendKV reproduces
// the inference model's own logits (1e−5).
func TestLogitsMatchInference(t *testing.T) {
	for ai, a := range archs {
		t.Run(a.name, func(t *testing.T) {
			s, infer := tinyPair(t, a.opts)
			rng := rand.New(rand.NewPCG(uint64(ai)+41, 5))
			toks := randTokens(rng, 24, s.Vocab)
			const p = 9
			ctx := context.Background()
			full := infer.NewCache(1, len(toks))
			want, err := infer.Forward(ctx, full, model.Batch{{Seq: 0, Tokens: toks, Logits: model.LogitsAll}})
			if err != nil {
				t.Fatal(err)
			}
			want = want[p*s.Vocab:]
			pre, err := InitFromTokens(ctx, infer, toks, p, 1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Logits(ctx, pre, toks[p:])
			if err != nil {
				t.Fatal(err)
			}
			// Decoding with the prefix loaded into an inference cache.
			dec := infer.NewCache(1, len(toks))
			k, v := make([][]float32, s.NLayers), make([][]float32, s.NLayers)
			for l := range k {
				k[l] = cartridge.CacheLayout(pre.K[l], p, s.KVHeads, s.HeadDim)
				v[l] = cartridge.CacheLayout(pre.V[l], p, s.KVHeads, s.HeadDim)
			}
			if err := dec.AppendKV(0, k, v); err != nil {
				t.Fatal(err)
			}
			viaCache, err := infer.Forward(ctx, dec, model.Batch{{Seq: 0, Tokens: toks[p:], Logits: model.LogitsAll}})
			if err != nil {
				t.Fatal(err)
			}
			// How far the prefix moves the logits at all: the yardstick for diff.
			none, err := s.Logits(ctx, s.NewPrefix(0, 0), toks[p:])
			if err != nil {
				t.Fatal(err)
			}
			var big, diff, diffCache, effect float64
			for i := range want {
				big = max(big, math.Abs(float64(want[i])))
				diff = max(diff, math.Abs(float64(got[i]-want[i])))
				diffCache = max(diffCache, math.Abs(float64(viaCache[i]-want[i])))
				effect = max(effect, math.Abs(float64(none[i]-want[i])))
			}
			t.Logf("max |logit| %.3f, moved up to %.3f by the prefix; student vs inference max diff %.2e (%.1e of max |logit|, %.1e of the prefix's effect); cache-loaded prefix %.1e",
				big, effect, diff, diff/big, diff/effect, diffCache)
			if diff > 1e-3*big || diff > 2e-3*effect {
				t.Errorf("student logits differ from the inference model's by %.3e (max |logit| %.3f, prefix effect %.3f)", diff, big, effect)
			}
			if diffCache > 1e-5*big {
				t.Errorf("decoding after AppendKV differs by %.3e", diffCache)
			}
		})
	}
}

// TestLossMatchesLogits: the mean next-token loss equals the cross-entropy
// computed from Logits and the forward-only Eval, and a batch's summed gradient is the sum of its
// examples' gradients (sequences share the prefix but not each other).
func TestLossMatchesLogits(t *testing.T) {
	s, infer := tinyPair(t, archs[0].opts)
	rng := rand.New(rand.NewPCG(51, 5))
	pre := testPrefix(t, infer, rng, 6, 1)
	ctx := context.Background()
	toks := randTokens(rng, 10, s.Vocab)
	loss, _, err := s.Loss(ctx, pre, []Example{NextToken(toks)})
	if err != nil {
		t.Fatal(err)
	}
	logits, err := s.Logits(ctx, pre, toks)
	if err != nil {
		t.Fatal(err)
	}
	var ce float64
	for i := 0; i+1 < len(toks); i++ {
		z := make([]float64, s.Vocab)
		for j := range z {
			z[j] = float64(logits[i*s.Vocab+j])
		}
		logSoftmax64(z)
		ce -= z[toks[i+1]]
	}
	ce /= float64(len(toks) - 1)
	if math.Abs(ce-loss) > 1e-5*ce {
		t.Errorf("Loss %v, cross-entropy from Logits %v", loss, ce)
	}
	if sum, n, err := s.Eval(ctx, pre, []Example{NextToken(toks)}); err != nil || n != len(toks)-1 || math.Abs(sum/float64(n)-loss) > 1e-6*loss {
		t.Errorf("Eval %v over %d targets (%v), Loss %v", sum, n, err, loss)
	}

	batch := testBatch(rng, s.Vocab)
	all := NewGrad(pre)
	sumAll, nAll, err := s.Accumulate(ctx, pre, batch, all, 1)
	if err != nil {
		t.Fatal(err)
	}
	each := NewGrad(pre)
	var sumEach float64
	var nEach int
	for _, ex := range batch {
		l, n, err := s.Accumulate(ctx, pre, []Example{ex}, each, 1)
		if err != nil {
			t.Fatal(err)
		}
		sumEach += l
		nEach += n
	}
	if nAll != nEach || math.Abs(sumAll-sumEach) > 1e-5*sumAll {
		t.Errorf("batch loss %v over %d targets, examples one by one %v over %d", sumAll, nAll, sumEach, nEach)
	}
	if d := max(relDiff(each.K, all.K), relDiff(each.V, all.V)); d > 1e-5 {
		t.Errorf("batch gradient differs from the sum of per-example gradients by %.2e", d)
	}
}

func TestErrors(t *testing.T) {
	s, infer := tinyPair(t, archs[0].opts)
	rng := rand.New(rand.NewPCG(61, 5))
	pre := testPrefix(t, infer, rng, 4, 1)
	ctx := context.Background()
	toks := randTokens(rng, 5, s.Vocab)
	bad := []struct {
		name  string
		pre   *Prefix
		batch []Example
	}{
		{"no targets", pre, []Example{{Tokens: toks}}},
		{"position outside", pre, []Example{{Tokens: toks, Targets: []Target{{Pos: 5, IDs: []int{1}, LogProbs: []float32{0}}}}}},
		{"id outside", pre, []Example{{Tokens: toks, Targets: []Target{{Pos: 1, IDs: []int{s.Vocab}, LogProbs: []float32{0}}}}}},
		{"token outside", pre, []Example{NextToken([]int{1, -1, 2})}},
		{"ids/logprobs", pre, []Example{{Tokens: toks, Targets: []Target{{Pos: 1, IDs: []int{1, 2}, LogProbs: []float32{0}}}}}},
		{"NaN", pre, []Example{{Tokens: toks, Targets: []Target{{Pos: 1, IDs: []int{1}, LogProbs: []float32{float32(math.NaN())}}}}}},
		{"short prefix", &Prefix{P: 4, Frozen: 1, KVHeads: s.KVHeads, HeadDim: s.HeadDim, K: pre.K[:1], V: pre.V[:1]}, []Example{NextToken(toks)}},
		{"frozen > p", &Prefix{P: 4, Frozen: 5, KVHeads: s.KVHeads, HeadDim: s.HeadDim, K: pre.K, V: pre.V}, []Example{NextToken(toks)}},
		{"wrong heads", &Prefix{P: 4, Frozen: 1, KVHeads: 1, HeadDim: 2 * s.HeadDim, K: pre.K, V: pre.V}, []Example{NextToken(toks)}},
	}
	for _, b := range bad {
		if _, _, err := s.Loss(ctx, b.pre, b.batch); err == nil {
			t.Errorf("%s: no error", b.name)
		} else {
			t.Logf("%s: %v", b.name, err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.Loss(cctx, pre, []Example{NextToken(toks)}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Loss: %v", err)
	}
	if _, err := s.Logits(cctx, pre, toks); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Logits: %v", err)
	}
}

// TestConcurrentCalls: calls made at the same time (which share the weights,
// the pool and the kept buffers) give the results of calls made one by one.
func TestConcurrentCalls(t *testing.T) {
	s, infer := tinyPair(t, archs[1].opts)
	rng := rand.New(rand.NewPCG(101, 5))
	pre := testPrefix(t, infer, rng, 5, 1)
	batch := testBatch(rng, s.Vocab)
	ctx := context.Background()
	want, wg, err := s.Loss(ctx, pre, batch)
	if err != nil {
		t.Fatal(err)
	}
	s.FreeBuffers()
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			got, g, err := s.Loss(ctx, pre, batch)
			if err == nil && (got != want || relDiff(wg.K, g.K) != 0 || relDiff(wg.V, g.V) != 0) {
				err = errors.New("concurrent Loss differs from the sequential one")
			}
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
