package student

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/runtime/model"
)

func TestInitFromTokens(t *testing.T) {
	s, infer := tinyPair(t, archs[0].opts)
	rng := rand.New(rand.NewPCG(81, 5))
	ctx := context.Background()
	toks := randTokens(rng, 12, s.Vocab)
	const p = 10
	pre, err := InitFromTokens(ctx, infer, toks, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	if pre.P != p || pre.Frozen != 1 || s.check(pre) != nil {
		t.Fatalf("prefix %d/%d: %v", pre.P, pre.Frozen, s.check(pre))
	}
	cache := infer.NewCache(1, p)
	if _, err := infer.Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: toks[:p], Logits: model.LogitsNone}}); err != nil {
		t.Fatal(err)
	}
	k, v := cache.SeqKV(0)
	hd, kvh := s.HeadDim, s.KVHeads
	for l := range k {
		for j := 0; j < p; j++ {
			for h := 0; h < kvh; h++ {
				for d := 0; d < hd; d++ {
					if pre.K[l][(h*p+j)*hd+d] != k[l][(j*kvh+h)*hd+d] || pre.V[l][(h*p+j)*hd+d] != v[l][(j*kvh+h)*hd+d] {
						t.Fatalf("layer %d token %d head %d dim %d: layout mismatch", l, j, h, d)
					}
				}
			}
		}
		if !slices.Equal(cartridge.CacheLayout(pre.K[l], p, kvh, hd), k[l]) {
			t.Fatalf("CacheLayout does not invert the conversion")
		}
	}
	for _, bad := range [][2]int{{13, 1}, {5, 6}, {-1, 0}} {
		if _, err := InitFromTokens(ctx, infer, toks, bad[0], bad[1]); err == nil {
			t.Errorf("InitFromTokens(p=%d, frozen=%d) accepted", bad[0], bad[1])
		}
	}
	empty, err := InitFromTokens(ctx, infer, nil, 0, 0)
	if err != nil || s.check(empty) != nil {
		t.Errorf("empty prefix: %v %v", err, s.check(empty))
	}
}

func TestInitRandom(t *testing.T) {
	s, infer := tinyPair(t, archs[1].opts)
	ctx := context.Background()
	const p, frozen = 64, 1
	a, err := InitRandomTokens(ctx, infer, p, frozen, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := InitRandomTokens(ctx, infer, p, frozen, 7)
	c, _ := InitRandomTokens(ctx, infer, p, frozen, 8)
	if !slices.Equal(a.K[0], b.K[0]) || slices.Equal(a.K[0], c.K[0]) {
		t.Error("InitRandomTokens is not a function of its seed")
	}
	rv, err := InitRandomVectors(ctx, infer, p, frozen, 7)
	if err != nil || s.check(rv) != nil {
		t.Fatal(err, s.check(rv))
	}
	hd := s.HeadDim
	rms := func(x []float32) float64 {
		var ss float64
		for _, v := range x {
			ss += float64(v) * float64(v)
		}
		return math.Sqrt(ss / float64(len(x)))
	}
	for l := range rv.K {
		for h := 0; h < s.KVHeads; h++ {
			head := func(x []float32) []float32 { return x[h*p*hd : (h+1)*p*hd] }
			// The sink rows are the reference's; the rest are new draws of the same size.
			if !slices.Equal(head(rv.K[l])[:frozen*hd], head(a.K[l])[:frozen*hd]) {
				t.Fatalf("layer %d head %d: the sink is not the real token's KV", l, h)
			}
			if slices.Equal(head(rv.K[l])[frozen*hd:], head(a.K[l])[frozen*hd:]) {
				t.Fatalf("layer %d head %d: keys were not redrawn", l, h)
			}
			for _, pair := range [][2][]float32{{head(rv.K[l]), head(a.K[l])}, {head(rv.V[l]), head(a.V[l])}} {
				got, want := rms(pair[0][frozen*hd:]), rms(pair[1])
				if math.Abs(got/want-1) > 0.1 {
					t.Errorf("layer %d head %d: rms %.3f, reference %.3f", l, h, got, want)
				}
			}
		}
	}
}
