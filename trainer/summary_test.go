package trainer

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/runtime/student"
)

// TestWriteSummaryLoss: the loss line keeps small losses readable and says
// when no step measured one (it printed "loss 0.0000 → 0.0000" for both).
func TestWriteSummaryLoss(t *testing.T) {
	for _, c := range []struct {
		losses []LossPoint
		want   string
	}{
		{[]LossPoint{{Loss: 2.5}, {Loss: 1.5}}, "loss 2 → 2"},
		{[]LossPoint{{Loss: 3e-5}, {Loss: 1e-5}}, "loss 2e-05 → 2e-05"},
		{[]LossPoint{{Loss: math.NaN(), EvalLoss: 1}}, "no loss measured"},
		{nil, "no loss measured"},
	} {
		c1 := &cartridge.Cartridge{Meta: cartridge.Meta{Metrics: map[string]float64{}}}
		if l := meanLosses(c.losses, 5, true); !math.IsNaN(l) {
			c1.Meta.Metrics["loss_final"] = l
			c1.Meta.Metrics["loss_first"] = meanLosses(c.losses, 5, false)
		}
		res := &JobResult{Cartridge: c1, Train: &TrainResult{Prefix: &student.Prefix{P: 8}, Losses: c.losses, EvalLoss: math.NaN()}}
		var b strings.Builder
		res.WriteSummary(&b, 1, time.Second)
		if !strings.Contains(b.String(), c.want) {
			t.Errorf("%v: %q, want %q", c.losses, b.String(), c.want)
		}
	}
}
