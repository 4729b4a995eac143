package student

import (
	"fmt"
	"math"
)

// Prefix is a trainable KV prefix (a Cartridge's parameters): per layer,
// keys and values of P virtual tokens in the Cartridge file's layout
// [KVHeads, P, HeadDim], keys already rotated for positions 0..P−1. The
// first Frozen tokens are not trained (the attention sink).
type Prefix struct {
	P, Frozen        int
	KVHeads, HeadDim int
	K, V             [][]float32 // [layer] → [KVHeads·P·HeadDim]
}

// Grad is the gradient of a loss with respect to a Prefix, same shapes.
// Rows of the frozen tokens are zero.
type Grad struct {
	K, V [][]float32
}

// NewPrefix returns a zero prefix of p tokens, the first frozen of them
// frozen, shaped for m.
func (m *Model) NewPrefix(p, frozen int) *Prefix {
	n := m.KVHeads * p * m.HeadDim
	pre := &Prefix{P: p, Frozen: frozen, KVHeads: m.KVHeads, HeadDim: m.HeadDim, K: make([][]float32, m.NLayers), V: make([][]float32, m.NLayers)}
	for l := range pre.K {
		pre.K[l], pre.V[l] = make([]float32, n), make([]float32, n)
	}
	return pre
}

// Clone returns a deep copy.
func (p *Prefix) Clone() *Prefix {
	c := &Prefix{P: p.P, Frozen: p.Frozen, KVHeads: p.KVHeads, HeadDim: p.HeadDim, K: make([][]float32, len(p.K)), V: make([][]float32, len(p.V))}
	for l := range p.K {
		c.K[l] = append([]float32(nil), p.K[l]...)
		c.V[l] = append([]float32(nil), p.V[l]...)
	}
	return c
}

// shapeOK reports whether the prefix's slices have the shape its numbers say.
func (p *Prefix) shapeOK() error {
	if p == nil {
		return fmt.Errorf("no prefix")
	}
	if p.P < 0 || p.Frozen < 0 || p.Frozen > p.P || p.KVHeads <= 0 || p.HeadDim <= 0 {
		return fmt.Errorf("prefix of %d tokens (%d frozen), %d KV heads of %d dims is not valid", p.P, p.Frozen, p.KVHeads, p.HeadDim)
	}
	if len(p.K) != len(p.V) {
		return fmt.Errorf("prefix has %d layers of keys but %d of values", len(p.K), len(p.V))
	}
	n := p.KVHeads * p.P * p.HeadDim
	for l := range p.K {
		if len(p.K[l]) != n || len(p.V[l]) != n {
			return fmt.Errorf("prefix layer %d has %d keys and %d values, want %d·%d·%d = %d",
				l, len(p.K[l]), len(p.V[l]), p.KVHeads, p.P, p.HeadDim, n)
		}
	}
	return nil
}

// check reports whether pre fits m.
func (m *Model) check(pre *Prefix) error {
	if err := pre.shapeOK(); err != nil {
		return fmt.Errorf("student: %w", err)
	}
	if len(pre.K) != m.NLayers || pre.KVHeads != m.KVHeads || pre.HeadDim != m.HeadDim {
		return fmt.Errorf("student: prefix of %d layers × %d KV heads × %d dims does not fit the model's %d × %d × %d",
			len(pre.K), pre.KVHeads, pre.HeadDim, m.NLayers, m.KVHeads, m.HeadDim)
	}
	return nil
}

// NewGrad returns a zero gradient shaped like pre.
func NewGrad(pre *Prefix) *Grad {
	g := &Grad{K: make([][]float32, len(pre.K)), V: make([][]float32, len(pre.V))}
	for l := range pre.K {
		g.K[l], g.V[l] = make([]float32, len(pre.K[l])), make([]float32, len(pre.V[l]))
	}
	return g
}

// Zero clears the gradient.
func (g *Grad) Zero() {
	for l := range g.K {
		clear(g.K[l])
		clear(g.V[l])
	}
}

// Scale multiplies the gradient by s.
func (g *Grad) Scale(s float32) {
	for l := range g.K {
		for i := range g.K[l] {
			g.K[l][i] *= s
		}
		for i := range g.V[l] {
			g.V[l][i] *= s
		}
	}
}

