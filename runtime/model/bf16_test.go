package model_test

import (
	"context"
	"math"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
)

const bf16Text = `package ring

// Ring holds the last n values pushed.
type Ring struct {
	buf  []int
	next int
	full bool
}

// Push adds v, overwriting the oldest value when the ring is full.
func (r *Ring) Push(v int) {
	r.buf[r.next] = v
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}
`

// TestBF16WeightsMatchQuantized: the default model with its matrices
// dequantized to bf16 (cpu.Backend.WithBF16Weights, self-study's teacher on
// AMX) predicts what the quantized model predicts. The two differ by the
// activations' rounding (bf16 against llama.cpp's Q8 blocks) and bf16's
// rounding of the dequantized weights; the bounds are on the next-token
// distributions: their KL divergence and the agreement of the argmax.
func TestBF16WeightsMatchQuantized(t *testing.T) {
	if !cpu.HasAMX() {
		t.Skip("no AMX")
	}
	f, exact, tok := modeltest.Real(t, 2)
	be := cpu.NewBackend(2)
	defer be.Close()
	bf, err := model.New(f, be.WithBF16Weights())
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode(bf16Text, false)
	ctx := context.Background()
	logits := func(m *model.Model) []float32 {
		cache := m.NewCache(1, len(ids))
		z, err := m.Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: ids, Logits: model.LogitsAll}})
		if err != nil {
			t.Fatal(err)
		}
		return z
	}
	ze, zb := logits(exact), logits(bf)
	V := exact.Vocab
	var kl float64
	agree := 0
	for r := 0; r < len(ids); r++ {
		pe, pb := logSoftmax(ze[r*V:(r+1)*V]), logSoftmax(zb[r*V:(r+1)*V])
		ae, ab := 0, 0
		for j := range pe {
			kl += math.Exp(pe[j]) * (pe[j] - pb[j])
			if pe[j] > pe[ae] {
				ae = j
			}
			if pb[j] > pb[ab] {
				ab = j
			}
		}
		if ae == ab {
			agree++
		}
	}
	kl /= float64(len(ids))
	share := float64(agree) / float64(len(ids))
	t.Logf("%d positions: mean KL(quantized ‖ bf16) %.4f nats, argmax agreement %.1f%%", len(ids), kl, 100*share)
	if kl > 0.01 || share < 0.95 { // measured: 0.0005 nats, 100%
		t.Errorf("bf16 weights: mean KL %.4f (bound 0.01), argmax agreement %.1f%% (bound 95%%)", kl, 100*share)
	}
}

func logSoftmax(z []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v) - mx)
	}
	lse := mx + math.Log(s)
	out := make([]float64, len(z))
	for i, v := range z {
		out[i] = float64(v) - lse
	}
	return out
}
