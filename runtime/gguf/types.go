package gguf

import "fmt"

// Type is a ggml tensor element type, numbered as in ggml.h.
type Type uint32

const (
	TypeF32  Type = 0
	TypeF16  Type = 1
	TypeQ4_0 Type = 2
	TypeQ4_1 Type = 3
	TypeQ5_0 Type = 6
	TypeQ5_1 Type = 7
	TypeQ8_0 Type = 8
	TypeQ8_1 Type = 9
	TypeQ2_K Type = 10
	TypeQ3_K Type = 11
	TypeQ4_K Type = 12
	TypeQ5_K Type = 13
	TypeQ6_K Type = 14
	TypeQ8_K Type = 15
	TypeI8   Type = 24
	TypeI16  Type = 25
	TypeI32  Type = 26
	TypeI64  Type = 27
	TypeF64  Type = 28
	TypeBF16 Type = 30
)

// typeInfo gives, for a type, how many elements one block holds and how many
// bytes it takes.
type typeInfo struct {
	name       string
	blockElems int
	blockBytes int
}

var typeInfos = map[Type]typeInfo{
	TypeF32:  {"F32", 1, 4},
	TypeF16:  {"F16", 1, 2},
	TypeQ4_0: {"Q4_0", 32, 18},  // f16 d, 16 nibble bytes
	TypeQ4_1: {"Q4_1", 32, 20},  // f16 d, f16 m, 16 nibble bytes
	TypeQ5_0: {"Q5_0", 32, 22},  // f16 d, u32 high bits, 16 nibble bytes
	TypeQ5_1: {"Q5_1", 32, 24},  // f16 d, f16 m, u32 high bits, 16 nibble bytes
	TypeQ8_0: {"Q8_0", 32, 34},  // f16 d, 32 int8
	TypeQ8_1: {"Q8_1", 32, 36},  // f16 d, f16 s, 32 int8
	TypeQ2_K: {"Q2_K", 256, 84}, // 16 scales, 64 qs, f16 d, f16 dmin
	TypeQ3_K: {"Q3_K", 256, 110},
	TypeQ4_K: {"Q4_K", 256, 144}, // f16 d, f16 dmin, 12 scale bytes, 128 nibble bytes
	TypeQ5_K: {"Q5_K", 256, 176},
	TypeQ6_K: {"Q6_K", 256, 210}, // 128 ql, 64 qh, 16 int8 scales, f16 d
	TypeQ8_K: {"Q8_K", 256, 292}, // f32 d, 256 int8, 16 int16 block sums
	TypeI8:   {"I8", 1, 1},
	TypeI16:  {"I16", 1, 2},
	TypeI32:  {"I32", 1, 4},
	TypeI64:  {"I64", 1, 8},
	TypeF64:  {"F64", 1, 8},
	TypeBF16: {"BF16", 1, 2},
}

// Known reports whether t is a type this package knows the block layout of.
func (t Type) Known() bool { _, ok := typeInfos[t]; return ok }

func (t Type) String() string {
	if ti, ok := typeInfos[t]; ok {
		return ti.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockElems is the number of elements in one block (1 for plain types).
func (t Type) BlockElems() int { return typeInfos[t].blockElems }

// BlockBytes is the size in bytes of one block.
func (t Type) BlockBytes() int { return typeInfos[t].blockBytes }

// RowBytes returns the bytes taken by n elements of type t, or an error when
// n is not a whole number of blocks.
func (t Type) RowBytes(n int) (int, error) {
	ti, ok := typeInfos[t]
	if !ok {
		return 0, fmt.Errorf("gguf: unknown tensor type %d", uint32(t))
	}
	if n%ti.blockElems != 0 {
		return 0, fmt.Errorf("gguf: %d elements of %s is not a whole number of %d-element blocks", n, ti.name, ti.blockElems)
	}
	return n / ti.blockElems * ti.blockBytes, nil
}
