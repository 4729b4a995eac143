package student

import (
	"context"
	"fmt"
	"github.com/cartlsp/cartlsp/runtime/backend"
	"math"
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
type layerActs[T Float] struct {
	xIn  []T // [N, D] layer input
	r1   []T // [N]
	q    []T // [N, Heads, hd] rotated
	k, v []T // [N, KVHeads, hd] (k rotated)
	lse  []T // [N, Heads]
	xMid []T // [N, D]
	r2   []T // [N]
	g, u []T // [N, F]
}

// pass is one batch run forward through the model.
type pass[T Float] struct {
	n    *net[T]
	lay  batchLayout
	toks []int
	cs   []T // rope angles per row [N, dims/2, 2]
	acts []layerActs[T]
	xOut []T // [N, D] last layer's output
	attn *attnScratch[T]
	ar   *arena[T] // every buffer above but cs comes from it
}

// forward runs toks (laid out by lay) over the prefix kp, vp. With keep it
// saves every layer's activations for backward; without, it reuses one set.
func (n *net[T]) forward(ctx context.Context, kp, vp [][]T, toks []int, lay batchLayout, keep bool, ar *arena[T]) (*pass[T], error) {
	c := n.cfg
	N, D, KV, F, H := len(toks), c.Dim, c.KVDim(), c.FFN, c.Heads
	pos := make([]int, N)
	for b := 0; b+1 < len(lay.off); b++ {
		for t := lay.off[b]; t < lay.off[b+1]; t++ {
			pos[t] = lay.p + t - lay.off[b]
		}
	}
	ps := &pass[T]{n: n, lay: lay, toks: toks, cs: ropeTable[T](n.rope, pos), ar: ar,
		attn: newAttnScratch(attnShape{H, c.KVHeads, c.HeadDim}, lay, keep, ar)}
	ash := attnShape{H, c.KVHeads, c.HeadDim}
	e := n.eng
	eps := float64(c.NormEps)
	newActs := func() layerActs[T] {
		return layerActs[T]{r1: ar.get(N), q: ar.get(N * D), k: ar.get(N * KV), v: ar.get(N * KV),
			lse: ar.get(N * H), xMid: ar.get(N * D), r2: ar.get(N), g: ar.get(N * F), u: ar.get(N * F)}
	}
	if keep {
		ps.acts = make([]layerActs[T], c.NLayers)
	} else {
		ps.acts = []layerActs[T]{newActs()}
	}
	h := ar.get(N * D)   // h: [N, D] normed input
	att := ar.get(N * D) // att: [N, Heads, hd]
	o := ar.get(N * D)   // o: [N, D] block output
	a := ar.get(N * F)   // a: [N, F]
	x := ar.get(N * D)   // x: [N, D]
	embedForward(x, n.w.embed, toks, D)
	for li := range n.w.layers {
		if err := backend.Yield(ctx); err != nil { // pauses background work for interactive work
			return nil, err
		}
		w := &n.w.layers[li]
		st := &ps.acts[0]
		if keep {
			ps.acts[li] = newActs()
			st = &ps.acts[li]
		}
		st.xIn = x
		// Attention block.
		rmsnormForward(e, h, st.r1, x, w.attnNorm, N, D, eps)
		linearForward(e, st.q, h, w.wq, w.bq, N, D, D)
		linearForward(e, st.k, h, w.wk, w.bk, N, D, KV)
		linearForward(e, st.v, h, w.wv, w.bv, N, D, KV)
		ropeForward(n.rope, st.q, ps.cs, N, H, c.HeadDim)
		ropeForward(n.rope, st.k, ps.cs, N, c.KVHeads, c.HeadDim)
		attnForward(e, ash, lay, att, st.lse, st.q, st.k, st.v, kp[li], vp[li], ps.attn)
		linearForward(e, o, att, w.wo, nil, N, D, D)
		copy(st.xMid, x)
		addInto(st.xMid, o) // xm = x + att·Woᵀ
		// Feed-forward block.
		rmsnormForward(e, h, st.r2, st.xMid, w.ffnNorm, N, D, eps)
		linearForward(e, st.g, h, w.wg, nil, N, D, F)
		linearForward(e, st.u, h, w.wu, nil, N, D, F)
		swigluForward(e, a, st.g, st.u)
		linearForward(e, o, a, w.wd, nil, N, F, D)
		if keep {
			x = ar.get(N * D)
		}
		copy(x, st.xMid)
		addInto(x, o) // x' = xm + a·Wdᵀ
	}
	ps.xOut = x
	return ps, nil
}

// logits returns the logits of every row [N, V].
func (ps *pass[T]) logits() []T {
	c := ps.n.cfg
	N, D := len(ps.toks), c.Dim
	h, r := ps.ar.get(N*D), ps.ar.get(N)
	rmsnormForward(ps.n.eng, h, r, ps.xOut, ps.n.w.outNorm, N, D, float64(c.NormEps))
	out := make([]T, N*c.Vocab)
	linearForward(ps.n.eng, out, h, ps.n.w.output, nil, N, D, c.Vocab)
	return out
}

// target is one target row of a flattened batch.
type target struct {
	row int
	ids []int
	lp  []float32
}

// backward computes the loss at the targets and adds the gradient of
// scale·Σ losses into gk, gv ([layer][KVHeads·P·hd]); it returns Σ losses.
func (ps *pass[T]) backward(ctx context.Context, kp, vp [][]T, targets []target, scale float64, gk, gv [][]T) (float64, error) {
	n, c, e := ps.n, ps.n.cfg, ps.n.eng
	N, D, KV, F, H := len(ps.toks), c.Dim, c.KVDim(), c.FFN, c.Heads
	dx := ps.ar.get(N * D) // dx: [N, D] gradient of the residual stream

	loss := ps.outputLoss(targets, scale, dx)
	ash := attnShape{H, c.KVHeads, c.HeadDim}
	da := ps.ar.get(N * F)   // da: [N, F]
	dg := ps.ar.get(N * F)   // dg: [N, F]
	du := ps.ar.get(N * F)   // du: [N, F]
	dh := ps.ar.get(N * D)   // dh: [N, D]
	datt := ps.ar.get(N * D) // datt: [N, Heads, hd]
	dq := ps.ar.get(N * D)   // dq: [N, Heads, hd]
	dk := ps.ar.get(N * KV)  // dk: [N, KVHeads, hd]
	dv := ps.ar.get(N * KV)  // dv: [N, KVHeads, hd]
	for li := len(n.w.layers) - 1; li >= 0; li-- {
		if err := backend.Yield(ctx); err != nil {
			return 0, err
		}
		w, st := &n.w.layers[li], &ps.acts[li]
		// Feed-forward block, "x' = xm + silu(h2·Wgᵀ)·(h2·Wuᵀ)·Wdᵀ": dx is dx', and becomes dxm.
		linearBackward(e, da, dx, w.wd, N, F, D, false)
		swigluBackward(e, dg, du, da, st.g, st.u)
		linearBackward(e, dh, dg, w.wg, N, D, F, false)
		linearBackward(e, dh, du, w.wu, N, D, F, true)
		rmsnormBackward(e, dx, dh, st.xMid, st.r2, w.ffnNorm, N, D)
		// Attention block, "xm = x + attention(...)·Woᵀ": dx becomes dx.
		linearBackward(e, datt, dx, w.wo, N, D, D, false)
		if li == 0 {
			// Nothing below layer 0 is trained: only the prefix gradient is needed.
			attnBackward(e, ash, ps.lay, datt, st.lse, st.q, st.k, st.v, kp[li], vp[li], gk[li], gv[li], nil, nil, nil, ps.attn)
			break
		}
		attnBackward(e, ash, ps.lay, datt, st.lse, st.q, st.k, st.v, kp[li], vp[li], gk[li], gv[li], dq, dk, dv, ps.attn)
		ropeBackward(n.rope, dq, ps.cs, N, H, c.HeadDim)
		ropeBackward(n.rope, dk, ps.cs, N, c.KVHeads, c.HeadDim)
		linearBackward(e, dh, dq, w.wq, N, D, D, false)
		linearBackward(e, dh, dk, w.wk, N, D, KV, true)
		linearBackward(e, dh, dv, w.wv, N, D, KV, true)
		rmsnormBackward(e, dx, dh, st.xIn, st.r1, w.attnNorm, N, D)
	}
	return loss, nil
}

// outputLoss runs the final norm, the output projection, log-softmax and
// the loss on the target rows, in chunks of outChunk rows, and returns the
// summed loss. With dx not nil it adds the gradient of scale·loss with
// respect to the last layer's output into dx [N, D].
func (ps *pass[T]) outputLoss(targets []target, scale float64, dx []T) float64 {
	n, c, e := ps.n, ps.n.cfg, ps.n.eng
	D, V := c.Dim, c.Vocab
	eps := float64(c.NormEps)
	rows := min(outChunk, len(targets))
	xr := ps.ar.get(rows * D) // xr: [c, D] gathered rows
	hr := ps.ar.get(rows * D) // hr: [c, D] normed
	rr := ps.ar.get(rows)     // rr: [c]
	z := ps.ar.get(rows * V)  // z: [c, V] logits, then their gradient
	var dhr, dxr []T          // [c, D]
	if dx != nil {
		dhr, dxr = ps.ar.get(rows*D), ps.ar.get(rows*D)
	}
	losses := make([]float64, rows)
	var loss float64
	for c0 := 0; c0 < len(targets); c0 += rows {
		tg := targets[c0:min(c0+rows, len(targets))]
		m := len(tg)
		for i, t := range tg {
			copy(xr[i*D:(i+1)*D], ps.xOut[t.row*D:(t.row+1)*D])
		}
		rmsnormForward(e, hr, rr, xr[:m*D], n.w.outNorm, m, D, eps)
		linearForward(e, z[:m*V], hr[:m*D], n.w.output, nil, m, D, V) // logits = h·Eᵀ
		e.run(m, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				losses[i] = lossRow(z[i*V:(i+1)*V], tg[i].ids, tg[i].lp, scale)
			}
		})
		for _, l := range losses[:m] {
			loss += l
		}
		if dx == nil {
			continue
		}
		linearBackward(e, dhr[:m*D], z[:m*V], n.w.output, m, D, V, false) // "logits = h·Eᵀ"
		clear(dxr[:m*D])
		rmsnormBackward(e, dxr[:m*D], dhr[:m*D], xr[:m*D], rr, n.w.outNorm, m, D)
		for i, t := range tg {
			addInto(dx[t.row*D:(t.row+1)*D], dxr[i*D:(i+1)*D])
		}
	}
	return loss
}

