package gguf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ValueType is the type tag of a GGUF metadata value, numbered as in the
// GGUF specification.
type ValueType uint32

const (
	ValueU8     ValueType = 0
	ValueI8     ValueType = 1
	ValueU16    ValueType = 2
	ValueI16    ValueType = 3
	ValueU32    ValueType = 4
	ValueI32    ValueType = 5
	ValueF32    ValueType = 6
	ValueBool   ValueType = 7
	ValueString ValueType = 8
	ValueArray  ValueType = 9
	ValueU64    ValueType = 10
	ValueI64    ValueType = 11
	ValueF64    ValueType = 12
)

var valueTypeNames = [...]string{"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"}

// Known reports whether vt is one of the 13 GGUF metadata value types.
func (vt ValueType) Known() bool { return vt <= ValueF64 }

func (vt ValueType) String() string {
	if vt.Known() {
		return valueTypeNames[vt]
	}
	return fmt.Sprintf("valuetype(%d)", uint32(vt))
}

// size is the encoded size in bytes of a scalar of type vt, 0 for string and
// array (variable size).
func (vt ValueType) size() int {
	switch vt {
	case ValueU8, ValueI8, ValueBool:
		return 1
	case ValueU16, ValueI16:
		return 2
	case ValueU32, ValueI32, ValueF32:
		return 4
	case ValueU64, ValueI64, ValueF64:
		return 8
	}
	return 0
}

// minSize is the fewest bytes one encoded value of type vt can take.
func (vt ValueType) minSize() int {
	switch vt {
	case ValueString:
		return 8 // u64 length
	case ValueArray:
		return 12 // u32 element type + u64 count
	}
	return vt.size()
}

func (vt ValueType) isSigned() bool {
	return vt == ValueI8 || vt == ValueI16 || vt == ValueI32 || vt == ValueI64
}

func (vt ValueType) isUnsigned() bool {
	return vt == ValueU8 || vt == ValueU16 || vt == ValueU32 || vt == ValueU64
}

func (vt ValueType) isFloat() bool { return vt == ValueF32 || vt == ValueF64 }

func (vt ValueType) isNumeric() bool {
	return vt.isSigned() || vt.isUnsigned() || vt.isFloat() || vt == ValueBool
}

// Value is one typed metadata value. Scalars keep their value in num (see
// scalar encoding below) or str; arrays keep their elements in arr.
//
// Scalar encoding of num: unsigned integers and bools as themselves, signed
// integers as two's complement int64, floats as math.Float64bits of the value
// widened to float64 (exact for f32).
type Value struct {
	Type     ValueType
	ElemType ValueType // element type when Type == ValueArray

	num uint64
	str string
	arr *arrayData
}

// arrayData holds the elements of an array: numeric and bool elements as
// their little-endian file encoding (so memory never exceeds the file's),
// strings, or nested arrays.
type arrayData struct {
	raw  []byte
	strs []string
	arrs []Value
}

// decodeScalar decodes one little-endian scalar of type t from b (which holds
// at least t.size() bytes) into the Value encoding of num.
func decodeScalar(t ValueType, b []byte) uint64 {
	switch t {
	case ValueU8, ValueBool:
		return uint64(b[0])
	case ValueI8:
		return uint64(int64(int8(b[0])))
	case ValueU16:
		return uint64(binary.LittleEndian.Uint16(b))
	case ValueI16:
		return uint64(int64(int16(binary.LittleEndian.Uint16(b))))
	case ValueU32:
		return uint64(binary.LittleEndian.Uint32(b))
	case ValueI32:
		return uint64(int64(int32(binary.LittleEndian.Uint32(b))))
	case ValueF32:
		return math.Float64bits(float64(math.Float32frombits(binary.LittleEndian.Uint32(b))))
	}
	return binary.LittleEndian.Uint64(b) // u64, i64, f64
}

// appendScalar appends the little-endian encoding of num as type t.
func appendScalar(b []byte, t ValueType, num uint64) []byte {
	if t == ValueF32 {
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(math.Float64frombits(num))))
	}
	var e [8]byte
	binary.LittleEndian.PutUint64(e[:], num) // integers: the low bytes
	return append(b, e[:t.size()]...)
}

// scalars calls fn with each element of a numeric array in the num encoding.
func (v Value) scalars(fn func(uint64) bool) {
	if v.arr == nil || !v.ElemType.isNumeric() {
		return
	}
	sz := v.ElemType.size()
	for i := 0; i+sz <= len(v.arr.raw); i += sz {
		if !fn(decodeScalar(v.ElemType, v.arr.raw[i:])) {
			return
		}
	}
}

// Len is the number of elements of an array value, 0 for scalars.
func (v Value) Len() int {
	if v.Type != ValueArray || v.arr == nil {
		return 0
	}
	switch {
	case v.ElemType == ValueString:
		return len(v.arr.strs)
	case v.ElemType == ValueArray:
		return len(v.arr.arrs)
	case v.ElemType.isNumeric():
		return len(v.arr.raw) / v.ElemType.size()
	}
	return 0
}

