package student

import (
	"context"
	"fmt"
	"math"

	"github.com/cartlsp/cartlsp/runtime/backend"
)

// The whole model, forward and backward, over a batch of sequences that
// share one prefix.
//
// Forward, per layer (x: [N, D] the residual stream):
//
//	h1 = rmsnorm(x)·w1                  (r1 = its 1/rms)
//	q = rope(h1·Wqᵀ + bq), k = rope(h1·Wkᵀ + bk), v = h1·Wvᵀ + bv
//	att = attention([prefix ‖ k], [prefix ‖ v], q)
//	xm = x + att·Woᵀ
//	h2 = rmsnorm(xm)·w2                 (r2)
//	g = h2·Wgᵀ, u = h2·Wuᵀ, a = silu(g)·u
//	x' = xm + a·Wdᵀ
//
// then logits = rmsnorm(x)·wo · Eᵀ at the target rows. The backward needs x,
// r1, q, k, v, the attention's log-sum-exp, xm, r2, g and u of each layer:
// about N·(3D + 2KV + 2F + Heads + 2) numbers per layer, nothing of size P
// per token (the attention weights are recomputed). Logits are made in
// chunks of outChunk rows, so [N, V] is never held either.

// outChunk is how many target rows are projected to the vocabulary at once
// (256 rows of logits for the default model: 50 MB). Each chunk's products
// repack the whole output matrix, so chunks much smaller cost time.
const outChunk = 256

// layerActs is what the backward needs of one layer.
type layerActs struct {
	xIn  backend.Tensor // [N, D] layer input
	r1   backend.Tensor // [N, 1]
	q    backend.Tensor // [N, Heads·hd] rotated
	k, v backend.Tensor // [N, KVHeads·hd] (k rotated)
	lse  backend.Tensor // [N, Heads]
	xMid backend.Tensor // [N, D]
	r2   backend.Tensor // [N, 1]
	g, u backend.Tensor // [N, F]
}

// pass is one batch run forward through the model.
type pass struct {
	m    *Model
	off  []int          // sequence b owns rows off[b]..off[b+1]−1
	n    int            // N
	cs   backend.Tensor // rope angles per row [N, dims/2·2]
	acts []layerActs
	xOut backend.Tensor // [N, D] last layer's output
	ar   *arena         // every tensor above comes from it
}

// prefixTensors are a prefix's keys and values per layer as backend tensors
// [KVHeads·P, hd].
func (m *Model) prefixTensors(x [][]float32, p int) []backend.Tensor {
	out := make([]backend.Tensor, len(x))
	for l, xl := range x {
		out[l] = m.be.FromHost(m.KVHeads*p, m.HeadDim, xl)
	}
	return out
}

