package student

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// TestAdamRelative: with Relative, the first step moves every trainable
// coordinate by LR × its layer's key or value RMS (Adam's first step is
// LR·sign(g)), and the scales survive State/Restore.
func TestAdamRelative(t *testing.T) {
	const P, frozen, kvh, hd = 3, 1, 2, 2
	pre := &Prefix{P: P, Frozen: frozen, KVHeads: kvh, HeadDim: hd}
	for l, scale := range []float32{0.01, 30} {
		pre.K = append(pre.K, make([]float32, kvh*P*hd))
		pre.V = append(pre.V, make([]float32, kvh*P*hd))
		for i := range pre.K[l] {
			pre.K[l][i] = scale * float32(1+i%3) // rms over trainable rows computed below
			pre.V[l][i] = -scale / 10
		}
	}
	rms := func(x []float32) float64 {
		var s float64
		n := 0
		for i, v := range x {
			if (i/hd)%P >= frozen {
				s += float64(v) * float64(v)
				n++
			}
		}
		return math.Sqrt(s / float64(n))
	}
	orig := pre.Clone()
	g := NewGrad(pre)
	for l := range g.K {
		for i := range g.K[l] {
			g.K[l][i], g.V[l][i] = 1, -1
		}
	}
	a := NewAdam(0.1)
	a.Relative = true
	if err := a.Step(pre, g); err != nil {
		t.Fatal(err)
	}
	for l := range pre.K {
		sk, sv := rms(orig.K[l]), rms(orig.V[l])
		for i := range pre.K[l] {
			wk, wv := -0.1*sk, 0.1*sv
			if (i/hd)%P < frozen {
				wk, wv = 0, 0
			}
			dk, dv := float64(pre.K[l][i]-orig.K[l][i]), float64(pre.V[l][i]-orig.V[l][i])
			if math.Abs(dk-wk) > 1e-5*math.Abs(wk)+1e-7 || math.Abs(dv-wv) > 1e-5*math.Abs(wv)+1e-7 {
				t.Errorf("layer %d coordinate %d: moved K %g V %g, want %g %g", l, i, dk, dv, wk, wv)
			}
		}
	}
	b := NewAdam(0.1)
	b.Relative = true
	if err := b.Restore(a.State(), pre); err != nil {
		t.Fatal(err)
	}
	p1, p2 := pre.Clone(), pre.Clone()
	a.Step(p1, g)
	b.Step(p2, g)
	for l := range p1.K {
		for i := range p1.K[l] {
			if p1.K[l][i] != p2.K[l][i] || p1.V[l][i] != p2.V[l][i] {
				t.Fatalf("layer %d: a restored optimiser steps differently", l)
			}
		}
	}
	s := a.State()
	s.SK = nil
	if err := b.Restore(s, pre); err == nil {
		t.Error("a relative optimiser restored a state without step scales")
	}
}

// TestAdamStep checks two steps against the formulas by hand, and that the
// frozen rows never move even under a non-zero gradient.
func TestAdamStep(t *testing.T) {
	const P, frozen, kvh, hd = 3, 1, 2, 2
	pre := &Prefix{P: P, Frozen: frozen, KVHeads: kvh, HeadDim: hd, K: [][]float32{make([]float32, kvh*P*hd)}, V: [][]float32{make([]float32, kvh*P*hd)}}
	for i := range pre.K[0] {
		pre.K[0][i] = float32(i)
		pre.V[0][i] = -float32(i)
	}
	orig := pre.Clone()
	g1 := NewGrad(pre)
	g2 := NewGrad(pre)
	for i := range g1.K[0] {
		g1.K[0][i], g1.V[0][i] = float32(i+1)*0.5, -1
		g2.K[0][i], g2.V[0][i] = -0.25, 2
	}
	a := NewAdam(0.1)
	if err := a.Step(pre, g1); err != nil {
		t.Fatal(err)
	}
	if err := a.Step(pre, g2); err != nil {
		t.Fatal(err)
	}
	want := func(x0, ga, gb float64) float64 {
		b1, b2, eps := 0.9, 0.999, 1e-8
		m := (1 - b1) * ga
		v := (1 - b2) * ga * ga
		x := x0 - 0.1*(m/(1-b1))/(math.Sqrt(v/(1-b2))+eps)
		m = b1*m + (1-b1)*gb
		v = b2*v + (1-b2)*gb*gb
		return x - 0.1*(m/(1-b1*b1))/(math.Sqrt(v/(1-b2*b2))+eps)
	}
	for i := range pre.K[0] {
		tok := (i / hd) % P
		wk := want(float64(orig.K[0][i]), float64(g1.K[0][i]), float64(g2.K[0][i]))
		wv := want(float64(orig.V[0][i]), float64(g1.V[0][i]), float64(g2.V[0][i]))
		if tok < frozen {
			wk, wv = float64(orig.K[0][i]), float64(orig.V[0][i])
		}
		if math.Abs(float64(pre.K[0][i])-wk) > 1e-6 || math.Abs(float64(pre.V[0][i])-wv) > 1e-6 {
			t.Errorf("coordinate %d (token %d): K %v V %v, want %v %v", i, tok, pre.K[0][i], pre.V[0][i], wk, wv)
		}
	}
	if a.Steps() != 2 {
		t.Errorf("Steps() = %d", a.Steps())
	}
	bad := &Prefix{P: P, Frozen: frozen, KVHeads: kvh, HeadDim: hd, K: [][]float32{make([]float32, 4)}, V: [][]float32{make([]float32, 4)}}
	if err := a.Step(bad, g1); err == nil {
		t.Error("Step accepted a prefix of the wrong shape")
	}
}

