package student

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/runtime/model"
)

// Selection: a Cartridge's first values taken from across the whole corpus
// rather than from its first p tokens (docs/ARCHITECTURE.md, "Initialising
// from the tokens attended to most"). The corpus is prefilled in windows,
// each behind the same header (the system turn's opening, which stays the
// Cartridge's first tokens as it is); in every layer, sampled queries of
// each window score its keys by the attention they receive from queries
// that are far behind them (a question after the corpus is far from all of
// it); each (layer, KV head) keeps the keys and values of its best-scored
// tokens, in corpus order, the keys re-rotated to the Cartridge positions
// they take. A token's KV carries what the model read around it, so the
// prefix starts with the parts of every file the model itself looks back at.

// SelectConfig says how InitSelected scores and picks tokens.
type SelectConfig struct {
	Window int // corpus tokens prefilled at once behind the header (memory and time ∝ Window, Window²)
	Stride int // every Stride-th position's queries score the keys
	Far    int // a query scores only keys at least this many positions behind it
}

// DefaultSelect is what InitSelected uses for zero fields.
var DefaultSelect = SelectConfig{Window: 4096, Stride: 8, Far: 64}

func (c SelectConfig) withDefaults() SelectConfig {
	if c.Window <= 0 {
		c.Window = DefaultSelect.Window
	}
	if c.Stride <= 0 {
		c.Stride = DefaultSelect.Stride
	}
	if c.Far < 0 {
		c.Far = 0
	}
	return c
}

// selCand is a token one (layer, KV head) may keep.
type selCand struct {
	score float32
	at    int       // corpus position (index into the tokens after the header)
	src   int       // its position in the prefill it came from
	k, v  []float32 // [headDim]; filled for the kept ones
}

