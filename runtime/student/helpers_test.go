package student

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
)

// tinyFile builds a tiny random model file.
func tinyFile(t testing.TB, o modeltest.Options) *gguf.File { return modeltest.Parse(t, o) }

// tinyPair returns the student and the inference model of one tiny file.
func tinyPair(t testing.TB, o modeltest.Options) (*Model, *model.Model) {
	t.Helper()
	f := tinyFile(t, o)
	sbe := cpu.NewBackend(2)
	sbe.SetTrainBF16(false) // the checks here are float32's; bf16_test.go checks bf16
	be := cpu.NewBackend(1)
	t.Cleanup(func() { sbe.Close(); be.Close() })
	s, err := New(f, sbe)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(f, be)
	if err != nil {
		t.Fatal(err)
	}
	return s, m
}

func normals(rng *rand.Rand, n int, std float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64() * std
	}
	return v
}

// modelFDStep is the step of the whole-model checks, 2^−13 ≈ 1.2e−4 (a
// power of two, so that steps are exact on the prefix's 2^−20 grid). The
// tiny random models have logits of ±70 and losses near 50, so the rounding
// error ≈1e−16·|f|/h dominates at small steps (measured: relative error
// 4e−6 at h = 1e−6, 4e−7 at 1e−5, 4e−8 at 1e−4, 4e−9 at 1e−3, falling as
// 1/h); near 1e−4 both errors stay below 1e−7.
const modelFDStep = 1.0 / (1 << 13)

// fdBound is the largest relative error accepted.
const fdBound = 1e-6

// fdResult compares an analytic gradient with central differences on a
// sample of coordinates. The figure checked is the relative error of the
// sampled vectors,
//
//	rel = ‖g − g_fd‖₂ / max(‖g‖₂ + ‖g_fd‖₂, 1e−300),
//
// reported with the worst per-coordinate |g−g_fd| / (|g|+|g_fd|) over the
// coordinates whose |g|+|g_fd| is at least 1e−3 of the largest.
type fdResult struct {
	rel, worst float64
	n          int
}

// centralDiff perturbs x[i] by ±h for each i in idx and returns
// (f(x+h) − f(x−h)) / 2h.
func centralDiff(x []float64, idx []int, h float64, f func() float64) []float64 {
	out := make([]float64, len(idx))
	for k, i := range idx {
		x0 := x[i]
		x[i] = x0 + h
		fp := f()
		x[i] = x0 - h
		fm := f()
		x[i] = x0
		out[k] = (fp - fm) / (2 * h)
	}
	return out
}

func compareGrads(g, fd []float64) fdResult {
	var num, ga, fa, big float64
	for k := range g {
		num += (g[k] - fd[k]) * (g[k] - fd[k])
		ga += g[k] * g[k]
		fa += fd[k] * fd[k]
		big = max(big, math.Abs(g[k])+math.Abs(fd[k]))
	}
	r := fdResult{rel: math.Sqrt(num) / max(math.Sqrt(ga)+math.Sqrt(fa), 1e-300), n: len(g)}
	for k := range g {
		if s := math.Abs(g[k]) + math.Abs(fd[k]); s >= 1e-3*big && s > 0 {
			r.worst = max(r.worst, math.Abs(g[k]-fd[k])/s)
		}
	}
	return r
}

// sample returns up to k distinct indices of [0, n), sorted.
func sample(rng *rand.Rand, n, k int) []int {
	if k >= n {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := rng.Perm(n)[:k]
	sort.Ints(out)
	return out
}

func pick(x []float64, idx []int) []float64 {
	out := make([]float64, len(idx))
	for k, i := range idx {
		out[k] = x[i]
	}
	return out
}

func dot64(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// logSoftmax64 replaces z by z − log Σ e^z, in float64.
func logSoftmax64(z []float64) {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = max(mx, v)
	}
	var sum float64
	for _, v := range z {
		sum += math.Exp(v - mx)
	}
	lse := mx + math.Log(sum)
	for i := range z {
		z[i] -= lse
	}
}
