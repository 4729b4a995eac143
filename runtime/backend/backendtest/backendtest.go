// Package backendtest checks a backend against the reference: every
// operation of backend.Backend is run on the same random inputs on the
// backend under test and on the reference backend in float64
// (runtime/backend/ref), and the results must agree to the accuracy the
// operation's numerics allow. A new backend is accepted when Conformance
// passes on it; the CPU backend runs it in its own tests.
package backendtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/backend/ref"
	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/half"
)

// pair holds the backend under test and the reference, with helpers that
// make the same tensor on both.
type pair struct {
	t        *testing.T
	be, want backend.Backend
	rng      *rand.Rand
}

// twin is one tensor on both backends.
type twin struct{ got, want backend.Tensor }

func (p *pair) tensor(rows, cols int, std float64) twin {
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(p.rng.NormFloat64() * std)
	}
	return p.host(rows, cols, x)
}

func (p *pair) host(rows, cols int, x []float32) twin {
	return twin{p.be.FromHost(rows, cols, slices.Clone(x)), p.want.FromHost(rows, cols, slices.Clone(x))}
}

func (p *pair) zeros(rows, cols int) twin {
	return twin{p.be.NewTensor(rows, cols), p.want.NewTensor(rows, cols)}
}

func (p *pair) weight(typ gguf.Type, rows, cols int) twin {
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(p.rng.NormFloat64() * 0.1)
	}
	raw, err := gguf.Quantize(typ, x)
	if err != nil {
		p.t.Fatal(err)
	}
	g, err := p.be.LoadWeight(typ, rows, cols, raw)
	if err != nil {
		p.t.Fatal(err)
	}
	w, err := p.want.LoadWeight(typ, rows, cols, raw)
	if err != nil {
		p.t.Fatal(err)
	}
	return twin{g, w}
}

func (p *pair) download(t twin) (got, want []float32) {
	got = make([]float32, t.got.Rows()*t.got.Cols())
	want = make([]float32, len(got))
	p.be.Download(got, t.got)
	p.want.Download(want, t.want)
	return got, want
}

// check fails when the relative norm of the difference, ‖got − want‖/‖want‖,
// exceeds tol.
func (p *pair) check(name string, t twin, tol float64) {
	p.t.Helper()
	got, want := p.download(t)
	p.close(name, got, want, tol)
}

func (p *pair) close(name string, got, want []float32, tol float64) {
	p.t.Helper()
	var num, den float64
	for i := range got {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	r := math.Sqrt(num / max(den, 1e-300))
	if !(r <= tol) { // NaN fails too
		p.t.Errorf("%s: relative difference %.2e > %.0e", name, r, tol)
	} else {
		p.t.Logf("%s: relative difference %.2e", name, r)
	}
}

// Conformance runs every operation of be against the float64 reference.
func Conformance(t *testing.T, be backend.Backend) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(&pair{t: t, be: be, want: ref.New64(), rng: rand.New(rand.NewPCG(7, uint64(len(c.name))))})
		})
	}
}

// float32 accuracy of a sum of a few hundred terms.
const f32 = 1e-5

