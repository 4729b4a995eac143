package sample

import (
	"math"
	"testing"
)

func TestGreedy(t *testing.T) {
	cases := []struct {
		logits []float32
		want   int
	}{
		{[]float32{0, 1, 2}, 2},
		{[]float32{3, 1, 3}, 0}, // first on ties
		{[]float32{-5}, 0},
	}
	for _, c := range cases {
		if got := Greedy(c.logits); got != c.want {
			t.Errorf("Greedy(%v) = %d, want %d", c.logits, got, c.want)
		}
		if got := New(Params{}).Sample(c.logits); got != c.want {
			t.Errorf("Sample(temp 0, %v) = %d, want %d", c.logits, got, c.want)
		}
	}
}

func TestTruncation(t *testing.T) {
	logits := []float32{5, 4.9, 1, 0, -1, -2}
	cases := []struct {
		name    string
		p       Params
		allowed map[int]bool
	}{
		{"topk1", Params{Temperature: 1, TopK: 1}, map[int]bool{0: true}},
		{"topk2", Params{Temperature: 5, TopK: 2}, map[int]bool{0: true, 1: true}},
		{"topp", Params{Temperature: 1, TopP: 0.5}, map[int]bool{0: true, 1: true}},
	}
	for _, c := range cases {
		c.p.Seed = 7
		s := New(c.p)
		for i := 0; i < 500; i++ {
			if id := s.Sample(logits); !c.allowed[id] {
				t.Fatalf("%s: sampled %d outside %v", c.name, id, c.allowed)
			}
		}
	}
}

// TestDistribution checks temperature sampling follows softmax(l/T) within a
// few standard errors over many seeded draws.
func TestDistribution(t *testing.T) {
	logits := []float32{1, 0, -1}
	const T, N = 0.7, 40000
	s := New(Params{Temperature: T, Seed: 42})
	counts := make([]int, 3)
	for i := 0; i < N; i++ {
		counts[s.Sample(logits)]++
	}
	var z float64
	for _, l := range logits {
		z += math.Exp(float64(l) / T)
	}
	for i, l := range logits {
		p := math.Exp(float64(l)/T) / z
		got := float64(counts[i]) / N
		se := math.Sqrt(p * (1 - p) / N)
		if math.Abs(got-p) > 5*se {
			t.Errorf("token %d: frequency %.4f, want %.4f ± %.4f", i, got, p, 5*se)
		}
	}
}

func TestSeedReproducible(t *testing.T) {
	logits := []float32{1, 0.5, 0.2, 0, -0.3}
	a, b := New(Params{Temperature: 1, Seed: 3}), New(Params{Temperature: 1, Seed: 3})
	for i := 0; i < 100; i++ {
		if x, y := a.Sample(logits), b.Sample(logits); x != y {
			t.Fatalf("draw %d: %d != %d with the same seed", i, x, y)
		}
	}
}
