package student

import (
	"context"
	"math"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
	"github.com/cartlsp/cartlsp/runtime/tokenizer"
)

// realPair loads the default model as a student and as the inference model
// (for initialisation), or skips when it was never pulled.
func realPair(t testing.TB, threads int) (*Model, *model.Model, *tokenizer.Tokenizer) {
	return realPairPrecision(t, threads, false)
}

// realPairPrecision is realPair with the student's weights in bf16 when bf16
// is set (and the CPU has the matrix unit), else float32.
func realPairPrecision(t testing.TB, threads int, bf16 bool) (*Model, *model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	f, m, tok := modeltest.Real(t, threads)
	if c, ok := m.Backend.(*cpu.Backend); ok {
		c.SetTrainBF16(bf16)
	}
	s, err := New(f, m.Backend)
	if err != nil {
		t.Fatal(err)
	}
	return s, m, tok
}

const realText = `// Package ring implements a fixed-size ring buffer of ints.
package ring

// Ring holds the last n values pushed.
type Ring struct {
	buf  []int
	next int
	full bool
}

// New returns a ring of capacity n.
func New(n int) *Ring { return &Ring{buf: make([]int, n)} }

// Push adds v, overwriting the oldest value when the ring is full.
func (r *Ring) Push(v int) {
	r.buf[r.next] = v
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}
`

// TestRealModelSpotCheck compares the float32 gradient on the default model
// with central differences of the float32 loss, at a handful of prefix
// coordinates: the largest |g| of the keys and of the values in the first,
// a middle and the last layer. Prefix: the KV of the first 16 tokens of a
// Go file (sink frozen); batch: next-token prediction on the next 24.
//
// The bound. A central difference in float32 errs by
//
//	|fd − g| ≤ δ/h + h²/6·|L⁽³⁾|,
//
// δ the absolute rounding error of the computed loss L. L (≈3.5) is a mean
// of float32 log-softmaxes of logits that went through 30 layers of float32
// products, so δ is some ulps of L: with u = 2⁻²⁴ ≈ 6e−8, the error growing
// as 1/h at small steps shows δ ≈ 5·u·|L| (1e−6), and the bound takes
// δ = 16·u·|L|. At h = 0.03 that term is ≈1.1e−4, and the truncation term —
// visible at h = 0.1 as up to 5e−3 relative — is budgeted as 2% of |g|:
//
//	|fd − g| ≤ 16·u·|L|/h + 0.02·|g|.
//
// For the largest coordinates (|g| ~ 1e−2) this checks two to three digits;
// measured errors are 4–60× under the bound.
func TestRealModelSpotCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	s, infer, tok := realPair(t, 2)
	ids := tok.Encode(realText, false)
	ctx := context.Background()
	const p, h = 16, 0.03
	pre, err := InitFromTokens(ctx, infer, ids, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	batch := []Example{NextToken(ids[p : p+25])}
	loss, g, err := s.Loss(ctx, pre, batch)
	if err != nil {
		t.Fatal(err)
	}
	eval := func() float64 {
		sum, n, err := s.Eval(ctx, pre, batch)
		if err != nil {
			t.Fatal(err)
		}
		return sum / float64(n)
	}
	u := math.Pow(2, -24)
	for _, l := range []int{0, s.NLayers / 2, s.NLayers - 1} {
		for _, which := range []string{"K", "V"} {
			x, gl := pre.K[l], g.K[l]
			if which == "V" {
				x, gl = pre.V[l], g.V[l]
			}
			best := 0
			for i, v := range gl {
				if math.Abs(float64(v)) > math.Abs(float64(gl[best])) {
					best = i
				}
			}
			if (best/s.HeadDim)%p < pre.Frozen {
				t.Fatalf("largest gradient on a frozen row")
			}
			x0 := x[best]
			x[best] = x0 + h
			lp := eval()
			x[best] = x0 - h
			lm := eval()
			x[best] = x0
			fd := (lp - lm) / (2 * h)
			gv := float64(gl[best])
			bound := 16*u*math.Abs(loss)/h + 0.02*math.Abs(gv)
			t.Logf("%s layer %2d [%4d]: g %+.5e  fd %+.5e  |fd−g| %.1e  bound %.1e", which, l, best, gv, fd, math.Abs(fd-gv), bound)
			if !(math.Abs(fd-gv) <= bound) {
				t.Errorf("%s layer %d coordinate %d: gradient %.5e, central difference %.5e: off by more than %.1e", which, l, best, gv, fd, bound)
			}
		}
	}
}
