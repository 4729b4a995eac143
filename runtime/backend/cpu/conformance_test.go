package cpu_test

import (
	"testing"

	"github.com/cartlsp/cartlsp/runtime/backend/backendtest"
	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
)

// TestConformance: every operation of the CPU backend agrees with the
// float64 reference backend.
func TestConformance(t *testing.T) {
	be := cpu.NewBackend(2)
	defer be.Close()
	backendtest.Conformance(t, be)
}