// forward runs toks (laid out by off after a prefix of p tokens) over the
// prefix kp, vp. With keep it saves every layer's activations for
// backward; without, it reuses one set.
func (m *Model) forward(ctx context.Context, kp, vp []backend.Tensor, p int, toks, off []int, keep bool, ar *arena) (*pass, error) {
	be, c := m.be, m.Config
	N, D, KV, F, H := len(toks), c.Dim, c.KVDim(), c.FFN, c.Heads
	pos := make([]int, N)
	for b := 0; b+1 < len(off); b++ {
		for t := off[b]; t < off[b+1]; t++ {
			pos[t] = p + t - off[b]
		}
	}
	ps := &pass{m: m, off: off, n: N, ar: ar}
	ps.cs = ar.get(N, c.RopeDims)
	be.Upload(ps.cs, c.RopeAngles(pos))
	qShape, kShape, ash := c.RopeShape(H), c.RopeShape(c.KVHeads), c.AttnShape()
	newActs := func() layerActs {
		return layerActs{r1: ar.get(N, 1), q: ar.get(N, D), k: ar.get(N, KV), v: ar.get(N, KV),
			lse: ar.get(N, H), xMid: ar.get(N, D), r2: ar.get(N, 1), g: ar.get(N, F), u: ar.get(N, F)}
	}
	if keep {
		ps.acts = make([]layerActs, c.NLayers)
	} else {
		ps.acts = []layerActs{newActs()}
	}
	h := ar.get(N, D)   // h: [N, D] normed input
	att := ar.get(N, D) // att: [N, Heads·hd]
	o := ar.get(N, D)   // o: [N, D] block output
	a := ar.get(N, F)   // a: [N, F]
	x := ar.get(N, D)   // x: [N, D]
	be.GetRows(x, m.w.embed, toks)
	for li := range m.w.layers {
		if err := backend.Yield(ctx); err != nil { // pauses background work for interactive work
			return nil, err
		}
		w := &m.w.layers[li]
		st := &ps.acts[0]
		if keep {
			ps.acts[li] = newActs()
			st = &ps.acts[li]
		}
		st.xIn = x
		// Attention block.
		be.RMSNorm(h, st.r1, x, w.attnNorm, c.NormEps)
		m.linear(st.q, h, w.wq, w.bq)
		m.linear(st.k, h, w.wk, w.bk)
		m.linear(st.v, h, w.wv, w.bv)
		be.RoPE(st.q, ps.cs, qShape, false)
		be.RoPE(st.k, ps.cs, kShape, false)
		be.PrefixAttention(att, st.lse, st.q, st.k, st.v, kp[li], vp[li], ash, off)
		be.MatMul(o, att, w.wo)
		be.Copy(st.xMid, x)
		be.Add(st.xMid, o) // xm = x + att·Woᵀ
		// Feed-forward block.
		be.RMSNorm(h, st.r2, st.xMid, w.ffnNorm, c.NormEps)
		be.MatMul(st.g, h, w.wg)
		be.MatMul(st.u, h, w.wu)
		be.SwiGLU(a, st.g, st.u)
		be.MatMul(o, a, w.wd)
		if keep {
			x = ar.get(N, D)
		}
		be.Copy(x, st.xMid)
		be.Add(x, o) // x' = xm + a·Wdᵀ
	}
	ps.xOut = x
	return ps, nil
}

// linear: y = x·Wᵀ + b (b may be nil).
func (m *Model) linear(y, x, w, b backend.Tensor) {
	m.be.MatMul(y, x, w)
	if b != nil {
		m.be.AddRow(y, b)
	}
}

// logits returns the logits of every row [N, V].
func (ps *pass) logits() []float32 {
	m, be := ps.m, ps.m.be
	h := ps.ar.get(ps.n, m.Dim)
	be.RMSNorm(h, nil, ps.xOut, m.w.outNorm, m.NormEps)
	z := ps.ar.get(ps.n, m.Vocab)
	be.MatMul(z, h, m.w.output)
	out := make([]float32, ps.n*m.Vocab)
	be.Download(out, z)
	return out
}

// target is one target row of a flattened batch.
type target struct {
	row int
	backend.Target
}

