// Package sample picks the next token from logits: greedy, or temperature
// with top-k and top-p (nucleus) truncation, seeded for reproducibility.
package sample

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Params configures a Sampler. Temperature ≤ 0 means greedy.
type Params struct {
	Temperature float32
	TopK        int     // keep the k most likely tokens; ≤ 0 keeps all
	TopP        float32 // keep the smallest set with probability ≥ p; ≥ 1 or ≤ 0 keeps all
	Seed        uint64
}

// Sampler draws tokens. It is not safe for concurrent use.
type Sampler struct {
	p    Params
	rng  *rand.Rand
	cand []cand
}

type cand struct {
	id int
	l  float32 // logit, then probability
}

// New returns a Sampler for p.
func New(p Params) *Sampler {
	return &Sampler{p: p, rng: rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15))}
}

// Greedy returns the index of the largest logit (the first one on ties).
func Greedy(logits []float32) int {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return best
}

// Sample picks a token id from logits[vocab]. The order of truncation is
// top-k, then top-p, then temperature, as in llama.cpp's default chain.
func (s *Sampler) Sample(logits []float32) int {
	if s.p.Temperature <= 0 {
		return Greedy(logits)
	}
	c := s.cand[:0]
	for i, v := range logits {
		if !math.IsNaN(float64(v)) {
			c = append(c, cand{i, v})
		}
	}
	if len(c) == 0 {
		return 0
	}
	sort.Slice(c, func(i, j int) bool {
		if c[i].l != c[j].l {
			return c[i].l > c[j].l
		}
		return c[i].id < c[j].id
	})
	if k := s.p.TopK; k > 0 && k < len(c) {
		c = c[:k]
	}
	if p := s.p.TopP; p > 0 && p < 1 {
		probs := softmax(c, 1)
		var cum float64
		for i, pr := range probs {
			cum += pr
			if cum >= float64(p) {
				c = c[:i+1]
				break
			}
		}
	}
	probs := softmax(c, s.p.Temperature)
	r := s.rng.Float64()
	var cum float64
	for i, pr := range probs {
		cum += pr
		if r < cum {
			s.cand = c
			return c[i].id
		}
	}
	s.cand = c
	return c[len(c)-1].id
}

// softmax returns the probabilities of sorted candidates at temperature t.
func softmax(c []cand, t float32) []float64 {
	out := make([]float64, len(c))
	mx := float64(c[0].l)
	var sum float64
	for i, x := range c {
		e := math.Exp((float64(x.l) - mx) / float64(t))
		out[i] = e
		sum += e
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}
