package student

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/runtime/model"
)

// scoreKeysPlain is scoreKeys's twin: the whole causal attention matrix of
// the sampled queries in float64, then the far-masked column means.
func scoreKeysPlain(qs []selQuery, k []float32, n, header, heads, G, hd, far int) [][]float64 {
	out := make([][]float64, G)
	for g := range out {
		out[g] = make([]float64, n)
	}
	count := make([]float64, n)
	for _, qr := range qs {
		for h := range heads {
			g := h / (heads / G)
			logits := make([]float64, qr.pos+1)
			for j := range logits {
				for e := range hd {
					logits[j] += float64(qr.q[h*hd+e]) * float64(k[j*G*hd+g*hd+e])
				}
				logits[j] /= math.Sqrt(float64(hd))
			}
			logSoftmax64(logits)
			for j := header; j <= qr.pos-far; j++ {
				out[g][j] += math.Exp(logits[j])
			}
		}
		for j := header; j <= qr.pos-far; j++ {
			count[j]++
		}
	}
	for g := range out {
		for j := header; j < n; j++ {
			if count[j] == 0 {
				out[g][j] = -1
			} else {
				out[g][j] /= count[j]
			}
		}
	}
	return out
}

func TestScoreKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	const n, header, heads, G, hd = 40, 3, 6, 2, 8
	k := make([]float32, n*G*hd)
	for i := range k {
		k[i] = float32(rng.NormFloat64() * 2)
	}
	var qs []selQuery
	for pos := header; pos < n; pos += 3 {
		q := make([]float32, heads*hd)
		for i := range q {
			q[i] = float32(rng.NormFloat64() * 2)
		}
		qs = append(qs, selQuery{pos: pos, q: q})
	}
	be := cpu.NewBackend(2)
	defer be.Close()
	for _, far := range []int{0, 5, 50} {
		got := scoreKeys(be, qs, k, n, header, heads, G, hd, far)
		want := scoreKeysPlain(qs, k, n, header, heads, G, hd, far)
		for g := range G {
			for j := header; j < n; j++ {
				if d := math.Abs(float64(got[g][j]) - want[g][j]); d > 1e-5*(1+math.Abs(want[g][j])) {
					t.Fatalf("far %d head %d key %d: %g, want %g", far, g, j, got[g][j], want[g][j])
				}
			}
		}
	}
}

// TestInitSelected checks what InitSelected keeps against the prefills it
// stands for: the header rows as a prefill makes them, then per (layer, KV
// head) corpus tokens in order, each row's value that token's value in the
// prefill of header + its window and its key that token's key rotated from
// its prefill position to the row's.
func TestInitSelected(t *testing.T) {
	s, infer := tinyPair(t, archs[1].opts)
	rng := rand.New(rand.NewPCG(8, 2))
	ctx := context.Background()
	const header, p, window = 3, 11, 7
	toks := randTokens(rng, header+20, s.Vocab)
	pre, err := InitSelected(ctx, infer, toks, header, p, 1, SelectConfig{Window: window, Stride: 2, Far: 1})
	if err != nil {
		t.Fatal(err)
	}
	if pre.P != p || pre.Frozen != 1 || s.check(pre) != nil {
		t.Fatalf("prefix %d/%d: %v", pre.P, pre.Frozen, s.check(pre))
	}
	hd, G := s.HeadDim, s.KVHeads
	// The prefill of header + each window, as [layer] → [n, G·hd].
	type fill struct{ k, v [][]float32 }
	var fills []fill
	content := toks[header:]
	for w0 := 0; w0 < len(content); w0 += window {
		prompt := append(append([]int{}, toks[:header]...), content[w0:min(len(content), w0+window)]...)
		cache := infer.NewCache(1, len(prompt))
		if _, err := infer.Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: prompt, Logits: model.LogitsNone}}); err != nil {
			t.Fatal(err)
		}
		k, v := cache.SeqKV(0)
		fills = append(fills, fill{k, v})
	}
	info := cartridge.ModelInfo{HeadDim: hd, RopeLayout: string(infer.Rope), RopeBase: float64(infer.RopeBase), RopeDims: infer.RopeDims}
	windowsUsed := map[int]bool{}
	for l := range pre.K {
		for g := range G {
			row := func(x []float32, j int) []float32 { return x[(g*p+j)*hd : (g*p+j+1)*hd] }
			src := func(x []float32, j int) []float32 { return x[j*G*hd+g*hd : j*G*hd+(g+1)*hd] }
			for j := range header {
				if !slices.Equal(row(pre.K[l], j), src(fills[0].k[l], j)) || !slices.Equal(row(pre.V[l], j), src(fills[0].v[l], j)) {
					t.Fatalf("layer %d head %d: header row %d is not the prefill's", l, g, j)
				}
			}
			last := -1
			for j := header; j < p; j++ {
				at := -1 // the corpus position whose value this row holds, searched from the last one on
				for c := last + 1; c < len(content) && at < 0; c++ {
					f := fills[c/window]
					if slices.Equal(row(pre.V[l], j), src(f.v[l], header+c%window)) {
						at = c
					}
				}
				if at < 0 {
					t.Fatalf("layer %d head %d row %d: its value is no later corpus token's", l, g, j)
				}
				last = at
				windowsUsed[at/window] = true
				key := append([]float32{}, row(pre.K[l], j)...)
				if err := cartridge.Rotate(info, key, header+at%window-j); err != nil {
					t.Fatal(err)
				}
				want := src(fills[at/window].k[l], header+at%window)
				for e := range key {
					if math.Abs(float64(key[e]-want[e])) > 1e-4*(1+math.Abs(float64(want[e]))) {
						t.Fatalf("layer %d head %d row %d: key rotated back %v, want %v", l, g, j, key, want)
					}
				}
			}
		}
	}
	if len(windowsUsed) < 2 {
		t.Errorf("only windows %v were kept from", windowsUsed)
	}
	for _, bad := range [][3]int{{0, 11, 1}, {11, 11, 1}, {3, 11, 11}} {
		if _, err := InitSelected(ctx, infer, toks, bad[0], bad[1], bad[2], SelectConfig{}); err == nil {
			t.Errorf("InitSelected(header %d, p %d, frozen %d) accepted", bad[0], bad[1], bad[2])
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := InitSelected(cctx, infer, toks, header, p, 1, SelectConfig{Window: window}); err == nil {
		t.Error("a cancelled context was not honoured")
	}
}
