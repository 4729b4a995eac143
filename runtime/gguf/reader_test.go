package gguf

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// allValues has one metadata entry of every value type.
var allValues = []KV{
	{"general.architecture", String("llama")},
	{"t.u8", U8(200)},
	{"t.i8", I8(-100)},
	{"t.u16", U16(60000)},
	{"t.i16", I16(-30000)},
	{"t.u32", U32(4000000000)},
	{"t.i32", I32(-2000000000)},
	{"t.f32", F32(1.5e-5)},
	{"t.bool", Bool(true)},
	{"t.false", Bool(false)},
	{"t.string", String("héllo\x00world")},
	{"t.empty", String("")},
	{"t.u64", U64(math.MaxUint64)},
	{"t.i64", I64(math.MinInt64)},
	{"t.f64", F64(math.Pi)},
	{"t.strs", StringArray([]string{"a", "", "<|im_end|>"})},
	{"t.i32s", I32Array([]int32{1, -2, math.MaxInt32})},
	{"t.f32s", F32Array([]float32{0.5, -1, float32(math.Inf(1))})},
	{"t.u8s", Array(ValueU8, U8(1), U8(255))},
	{"t.f64s", Array(ValueF64, F64(2.5))},
	{"t.bools", Array(ValueBool, Bool(true), Bool(false))},
	{"t.nested", Array(ValueArray, I32Array([]int32{7}), Array(ValueString, String("x")))},
	{"t.emptyarr", Array(ValueU32)},
	{"llama.block_count", U32(2)},
	{"llama.rope.freq_base", F32(10000)},
}

// tinyFile builds a small valid model with a few tensors.
func tinyFile(t testing.TB, alignment uint64) []byte {
	t.Helper()
	w := NewWriter(alignment)
	for _, kv := range allValues {
		w.AddKV(kv.Key, kv.Value)
	}
	f32 := make([]byte, 4*8)
	for i := range 8 {
		copy(f32[4*i:], le32(math.Float32bits(float32(i)-3.5)))
	}
	if err := w.AddTensor("norm", TypeF32, []uint64{8}, f32); err != nil {
		t.Fatal(err)
	}
	q, err := Quantize(TypeQ8_0, ramp(64))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("w", TypeQ8_0, []uint64{32, 2}, q); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := w.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo returned %d, wrote %d", n, buf.Len())
	}
	return buf.Bytes()
}

func le32(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }

func ramp(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(i)/float32(n) - 0.5
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	for _, align := range []uint64{0, 1, 8, 64} {
		data := tinyFile(t, align)
		f, err := Parse(data)
		if err != nil {
			t.Fatalf("align %d: %v", align, err)
		}
		if f.Version != 3 {
			t.Errorf("version %d", f.Version)
		}
		want := align
		if want == 0 {
			want = DefaultAlignment
		}
		if f.Alignment != want {
			t.Errorf("alignment %d, want %d", f.Alignment, want)
		}
		kvs := f.KV
		if align != 0 && align != DefaultAlignment {
			kvs = kvs[1:] // general.alignment comes first
		}
		if len(kvs) != len(allValues) {
			t.Fatalf("%d KVs, want %d", len(kvs), len(allValues))
		}
		for i, kv := range allValues {
			if kvs[i].Key != kv.Key || !kvs[i].Value.Equal(kv.Value) {
				t.Errorf("KV %d: got %s=%v (%#v), want %s=%v", i, kvs[i].Key, kvs[i].Value, kvs[i].Value, kv.Key, kv.Value)
			}
		}
		if f.Architecture() != "llama" {
			t.Errorf("arch %q", f.Architecture())
		}
		if n, ok := f.ArchUint("block_count"); !ok || n != 2 {
			t.Errorf("block_count %d %v", n, ok)
		}
		if x, ok := f.ArchFloat("rope.freq_base"); !ok || x != 10000 {
			t.Errorf("freq_base %v %v", x, ok)
		}
		if len(f.Tensors) != 2 {
			t.Fatalf("%d tensors", len(f.Tensors))
		}
		for _, ti := range f.Tensors {
			if ti.Offset%f.Alignment != 0 || (f.DataOffset())%f.Alignment != 0 {
				t.Errorf("%s misaligned: data %d offset %d", ti.Name, f.DataOffset(), ti.Offset)
			}
		}
		norm, ok := f.Tensor("norm")
		if !ok || norm.Type != TypeF32 || norm.Elems() != 8 || len(f.TensorData(norm)) != 32 {
			t.Fatalf("norm: %+v", norm)
		}
		x, err := f.TensorFloat32("norm")
		if err != nil || x[0] != -3.5 || x[7] != 3.5 {
			t.Errorf("norm data %v %v", x, err)
		}
		w, _ := f.Tensor("w")
		if w.Size != 68 || !reflect.DeepEqual(w.Dims, []uint64{32, 2}) {
			t.Errorf("w: %+v", w)
		}
	}
}

