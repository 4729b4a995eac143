package student

import (
	"fmt"
	"math"
)

// Adam is the Adam optimiser (Kingma & Ba) without weight decay, for the
// trainable rows of a Prefix:
//
//	m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²
//	x ← x − LR · m̂ / (√v̂ + Eps),  m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ)
//
// The first Frozen tokens of every head are never changed. The moments are
// allocated on the first Step and tied to that prefix's shape.
//
// With Relative, LR is relative to the scale of what it moves: layer l's
// keys step by LR·sk[l], its values by LR·sv[l], where sk, sv are the RMS of
// the layer's trainable keys and values at the first Step. A model's keys
// and values differ in scale by orders of magnitude between layers
// (Qwen2.5-Coder-0.5B: key RMS 2–35, value RMS 0.03–2), so one absolute
// rate that suits the middle layers overwrites the first layer's values in
// a few steps.
type Adam struct {
	LR, Beta1, Beta2, Eps float64
	Relative              bool
	t                     int
	mk, vk, mv, vv        [][]float32
	sk, sv                []float64 // per-layer step scales (1 unless Relative)
}

// NewAdam returns Adam with the usual β1 = 0.9, β2 = 0.999, eps = 1e−8.
func NewAdam(lr float64) *Adam {
	return &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// Steps is the number of steps taken.
func (a *Adam) Steps() int { return a.t }

// Step updates pre from grad (which Step does not change).
func (a *Adam) Step(pre *Prefix, grad *Grad) error {
	if err := pre.shapeOK(); err != nil {
		return fmt.Errorf("student: adam: %w", err)
	}
	if len(grad.K) != len(pre.K) || len(grad.V) != len(pre.V) {
		return fmt.Errorf("student: adam: gradient has %d layers, the prefix %d", len(grad.K), len(pre.K))
	}
	for l := range pre.K {
		if len(grad.K[l]) != len(pre.K[l]) || len(grad.V[l]) != len(pre.V[l]) {
			return fmt.Errorf("student: adam: gradient layer %d is not shaped like the prefix", l)
		}
	}
	if a.mk == nil {
		alloc := func(x [][]float32) [][]float32 {
			out := make([][]float32, len(x))
			for l := range x {
				out[l] = make([]float32, len(x[l]))
			}
			return out
		}
		a.mk, a.vk, a.mv, a.vv = alloc(pre.K), alloc(pre.K), alloc(pre.V), alloc(pre.V)
		a.sk, a.sv = stepScales(pre, pre.K, a.Relative), stepScales(pre, pre.V, a.Relative)
	} else if len(a.mk) != len(pre.K) || len(a.mk[0]) != len(pre.K[0]) {
		return fmt.Errorf("student: adam: the prefix changed shape since the first step")
	}
	a.t++
	b1, b2 := a.Beta1, a.Beta2
	c1 := 1 - math.Pow(b1, float64(a.t))
	c2 := 1 - math.Pow(b2, float64(a.t))
	P, F, hd := pre.P, pre.Frozen, pre.HeadDim
	update := func(x, g, m, v []float32, lr float64) {
		for i := range x {
			if (i/hd)%P < F { // layout [KVHeads, P, hd]: token (i/hd) mod P
				continue
			}
			gi := float64(g[i])
			mi := b1*float64(m[i]) + (1-b1)*gi
			vi := b2*float64(v[i]) + (1-b2)*gi*gi
			m[i], v[i] = float32(mi), float32(vi)
			x[i] -= float32(lr * (mi / c1) / (math.Sqrt(vi/c2) + a.Eps))
		}
	}
	for l := range pre.K {
		update(pre.K[l], grad.K[l], a.mk[l], a.vk[l], a.LR*a.sk[l])
		update(pre.V[l], grad.V[l], a.mv[l], a.vv[l], a.LR*a.sv[l])
	}
	return nil
}

// stepScales is, per layer, the RMS of x's trainable rows with relative,
// else 1 (also for a layer whose rows are all zero).
func stepScales(pre *Prefix, x [][]float32, relative bool) []float64 {
	out := make([]float64, len(x))
	P, F, hd := pre.P, pre.Frozen, pre.HeadDim
	for l, xl := range x {
		out[l] = 1
		if !relative {
			continue
		}
		var ss float64
		n := 0
		for i, v := range xl {
			if (i/hd)%P < F {
				continue
			}
			ss += float64(v) * float64(v)
			n++
		}
		if n > 0 && ss > 0 {
			out[l] = math.Sqrt(ss / float64(n))
		}
	}
	return out
}