// Index returns element i of an array value as a scalar Value (or nested
// array). It panics when i is out of range, like a slice index.
func (v Value) Index(i int) Value {
	if i < 0 || i >= v.Len() {
		panic(fmt.Sprintf("gguf: index %d out of range for array of length %d", i, v.Len()))
	}
	switch v.ElemType {
	case ValueString:
		return Value{Type: ValueString, str: v.arr.strs[i]}
	case ValueArray:
		return v.arr.arrs[i]
	}
	sz := v.ElemType.size()
	return Value{Type: v.ElemType, num: decodeScalar(v.ElemType, v.arr.raw[i*sz:])}
}

// AsString returns the value of a string scalar.
func (v Value) AsString() (string, bool) { return v.str, v.Type == ValueString }

// AsUint returns the value of a non-negative integer scalar of any width.
func (v Value) AsUint() (uint64, bool) { return numToUint(v.Type, v.num) }

// AsInt returns the value of an integer scalar of any width that fits int64.
func (v Value) AsInt() (int64, bool) { return numToInt(v.Type, v.num) }

// AsFloat returns the value of a float or integer scalar as float64.
func (v Value) AsFloat() (float64, bool) { return numToFloat(v.Type, v.num) }

// AsBool returns the value of a bool scalar.
func (v Value) AsBool() (bool, bool) { return v.num != 0, v.Type == ValueBool }

func numToUint(t ValueType, n uint64) (uint64, bool) {
	switch {
	case t.isUnsigned():
		return n, true
	case t.isSigned() && int64(n) >= 0:
		return n, true
	}
	return 0, false
}

func numToInt(t ValueType, n uint64) (int64, bool) {
	switch {
	case t.isSigned():
		return int64(n), true
	case t.isUnsigned() && n <= math.MaxInt64:
		return int64(n), true
	}
	return 0, false
}

func numToFloat(t ValueType, n uint64) (float64, bool) {
	switch {
	case t.isFloat():
		return math.Float64frombits(n), true
	case t.isSigned():
		return float64(int64(n)), true
	case t.isUnsigned():
		return float64(n), true
	}
	return 0, false
}

// maxShown is how many array elements String shows before abbreviating.
const maxShown = 8

// String renders v for people: strings quoted, arrays abbreviated to their
// first few elements and their length.
func (v Value) String() string {
	switch {
	case v.Type == ValueString:
		return strconv.Quote(v.str)
	case v.Type == ValueBool:
		return strconv.FormatBool(v.num != 0)
	case v.Type.isSigned():
		return strconv.FormatInt(int64(v.num), 10)
	case v.Type.isUnsigned():
		return strconv.FormatUint(v.num, 10)
	case v.Type == ValueF32:
		return strconv.FormatFloat(math.Float64frombits(v.num), 'g', -1, 32)
	case v.Type == ValueF64:
		return strconv.FormatFloat(math.Float64frombits(v.num), 'g', -1, 64)
	case v.Type == ValueArray:
		n := v.Len()
		var b strings.Builder
		b.WriteString("[")
		for i := 0; i < n && i < maxShown; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(v.Index(i).String())
		}
		if n > maxShown {
			fmt.Fprintf(&b, ", … (%d %s total)", n, v.ElemType)
		}
		b.WriteString("]")
		return b.String()
	}
	return fmt.Sprintf("<%s>", v.Type)
}

// Get returns the metadata value stored under key.
func (f *File) Get(key string) (Value, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return Value{}, false
	}
	return f.KV[i].Value, true
}

// Str returns a string value.
func (f *File) Str(key string) (string, bool) {
	v, ok := f.Get(key)
	if !ok {
		return "", false
	}
	return v.AsString()
}

// Uint returns an integer value of any width that is non-negative.
func (f *File) Uint(key string) (uint64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	return v.AsUint()
}

// Int returns an integer value of any width that fits in int64.
func (f *File) Int(key string) (int64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	return v.AsInt()
}

// Float returns an f32, f64 or integer value as float64.
func (f *File) Float(key string) (float64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	return v.AsFloat()
}

// Bool returns a bool value.
func (f *File) Bool(key string) (bool, bool) {
	v, ok := f.Get(key)
	if !ok {
		return false, false
	}
	return v.AsBool()
}

// Strings returns an array of strings. The slice is shared with the File:
// do not modify it.
func (f *File) Strings(key string) ([]string, bool) {
	v, ok := f.Get(key)
	if !ok || v.Type != ValueArray || v.ElemType != ValueString {
		return nil, false
	}
	if v.arr == nil {
		return nil, true
	}
	return v.arr.strs, true
}