func TestAccessors(t *testing.T) {
	f, err := Parse(tinyFile(t, 0))
	if err != nil {
		t.Fatal(err)
	}
	u := func(k string, want uint64, wok bool) {
		t.Helper()
		if g, ok := f.Uint(k); g != want || ok != wok {
			t.Errorf("Uint(%s) = %d,%v want %d,%v", k, g, ok, want, wok)
		}
	}
	u("t.u8", 200, true)
	u("t.u64", math.MaxUint64, true)
	u("t.i8", 0, false)
	u("t.f32", 0, false)
	u("missing", 0, false)
	i := func(k string, want int64, wok bool) {
		t.Helper()
		if g, ok := f.Int(k); g != want || ok != wok {
			t.Errorf("Int(%s) = %d,%v want %d,%v", k, g, ok, want, wok)
		}
	}
	i("t.i16", -30000, true)
	i("t.i64", math.MinInt64, true)
	i("t.u32", 4000000000, true)
	i("t.u64", 0, false)
	i("t.string", 0, false)
	if x, ok := f.Float("t.f32"); !ok || x != float64(float32(1.5e-5)) {
		t.Errorf("Float f32 %v", x)
	}
	if x, ok := f.Float("t.i32"); !ok || x != -2000000000 {
		t.Errorf("Float i32 %v", x)
	}
	if _, ok := f.Float("t.bool"); ok {
		t.Error("Float(bool) ok")
	}
	if b, ok := f.Bool("t.bool"); !ok || !b {
		t.Error("Bool")
	}
	if _, ok := f.Bool("t.u8"); ok {
		t.Error("Bool(u8) ok")
	}
	if s, ok := f.Str("t.string"); !ok || s != "héllo\x00world" {
		t.Errorf("Str %q", s)
	}
	if s, ok := f.Strings("t.strs"); !ok || !reflect.DeepEqual(s, []string{"a", "", "<|im_end|>"}) {
		t.Errorf("Strings %q", s)
	}
	if _, ok := f.Strings("t.i32s"); ok {
		t.Error("Strings(i32s) ok")
	}
	if v, ok := f.Int32s("t.i32s"); !ok || !reflect.DeepEqual(v, []int32{1, -2, math.MaxInt32}) {
		t.Errorf("Int32s %v", v)
	}
	if v, ok := f.Int32s("t.u8s"); !ok || !reflect.DeepEqual(v, []int32{1, 255}) {
		t.Errorf("Int32s(u8) %v", v)
	}
	if v, ok := f.Float32s("t.f32s"); !ok || !reflect.DeepEqual(v, []float32{0.5, -1, float32(math.Inf(1))}) {
		t.Errorf("Float32s %v", v)
	}
	if v, ok := f.Float32s("t.f64s"); !ok || !reflect.DeepEqual(v, []float32{2.5}) {
		t.Errorf("Float32s(f64) %v", v)
	}
	if _, ok := f.Float32s("t.i32s"); ok {
		t.Error("Float32s(i32) ok")
	}
	v, _ := f.Get("t.nested")
	if v.Len() != 2 || v.Index(0).Index(0).String() != "7" {
		t.Errorf("nested %v", v)
	}
}

func TestValueString(t *testing.T) {
	cases := []struct {
		v    Value
		want string
	}{
		{U8(7), "7"},
		{I64(-3), "-3"},
		{F32(0.1), "0.1"},
		{F64(0.1), "0.1"},
		{Bool(true), "true"},
		{String("a\"b"), `"a\"b"`},
		{StringArray([]string{"x", "y"}), `["x", "y"]`},
		{I32Array([]int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}), "[1, 2, 3, 4, 5, 6, 7, 8, … (10 i32 total)]"},
		{Array(ValueArray, I32Array([]int32{1})), "[[1]]"},
	}
	for _, c := range cases {
		if got := c.v.String(); got != c.want {
			t.Errorf("%#v: got %s want %s", c.v, got, c.want)
		}
	}
}

func TestTruncatedEverywhere(t *testing.T) {
	data := tinyFile(t, 0)
	for n := 0; n < len(data); n++ {
		_, err := Parse(data[:n])
		if err == nil {
			t.Fatalf("truncated to %d of %d bytes: no error", n, len(data))
		}
		if n >= 4 && !errors.Is(err, ErrTruncated) {
			t.Fatalf("truncated to %d: error %v does not wrap ErrTruncated", n, err)
		}
		if !strings.HasPrefix(err.Error(), "gguf: ") {
			t.Fatalf("error without prefix: %v", err)
		}
	}
}

func FuzzParse(f *testing.F) {
	data := tinyFile(f, 0)
	f.Add(data)
	for _, n := range []int{0, 4, 8, 24, 40, 100, len(data) / 2, len(data) - 1} {
		f.Add(data[:n])
	}
	f.Add(tinyFile(f, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := Parse(b)
		if err != nil {
			return
		}
		for _, kv := range g.KV {
			_ = kv.Value.String()
		}
		for i := range g.Tensors {
			ti := &g.Tensors[i]
			d := g.TensorData(ti)
			if uint64(len(d)) != ti.Size {
				t.Fatalf("tensor %q: %d bytes, size %d", ti.Name, len(d), ti.Size)
			}
			if ti.Elems() <= 1<<16 {
				if _, err := g.TensorFloat32(ti.Name); err != nil && (ti.Type != TypeQ8_1 && ti.Type != TypeI64) {
					t.Fatalf("tensor %q: %v", ti.Name, err)
				}
			}
		}
	})
}
