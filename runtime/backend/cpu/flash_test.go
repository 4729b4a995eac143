package cpu

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/backend"
)

// attentionPlain is flashAttention's plain twin: the definition, one row at
// a time in float64, over float32 keys and values k, v [L, KVHeads·hd].
func attentionPlain(out, q, k, v []float32, s backend.AttnShape, n, pos0 int) {
	hd, G, D, KV := s.HeadDim, s.Heads/s.KVHeads, s.Heads*s.HeadDim, s.KVHeads*s.HeadDim
	w := make([]float64, pos0+n)
	for i := 0; i < n; i++ {
		L := pos0 + i + 1
		for h := 0; h < s.Heads; h++ {
			g := h / G
			qh := q[i*D+h*hd : i*D+(h+1)*hd]
			mx := math.Inf(-1)
			for j := 0; j < L; j++ {
				var d float64
				for c, x := range qh {
					d += float64(x) * float64(k[j*KV+g*hd+c])
				}
				w[j] = d / math.Sqrt(float64(hd))
				mx = max(mx, w[j])
			}
			var sum float64
			for j := 0; j < L; j++ {
				w[j] = math.Exp(w[j] - mx)
				sum += w[j]
			}
			o := out[i*D+h*hd : i*D+(h+1)*hd]
			for c := range o {
				var acc float64
				for j := 0; j < L; j++ {
					acc += w[j] * float64(v[j*KV+g*hd+c])
				}
				o[c] = float32(acc / sum)
			}
		}
	}
}

// outlierF16 is N(0, std²) with a large offset on two dimensions of every
// head (Qwen2's queries and keys carry such outliers), rounded to binary16.
func outlierF16(rng *rand.Rand, n, hd int, std, off float64) []float32 {
	x := randF16(rng, n, std)
	for i := range x {
		if c := i % hd; c == 3 || c == hd/2+3 {
			x[i] += float32(off)
		}
	}
	RoundF16(x)
	return x
}

// TestFlashAttention checks the blocked path at every kernel level against
// its plain twin, on shapes that cross query blocks, key blocks and key
// chunks, with keys that carry outliers (scores in the hundreds); and that
// its result does not depend on the number of threads.
func TestFlashAttention(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	for _, c := range []struct{ heads, kvHeads, hd, n, pos0 int }{
		{14, 2, 64, 1, 0}, {14, 2, 64, 1, 4095}, {14, 2, 64, 3, 1500}, {14, 2, 64, 37, 100},
		{9, 3, 64, 1, 1030}, {9, 3, 64, 16, 0}, {9, 3, 64, 17, 250}, {4, 4, 32, 5, 130}, {8, 2, 80, 33, 129},
	} {
		s := backend.AttnShape{Heads: c.heads, KVHeads: c.kvHeads, HeadDim: c.hd}
		L, D, KV := c.pos0+c.n, c.heads*c.hd, c.kvHeads*c.hd
		q := outlierF16(rng, c.n*D, c.hd, 1, 15)
		k := outlierF16(rng, L*KV, c.hd, 1, 20)
		v := randF16(rng, L*KV, 1)
		want := make([]float32, c.n*D)
		attentionPlain(want, q, k, v, s, c.n, c.pos0)
		name := fmt.Sprintf("%+v %+v", c, planFlash(c.n, c.pos0, c.kvHeads, c.heads/c.kvHeads, c.hd))
		run := func(threads int) []float32 {
			b := NewBackend(threads)
			defer b.Close()
			kc, vc := b.NewCache(L, KV), b.NewCache(L, KV)
			b.Upload(kc, k)
			b.Upload(vc, v)
			o := b.NewTensor(c.n, D)
			b.flashAttention(act(o), act(b.FromHost(c.n, D, slices.Clone(q))), kc, vc, s, c.pos0)
			return act(o).data
		}
		for _, lvl := range levels() {
			withLevel(t, lvl, func() {
				got := run(2)
				var num, den float64
				for i := range got {
					d := float64(got[i]) - float64(want[i])
					num += d * d
					den += float64(want[i]) * float64(want[i])
				}
				if r := math.Sqrt(num / den); !(r < 2e-5) {
					t.Errorf("%v %s: relative difference %.2e from the plain twin", lvl, name, r)
				}
				if one := run(1); !slices.Equal(one, got) {
					t.Errorf("%v %s: 1 and 2 threads differ", lvl, name)
				}
			})
		}
	}
}

// BenchmarkAttention: one layer's attention of the 0.5B model (14 query
// heads, 2 KV heads, hd 64) over an F16 cache, the blocked and the exact
// path side by side: decoding one token after L cached ones, and a 512-token
// prompt step after L−512.
func BenchmarkAttention(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	s := backend.AttnShape{Heads: 14, KVHeads: 2, HeadDim: 64}
	for _, L := range []int{512, 4096, 8192} {
		for _, n := range []int{1, 512} {
			k, v := randF16(rng, L*128, 1), randF16(rng, L*128, 1)
			q := randF16(rng, n*14*64, 1)
			for _, exact := range []bool{false, true} {
				path := "blocked"
				if exact {
					path = "exact"
				}
				b.Run(fmt.Sprintf("L=%d/n=%d/%s", L, n, path), func(b *testing.B) {
					be := NewBackend(0)
					defer be.Close()
					be.SetExactAttention(exact)
					kc, vc := be.NewCache(L, 128), be.NewCache(L, 128)
					be.Upload(kc, k)
					be.Upload(vc, v)
					qt, o := be.FromHost(n, 14*64, q), be.NewTensor(n, 14*64)
					for b.Loop() {
						be.Attention(o, qt, kc, vc, s, L-n, n > 1)
					}
					b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tok/s")
				})
			}
		}
	}
}
