package modelfile

import (
	"fmt"

	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/model"
)

// Teachers are the ways self-study's teacher (the model that writes the
// synthetic conversations) can run, for `cartlsp train --teacher`.
const (
	TeacherAuto  = "auto"  // bf16 where the CPU has AMX, else exact
	TeacherBF16  = "bf16"  // the matrices dequantized to bf16 on the matrix unit
	TeacherExact = "exact" // the quantized weights, llama.cpp's numerics (what answers use)
)

// Teacher returns the constructor of self-study's teacher for the model in
// f on be, and its name for the dataset's header; (nil, "") means the
// inference model itself teaches. A bf16 teacher holds its own copy of the
// matrices (2 bytes a parameter) while it lives.
func Teacher(f *gguf.File, be backend.Backend, mode string) (func() (*model.Model, error), string, error) {
	switch mode {
	case TeacherExact:
		return nil, "", nil
	case TeacherAuto, "", TeacherBF16:
	default:
		return nil, "", fmt.Errorf("--teacher %q: want auto, bf16 or exact", mode)
	}
	c, ok := be.(*cpu.Backend)
	if !ok || !cpu.HasAMX() {
		if mode == TeacherBF16 {
			return nil, "", fmt.Errorf("--teacher bf16 needs a CPU with Intel AMX (AMX-BF16, Linux 5.16 or later), which this one is not; use --teacher exact or auto")
		}
		return nil, "", nil
	}
	return func() (*model.Model, error) { return model.New(f, c.WithBF16Weights()) }, TeacherBF16, nil
}