var cases = []struct {
	name string
	run  func(p *pair)
}{
	{"Memory", func(p *pair) {
		x := p.tensor(5, 7, 1)
		y := p.zeros(5, 7)
		p.be.Copy(y.got, x.got)
		p.want.Copy(y.want, x.want)
		p.check("Copy", y, 0)
		s := twin{y.got.Slice(1, 3), y.want.Slice(1, 3)}
		p.be.Zero(s.got)
		p.want.Zero(s.want)
		p.check("Zero of a slice", y, 0)
		up := []float32{1, 2, 3, 4, 5, 6, 7}
		p.be.Upload(y.got.Slice(4, 5), up)
		p.want.Upload(y.want.Slice(4, 5), up)
		p.check("Upload into a slice", y, 0)
	}},
	{"GetRows", func(p *pair) {
		ids := []int{3, 0, 3, 7}
		for _, typ := range []gguf.Type{gguf.TypeF32, gguf.TypeQ8_0, gguf.TypeQ4_1} {
			w := p.weight(typ, 8, 64)
			d := p.zeros(len(ids), 64)
			p.be.GetRows(d.got, w.got, ids)
			p.want.GetRows(d.want, w.want, ids)
			p.check("weight "+typ.String(), d, 1e-7)
		}
		x := p.tensor(8, 16, 1)
		d := p.zeros(len(ids), 16)
		p.be.GetRows(d.got, x.got, ids)
		p.want.GetRows(d.want, x.want, ids)
		p.check("activation", d, 0)
	}},
	{"MatMul", func(p *pair) {
		// Quantized weights: the CPU backend quantizes the activations too
		// (Q8), which costs about 1% of the result.
		for _, c := range []struct {
			typ gguf.Type
			tol float64
		}{{gguf.TypeF32, f32}, {gguf.TypeF16, 2e-3}, {gguf.TypeQ8_0, 2e-2}, {gguf.TypeQ4_1, 2e-2}, {gguf.TypeQ4_0, 2e-2}} {
			for _, n := range []int{1, 5, 33} {
				w := p.weight(c.typ, 40, 96)
				x := p.tensor(n, 96, 1)
				d := p.zeros(n, 40)
				p.be.MatMul(d.got, x.got, w.got)
				p.want.MatMul(d.want, x.want, w.want)
				p.check(c.typ.String(), d, c.tol)
			}
		}
		// The student's float weights: held as an activation (FromHost), or
		// as a training weight — float32, or bf16 where the backend says so
		// (8 significant bits of each operand: relative rounding 2⁻⁹).
		for _, c := range []struct {
			name       string
			rows, cols int
			train      bool
		}{{"float activation weight", 40, 96, false}, {"training weight", 40, 96, true}, {"training weight", 64, 100, true}} {
			vals := make([]float32, c.rows*c.cols)
			for i := range vals {
				vals[i] = float32(p.rng.NormFloat64() * 0.1)
			}
			w := p.host(c.rows, c.cols, vals)
			if c.train {
				w = twin{p.be.TrainWeight(c.rows, c.cols, slices.Clone(vals)), p.want.TrainWeight(c.rows, c.cols, slices.Clone(vals))}
			}
			tol := f32
			if w.got.Type() == gguf.TypeBF16 {
				tol = 8e-3
			}
			p.check(c.name, w, tol)
			x := p.tensor(37, c.cols, 1)
			d := p.zeros(37, c.rows)
			p.be.MatMul(d.got, x.got, w.got)
			p.want.MatMul(d.want, x.want, w.want)
			p.check("MatMul "+c.name, d, tol)
			dy := p.tensor(37, c.rows, 1)
			dx := p.tensor(37, c.cols, 1)
			for _, acc := range []bool{true, false} {
				p.be.MatMulBack(dx.got, dy.got, w.got, acc)
				p.want.MatMulBack(dx.want, dy.want, w.want, acc)
				p.check(fmt.Sprintf("MatMulBack %s (acc %v)", c.name, acc), dx, tol)
			}
			rows := p.zeros(3, c.cols)
			p.be.GetRows(rows.got, w.got, []int{5, 0, c.rows - 1})
			p.want.GetRows(rows.want, w.want, []int{5, 0, c.rows - 1})
			p.check("GetRows "+c.name, rows, tol)
		}
	}},
	{"Elementwise", func(p *pair) {
		x, y, b := p.tensor(6, 48, 1), p.tensor(6, 48, 1), p.tensor(1, 48, 1)
		p.be.Add(x.got, y.got)
		p.want.Add(x.want, y.want)
		p.check("Add", x, 1e-7)
		p.be.AddRow(x.got, b.got)
		p.want.AddRow(x.want, b.want)
		p.check("AddRow", x, 1e-7)
		g, u, a := p.tensor(6, 48, 2), p.tensor(6, 48, 1), p.zeros(6, 48)
		p.be.SwiGLU(a.got, g.got, u.got)
		p.want.SwiGLU(a.want, g.want, u.want)
		p.check("SwiGLU", a, f32)
		da, dg, du := p.tensor(6, 48, 1), p.zeros(6, 48), p.zeros(6, 48)
		p.be.SwiGLUBack(dg.got, du.got, da.got, g.got, u.got)
		p.want.SwiGLUBack(dg.want, du.want, da.want, g.want, u.want)
		p.check("SwiGLUBack dg", dg, f32)
		p.check("SwiGLUBack du", du, f32)
		r := p.tensor(3, 40, 300)
		p.be.RoundF16(r.got)
		p.want.RoundF16(r.want)
		got, want := p.download(r)
		for i := range got {
			if got[i] != want[i] || got[i] != half.RoundF16(got[i]) {
				p.t.Fatalf("RoundF16: element %d is %v, the reference %v", i, got[i], want[i])
			}
		}
	}},
	{"RMSNorm", func(p *pair) {
		x, w := p.tensor(7, 64, 3), p.tensor(1, 64, 1)
		y, r := p.zeros(7, 64), p.zeros(7, 1)
		p.be.RMSNorm(y.got, r.got, x.got, w.got, 1e-5)
		p.want.RMSNorm(y.want, r.want, x.want, w.want, 1e-5)
		p.check("RMSNorm", y, f32)
		p.check("RMSNorm rstd", r, f32)
		dy, dx := p.tensor(7, 64, 1), p.tensor(7, 64, 1)
		p.be.RMSNormBack(dx.got, dy.got, x.got, r.got, w.got)
		p.want.RMSNormBack(dx.want, dy.want, x.want, r.want, w.want)
		p.check("RMSNormBack", dx, f32)
		y2 := p.zeros(7, 64)
		p.be.RMSNorm(y2.got, nil, x.got, w.got, 1e-5)
		p.want.RMSNorm(y2.want, nil, x.want, w.want, 1e-5)
		p.check("RMSNorm without rstd", y2, f32)
	}},
	{"RoPE", func(p *pair) {
		for _, half := range []bool{false, true} {
			s := backend.RopeShape{Heads: 3, HeadDim: 16, Dims: 16, Half: half}
			n := 5
			cs := make([]float32, n*16)
			for t := 0; t < n; t++ {
				for i := 0; i < 8; i++ {
					th := float64(t+3) * math.Pow(10000, -float64(2*i)/16)
					cs[t*16+2*i], cs[t*16+2*i+1] = float32(math.Cos(th)), float32(math.Sin(th))
				}
			}
			c := p.host(n, 16, cs)
			x := p.tensor(n, 48, 1)
			p.be.RoPE(x.got, c.got, s, false)
			p.want.RoPE(x.want, c.want, s, false)
			p.check("RoPE", x, f32)
			p.be.RoPE(x.got, c.got, s, true)
			p.want.RoPE(x.want, c.want, s, true)
			p.check("RoPE inverse", x, f32)
		}
	}},
	{"Attention", func(p *pair) {
		// A backend may round q and the weights to f16 (llama.cpp's
		// numerics): one f16 step (5e−4) on every term. Keys and values
		// come as activations and as cache tensors; the longer cases cross
		// key blocks and (for one token) are split into key chunks.
		for _, c := range []struct {
			heads, kvHeads, n, pos0 int
			cache                   bool
		}{
			{4, 2, 1, 0, false}, {4, 2, 1, 37, false}, {4, 2, 6, 0, false}, {4, 2, 9, 20, false},
			{4, 2, 1, 37, true}, {4, 2, 9, 20, true}, {14, 2, 1, 1300, true}, {6, 2, 40, 290, true}, {3, 1, 17, 0, true},
		} {
			s := backend.AttnShape{Heads: c.heads, KVHeads: c.kvHeads, HeadDim: 64}
			L, kvd := c.pos0+c.n, c.kvHeads*64
			k, v := p.tensor(L, kvd, 1), p.tensor(L, kvd, 1)
			p.be.RoundF16(k.got)
			p.want.RoundF16(k.want)
			p.be.RoundF16(v.got)
			p.want.RoundF16(v.want)
			if c.cache {
				kc := twin{p.be.NewCache(L, kvd), p.want.NewCache(L, kvd)}
				vc := twin{p.be.NewCache(L, kvd), p.want.NewCache(L, kvd)}
				for _, cp := range [][2]twin{{kc, k}, {vc, v}} {
					p.be.Copy(cp[0].got, cp[1].got)
					p.want.Copy(cp[0].want, cp[1].want)
				}
				p.check("cache copy", kc, 0) // binary16 values survive the cache exactly
				k, v = kc, vc
			}
			q, o := p.tensor(c.n, c.heads*64, 0.3), p.zeros(c.n, c.heads*64)
			p.be.Attention(o.got, q.got, k.got, v.got, s, c.pos0, c.n > 1)
			p.want.Attention(o.want, q.want, k.want, v.want, s, c.pos0, c.n > 1)
			p.check(fmt.Sprintf("Attention %+v", c), o, 1e-3)
		}
	}},
	{"PrefixAttention", func(p *pair) {
		s := backend.AttnShape{Heads: 4, KVHeads: 2, HeadDim: 16}
		off, P := []int{0, 5, 5, 12}, 6 // three sequences, one empty
		N := off[len(off)-1]
		q, k, v := p.tensor(N, 64, 1), p.tensor(N, 32, 1), p.tensor(N, 32, 1)
		kp, vp := p.tensor(2*P, 16, 1), p.tensor(2*P, 16, 1)
		att, lse := p.zeros(N, 64), p.zeros(N, 4)
		p.be.PrefixAttention(att.got, lse.got, q.got, k.got, v.got, kp.got, vp.got, s, off)
		p.want.PrefixAttention(att.want, lse.want, q.want, k.want, v.want, kp.want, vp.want, s, off)
		p.check("att", att, f32)
		p.check("lse", lse, f32)
		datt := p.tensor(N, 64, 1)
		dkp, dvp := p.tensor(2*P, 16, 1), p.tensor(2*P, 16, 1) // accumulated into
		dq, dk, dv := p.tensor(N, 64, 1), p.tensor(N, 32, 1), p.tensor(N, 32, 1)
		p.be.PrefixAttentionBack(dkp.got, dvp.got, dq.got, dk.got, dv.got, datt.got, lse.got, q.got, k.got, v.got, kp.got, vp.got, s, off)
		p.want.PrefixAttentionBack(dkp.want, dvp.want, dq.want, dk.want, dv.want, datt.want, lse.want, q.want, k.want, v.want, kp.want, vp.want, s, off)
		for _, c := range []struct {
			name string
			t    twin
		}{{"dkp", dkp}, {"dvp", dvp}, {"dq", dq}, {"dk", dk}, {"dv", dv}} {
			p.check(c.name, c.t, f32)
		}
		p.be.PrefixAttentionBack(dkp.got, dvp.got, nil, nil, nil, datt.got, lse.got, q.got, k.got, v.got, kp.got, vp.got, s, off)
		p.want.PrefixAttentionBack(dkp.want, dvp.want, nil, nil, nil, datt.want, lse.want, q.want, k.want, v.want, kp.want, vp.want, s, off)
		p.check("dkp, prefix only", dkp, f32)
		p.check("dvp, prefix only", dvp, f32)
	}},
	{"DistillLoss", func(p *pair) {
		const V = 300
		z := p.tensor(4, V, 3)
		targets := []backend.Target{
			{IDs: []int{5}, LogProbs: []float32{0}},
			{IDs: []int{9, 2, 250}, LogProbs: []float32{-0.3, -1.7, -4}},
			{IDs: []int{0, 299}, LogProbs: []float32{-0.01, -9}},
			{IDs: []int{7, 7}, LogProbs: []float32{-1, -2}},
		}
		gotL := p.be.DistillLoss(z.got, targets, 0.25, true)
		wantL := p.want.DistillLoss(z.want, targets, 0.25, true)
		p.close("loss", f32s(gotL), f32s(wantL), f32)
		p.check("gradient", z, f32)
	}},
	{"TopK", func(p *pair) {
		z := p.tensor(3, 500, 2)
		gi, gl := p.be.TopK(z.got, 10)
		wi, wl := p.want.TopK(z.want, 10)
		if !slices.Equal(gi, wi) {
			p.t.Errorf("TopK ids %v, the reference %v", gi, wi)
		}
		p.close("TopK log-probabilities", gl, wl, f32)
	}},
}

func f32s(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}
