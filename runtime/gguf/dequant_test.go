package gguf

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

type refCase struct {
	Kind   string `json:"kind"`
	Type   string `json:"type"`
	TypeID uint32 `json:"type_id"`
	N      int    `json:"n"`
	Input  string `json:"input"`
	Bytes  string `json:"bytes"`
	Want   string `json:"want"`
}

func decodeF32(t *testing.T, s string) []float32 {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func sameFloat(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

// TestDequantizeReference checks Dequantize (and, for the types gguf-py can
// quantize, Quantize) against testdata/gguf/dequant_ref.json, made by
// scripts/gguf_dequant_ref.py with gguf-py 0.19.0. Both compute in float32
// with one rounding per operation in the same order, so the comparison is
// bit-exact, no tolerance.
func TestDequantizeReference(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/gguf/dequant_ref.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []refCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range doc.Cases {
		typ := Type(c.TypeID)
		if typ.String() != c.Type {
			t.Fatalf("type id %d is %s here, %s in the fixture", c.TypeID, typ, c.Type)
		}
		seen[c.Kind+" "+c.Type] = true
		data, err := base64.StdEncoding.DecodeString(c.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		want := decodeF32(t, c.Want)
		if len(want) != c.N {
			t.Fatalf("%s %s: %d floats, n=%d", c.Kind, c.Type, len(want), c.N)
		}
		got := make([]float32, c.N)
		if err := Dequantize(typ, data, got); err != nil {
			t.Fatalf("%s %s: %v", c.Kind, c.Type, err)
		}
		bad := 0
		for i := range got {
			if !sameFloat(got[i], want[i]) {
				if bad < 5 {
					t.Errorf("%s %s: element %d (block %d): got %v (%#x), want %v (%#x)", c.Kind, c.Type, i,
						i/typ.BlockElems(), got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
				}
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s %s: %d of %d elements differ", c.Kind, c.Type, bad, c.N)
		}
		if c.Kind == "quant" {
			in := decodeF32(t, c.Input)
			q, err := Quantize(typ, in)
			if err != nil {
				t.Fatalf("Quantize %s: %v", c.Type, err)
			}
			for i := range q {
				if q[i] != data[i] {
					t.Errorf("Quantize %s: byte %d (block %d): got %#x, want %#x", c.Type, i, i/typ.BlockBytes(), q[i], data[i])
					break
				}
			}
		}
	}
	for _, k := range []string{"raw Q8_0", "raw Q4_0", "raw Q4_1", "raw Q4_K", "raw Q6_K", "quant Q4_1", "raw BF16", "raw F16"} {
		if !seen[k] {
			t.Errorf("fixture has no %s case", k)
		}
	}
}

// TestDequantizeLayout pins the nibble order and formulas on hand-made blocks.
func TestDequantizeLayout(t *testing.T) {
	one := []byte{0x00, 0x3c} // f16 1.0
	half := []byte{0x00, 0x38}
	nib := make([]byte, 16)
	for j := range nib {
		nib[j] = byte(j) | byte(15-j)<<4
	}
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	cases := []struct {
		typ  Type
		data []byte
		want func(i int) float32
	}{
		{TypeQ4_0, cat(one, nib), func(i int) float32 {
			if i < 16 {
				return float32(i - 8)
			}
			return float32(15 - (i - 16) - 8)
		}},
		{TypeQ4_1, cat(half, one, nib), func(i int) float32 {
			if i < 16 {
				return float32(i)*0.5 + 1
			}
			return float32(15-(i-16))*0.5 + 1
		}},
		{TypeQ5_0, cat(one, []byte{0, 0, 0, 0x80}, nib), func(i int) float32 {
			if i < 16 {
				return float32(i - 16)
			}
			q := 15 - (i - 16)
			if i == 31 {
				q += 16
			}
			return float32(q - 16)
		}},
		{TypeQ8_0, cat(half, func() []byte {
			b := make([]byte, 32)
			for i := range b {
				b[i] = byte(int8(i - 16))
			}
			return b
		}()), func(i int) float32 { return float32(i-16) * 0.5 }},
	}
	for _, c := range cases {
		got := make([]float32, 32)
		if err := Dequantize(c.typ, c.data, got); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != c.want(i) {
				t.Errorf("%s element %d: got %v want %v", c.typ, i, got[i], c.want(i))
			}
		}
	}
}

// TestQuantizeRoundTrip checks every quantizer against its dequantizer: the
// error stays within half a quantization step of each block's scale.
func TestQuantizeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 1024)
	for i := range x {
		x[i] = float32(rng.NormFloat64()) * float32(1+i/256)
	}
	tol := map[Type]float64{TypeF32: 0, TypeF16: 2e-3, TypeBF16: 8e-3, TypeQ8_0: 0.01, TypeQ5_0: 0.06, TypeQ5_1: 0.06,
		TypeQ4_0: 0.12, TypeQ4_1: 0.12, TypeQ6_K: 0.04, TypeQ4_K: 0.15}
	for typ, rel := range tol {
		q, err := Quantize(typ, x)
		if err != nil {
			t.Fatal(err)
		}
		y := make([]float32, len(x))
		if err := Dequantize(typ, q, y); err != nil {
			t.Fatal(err)
		}
		for i := range x {
			scale := 1 + float64(i/256)
			if d := math.Abs(float64(x[i] - y[i])); d > rel*scale*4 {
				t.Errorf("%s element %d: %v became %v", typ, i, x[i], y[i])
				break
			}
		}
	}
}

func TestDequantizeErrors(t *testing.T) {
	out := make([]float32, 32)
	if err := Dequantize(TypeQ4_0, make([]byte, 17), out); err == nil {
		t.Error("short Q4_0 data accepted")
	}
	if err := Dequantize(TypeQ4_0, make([]byte, 18), out[:31]); err == nil {
		t.Error("partial block accepted")
	}
	if err := Dequantize(TypeQ8_1, make([]byte, 36), out); err == nil {
		t.Error("Q8_1 accepted")
	}
	if err := Dequantize(Type(99), nil, nil); err == nil {
		t.Error("unknown type accepted")
	}
	if _, err := Quantize(TypeQ2_K, make([]float32, 256)); err == nil {
		t.Error("Quantize Q2_K accepted")
	}
}