// Int32s returns an array of any integer type as int32. It fails when an
// element does not fit in int32.
func (f *File) Int32s(key string) ([]int32, bool) {
	v, ok := f.Get(key)
	if !ok || v.Type != ValueArray || !(v.ElemType.isSigned() || v.ElemType.isUnsigned()) {
		return nil, false
	}
	out := make([]int32, 0, v.Len())
	ok = true
	v.scalars(func(n uint64) bool {
		x, fits := numToInt(v.ElemType, n)
		if !fits || x < math.MinInt32 || x > math.MaxInt32 {
			ok = false
			return false
		}
		out = append(out, int32(x))
		return true
	})
	if !ok {
		return nil, false
	}
	return out, true
}

// Float32s returns an array of f32 or f64 as float32.
func (f *File) Float32s(key string) ([]float32, bool) {
	v, ok := f.Get(key)
	if !ok || v.Type != ValueArray || !v.ElemType.isFloat() {
		return nil, false
	}
	out := make([]float32, 0, v.Len())
	v.scalars(func(n uint64) bool {
		out = append(out, float32(math.Float64frombits(n)))
		return true
	})
	return out, true
}

// ArchUint is Uint(Architecture() + "." + key), e.g. ArchUint("block_count").
func (f *File) ArchUint(key string) (uint64, bool) { return f.Uint(f.Architecture() + "." + key) }

// ArchFloat is Float(Architecture() + "." + key).
func (f *File) ArchFloat(key string) (float64, bool) { return f.Float(f.Architecture() + "." + key) }

// Value constructors.

func U8(v uint8) Value   { return Value{Type: ValueU8, num: uint64(v)} }
func I8(v int8) Value    { return Value{Type: ValueI8, num: uint64(int64(v))} }
func U16(v uint16) Value { return Value{Type: ValueU16, num: uint64(v)} }
func I16(v int16) Value  { return Value{Type: ValueI16, num: uint64(int64(v))} }
func U32(v uint32) Value { return Value{Type: ValueU32, num: uint64(v)} }
func I32(v int32) Value  { return Value{Type: ValueI32, num: uint64(int64(v))} }
func U64(v uint64) Value { return Value{Type: ValueU64, num: v} }
func I64(v int64) Value  { return Value{Type: ValueI64, num: uint64(v)} }
func F32(v float32) Value {
	return Value{Type: ValueF32, num: math.Float64bits(float64(v))}
}
func F64(v float64) Value { return Value{Type: ValueF64, num: math.Float64bits(v)} }
func Bool(b bool) Value {
	v := Value{Type: ValueBool}
	if b {
		v.num = 1
	}
	return v
}
func String(s string) Value { return Value{Type: ValueString, str: s} }

// StringArray is an array of strings.
func StringArray(s []string) Value {
	return Value{Type: ValueArray, ElemType: ValueString, arr: &arrayData{strs: append([]string(nil), s...)}}
}

// I32Array is an array of i32.
func I32Array(v []int32) Value {
	raw := make([]byte, 0, 4*len(v))
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint32(raw, uint32(x))
	}
	return Value{Type: ValueArray, ElemType: ValueI32, arr: &arrayData{raw: raw}}
}

// F32Array is an array of f32.
func F32Array(v []float32) Value {
	raw := make([]byte, 0, 4*len(v))
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(x))
	}
	return Value{Type: ValueArray, ElemType: ValueF32, arr: &arrayData{raw: raw}}
}

// Array builds an array from values that all have type elem (any type,
// nested arrays included). It panics when an element has another type.
func Array(elem ValueType, elems ...Value) Value {
	if !elem.Known() {
		panic(fmt.Sprintf("gguf.Array: unknown element type %d", uint32(elem)))
	}
	a := &arrayData{}
	for i, e := range elems {
		if e.Type != elem {
			panic(fmt.Sprintf("gguf.Array: element %d has type %s, want %s", i, e.Type, elem))
		}
		switch elem {
		case ValueString:
			a.strs = append(a.strs, e.str)
		case ValueArray:
			a.arrs = append(a.arrs, e)
		default:
			a.raw = appendScalar(a.raw, elem, e.num)
		}
	}
	return Value{Type: ValueArray, ElemType: elem, arr: a}
}

// Equal reports whether v and w have the same type and the same value
// (floats compared bit for bit; arrays element by element).
func (v Value) Equal(w Value) bool {
	if v.Type != w.Type || v.num != w.num || v.str != w.str {
		return false
	}
	if v.Type != ValueArray {
		return true
	}
	if v.ElemType != w.ElemType || v.Len() != w.Len() || v.Len() == 0 {
		return v.ElemType == w.ElemType && v.Len() == w.Len()
	}
	switch v.ElemType {
	case ValueString:
		return slices.Equal(v.arr.strs, w.arr.strs)
	case ValueArray:
		return slices.EqualFunc(v.arr.arrs, w.arr.arrs, Value.Equal)
	}
	return bytes.Equal(v.arr.raw, w.arr.raw)
}