// backward computes the loss at the targets and adds the gradient of
// scale·Σ losses into dkp, dvp ([layer] → [KVHeads·P, hd]); it returns
// Σ losses.
func (ps *pass) backward(ctx context.Context, kp, vp []backend.Tensor, targets []target, scale float64, dkp, dvp []backend.Tensor) (float64, error) {
	m, be := ps.m, ps.m.be
	N, D, KV, F, H := ps.n, m.Dim, m.KVDim(), m.FFN, m.Heads
	dx := ps.ar.get(N, D) // dx: [N, D] gradient of the residual stream

	loss := ps.outputLoss(targets, scale, dx)
	qShape, kShape, ash := m.RopeShape(H), m.RopeShape(m.KVHeads), m.AttnShape()
	da := ps.ar.get(N, F)   // da: [N, F]
	dg := ps.ar.get(N, F)   // dg: [N, F]
	du := ps.ar.get(N, F)   // du: [N, F]
	dh := ps.ar.get(N, D)   // dh: [N, D]
	datt := ps.ar.get(N, D) // datt: [N, Heads·hd]
	dq := ps.ar.get(N, D)   // dq: [N, Heads·hd]
	dk := ps.ar.get(N, KV)  // dk: [N, KVHeads·hd]
	dv := ps.ar.get(N, KV)  // dv: [N, KVHeads·hd]
	for li := len(m.w.layers) - 1; li >= 0; li-- {
		if err := backend.Yield(ctx); err != nil {
			return 0, err
		}
		w, st := &m.w.layers[li], &ps.acts[li]
		// Feed-forward block, "x' = xm + silu(h2·Wgᵀ)·(h2·Wuᵀ)·Wdᵀ": dx is dx', and becomes dxm.
		be.MatMulBack(da, dx, w.wd, false)
		be.SwiGLUBack(dg, du, da, st.g, st.u)
		be.MatMulBack(dh, dg, w.wg, false)
		be.MatMulBack(dh, du, w.wu, true)
		be.RMSNormBack(dx, dh, st.xMid, st.r2, w.ffnNorm)
		// Attention block, "xm = x + attention(...)·Woᵀ": dx becomes dx.
		be.MatMulBack(datt, dx, w.wo, false)
		if li == 0 {
			// Nothing below layer 0 is trained: only the prefix gradient is needed.
			be.PrefixAttentionBack(dkp[li], dvp[li], nil, nil, nil, datt, st.lse, st.q, st.k, st.v, kp[li], vp[li], ash, ps.off)
			break
		}
		be.PrefixAttentionBack(dkp[li], dvp[li], dq, dk, dv, datt, st.lse, st.q, st.k, st.v, kp[li], vp[li], ash, ps.off)
		be.RoPE(dq, ps.cs, qShape, true) // the rotation is orthogonal: its gradient rotates by −θ
		be.RoPE(dk, ps.cs, kShape, true)
		be.MatMulBack(dh, dq, w.wq, false)
		be.MatMulBack(dh, dk, w.wk, true)
		be.MatMulBack(dh, dv, w.wv, true)
		be.RMSNormBack(dx, dh, st.xIn, st.r1, w.attnNorm)
	}
	return loss, nil
}

// outputLoss runs the final norm, the output projection, log-softmax and
// the loss on the target rows, in chunks of outChunk rows, and returns the
// summed loss. With dx not nil it adds the gradient of scale·loss with
// respect to the last layer's output into dx [N, D].
func (ps *pass) outputLoss(targets []target, scale float64, dx backend.Tensor) float64 {
	m, be := ps.m, ps.m.be
	D, V := m.Dim, m.Vocab
	rows := min(outChunk, len(targets))
	xr := ps.ar.get(rows, D)    // xr: [c, D] gathered rows
	hr := ps.ar.get(rows, D)    // hr: [c, D] normed
	rr := ps.ar.get(rows, 1)    // rr: [c, 1]
	z := ps.ar.get(rows, V)     // z: [c, V] logits, then their gradient
	var dhr, dxr backend.Tensor // [c, D]
	if dx != nil {
		dhr, dxr = ps.ar.get(rows, D), ps.ar.get(rows, D)
	}
	idx := make([]int, rows)
	tgs := make([]backend.Target, rows)
	var loss float64
	for c0 := 0; c0 < len(targets); c0 += rows {
		tg := targets[c0:min(c0+rows, len(targets))]
		n := len(tg)
		for i, t := range tg {
			idx[i], tgs[i] = t.row, t.Target
		}
		xc, hc, rc, zc := xr.Slice(0, n), hr.Slice(0, n), rr.Slice(0, n), z.Slice(0, n)
		be.GetRows(xc, ps.xOut, idx[:n])
		be.RMSNorm(hc, rc, xc, m.w.outNorm, m.NormEps)
		be.MatMul(zc, hc, m.w.output) // logits = h·Eᵀ
		for _, l := range be.DistillLoss(zc, tgs[:n], scale, dx != nil) {
			loss += l
		}
		if dx == nil {
			continue
		}
		dhc, dxc := dhr.Slice(0, n), dxr.Slice(0, n)
		be.MatMulBack(dhc, zc, m.w.output, false) // "logits = h·Eᵀ"
		be.Zero(dxc)
		be.RMSNormBack(dxc, dhc, xc, rc, m.w.outNorm)
		for i, t := range tg {
			be.Add(dx.Slice(t.row, t.row+1), dxc.Slice(i, i+1))
		}
	}
	return loss
}

