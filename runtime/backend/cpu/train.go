package cpu

import (
	"math"

	"github.com/cartlsp/cartlsp/runtime/backend"
)

// The student's backward operations and losses, float32, parallel over rows
// or by the GEMM. Their definitions (and the plain loops they are tested
// against) are the reference backend's (runtime/backend/ref).

// MatMulBack: "y = x·Wᵀ" ⇒ dx (+)= dy·W, W a float32 activation-held
// weight or a bf16 training weight.
func (b *Backend) MatMulBack(dx, dy, w backend.Tensor, acc bool) {
	d, g := act(dx), act(dy)
	if bw, ok := w.(*bf16Weight); ok {
		if bw.bwd == nil {
			panic("cpu: MatMulBack through a weight loaded for inference (LoadWeight), not for training (TrainWeight)")
		}
		bf16Gemm(b.pool, g.rows, g.data, g.cols, bw.bwd, d.data, d.cols, acc)
		return
	}
	wa := act(w)
	SgemmNN(b.pool, g.rows, wa.cols, wa.rows, g.data, wa.data, d.data, acc)
}

// RMSNormBack adds to dx the gradient through RMSNorm:
//
//	y_i = x_i · r · w_i,  r = (Σ_j x_j²/D + eps)^(−½)  ⇒  ∂r/∂x_j = −r³·x_j/D
//	dx_j = r·w_j·dy_j − x_j · r³/D · Σ_i dy_i·w_i·x_i
func (b *Backend) RMSNormBack(dx, dy, x, rstd, w backend.Tensor) {
	d, g, xa, rs, wa := act(dx), act(dy), act(x), act(rstd).data, act(w).data
	D := xa.cols
	b.pool.Run(xa.rows, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			xr, dyr, dxr := xa.row(t), g.row(t), d.row(t)
			r := rs[t]
			var dot float64 // Σ dy_i·w_i·x_i
			for i, v := range xr {
				dot += float64(dyr[i] * wa[i] * v)
			}
			c := float32(dot) * r * r * r / float32(D)
			for i, v := range xr {
				dxr[i] += r*wa[i]*dyr[i] - v*c
			}
		}
	})
}

// SwiGLUBack writes dg, du from da (SwiGLUBack the kernel, by rows).
func (b *Backend) SwiGLUBack(dg, du, da, g, u backend.Tensor) {
	dga, dua, daa, ga, ua := act(dg).data, act(du).data, act(da).data, act(g).data, act(u).data
	b.pool.Run(len(dga), func(lo, hi int) {
		SwiGLUBack(dga[lo:hi], dua[lo:hi], daa[lo:hi], ga[lo:hi], ua[lo:hi])
	})
}

// DistillLoss fuses log-softmax, the sparse distillation loss and their
// backward for each row of logits z [m, V], overwritten by dz, the gradient
// of scale·loss:
//
//	logq = z − lse(z),  loss = −Σ_k p_k·logq[ids[k]],  p_k = e^{lp[k]}
//	dz_j = scale·(Σ_k p_k)·softmax(z)_j − scale·Σ_{k: ids[k]=j} p_k
//
// with one exponential per vocabulary entry. z is scratch either way.
func (b *Backend) DistillLoss(z backend.Tensor, targets []backend.Target, scale float64, grad bool) []float64 {
	za := act(z)
	losses := make([]float64, len(targets))
	b.pool.Run(len(targets), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			losses[r] = lossRow(za.row(r), targets[r], scale, grad)
		}
	})
	return losses
}

func lossRow(z []float32, tg backend.Target, scale float64, grad bool) float64 {
	mx := MaxRow(z)
	var loss, sp float64
	for k, id := range tg.IDs {
		p := math.Exp(float64(tg.LogProbs[k]))
		sp += p
		if p != 0 {
			loss -= p * float64(z[id]-mx) // lse is added below
		}
	}
	sum := ExpRow(z, 1, mx) // z_j ← e^(z_j − mx)
	loss += sp * math.Log(sum)
	if !grad {
		return loss
	}
	c := float32(scale * sp / sum)
	for j := range z {
		z[j] *= c
	}
	for k, id := range tg.IDs {
		z[id] -= float32(scale * math.Exp(float64(tg.LogProbs[k])))
	}
	return loss
}

// TopK keeps each row's k largest logits by insertion (ties to the lower
// id) and their log-softmax values, the sum of exponentials in float64
// skipping terms below e^−40 (they do not change a float64 sum of ≥ 1).
func (b *Backend) TopK(logits backend.Tensor, k int) ([]int, []float32) {
	la := act(logits)
	k = min(k, la.cols)
	ids, lp := make([]int, la.rows*k), make([]float32, la.rows*k)
	b.pool.Run(la.rows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			topRow(la.row(r), ids[r*k:(r+1)*k], lp[r*k:(r+1)*k])
		}
	})
	return ids, lp
}

func topRow(z []float32, out []int, lp []float32) {
	k := len(out)
	ids := out[:0]
	for i, v := range z {
		if len(ids) == k && v <= z[ids[k-1]] {
			continue
		}
		j := len(ids)
		for j > 0 && z[ids[j-1]] < v {
			j--
		}
		if len(ids) < k {
			ids = ids[:len(ids)+1]
		}
		copy(ids[j+1:], ids[j:len(ids)-1])
		ids[j] = i
	}
	mx := float64(z[ids[0]])
	var sum float64
	for _, v := range z {
		if d := float64(v) - mx; d > -40 {
			sum += math.Exp(d)
		}
	}
	lse := mx + math.Log(sum)
	for i, id := range ids {
		lp[i] = float32(float64(z[id]) - lse)
	}
}
