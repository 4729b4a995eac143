package student

import "math"

// Losses on the output logits: log-softmax over the full vocabulary, then
// the sparse distillation loss. Plain next-token cross-entropy is the same
// loss against a one-hot teacher (one id, log-probability 0).

// Target is the teacher's distribution at one position of an example. Its
// loss is −Σ_k exp(LogProbs[k]) · log q(IDs[k]), q the student's
// distribution over the full vocabulary after Tokens[:Pos+1]. The teacher
// probabilities are used as given, not renormalised over the top k.
type Target struct {
	Pos      int
	IDs      []int
	LogProbs []float32
}

// Example is one student sequence and its targets. Positions without a
// target contribute nothing; tokens after the last target are not run.
type Example struct {
	Tokens  []int
	Targets []Target
}

// NextToken is the example that trains plain next-token prediction on
// tokens: at each position t < len−1 the target is tokens[t+1] with
// probability 1, so its loss is the cross-entropy −log q(tokens[t+1]).
func NextToken(tokens []int) Example {
	ex := Example{Tokens: tokens}
	for t := 0; t+1 < len(tokens); t++ {
		ex.Targets = append(ex.Targets, Target{Pos: t, IDs: []int{tokens[t+1]}, LogProbs: []float32{0}})
	}
	return ex
}

// logSoftmaxForward: out[i] = z[i] − log Σ_j e^{z[j]} (out may alias z).
//
//	z, out: [V]
func logSoftmaxForward[T Float](out, z []T) {
	mx := T(math.Inf(-1))
	for _, v := range z {
		mx = max(mx, v)
	}
	var sum float64
	for _, v := range z {
		sum += float64(exp(v - mx))
	}
	lse := mx + T(math.Log(sum))
	for i, v := range z {
		out[i] = v - lse
	}
}

// logSoftmaxBackward writes (overwrites) dz from dout (dz may alias dout):
//
//	out_i = z_i − lse(z)  ⇒  dz_j = dout_j − softmax(z)_j · Σ_i dout_i,
//
// with softmax(z)_j = e^{out_j}.
func logSoftmaxBackward[T Float](dz, dout, out []T) {
	var s float64
	for _, v := range dout {
		s += float64(v)
	}
	st := T(s)
	for j, v := range dout {
		dz[j] = v - exp(out[j])*st
	}
}

// distillForward returns −Σ_k p_k · logq[ids[k]], p_k = e^{lp[k]}.
func distillForward[T Float](logq []T, ids []int, lp []float32) float64 {
	var loss float64
	for k, id := range ids {
		p := math.Exp(float64(lp[k]))
		if p == 0 {
			continue
		}
		loss -= p * float64(logq[id])
	}
	return loss
}

// distillBackward adds to dlogq the gradient of scale·loss:
//
//	loss = −Σ_k p_k·logq[ids[k]]  ⇒  dlogq[ids[k]] −= scale·p_k
func distillBackward[T Float](dlogq []T, ids []int, lp []float32, scale float64) {
	for k, id := range ids {
		dlogq[id] -= T(scale * math.Exp(float64(lp[k])))
	}
}