// flatten validates a batch and lays it out: examples without targets are
// dropped, each example is cut after its last target, and every target
// becomes one row.
func flatten(batch []Example, vocab int) (toks []int, lay batchLayout, targets []target, err error) {
	lay.off = []int{0}
	for bi, ex := range batch {
		if len(ex.Targets) == 0 {
			continue
		}
		last := -1
		for ti, tg := range ex.Targets {
			if tg.Pos < 0 || tg.Pos >= len(ex.Tokens) {
				return nil, lay, nil, fmt.Errorf("example %d target %d: position %d is outside its %d tokens", bi, ti, tg.Pos, len(ex.Tokens))
			}
			if len(tg.IDs) != len(tg.LogProbs) {
				return nil, lay, nil, fmt.Errorf("example %d target %d: %d ids but %d log-probabilities", bi, ti, len(tg.IDs), len(tg.LogProbs))
			}
			for k, id := range tg.IDs {
				if id < 0 || id >= vocab {
					return nil, lay, nil, fmt.Errorf("example %d target %d: id %d is outside the vocabulary of %d", bi, ti, id, vocab)
				}
				if lp := tg.LogProbs[k]; lp != lp || math.IsInf(float64(lp), 1) {
					return nil, lay, nil, fmt.Errorf("example %d target %d: log-probability %v", bi, ti, lp)
				}
			}
			last = max(last, tg.Pos)
		}
		for _, tok := range ex.Tokens[:last+1] {
			if tok < 0 || tok >= vocab {
				return nil, lay, nil, fmt.Errorf("example %d: token id %d is outside the vocabulary of %d", bi, tok, vocab)
			}
		}
		base := len(toks)
		toks = append(toks, ex.Tokens[:last+1]...)
		lay.off = append(lay.off, len(toks))
		for _, tg := range ex.Targets {
			targets = append(targets, target{row: base + tg.Pos, ids: tg.IDs, lp: tg.LogProbs})
		}
	}
	return toks, lay, targets, nil
}