// flatten validates a batch and lays it out: examples without targets are
// dropped, each example is cut after its last target, and every target
// becomes one row.
func flatten(batch []Example, vocab int) (toks, off []int, targets []target, err error) {
	off = []int{0}
	for bi, ex := range batch {
		if len(ex.Targets) == 0 {
			continue
		}
		last := -1
		for ti, tg := range ex.Targets {
			if tg.Pos < 0 || tg.Pos >= len(ex.Tokens) {
				return nil, nil, nil, fmt.Errorf("example %d target %d: position %d is outside its %d tokens", bi, ti, tg.Pos, len(ex.Tokens))
			}
			if len(tg.IDs) != len(tg.LogProbs) {
				return nil, nil, nil, fmt.Errorf("example %d target %d: %d ids but %d log-probabilities", bi, ti, len(tg.IDs), len(tg.LogProbs))
			}
			for k, id := range tg.IDs {
				if id < 0 || id >= vocab {
					return nil, nil, nil, fmt.Errorf("example %d target %d: id %d is outside the vocabulary of %d", bi, ti, id, vocab)
				}
				if lp := tg.LogProbs[k]; lp != lp || math.IsInf(float64(lp), 1) {
					return nil, nil, nil, fmt.Errorf("example %d target %d: log-probability %v", bi, ti, lp)
				}
			}
			last = max(last, tg.Pos)
		}
		for _, tok := range ex.Tokens[:last+1] {
			if tok < 0 || tok >= vocab {
				return nil, nil, nil, fmt.Errorf("example %d: token id %d is outside the vocabulary of %d", bi, tok, vocab)
			}
		}
		base := len(toks)
		toks = append(toks, ex.Tokens[:last+1]...)
		off = append(off, len(toks))
		for _, tg := range ex.Targets {
			targets = append(targets, target{row: base + tg.Pos, Target: backend.Target{IDs: tg.IDs, LogProbs: tg.LogProbs}})
		}
	}
	return toks, off, targets, nil
}

// lossGrad runs the batch forward and backward over the prefix kp, vp of p
// tokens and adds the gradient of scale·Σ losses into gk, gv (host, the
// prefix layout), the frozen rows left zero.
func (m *Model) lossGrad(ctx context.Context, kp, vp [][]float32, p, frozen int, batch []Example, gk, gv [][]float32, scale float64) (float64, int, error) {
	toks, off, targets, err := flatten(batch, m.Vocab)
	if err != nil {
		return 0, 0, err
	}
	if len(targets) == 0 {
		return 0, 0, nil
	}
	ar := m.acquire()
	defer m.release(ar)
	kt, vt := m.prefixTensors(kp, p), m.prefixTensors(vp, p)
	ps, err := m.forward(ctx, kt, vt, p, toks, off, true, ar)
	if err != nil {
		return 0, 0, err
	}
	dk, dv := m.prefixTensors(gk, p), m.prefixTensors(gv, p)
	loss, err := ps.backward(ctx, kt, vt, targets, scale, dk, dv)
	if err != nil {
		return 0, 0, err
	}
	for l := range gk {
		m.be.Download(gk[l], dk[l])
		m.be.Download(gv[l], dv[l])
	}
	zeroFrozen(gk, m.KVHeads, p, m.HeadDim, frozen)
	zeroFrozen(gv, m.KVHeads, p, m.HeadDim, frozen)
	return loss, len(targets), nil
}

