package student

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
