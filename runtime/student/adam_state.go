package student

import "fmt"

// AdamState is the optimiser's state, for checkpoints: the step count and
// the first and second moments of keys and values, per layer in the
// prefix's layout (nil before the first step), and the per-layer step
// scales of keys and values (Adam.Relative).
type AdamState struct {
	T              int
	MK, VK, MV, VV [][]float32
	SK, SV         []float64
}

// State returns a copy of the optimiser's state.
func (a *Adam) State() AdamState {
	cp := func(x [][]float32) [][]float32 {
		if x == nil {
			return nil
		}
		out := make([][]float32, len(x))
		for l := range x {
			out[l] = append([]float32(nil), x[l]...)
		}
		return out
	}
	return AdamState{T: a.t, MK: cp(a.mk), VK: cp(a.vk), MV: cp(a.mv), VV: cp(a.vv),
		SK: append([]float64(nil), a.sk...), SV: append([]float64(nil), a.sv...)}
}

// Restore sets the optimiser's state (taken by State) for the prefix pre.
func (a *Adam) Restore(s AdamState, pre *Prefix) error {
	if s.T < 0 {
		return fmt.Errorf("student: adam: step count %d is negative", s.T)
	}
	if s.MK == nil {
		if s.T != 0 || s.VK != nil || s.MV != nil || s.VV != nil {
			return fmt.Errorf("student: adam: moments missing after %d steps", s.T)
		}
		a.t, a.mk, a.vk, a.mv, a.vv, a.sk, a.sv = 0, nil, nil, nil, nil, nil, nil
		return nil
	}
	for _, x := range [][][]float32{s.MK, s.VK} {
		if !sameShape(x, pre.K) {
			return fmt.Errorf("student: adam: the saved moments are not shaped like the prefix")
		}
	}
	for _, x := range [][][]float32{s.MV, s.VV} {
		if !sameShape(x, pre.V) {
			return fmt.Errorf("student: adam: the saved moments are not shaped like the prefix")
		}
	}
	if s.SK == nil && s.SV == nil && !a.Relative { // saved before step scales existed
		s.SK, s.SV = stepScales(pre, pre.K, false), stepScales(pre, pre.V, false)
	}
	if len(s.SK) != len(pre.K) || len(s.SV) != len(pre.V) {
		return fmt.Errorf("student: adam: the saved step scales are not shaped like the prefix")
	}
	a.t, a.mk, a.vk, a.mv, a.vv = s.T, s.MK, s.VK, s.MV, s.VV
	a.sk, a.sv = append([]float64(nil), s.SK...), append([]float64(nil), s.SV...)
	return nil
}

func sameShape(a, b [][]float32) bool {
	if len(a) != len(b) {
		return false
	}
	for l := range a {
		if len(a[l]) != len(b[l]) {
			return false
		}
	}
	return true
}