// Norm is the Euclidean norm of the whole gradient.
func (g *Grad) Norm() float64 {
	var s float64
	for l := range g.K {
		for _, v := range g.K[l] {
			s += float64(v) * float64(v)
		}
		for _, v := range g.V[l] {
			s += float64(v) * float64(v)
		}
	}
	return math.Sqrt(s)
}

// zeroFrozen clears the rows of the first frozen tokens of every head.
func zeroFrozen(x [][]float32, kvHeads, p, hd, frozen int) {
	for _, xl := range x {
		for h := 0; h < kvHeads; h++ {
			clear(xl[h*p*hd : (h*p+frozen)*hd])
		}
	}
}

// toHeads converts per-layer keys or values from the KV cache's layout
// [pos][kvHeads·hd] to the prefix layout [kvHeads, P, hd].
func toHeads(x []float32, p, kvHeads, hd int) []float32 {
	out := make([]float32, len(x))
	for j := 0; j < p; j++ {
		for h := 0; h < kvHeads; h++ {
			copy(out[(h*p+j)*hd:(h*p+j+1)*hd], x[(j*kvHeads+h)*hd:])
		}
	}
	return out
}

// Concat is a followed by b: a's tokens first, then b's, per layer and KV
// head (keys as they are: each part keeps the rotation it was made with,
// as Cartridges compose by plain concatenation). Its first a.P + b.Frozen
// tokens are frozen: b trains beside a, which stays as it is.
func Concat(a, b *Prefix) (*Prefix, error) {
	if err := a.shapeOK(); err != nil {
		return nil, err
	}
	if err := b.shapeOK(); err != nil {
		return nil, err
	}
	if a.KVHeads != b.KVHeads || a.HeadDim != b.HeadDim || len(a.K) != len(b.K) {
		return nil, fmt.Errorf("prefixes of %d layers × %d KV heads × %d dims and %d × %d × %d do not concatenate",
			len(a.K), a.KVHeads, a.HeadDim, len(b.K), b.KVHeads, b.HeadDim)
	}
	hd, P := a.HeadDim, a.P+b.P
	c := &Prefix{P: P, Frozen: a.P + b.Frozen, KVHeads: a.KVHeads, HeadDim: hd, K: make([][]float32, len(a.K)), V: make([][]float32, len(a.V))}
	for l := range a.K {
		for _, kv := range []struct {
			dst  *[]float32
			x, y []float32
		}{{&c.K[l], a.K[l], b.K[l]}, {&c.V[l], a.V[l], b.V[l]}} {
			out := make([]float32, 0, a.KVHeads*P*hd)
			for h := 0; h < a.KVHeads; h++ {
				out = append(out, kv.x[h*a.P*hd:(h+1)*a.P*hd]...)
				out = append(out, kv.y[h*b.P*hd:(h+1)*b.P*hd]...)
			}
			*kv.dst = out
		}
	}
	return c, nil
}

// Slice is a copy of the prefix's tokens from..to−1, the first frozen of
// them frozen: what Concat(a, b) trained gives back as b is
// Slice(a.P, P, b.Frozen).
func (p *Prefix) Slice(from, to, frozen int) (*Prefix, error) {
	if err := p.shapeOK(); err != nil {
		return nil, err
	}
	if from < 0 || to > p.P || from > to || frozen < 0 || frozen > to-from {
		return nil, fmt.Errorf("tokens %d..%d with %d frozen of a prefix of %d tokens", from, to, frozen, p.P)
	}
	hd, P := p.HeadDim, to-from
	t := &Prefix{P: P, Frozen: frozen, KVHeads: p.KVHeads, HeadDim: hd, K: make([][]float32, len(p.K)), V: make([][]float32, len(p.V))}
	for l := range p.K {
		for _, kv := range []struct {
			dst *[]float32
			x   []float32
		}{{&t.K[l], p.K[l]}, {&t.V[l], p.V[l]}} {
			out := make([]float32, 0, p.KVHeads*P*hd)
			for h := 0; h < p.KVHeads; h++ {
				out = append(out, kv.x[(h*p.P+from)*hd:(h*p.P+to)*hd]...)
			}
			*kv.dst = out
		}
	}
	return t, nil
}
