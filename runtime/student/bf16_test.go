package student

import (
	"context"
	"math"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
)

// gradAgreement is ‖a − b‖/‖b‖ over every layer's K and V gradient, and
// the cosine of the two.
func gradAgreement(a, b *Grad) (rel, cos float64) {
	var d, na, nb, dot float64
	for l := range a.K {
		for _, pair := range [][2][]float32{{a.K[l], b.K[l]}, {a.V[l], b.V[l]}} {
			for i, x := range pair[0] {
				y := pair[1][i]
				d += float64(x-y) * float64(x-y)
				na += float64(x) * float64(x)
				nb += float64(y) * float64(y)
				dot += float64(x) * float64(y)
			}
		}
	}
	return math.Sqrt(d / nb), dot / math.Sqrt(na*nb)
}

// TestBF16MatchesF32 checks the student with its weights in bf16 on the
// matrix unit against the same student in float32, on the default model: a
// training step's loss and its gradient with respect to the prefix. bf16
// keeps 8 significant bits of each operand of every product (relative
// rounding 2⁻⁹), so the two cannot agree to float32 accuracy; the bounds
// say that a bf16 step moves the Cartridge the way a float32 step does.
func TestBF16MatchesF32(t *testing.T) {
	f, infer, tok := modeltest.Real(t, 2)
	be, ok := infer.Backend.(*cpu.Backend)
	if !ok || !be.SetTrainBF16(true) {
		t.Skip("no bf16 matrix unit")
	}
	s16, err := New(f, be)
	if err != nil {
		t.Fatal(err)
	}
	be.SetTrainBF16(false)
	s32, err := New(f, be)
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode(realText, false)
	for len(ids) < 200 {
		ids = append(ids, ids...)
	}
	ctx := context.Background()
	const p = 64
	pre, err := InitFromTokens(ctx, infer, ids, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	batch := []Example{NextToken(ids[p : p+60]), NextToken(ids[p+60 : p+130])}
	l32, g32, err := s32.Loss(ctx, pre, batch)
	if err != nil {
		t.Fatal(err)
	}
	l16, g16, err := s16.Loss(ctx, pre, batch)
	if err != nil {
		t.Fatal(err)
	}
	rel, cos := gradAgreement(g16, g32)
	dl := math.Abs(l16-l32) / l32
	t.Logf("loss f32 %.5f bf16 %.5f (relative %.1e); gradient relative difference %.3f, cosine %.4f", l32, l16, dl, rel, cos)
	// Measured: loss 3.7e−4 relative, gradient 0.009 relative, cosine 1.0000.
	if dl > 3e-3 {
		t.Errorf("bf16 loss %.5f differs from float32's %.5f by %.1e relative (bound 3e-3)", l16, l32, dl)
	}
	if rel > 0.05 || cos < 0.998 {
		t.Errorf("bf16 gradient differs from float32's by %.3f relative, cosine %.4f (bounds 0.05, 0.998)", rel, cos)
	}
}
