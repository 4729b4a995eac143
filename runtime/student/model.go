// Package student is the differentiable model a Cartridge is trained
// through: the frozen language model, its weights dequantized to float32,
// run forward over a trainable KV prefix (the Cartridge) and backward to that
// prefix. No weight gradient is ever computed or stored.
//
// The layer math is written once, generic over Float, forward and backward of
// each layer side by side (layers.go, attention.go, loss.go). The float32
// instantiation is the fast path (the cpu package's sgemm for the large
// products); the float64 instantiation, with plain loops, serves the gradient
// checks.
//
// Shapes are written as in llm.c: N is the number of student tokens in a
// batch (all sequences flattened, sequence b owning rows off[b]..off[b+1]−1),
// D the hidden size, KV = KVHeads·HeadDim, F the SwiGLU inner size, V the
// vocabulary, P the prefix length. Student token t of a sequence sits at
// position P+t; the prefix keys are stored already rotated for positions
// 0..P−1.
package student

import (
	"fmt"
	"math"
	"sync/atomic"

	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/model"
)

// Float is the element type the layer math is written for.
type Float interface{ ~float32 | ~float64 }

// Model is a frozen language model that can be differentiated with respect
// to a KV prefix. It is safe for concurrent use (calls made while another
// runs use one thread: the pool runs one parallel loop at a time).
type Model struct {
	model.Config
	net *net[float32]
}

// net is the model's weights and numbers in element type T, with the engine
// that runs its products.
type net[T Float] struct {
	cfg   model.Config
	w     weights[T]
	eng   engine
	rope  ropeAngles
	spare atomic.Pointer[arena[T]] // buffers of the last call (arena.go)
}

// weights are a model's frozen parameters; matrices [out, in] row-major.
type weights[T Float] struct {
	embed   []T // [V, D]
	output  []T // [V, D]; the embedding when tied
	outNorm []T // [D]
	layers  []layerWeights[T]
}

type layerWeights[T Float] struct {
	attnNorm   []T // [D]
	wq, wo     []T // [D, D]
	wk, wv     []T // [KV, D]
	bq, bk, bv []T // [D], [KV], [KV] or nil
	ffnNorm    []T // [D]
	wg, wu     []T // [F, D]
	wd         []T // [D, F]
}

// New dequantizes every weight of f to float32 (about 540 MB for the
// default model). pool runs the products; nil means one thread. The file
// may be closed afterwards.
func New(f *gguf.File, pool *cpu.Pool) (*Model, error) {
	cfg, err := model.ConfigFromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("student: %w", err)
	}
	D, KV, F, V := cfg.Dim, cfg.KVDim(), cfg.FFN, cfg.Vocab
	load := func(name string, n int) ([]float32, error) {
		t, ok := f.Tensor(name)
		if !ok {
			return nil, fmt.Errorf("student: tensor %s is missing", name)
		}
		if t.Elems() != uint64(n) {
			return nil, fmt.Errorf("student: tensor %s has %d elements, want %d", name, t.Elems(), n)
		}
		v, err := f.TensorFloat32(name)
		if err != nil {
			return nil, fmt.Errorf("student: %w", err)
		}
		return v, nil
	}
	var w weights[float32]
	if w.embed, err = load("token_embd.weight", V*D); err != nil {
		return nil, err
	}
	w.output = w.embed
	if _, ok := f.Tensor("output.weight"); ok {
		if w.output, err = load("output.weight", V*D); err != nil {
			return nil, err
		}
	}
	if w.outNorm, err = load("output_norm.weight", D); err != nil {
		return nil, err
	}
	w.layers = make([]layerWeights[float32], cfg.NLayers)
	for i := range w.layers {
		l := &w.layers[i]
		p := fmt.Sprintf("blk.%d.", i)
		specs := []struct {
			dst  *[]float32
			name string
			n    int
		}{
			{&l.attnNorm, "attn_norm.weight", D},
			{&l.wq, "attn_q.weight", D * D},
			{&l.wk, "attn_k.weight", KV * D},
			{&l.wv, "attn_v.weight", KV * D},
			{&l.wo, "attn_output.weight", D * D},
			{&l.ffnNorm, "ffn_norm.weight", D},
			{&l.wg, "ffn_gate.weight", F * D},
			{&l.wu, "ffn_up.weight", F * D},
			{&l.wd, "ffn_down.weight", D * F},
		}
		if cfg.QKVBias {
			specs = append(specs, []struct {
				dst  *[]float32
				name string
				n    int
			}{{&l.bq, "attn_q.bias", D}, {&l.bk, "attn_k.bias", KV}, {&l.bv, "attn_v.bias", KV}}...)
		}
		for _, s := range specs {
			if *s.dst, err = load(p+s.name, s.n); err != nil {
				return nil, err
			}
		}
	}
	return &Model{Config: cfg, net: &net[float32]{cfg: cfg, w: w, eng: engine{pool: pool}, rope: newRopeAngles(cfg)}}, nil
}

