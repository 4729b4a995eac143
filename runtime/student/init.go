package student

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/cartlsp/cartlsp/runtime/model"
)

// Initialisation of a prefix (docs/ARCHITECTURE.md, "Self-study"; the paper's ablation ranks them
// first-p corpus tokens > random tokens > random vectors).

// InitFromTokens returns the KV of tokens[:p] as computed by the inference
// model infer (keys rotated for positions 0..p−1, both rounded to binary16
// as its cache holds them), with the first frozen tokens frozen. This is the
// paper's best initialisation when tokens is the start of the corpus.
func InitFromTokens(ctx context.Context, infer *model.Model, tokens []int, p, frozen int) (*Prefix, error) {
	if p < 0 || frozen < 0 || frozen > p {
		return nil, fmt.Errorf("student: init: prefix of %d tokens with %d frozen is not valid", p, frozen)
	}
	if len(tokens) < p {
		return nil, fmt.Errorf("student: init: %d tokens cannot make a prefix of %d", len(tokens), p)
	}
	pre := &Prefix{P: p, Frozen: frozen, KVHeads: infer.KVHeads, HeadDim: infer.HeadDim,
		K: make([][]float32, infer.NLayers), V: make([][]float32, infer.NLayers)}
	if p == 0 {
		for l := range pre.K {
			pre.K[l], pre.V[l] = []float32{}, []float32{}
		}
		return pre, nil
	}
	cache := infer.NewCache(1, p)
	if _, err := infer.Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: tokens[:p], Logits: model.LogitsNone}}); err != nil {
		return nil, fmt.Errorf("student: init: %w", err)
	}
	k, v := cache.SeqKV(0)
	for l := range pre.K {
		pre.K[l] = toHeads(k[l], p, infer.KVHeads, infer.HeadDim)
		pre.V[l] = toHeads(v[l], p, infer.KVHeads, infer.HeadDim)
	}
	return pre, nil
}

// randomTokens returns p token ids drawn uniformly from the vocabulary.
func randomTokens(vocab, p int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	toks := make([]int, p)
	for i := range toks {
		toks[i] = rng.IntN(vocab)
	}
	return toks
}

// InitRandomTokens returns the KV of p token ids drawn uniformly from the
// vocabulary (seeded), computed as InitFromTokens does.
func InitRandomTokens(ctx context.Context, infer *model.Model, p, frozen int, seed uint64) (*Prefix, error) {
	return InitFromTokens(ctx, infer, randomTokens(infer.Vocab, p, seed), p, frozen)
}

// InitRandomVectors returns a prefix of normal random vectors (seeded)
// scaled to the size of real keys and values: it takes the KV of p random
// tokens (InitRandomTokens with the same seed) as the reference, keeps its
// first frozen tokens as they are (a real token's KV as the attention sink),
// and replaces every other row of layer l, KV head h by draws from
// N(0, σ²) with σ the root-mean-square of that reference's entries of (l, h)
// — separately for keys and values.
func InitRandomVectors(ctx context.Context, infer *model.Model, p, frozen int, seed uint64) (*Prefix, error) {
	pre, err := InitRandomTokens(ctx, infer, p, frozen, seed)
	if err != nil || p == 0 {
		return pre, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x7ec7))
	hd := pre.HeadDim
	fill := func(x []float32) {
		for h := 0; h < pre.KVHeads; h++ {
			head := x[h*p*hd : (h+1)*p*hd]
			var ss float64
			for _, v := range head {
				ss += float64(v) * float64(v)
			}
			sigma := math.Sqrt(ss / float64(len(head)))
			for i := frozen * hd; i < len(head); i++ {
				head[i] = float32(rng.NormFloat64() * sigma)
			}
		}
	}
	for l := range pre.K {
		fill(pre.K[l])
		fill(pre.V[l])
	}
	return pre, nil
}
