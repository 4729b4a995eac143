package gguf

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

// Builders for hand-made (often broken) files.

func u32b(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func u64b(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
func strb(s string) []byte { return append(u64b(uint64(len(s))), s...) }

func join(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// header is magic, version 3 and the two counts.
func header(nTensors, nKV uint64) []byte {
	return join([]byte("GGUF"), u32b(3), u64b(nTensors), u64b(nKV))
}

// kv encodes one metadata entry with a raw value encoding.
func kv(key string, typ ValueType, val ...[]byte) []byte {
	return join(strb(key), u32b(uint32(typ)), join(val...))
}

// tinfo encodes one tensor info.
func tinfo(name string, typ Type, offset uint64, dims ...uint64) []byte {
	b := join(strb(name), u32b(uint32(len(dims))))
	for _, d := range dims {
		b = append(b, u64b(d)...)
	}
	return join(b, u32b(uint32(typ)), u64b(offset))
}

// withData pads b to the alignment (32) and appends n data bytes.
func withData(b []byte, n int) []byte {
	for len(b)%32 != 0 {
		b = append(b, 0)
	}
	return append(b, make([]byte, n)...)
}

func TestValidation(t *testing.T) {
	f32x8 := tinfo("a", TypeF32, 0, 8)
	cases := []struct {
		name      string
		data      []byte
		want      string // substring of the error
		truncated bool   // error wraps ErrTruncated
	}{
		{"empty", nil, "truncated", true},
		{"bad magic", join([]byte("GGML"), u32b(3), u64b(0), u64b(0)), `not a GGUF file (magic "GGML"`, false},
		{"version 1", join([]byte("GGUF"), u32b(1), u32b(0), u32b(0)), "version 1 is not supported", false},
		{"version 4", join([]byte("GGUF"), u32b(4), u64b(0), u64b(0)), "unsupported GGUF version 4", false},
		{"big endian", join([]byte("GGUF"), []byte{0, 0, 0, 3}, u64b(0), u64b(0)), "big-endian", false},
		{"header cut", []byte("GGUF\x03\x00\x00\x00\x00"), "tensor count needs 8 bytes at offset 8", true},
		{"absurd kv count", header(0, math.MaxUint64), "claims 18446744073709551615 metadata entries", true},
		{"absurd tensor count", header(1<<60, 0), "claims 1152921504606846976 tensors", true},
		{"absurd key length", join(header(0, 1), u64b(1<<62), make([]byte, 8)), "claims 4611686018427387904 bytes", true},
		{"absurd string value", join(header(0, 1), kv("k", ValueString, u64b(math.MaxUint64))), `metadata "k" at offset`, true},
		{"absurd array count", join(header(0, 1), kv("k", ValueArray, u32b(uint32(ValueU64)), u64b(1<<40))), "claims 1099511627776 elements of u64", true},
		{"absurd nested array count", join(header(0, 1), kv("k", ValueArray, u32b(uint32(ValueArray)), u64b(1<<40))), "elements of array", true},
		{"array cut", join(header(0, 1), kv("k", ValueArray, u32b(uint32(ValueU32)), u64b(2), u32b(1))), "claims 2 elements of u32", true},
		{"unknown value type", join(header(0, 1), kv("k", 13, u32b(0))), `metadata "k" at offset 33 has unknown value type 13`, false},
		{"unknown elem type", join(header(0, 1), kv("k", ValueArray, u32b(99), u64b(0))), "unknown array element type 99", false},
		{"bad bool", join(header(0, 1), kv("k", ValueBool, []byte{2})), "bool byte is 2", false},
		{"nesting", join(header(0, 1), kv("k", ValueArray, func() []byte {
			var b []byte
			for range 20 {
				b = append(b, join(u32b(uint32(ValueArray)), u64b(1))...)
			}
			return b
		}())), "nested more than 16 deep", false},
		{"bad bool in array", join(header(0, 1), kv("k", ValueArray, u32b(uint32(ValueBool)), u64b(3), []byte{0, 1, 7})), `metadata "k"[2] at offset 51: bool byte is 7`, false},
		{"duplicate key", join(header(0, 2), kv("k", ValueU8, []byte{1}), kv("k", ValueU8, []byte{2})), `duplicate metadata key "k"`, false},
		{"alignment zero", join(header(0, 1), kv("general.alignment", ValueU32, u32b(0))), "general.alignment is 0, want a non-zero power of two", false},
		{"alignment 48", join(header(0, 1), kv("general.alignment", ValueU32, u32b(48))), "general.alignment is 48", false},
		{"alignment string", join(header(0, 1), kv("general.alignment", ValueString, strb("32"))), "general.alignment has type string", false},
		{"alignment huge", withData(join(header(1, 1), kv("general.alignment", ValueU64, u64b(1<<63)), tinfo("a", TypeF32, 0, 1)), 4), "tensor \"a\"", true},
		{"unknown tensor type", withData(join(header(1, 0), tinfo("a", 99, 0, 32)), 64), `tensor "a" has unknown tensor type 99`, false},
		{"removed Q4_2", withData(join(header(1, 0), tinfo("a", 4, 0, 32)), 64), "unknown tensor type 4", false},
		{"5 dims", withData(join(header(1, 0), tinfo("a", TypeF32, 0, 1, 1, 1, 1, 1)), 4), "has 5 dimensions, want 1..4", false},
		{"0 dims", withData(join(header(1, 0), tinfo("a", TypeF32, 0)), 4), "has 0 dimensions", false},
		{"zero dim", withData(join(header(1, 0), tinfo("a", TypeF32, 0, 8, 0)), 4), "dimension 1 is zero", false},
		{"dims overflow", withData(join(header(1, 0), tinfo("a", TypeF32, 0, 1<<32, 1<<32)), 4), "more than 2^63 elements", false},
		{"bytes overflow", withData(join(header(1, 0), tinfo("a", TypeF32, 0, 1<<31, 1<<31)), 4), "more than 2^63 bytes", false},
		{"partial block", withData(join(header(1, 0), tinfo("a", TypeQ4_0, 0, 48)), 64), "row length 48 is not a multiple of the Q4_0 block size 32", false},
		{"tensor past end", withData(join(header(1, 0), f32x8), 31), `tensor "a" (F32 [8]) needs bytes 64..96 but the file has 95`, true},
		{"offset past end", withData(join(header(1, 0), tinfo("a", TypeF32, 1<<40, 8)), 32), "needs bytes", true},
		{"offset overflow", withData(join(header(1, 0), tinfo("a", TypeF32, math.MaxUint64-31, 8)), 32), "needs bytes", true},
		{"misaligned offset", withData(join(header(1, 0), tinfo("a", TypeF32, 4, 1)), 8), `tensor "a" has offset 4, not a multiple of the alignment 32`, false},
		{"duplicate tensor", withData(join(header(2, 0), f32x8, tinfo("a", TypeF32, 32, 8)), 64), `duplicate tensor name "a"`, false},
		{"tensor name cut", join(header(1, 0), u64b(100), []byte("abc"), make([]byte, 21)), "name of tensor #0 at offset 24 claims 100 bytes", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.data)
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "gguf: ") {
				t.Errorf("error %q lacks the gguf: prefix", err)
			}
			if errors.Is(err, ErrTruncated) != c.truncated {
				t.Errorf("errors.Is(ErrTruncated) = %v, want %v (%v)", !c.truncated, c.truncated, err)
			}
		})
	}
}