// TestTrainingReducesLoss is self-study in miniature: the teacher sees a
// context before each sequence, the student only its prefix. Adam on the
// distillation gradient closes most of the gap between the loss of a
// random-token prefix and that of the context's own KV (with full teacher
// distributions as targets that gap is the KL divergence), and the frozen
// sink stays as initialised. The tiny random models predict their current token
// with probability ≈1 (its logit is ≈|x|² ≈ 64), which leaves nothing to
// learn, so the test unties and softens the output matrix (logits of about
// ±1) and amplifies the attention output so the prefix matters. The teacher
// is this student with the context's KV as its prefix, so its targets stay
// reachable whatever the weights.
func TestTrainingReducesLoss(t *testing.T) {
	s, infer := tinyPair(t, archs[0].opts)
	rng := rand.New(rand.NewPCG(71, 5))
	out := make([]float32, s.Vocab*s.Dim)
	for i := range out {
		out[i] = float32(rng.NormFloat64() * 0.15)
	}
	s.w.output = s.be.FromHost(s.Vocab, s.Dim, out)
	for l := range s.w.layers { // let attention, hence the prefix, matter
		wo := make([]float32, s.Dim*s.Dim)
		s.be.Download(wo, s.w.layers[l].wo)
		for i := range wo {
			wo[i] *= 10
		}
		s.w.layers[l].wo = s.be.FromHost(s.Dim, s.Dim, wo)
	}
	ctx := context.Background()
	const p = 8
	k := s.Vocab // full teacher distributions: loss − floor is then the KL, ≥ 0
	context_ := randTokens(rng, p, s.Vocab)
	ideal, err := InitFromTokens(ctx, infer, context_, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	var batch []Example
	for i := 0; i < 4; i++ {
		seq := randTokens(rng, 8, s.Vocab)
		logits, err := s.Logits(ctx, ideal, seq)
		if err != nil {
			t.Fatal(err)
		}
		ex := Example{Tokens: seq}
		for pos := range seq {
			z := make([]float64, s.Vocab)
			for j := range z {
				z[j] = float64(logits[pos*s.Vocab+j])
			}
			logSoftmax64(z)
			ids := make([]int, s.Vocab)
			for j := range ids {
				ids[j] = j
			}
			sort.Slice(ids, func(a, b int) bool { return z[ids[a]] > z[ids[b]] })
			tg := Target{Pos: pos, IDs: ids[:k]}
			for _, id := range tg.IDs {
				tg.LogProbs = append(tg.LogProbs, float32(z[id]))
			}
			ex.Targets = append(ex.Targets, tg)
		}
		batch = append(batch, ex)
	}
	floor, _, err := s.Loss(ctx, ideal, batch)
	if err != nil {
		t.Fatal(err)
	}
	pre, err := InitRandomTokens(ctx, infer, p, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	sink := pre.Clone()
	opt := NewAdam(0.05)
	var first, last float64
	for step := 0; step < 30; step++ {
		loss, g, err := s.Loss(ctx, pre, batch)
		if err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = loss
		}
		last = loss
		if err := opt.Step(pre, g); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("loss %.4f → %.4f in 30 steps (the context's own KV: %.4f)", first, last, floor)
	if !(last-floor < 0.2*(first-floor)) {
		t.Errorf("training closed too little of the gap: %.4f → %.4f, floor %.4f", first, last, floor)
	}
	for l := range pre.K {
		for h := 0; h < pre.KVHeads; h++ {
			i0 := h * pre.P * pre.HeadDim
			for i := i0; i < i0+pre.HeadDim; i++ {
				if pre.K[l][i] != sink.K[l][i] || pre.V[l][i] != sink.V[l][i] {
					t.Fatalf("frozen sink moved at layer %d head %d", l, h)
				}
			}
		}
	}
}
