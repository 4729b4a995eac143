package ref_test

import (
	"testing"

	"github.com/cartlsp/cartlsp/runtime/backend/backendtest"
	"github.com/cartlsp/cartlsp/runtime/backend/ref"
)

// TestConformance: the float32 reference agrees with the float64 one (the
// suite's own check: a float32 backend with no kernel tricks passes it).
func TestConformance(t *testing.T) { backendtest.Conformance(t, ref.New32()) }