// InitSelected returns a prefix of p tokens, frozen of them frozen: the KV
// of tokens[:header] as a prefill computes it, then, for every layer and KV
// head, the p − header tokens of tokens[header:] scored highest (see above),
// in corpus order, keys rotated to positions header..p−1. It needs
// frozen ≤ header < p and more than p − header corpus tokens; a corpus that
// fits is the KV of its own tokens (InitFromTokens). It honours ctx.
func InitSelected(ctx context.Context, infer *model.Model, tokens []int, header, p, frozen int, sc SelectConfig) (*Prefix, error) {
	sc = sc.withDefaults()
	switch {
	case p < 1 || frozen < 0 || frozen >= p:
		return nil, fmt.Errorf("student: init: prefix of %d tokens with %d frozen is not valid", p, frozen)
	case header < frozen || header >= p:
		return nil, fmt.Errorf("student: init: a header of %d tokens for a prefix of %d with %d frozen; want frozen ≤ header < p", header, p, frozen)
	case len(tokens) <= p:
		return InitFromTokens(ctx, infer, tokens, min(p, len(tokens)), frozen)
	}
	keep := p - header
	content := tokens[header:]
	L, G, hd := infer.NLayers, infer.KVHeads, infer.HeadDim
	kvDim := G * hd
	info := cartridge.ModelInfo{HeadDim: hd, RopeLayout: string(infer.Rope), RopeBase: float64(infer.RopeBase), RopeDims: infer.RopeDims}
	best := make([][]selCand, L*G) // [layer·G + head] → kept, best first
	var headK, headV [][]float32   // [layer] → [header, kvDim]

	for w0 := 0; w0 < len(content); w0 += sc.Window {
		win := content[w0:min(len(content), w0+sc.Window)]
		n := header + len(win)
		queries := make([][]selQuery, L)
		tr := &model.Trace{Queries: func(layer int, _, pos []int, q []float32) {
			w := len(q) / len(pos)
			var got []selQuery
			for t, at := range pos {
				if at >= header && ((at-header)%sc.Stride == sc.Stride-1 || at == n-1) {
					got = append(got, selQuery{pos: at, q: slices.Clone(q[t*w : (t+1)*w])})
				}
			}
			queries[layer] = append(queries[layer], got...)
		}}
		cache := infer.NewCache(1, n)
		prompt := append(append(make([]int, 0, n), tokens[:header]...), win...)
		if _, err := infer.Forward(model.WithTrace(ctx, tr), cache, model.Batch{{Seq: 0, Tokens: prompt, Logits: model.LogitsNone}}); err != nil {
			return nil, fmt.Errorf("student: init: %w", err)
		}
		k, v := cache.SeqKV(0)
		if headK == nil {
			headK, headV = make([][]float32, L), make([][]float32, L)
			for l := range L {
				headK[l], headV[l] = k[l][:header*kvDim], v[l][:header*kvDim]
			}
		}
		// Score each layer's keys (the products use all of the backend's threads).
		for l := range L {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			scores := scoreKeys(infer.Backend, queries[l], k[l], n, header, infer.Heads, G, hd, sc.Far)
			for g := range G {
				cands := best[l*G+g]
				for j := header; j < n; j++ {
					cands = append(cands, selCand{score: scores[g][j], at: w0 + j - header, src: j})
				}
				slices.SortStableFunc(cands, func(a, b selCand) int {
					switch {
					case a.score > b.score:
						return -1
					case a.score < b.score:
						return 1
					}
					return a.at - b.at
				})
				cands = cands[:min(keep, len(cands))]
				for i := range cands {
					if cands[i].k == nil { // from this window
						j := cands[i].src
						cands[i].k = slices.Clone(k[l][j*kvDim+g*hd : j*kvDim+(g+1)*hd])
						cands[i].v = slices.Clone(v[l][j*kvDim+g*hd : j*kvDim+(g+1)*hd])
					}
				}
				best[l*G+g] = slices.Clip(cands)
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}

	pre := &Prefix{P: p, Frozen: frozen, KVHeads: G, HeadDim: hd, K: make([][]float32, L), V: make([][]float32, L)}
	for l := range L {
		pre.K[l] = toHeads(headK[l], header, G, hd)
		pre.V[l] = toHeads(headV[l], header, G, hd)
		K, V := make([]float32, G*p*hd), make([]float32, G*p*hd)
		for g := range G {
			copy(K[g*p*hd:], pre.K[l][g*header*hd:(g+1)*header*hd])
			copy(V[g*p*hd:], pre.V[l][g*header*hd:(g+1)*header*hd])
			kept := best[l*G+g]
			slices.SortFunc(kept, func(a, b selCand) int { return a.at - b.at })
			for i, c := range kept {
				at := (g*p + header + i) * hd
				copy(K[at:at+hd], c.k)
				copy(V[at:at+hd], c.v)
				if err := cartridge.Rotate(info, K[at:at+hd], header+i-c.src); err != nil {
					return nil, fmt.Errorf("student: init: %w", err)
				}
			}
		}
		pre.K[l], pre.V[l] = K, V
	}
	return pre, nil
}

// selQuery is one sampled query row: position pos, q [Heads·HeadDim] after RoPE.
type selQuery struct {
	pos int
	q   []float32
}

// scoreKeys scores the keys k [n, G·hd] of one layer: for key j ≥ header,
// the mean over the sampled queries i with i − j ≥ far of the attention
// weight it gets, summed over the query heads of its KV head. The weights
// are those of the causal softmax over keys 0..i (the header included).
// Keys no query scores get −1, below every scored one. Returns [G][n].
// The products q·k run on be (a GEMM per KV head and chunk of queries);
// the softmax and the sums on the host, in parallel over query chunks.
func scoreKeys(be backend.Backend, qs []selQuery, k []float32, n, header, heads, G, hd, far int) [][]float32 {
	group := heads / G
	count := make([]int, n)
	for _, qr := range qs {
		for j := header; j <= qr.pos-far; j++ {
			count[j]++
		}
	}
	scale := float32(1 / math.Sqrt(float64(hd)))
	const chunk = 32 // queries per product: [chunk·group, n] scores
	out := make([][]float32, G)
	kg := make([]float32, n*hd)
	for g := range G {
		for j := range n { // kg: [n, hd], this KV head's keys
			copy(kg[j*hd:(j+1)*hd], k[j*G*hd+g*hd:])
		}
		kt := be.TrainWeight(n, hd, kg)
		workers := max(1, min(be.Threads(), (len(qs)+chunk-1)/chunk))
		sums := make([][]float64, workers)
		for w := range sums {
			sums[w] = make([]float64, n)
		}
		for c0 := 0; c0 < len(qs); c0 += chunk * workers {
			// One product per worker's chunk, then the host work in parallel.
			type part struct {
				qs []selQuery
				s  []float32 // [len(qs)·group, n]
			}
			parts := make([]part, 0, workers)
			for w := range workers {
				lo := c0 + w*chunk
				if lo >= len(qs) {
					break
				}
				pq := qs[lo:min(len(qs), lo+chunk)]
				qm := make([]float32, len(pq)*group*hd) // [len(pq)·group, hd]
				for i, qr := range pq {
					copy(qm[i*group*hd:], qr.q[g*group*hd:(g+1)*group*hd])
				}
				st := be.NewTensor(len(pq)*group, n)
				be.MatMul(st, be.FromHost(len(pq)*group, hd, qm), kt)
				s := make([]float32, len(pq)*group*n)
				be.Download(s, st)
				parts = append(parts, part{pq, s})
			}
			var wg sync.WaitGroup
			for w, pt := range parts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					acc := sums[w]
					for i, qr := range pt.qs {
						last := qr.pos - far
						if last < header {
							continue
						}
						for h := range group {
							row := pt.s[(i*group+h)*n : (i*group+h)*n+qr.pos+1]
							mx := row[0]
							for _, x := range row {
								mx = max(mx, x)
							}
							var z float64
							for j, x := range row {
								e := math.Exp(float64((x - mx) * scale))
								row[j] = float32(e)
								z += e
							}
							inv := 1 / z
							for j := header; j <= last; j++ {
								acc[j] += float64(row[j]) * inv
							}
						}
					}
				}()
			}
			wg.Wait()
		}
		out[g] = make([]float32, n)
		for j := header; j < n; j++ {
			if count[j] == 0 {
				out[g][j] = -1
				continue
			}
			var t float64
			for _, acc := range sums {
				t += acc[j]
			}
			out[g][j] = float32(t / float64(count[j]))
		}
	}
	return out
}