// TestValidMinimal covers accepted edge cases: v2, no tensors and no
// padding after the infos, an explicit alignment, nested arrays.
func TestValidMinimal(t *testing.T) {
	v2 := join([]byte("GGUF"), u32b(2), u64b(0), u64b(1), kv("x", ValueArray, u32b(uint32(ValueArray)), u64b(1), u32b(uint32(ValueI8)), u64b(1), []byte{0xff}))
	f, err := Parse(v2)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Get("x"); f.Version != 2 || v.String() != "[[-1]]" {
		t.Errorf("v2: version %d value %v", f.Version, v)
	}
	b := join(header(1, 1), kv("general.alignment", ValueU32, u32b(8)), tinfo("a", TypeF32, 0, 2))
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	b = append(b, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40)
	if f, err = Parse(b); err != nil {
		t.Fatal(err)
	}
	x, err := f.TensorFloat32("a")
	if err != nil || x[0] != 1 || x[1] != 2 || f.Alignment != 8 {
		t.Errorf("got %v %v alignment %d", x, err, f.Alignment)
	}
	if _, err := f.TensorFloat32("b"); err == nil {
		t.Error("missing tensor: no error")
	}
}

func TestWriterErrors(t *testing.T) {
	bad := NewWriter(0)
	bad.AddKV("x", Value{Type: ValueArray, ElemType: 42})
	if _, err := bad.WriteTo(io.Discard); err == nil || !strings.Contains(err.Error(), "cannot write value") {
		t.Errorf("bad value written: %v", err)
	}
	w := NewWriter(0)
	if err := w.AddTensor("a", TypeF32, []uint64{2}, make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		typ  Type
		dims []uint64
		n    int
	}{
		{"a", TypeF32, []uint64{2}, 8},             // duplicate
		{"b", TypeF32, []uint64{2}, 7},             // wrong size
		{"c", Type(99), []uint64{2}, 8},            // unknown type
		{"d", TypeQ4_0, []uint64{16}, 9},           // partial block
		{"e", TypeF32, []uint64{1, 1, 1, 1, 1}, 4}, // too many dims
		{"f", TypeF32, nil, 4},                     // no dims
	} {
		if err := w.AddTensor(c.name, c.typ, c.dims, make([]byte, c.n)); err == nil {
			t.Errorf("AddTensor(%s %s %v) accepted", c.name, c.typ, c.dims)
		}
	}
}
