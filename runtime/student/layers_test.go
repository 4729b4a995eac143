package student

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/model"
)

// Each layer's backward against central finite differences in float64, on
// its own: the scalar is f = Σ dy ⊙ layer(x) for a fixed random dy (or the
// loss itself), and every input the backward differentiates is checked.

// fdStep is the central-difference step of the float64 layer checks: the
// truncation error (h²/6·|f⁽³⁾|) and the rounding error (≈1e−16·|f|/h) are
// then both far below 1e−6 of the gradients checked.
const fdStep = 1e-5

// modelFDStep is the step of the whole-model checks. The tiny random models
// have logits of ±70 and losses near 50, so the rounding error ≈1e−16·|f|/h
// dominates at small steps (measured: relative error 4e−6 at h = 1e−6,
// 4e−7 at 1e−5, 4e−8 at 1e−4, 4e−9 at 1e−3, falling as 1/h); 1e−4 keeps
// both errors below 1e−7.
const modelFDStep = 1e-4

// fdBound is the largest relative error accepted (the 1e−6).
const fdBound = 1e-6

// layerCase is one layer check: inputs with their analytic gradients, and
// the scalar they are the gradient of.
type layerCase struct {
	name   string
	inputs func(rng *rand.Rand) (xs map[string][]float64, grads map[string][]float64, f func() float64)
}

var plain64 = engine{plain: true}

func layerCases() []layerCase {
	cs := []layerCase{
		{"rmsnorm", func(rng *rand.Rand) (map[string][]float64, map[string][]float64, func() float64) {
			n, d := 3, 16
			x, dy := normals(rng, n*d, 1), normals(rng, n*d, 1)
			w := normals(rng, d, 0.1)
			for i := range w {
				w[i]++
			}
			y, r := make([]float64, n*d), make([]float64, n)
			f := func() float64 { rmsnormForward(plain64, y, r, x, w, n, d, 1e-5); return dot64(dy, y) }
			f()
			dx := make([]float64, n*d)
			rmsnormBackward(plain64, dx, dy, x, r, w, n, d)
			return map[string][]float64{"x": x}, map[string][]float64{"x": dx}, f
		}},
		{"linear+bias", func(rng *rand.Rand) (map[string][]float64, map[string][]float64, func() float64) {
			n, in, out := 3, 7, 5
			x, w, b, dy := normals(rng, n*in, 1), normals(rng, out*in, 1), normals(rng, out, 1), normals(rng, n*out, 1)
			y := make([]float64, n*out)
			f := func() float64 { linearForward(plain64, y, x, w, b, n, in, out); return dot64(dy, y) }
			dx := make([]float64, n*in)
			linearBackward(plain64, dx, dy, w, n, in, out, false)
			return map[string][]float64{"x": x}, map[string][]float64{"x": dx}, f
		}},
		{"swiglu", func(rng *rand.Rand) (map[string][]float64, map[string][]float64, func() float64) {
			n := 40
			g, u, da := normals(rng, n, 2), normals(rng, n, 1), normals(rng, n, 1)
			a := make([]float64, n)
			f := func() float64 { swigluForward(plain64, a, g, u); return dot64(da, a) }
			dg, du := make([]float64, n), make([]float64, n)
			swigluBackward(plain64, dg, du, da, g, u)
			return map[string][]float64{"g": g, "u": u}, map[string][]float64{"g": dg, "u": du}, f
		}},
		{"log-softmax", func(rng *rand.Rand) (map[string][]float64, map[string][]float64, func() float64) {
			v := 11
			z, dy := normals(rng, v, 2), normals(rng, v, 1)
			out := make([]float64, v)
			f := func() float64 { logSoftmaxForward(out, z); return dot64(dy, out) }
			f()
			dz := make([]float64, v)
			logSoftmaxBackward(dz, dy, out)
			return map[string][]float64{"z": z}, map[string][]float64{"z": dz}, f
		}},
		lossCase("distill-top-k", []int{2, 5, 7, 0}, []float32{-0.4, -1.7, -2.5, -4}),
		lossCase("next-token", []int{4}, []float32{0}),
	}
	for _, layout := range []model.RopeLayout{model.RopeAdjacent, model.RopeHalf} {
		for _, dims := range []int{8, 4} {
			cs = append(cs, layerCase{"rope-" + string(layout) + map[int]string{8: "-full", 4: "-partial"}[dims],
				func(rng *rand.Rand) (map[string][]float64, map[string][]float64, func() float64) {
					n, heads, hd := 3, 2, 8
					r := ropeAngles{dims: dims, layout: layout, scale: float32(math.Pow(10000, -2.0/float64(dims)))}
					cs := ropeTable[float64](r, []int{5, 9, 100})
					x, dy := normals(rng, n*heads*hd, 1), normals(rng, n*heads*hd, 1)
					y := make([]float64, len(x))
					f := func() float64 { copy(y, x); ropeForward(r, y, cs, n, heads, hd); return dot64(dy, y) }
					dx := append([]float64(nil), dy...)
					ropeBackward(r, dx, cs, n, heads, hd)
					return map[string][]float64{"x": x}, map[string][]float64{"x": dx}, f
				}})
		}
	}
	for _, ac := range []struct {
		name         string
		heads, kvh   int
		p            int
		lens         []int
		wantInputGrd bool
	}{
		{"attention-gqa-prefix", 4, 2, 3, []int{1, 4, 3}, true},
		{"attention-mha-prefix", 2, 2, 5, []int{2, 3}, true},
		{"attention-no-prefix", 4, 1, 0, []int{3, 2}, true},
		{"attention-prefix-only-grads", 4, 2, 4, []int{3}, false},
	} {
		cs = append(cs, layerCase{ac.name, func(rng *rand.Rand) (map[string][]float64, map[string][]float64, func() float64) {
			hd := 8
			c := attnShape{ac.heads, ac.kvh, hd}
			lay := batchLayout{p: ac.p, off: []int{0}}
			for _, l := range ac.lens {
				lay.off = append(lay.off, lay.off[len(lay.off)-1]+l)
			}
			N := lay.off[len(lay.off)-1]
			q, k, v := normals(rng, N*ac.heads*hd, 1), normals(rng, N*ac.kvh*hd, 1), normals(rng, N*ac.kvh*hd, 1)
			kp, vp := normals(rng, ac.kvh*ac.p*hd, 1), normals(rng, ac.kvh*ac.p*hd, 1)
			datt := normals(rng, N*ac.heads*hd, 1)
			att, lse := make([]float64, N*ac.heads*hd), make([]float64, N*ac.heads)
			sc := newAttnScratch(c, lay, true, new(arena[float64]))
			f := func() float64 {
				attnForward(plain64, c, lay, att, lse, q, k, v, kp, vp, sc)
				return dot64(datt, att)
			}
			f()
			dkp, dvp := make([]float64, len(kp)), make([]float64, len(vp))
			xs := map[string][]float64{"prefix-k": kp, "prefix-v": vp}
			gs := map[string][]float64{"prefix-k": dkp, "prefix-v": dvp}
			if ac.wantInputGrd {
				dq, dk, dv := make([]float64, len(q)), make([]float64, len(k)), make([]float64, len(v))
				attnBackward(plain64, c, lay, datt, lse, q, k, v, kp, vp, dkp, dvp, dq, dk, dv, sc)
				xs["q"], xs["k"], xs["v"] = q, k, v
				gs["q"], gs["k"], gs["v"] = dq, dk, dv
			} else {
				attnBackward(plain64, c, lay, datt, lse, q, k, v, kp, vp, dkp, dvp, nil, nil, nil, sc)
			}
			return xs, gs, f
		}})
	}
	return cs
}