// lossGrad is Accumulate for any element type.
func lossGrad[T Float](ctx context.Context, n *net[T], kp, vp [][]T, p, frozen int, batch []Example, gk, gv [][]T, scale float64) (float64, int, error) {
	toks, lay, targets, err := flatten(batch, n.cfg.Vocab)
	if err != nil {
		return 0, 0, err
	}
	if len(targets) == 0 {
		return 0, 0, nil
	}
	lay.p = p
	ar := n.acquire()
	defer n.release(ar)
	ps, err := n.forward(ctx, kp, vp, toks, lay, true, ar)
	if err != nil {
		return 0, 0, err
	}
	loss, err := ps.backward(ctx, kp, vp, targets, scale, gk, gv)
	if err != nil {
		return 0, 0, err
	}
	zeroFrozen(gk, n.cfg.KVHeads, p, n.cfg.HeadDim, frozen)
	zeroFrozen(gv, n.cfg.KVHeads, p, n.cfg.HeadDim, frozen)
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
	sum, targets, err = lossGrad(ctx, m.net, pre.K, pre.V, pre.P, pre.Frozen, batch, grad.K, grad.V, scale)
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
	sum, targets, err = evalLoss(ctx, m.net, pre.K, pre.V, pre.P, batch)
	if err != nil {
		return 0, 0, fmt.Errorf("student: %w", err)
	}
	return sum, targets, nil
}

// evalLoss is Eval for any element type.
func evalLoss[T Float](ctx context.Context, n *net[T], kp, vp [][]T, p int, batch []Example) (float64, int, error) {
	toks, lay, targets, err := flatten(batch, n.cfg.Vocab)
	if err != nil || len(targets) == 0 {
		return 0, 0, err
	}
	lay.p = p
	ar := n.acquire()
	defer n.release(ar)
	ps, err := n.forward(ctx, kp, vp, toks, lay, false, ar)
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
	ar := m.net.acquire()
	defer m.net.release(ar)
	ps, err := m.net.forward(ctx, pre.K, pre.V, tokens, batchLayout{p: pre.P, off: []int{0, len(tokens)}}, false, ar)
	if err != nil {
		return nil, fmt.Errorf("student: %w", err)
	}
	return ps.logits(), nil
}