// Accumulate runs batch through the model over pre, adds the gradient of
// scale·(sum of the per-target losses) into grad, and returns that sum and
// the number of targets. It is Loss for micro-batches: accumulate several
// with scale = 1/(targets in all of them) to get the gradient of the mean.
// On error grad may hold a partial sum.
func (m *Model) Accumulate(ctx context.Context, pre *Prefix, batch []Example, grad *Grad, scale float64) (sum float64, targets int, err error) {
	if err := m.check(pre); err != nil {
		return 0, 0, err
	}
	if len(grad.K) != len(pre.K) || len(grad.V) != len(pre.V) {
		return 0, 0, fmt.Errorf("student: gradient has %d layers, the prefix %d", len(grad.K), len(pre.K))
	}
	for l := range grad.K {
		if len(grad.K[l]) != len(pre.K[l]) || len(grad.V[l]) != len(pre.V[l]) {
			return 0, 0, fmt.Errorf("student: gradient layer %d is not shaped like the prefix", l)
		}
	}
	sum, targets, err = m.lossGrad(ctx, pre.K, pre.V, pre.P, pre.Frozen, batch, grad.K, grad.V, scale)
	if err != nil {
		return 0, 0, fmt.Errorf("student: %w", err)
	}
	return sum, targets, nil
}

// Loss returns the mean loss over the batch's targets and its gradient with
// respect to pre (frozen rows zero). Each target's loss is the sparse
// distillation loss of Target; NextToken examples make it next-token
// cross-entropy. Sequences of different lengths share the prefix; memory
// grows with the batch's tokens, never with a corpus.
func (m *Model) Loss(ctx context.Context, pre *Prefix, batch []Example) (float64, *Grad, error) {
	if err := m.check(pre); err != nil {
		return 0, nil, err
	}
	var n int
	for _, ex := range batch {
		n += len(ex.Targets)
	}
	if n == 0 {
		return 0, nil, fmt.Errorf("student: the batch has no targets")
	}
	g := NewGrad(pre)
	sum, _, err := m.Accumulate(ctx, pre, batch, g, 1/float64(n))
	if err != nil {
		return 0, nil, err
	}
	return sum / float64(n), g, nil
}

// Eval returns the summed loss over the batch's targets and their number,
// forward only (no gradient, activations not kept): for held-out
// evaluation.
func (m *Model) Eval(ctx context.Context, pre *Prefix, batch []Example) (sum float64, targets int, err error) {
	if err := m.check(pre); err != nil {
		return 0, 0, err
	}
	sum, targets, err = m.evalLoss(ctx, pre.K, pre.V, pre.P, batch)
	if err != nil {
		return 0, 0, fmt.Errorf("student: %w", err)
	}
	return sum, targets, nil
}

// evalLoss is Eval's forward pass and loss.
func (m *Model) evalLoss(ctx context.Context, kp, vp [][]float32, p int, batch []Example) (float64, int, error) {
	toks, off, targets, err := flatten(batch, m.Vocab)
	if err != nil || len(targets) == 0 {
		return 0, 0, err
	}
	ar := m.acquire()
	defer m.release(ar)
	ps, err := m.forward(ctx, m.prefixTensors(kp, p), m.prefixTensors(vp, p), p, toks, off, false, ar)
	if err != nil {
		return 0, 0, err
	}
	return ps.outputLoss(targets, 0, nil), len(targets), nil
}

// Logits returns the student's logits [len(tokens), Vocab] at every
// position of tokens run after pre (for evaluation).
func (m *Model) Logits(ctx context.Context, pre *Prefix, tokens []int) ([]float32, error) {
	if err := m.check(pre); err != nil {
		return nil, err
	}
	if len(tokens) == 0 {
		return nil, nil
	}
	for _, tok := range tokens {
		if tok < 0 || tok >= m.Vocab {
			return nil, fmt.Errorf("student: token id %d is outside the vocabulary of %d", tok, m.Vocab)
		}
	}
	ar := m.acquire()
	defer m.release(ar)
	ps, err := m.forward(ctx, m.prefixTensors(pre.K, pre.P), m.prefixTensors(pre.V, pre.P), pre.P, tokens, []int{0, len(tokens)}, false, ar)
	if err != nil {
		return nil, fmt.Errorf("student: %w", err)
	}
	return ps.logits(), nil
}
