package student

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// A checkpointed optimiser resumes exactly: two steps in a row equal one
// step, a State/Restore round trip, and a second step.
func TestAdamStateRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	mk := func() *Prefix {
		p := &Prefix{P: 4, Frozen: 1, KVHeads: 2, HeadDim: 3, K: make([][]float32, 2), V: make([][]float32, 2)}
		for l := range p.K {
			p.K[l], p.V[l] = make([]float32, 24), make([]float32, 24)
		}
		return p
	}
	grad := func() *Grad {
		g := &Grad{K: make([][]float32, 2), V: make([][]float32, 2)}
		for l := range g.K {
			g.K[l], g.V[l] = make([]float32, 24), make([]float32, 24)
			for i := range g.K[l] {
				g.K[l][i], g.V[l][i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			}
		}
		return g
	}
	g1, g2 := grad(), grad()
	a, b := mk(), mk()
	oa := NewAdam(0.01)
	if err := oa.Step(a, g1); err != nil {
		t.Fatal(err)
	}
	if err := oa.Step(a, g2); err != nil {
		t.Fatal(err)
	}
	ob := NewAdam(0.01)
	if err := ob.Step(b, g1); err != nil {
		t.Fatal(err)
	}
	st := ob.State()
	oc := NewAdam(0.01)
	if err := oc.Restore(st, b); err != nil {
		t.Fatal(err)
	}
	if err := oc.Step(b, g2); err != nil {
		t.Fatal(err)
	}
	for l := range a.K {
		if !slices.Equal(a.K[l], b.K[l]) || !slices.Equal(a.V[l], b.V[l]) {
			t.Fatalf("layer %d differs after resume", l)
		}
	}
	if oc.Steps() != 2 {
		t.Errorf("steps %d, want 2", oc.Steps())
	}
	bad := st
	bad.MK = bad.MK[:1]
	if err := NewAdam(0.01).Restore(bad, b); err == nil {
		t.Error("restore of a mis-shaped state succeeded")
	}
	if err := NewAdam(0.01).Restore(AdamState{T: 3}, b); err == nil {
		t.Error("restore without moments after 3 steps succeeded")
	}
}
