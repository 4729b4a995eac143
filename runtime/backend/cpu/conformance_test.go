package cpu_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/backend/backendtest"
	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
)

// TestConformance: every operation of the CPU backend agrees with the
// float64 reference backend, with the student's weights in float32 and, on a
// CPU with AMX, in bf16, and with attention on its blocked and its exact path.
func TestConformance(t *testing.T) {
	for _, bf16 := range []bool{false, true} {
		for _, exact := range []bool{false, true} {
			be := cpu.NewBackend(2)
			if be.SetTrainBF16(bf16) != bf16 {
				be.Close()
				continue
			}
			be.SetExactAttention(exact)
			name := be.TrainPrecision() + "/blocked"
			if exact {
				name = be.TrainPrecision() + "/exact"
			}
			t.Run(name, func(t *testing.T) { backendtest.Conformance(t, be) })
			be.Close()
		}
	}
}

// TestTopK: the k largest logits in descending order, ties to the lower id,
// with their log-softmax values.
func TestTopK(t *testing.T) {
	be := cpu.NewBackend(1)
	defer be.Close()
	z := []float32{1, 3, 2, -1, 3}
	ids, lp := be.TopK(be.FromHost(1, len(z), z), 3)
	if !reflect.DeepEqual(ids, []int{1, 4, 2}) {
		t.Fatalf("ids %v", ids)
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v))
	}
	for i, id := range ids {
		want := float64(z[id]) - math.Log(s)
		if d := float64(lp[i]) - want; d > 1e-6 || d < -1e-6 {
			t.Errorf("log-prob of %d: %g, want %g", id, lp[i], want)
		}
	}
}