// lossCase checks log-softmax followed by the sparse distillation loss
// (next-token cross-entropy is the one-hot case), as a function of logits.
func lossCase(name string, ids []int, lp []float32) layerCase {
	return layerCase{name, func(rng *rand.Rand) (map[string][]float64, map[string][]float64, func() float64) {
		v := 9
		z := normals(rng, v, 2)
		logq := make([]float64, v)
		f := func() float64 { logSoftmaxForward(logq, z); return distillForward(logq, ids, lp) }
		f()
		dz := make([]float64, v)
		distillBackward(dz, ids, lp, 1)
		logSoftmaxBackward(dz, dz, logq)
		return map[string][]float64{"logits": z}, map[string][]float64{"logits": dz}, f
	}}
}

func TestLayerGradients(t *testing.T) {
	for i, lc := range layerCases() {
		t.Run(lc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i)+1, 3))
			xs, gs, f := lc.inputs(rng)
			for _, name := range slices.Sorted(maps.Keys(xs)) {
				x := xs[name]
				if len(x) == 0 {
					continue
				}
				idx := sample(rng, len(x), 64)
				r := compareGrads(pick(gs[name], idx), centralDiff(x, idx, fdStep, f))
				t.Logf("d/d%-8s %3d coords: rel %.2e, worst coord %.2e", name, r.n, r.rel, r.worst)
				if !(r.rel <= fdBound) {
					t.Errorf("d/d%s: relative error %.3e > %.0e", name, r.rel, fdBound)
				}
			}
		})
	}
}

// TestExpf checks the float32 exp against math.Exp: within 2 ulps of the
// correctly rounded value over the range softmax and silu use, and the
// edges (overflow, underflow, NaN).
func TestExpf(t *testing.T) {
	worst := 0.0
	for x := float32(-100); x <= 88; x += 0.00731 {
		got, want := float64(expf(x)), math.Exp(float64(x))
		if want < 1.2e-38 { // subnormal results: absolute error
			if math.Abs(got-want) > 2e-45 {
				t.Fatalf("expf(%v) = %v, want %v", x, got, want)
			}
			continue
		}
		ulp := float64(math.Nextafter32(float32(want), float32(math.Inf(1))) - float32(want))
		worst = max(worst, math.Abs(got-want)/ulp)
	}
	t.Logf("worst error %.2f ulp", worst)
	if worst > 2 {
		t.Errorf("expf is off by %.2f ulps", worst)
	}
	if !math.IsInf(float64(expf(89)), 1) || expf(-104) != 0 || expf(float32(math.Inf(-1))) != 0 || !math.IsNaN(float64(expf(float32(math.NaN())))) {
		t.Errorf("expf edges: %v %v %v", expf(89), expf(-104), expf(float32(math.NaN())))
	}
}
