package cpu

import (
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// TestTableRows: a table's rows, dequantized from the GGUF blocks where they
// lie, are Weight.Row's rows of the repacked weight bit for bit, for every
// supported type; a table refuses MatMul, and bad shapes are errors.
func TestTableRows(t *testing.T) {
	types := []gguf.Type{gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16, gguf.TypeQ4_0, gguf.TypeQ4_1,
		gguf.TypeQ5_0, gguf.TypeQ5_1, gguf.TypeQ8_0, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K}
	for _, typ := range types {
		t.Run(typ.String(), func(t *testing.T) {
			rows, cols := 37, 512
			raw := randomWeight(rand.New(rand.NewSource(int64(typ))), typ, rows, cols)
			w, err := NewWeight(typ, rows, cols, raw)
			if err != nil {
				t.Fatal(err)
			}
			tab, err := NewTable(typ, rows, cols, raw)
			if err != nil {
				t.Fatal(err)
			}
			if !tab.inPlace || tab.Bytes() != len(raw) {
				t.Fatalf("table: inPlace %v, %d bytes, want in place over %d", tab.inPlace, tab.Bytes(), len(raw))
			}
			want, got := make([]float32, cols), make([]float32, cols)
			for r := 0; r < rows; r++ {
				w.Row(r, want)
				tab.Row(r, got)
				for j := range want {
					if math.Float32bits(want[j]) != math.Float32bits(got[j]) {
						t.Fatalf("row %d col %d: table %g, weight %g", r, j, got[j], want[j])
					}
				}
			}
		})
	}
	if _, err := NewTable(gguf.TypeQ8_0, 2, 64, make([]byte, 10)); err == nil {
		t.Error("a short table was accepted")
	}
	if _, err := NewTable(gguf.TypeQ8_0, 0, 64, nil); err == nil {
		t.Error("an empty table was accepted")
	}
	tab, err := NewTable(gguf.TypeQ8_0, 1, 32, make([]byte, 34))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "table") {
			t.Errorf("MatMul with a table: recovered %v, want a panic naming the table", r)
		}
	}()
	tab.MatMul(nil, make([]float32, 1), make([]float32, 32), 1)
}

// TestCapLevel: CARTLSP_KERNELS lowers the kernel level, never raises it.
func TestCapLevel(t *testing.T) {
	for _, c := range []struct {
		best level
		want string
		got  level
	}{
		{levelAVX512, "", levelAVX512}, {levelAVX512, "avx2", levelAVX2}, {levelAVX512, "generic", levelGeneric},
		{levelAVX2, "avx512", levelAVX2}, {levelAVX2, "avx512-vnni", levelAVX2}, {levelAVX512, "avx512", levelAVX512},
		{levelGeneric, "avx2", levelGeneric}, {levelAVX512, "sse", levelAVX512},
	} {
		if got := capLevel(c.best, c.want); got != c.got {
			t.Errorf("capLevel(%v, %q) = %v, want %v", c.best, c.want, got, c.got)
		}
	}
}