// convertNet copies a net into another element type (tests: the float64
// twin of a float32 model for the gradient checks). plain selects the plain
// loops instead of the sgemm kernels.
func convertNet[D, S Float](s *net[S], plain bool) *net[D] {
	conv := func(x []S) []D {
		if x == nil {
			return nil
		}
		out := make([]D, len(x))
		for i, v := range x {
			out[i] = D(v)
		}
		return out
	}
	d := &net[D]{cfg: s.cfg, eng: engine{pool: s.eng.pool, plain: plain}, rope: s.rope}
	d.w.embed = conv(s.w.embed)
	d.w.output = d.w.embed
	if &s.w.output[0] != &s.w.embed[0] {
		d.w.output = conv(s.w.output)
	}
	d.w.outNorm = conv(s.w.outNorm)
	d.w.layers = make([]layerWeights[D], len(s.w.layers))
	for i, l := range s.w.layers {
		d.w.layers[i] = layerWeights[D]{
			attnNorm: conv(l.attnNorm), wq: conv(l.wq), wo: conv(l.wo), wk: conv(l.wk), wv: conv(l.wv),
			bq: conv(l.bq), bk: conv(l.bk), bv: conv(l.bv),
			ffnNorm: conv(l.ffnNorm), wg: conv(l.wg), wu: conv(l.wu), wd: conv(l.wd),
		}
	}
	return d
}

// engine runs the products and parallel loops: float32 products go to the
// cpu package's sgemm unless plain is set; everything else (float64, or
// plain) runs the plain loops, the reference the fast path is tested against.
type engine struct {
	pool  *cpu.Pool
	plain bool
}

// run calls fn over chunks of [0, n) on the pool's threads.
func (e engine) run(n int, fn func(lo, hi int)) { e.pool.Run(n, fn) }

// gemmNT: c[m,n] (+)= a[m,k] · b[n,k]ᵀ (row-major; acc adds to c).
func gemmNT[T Float](e engine, m, n, k int, a, b, c []T, acc bool) {
	if a32, ok := any(a).([]float32); ok && !e.plain {
		cpu.SgemmNT(e.pool, m, n, k, a32, any(b).([]float32), any(c).([]float32), acc)
		return
	}
	e.run(m, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ar := a[i*k : (i+1)*k]
			cr := c[i*n : (i+1)*n]
			for j := range cr {
				br := b[j*k : (j+1)*k]
				var s T
				for p, v := range ar {
					s += v * br[p]
				}
				if acc {
					cr[j] += s
				} else {
					cr[j] = s
				}
			}
		}
	})
}

// gemmNN: c[m,n] (+)= a[m,k] · b[k,n].
func gemmNN[T Float](e engine, m, n, k int, a, b, c []T, acc bool) {
	if a32, ok := any(a).([]float32); ok && !e.plain {
		cpu.SgemmNN(e.pool, m, n, k, a32, any(b).([]float32), any(c).([]float32), acc)
		return
	}
	e.run(m, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			cr := c[i*n : (i+1)*n]
			if !acc {
				clear(cr)
			}
			for p := 0; p < k; p++ {
				av := a[i*k+p]
				br := b[p*n : (p+1)*n]
				for j, v := range br {
					cr[j] += av * v
				}
			}
		}
	})
}

// gemmTN: c[m,n] (+)= a[k,m]ᵀ · b[k,n].
func gemmTN[T Float](e engine, m, n, k int, a, b, c []T, acc bool) {
	if a32, ok := any(a).([]float32); ok && !e.plain {
		cpu.SgemmTN(e.pool, m, n, k, a32, any(b).([]float32), any(c).([]float32), acc)
		return
	}
	e.run(m, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			cr := c[i*n : (i+1)*n]
			if !acc {
				clear(cr)
			}
			for p := 0; p < k; p++ {
				av := a[p*m+i]
				br := b[p*n : (p+1)*n]
				for j, v := range br {
					cr[j] += av * v
				}
			}
		}
	})
}

// ropeAngles computes RoPE angles as the inference model does: for
// position p, θ_0 = p and θ_{i+1} = θ_i · base^(−2/d) iterated in float32
// (so a trained prefix meets the same rotations at decode time); cos and sin
// are then taken in float64.
type ropeAngles struct {
	dims   int
	layout model.RopeLayout
	scale  float32
}

func newRopeAngles(c model.Config) ropeAngles {
	return ropeAngles{dims: c.RopeDims, layout: c.Rope,
		scale: float32(math.Pow(float64(c.RopeBase), -2.0/float64(c.RopeDims)))}
}

// table returns cs[len(pos), dims/2, 2] = (cos θ_i, sin θ_i) per position.
func ropeTable[T Float](r ropeAngles, pos []int) []T {
	half := r.dims / 2
	cs := make([]T, len(pos)*half*2)
	for t, p := range pos {
		theta := float32(p)
		row := cs[t*half*2 : (t+1)*half*2]
		for i := 0; i < half; i++ {
			s, c := math.Sincos(float64(theta))
			row[2*i], row[2*i+1] = T(c), T(s)
			theta *= r.scale
		}
	}
	return cs
}
