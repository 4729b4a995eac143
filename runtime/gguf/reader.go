// Package gguf reads and writes GGUF model files (versions 2 and 3): their
// typed metadata, their tensor directory and their tensor data, which it can
// dequantize to float32.
package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/cartlsp/cartlsp/regular"
	"io"
	"math"
	"math/bits"
)

// Magic is the four bytes every GGUF file starts with.
const Magic = "GGUF"

// DefaultAlignment is the data alignment when general.alignment is absent.
const DefaultAlignment = 32

// MaxDims is the most dimensions a tensor may have (GGML_MAX_DIMS).
const MaxDims = 4

// maxNesting bounds how deeply metadata arrays may nest.
const maxNesting = 16

// File is a parsed GGUF file. Its tensor data stays in the mapped (or given)
// bytes; TensorData returns slices of them, valid until Close.
type File struct {
	Version   uint32
	Alignment uint64
	KV        []KV         // metadata in file order
	Tensors   []TensorInfo // in file order

	data    []byte // the whole file
	unmap   func([]byte) error
	mapped  bool   // data is a mapping of the file (Release drops pages)
	dataOff uint64 // start of the data section in data
	index   map[string]int
	kvIndex map[string]int
}

// KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}

// TensorInfo describes one tensor of the file.
type TensorInfo struct {
	Name   string
	Dims   []uint64 // fastest-varying first, as in the file (Dims[0] = row length)
	Type   Type
	Offset uint64 // from the start of the data section
	Size   uint64 // bytes
}

// Elems is the number of elements, the product of Dims.
func (t *TensorInfo) Elems() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Open maps the file at path read-only and parses it. Close releases it.
func Open(path string) (*File, error) {
	data, unmap, mapped, err := mapFile(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		_ = unmap(data)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.unmap, f.mapped = unmap, mapped
	return f, nil
}

// Release says that t's bytes are not needed in memory for now (a backend
// repacked them): where the file is mapped, their pages leave the process's
// resident set and are read from the file again if touched. TensorData stays
// valid.
func (f *File) Release(t *TensorInfo) {
	if f.mapped {
		release(f.TensorData(t))
	}
}

// Close releases the mapping made by Open. Slices from TensorData must not be
// used afterwards. Close on a File from Parse does nothing.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap(f.data)
	f.unmap = nil
	f.data = nil
	return err
}

// Tensor returns the tensor called name.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.index[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// TensorData returns the bytes of t (len == t.Size) within the file, or nil
// when t does not lie within the data section (e.g. after Close).
func (f *File) TensorData(t *TensorInfo) []byte {
	start, ok1 := addOK(f.dataOff, t.Offset)
	end, ok2 := addOK(start, t.Size)
	if !ok1 || !ok2 || end > uint64(len(f.data)) {
		return nil
	}
	return f.data[start:end:end]
}

// DataOffset is the file offset at which the data section starts.
func (f *File) DataOffset() uint64 { return f.dataOff }

// Architecture is the value of general.architecture ("" when absent).
func (f *File) Architecture() string {
	s, _ := f.Str("general.architecture")
	return s
}

// ErrTruncated is wrapped by the errors reporting a file that ends early.
var ErrTruncated = errors.New("file truncated")

// decoder reads little-endian values from a byte slice, tracking the offset.
type decoder struct {
	b   []byte
	pos uint64
}

func (d *decoder) remaining() uint64 { return uint64(len(d.b)) - d.pos }

func (d *decoder) need(n uint64, what string) error {
	if n > d.remaining() {
		return fmt.Errorf("gguf: %w: %s needs %d bytes at offset %d but only %d remain (file size %d)",
			ErrTruncated, what, n, d.pos, d.remaining(), len(d.b))
	}
	return nil
}

func (d *decoder) u8(what string) (uint8, error) {
	if err := d.need(1, what); err != nil {
		return 0, err
	}
	v := d.b[d.pos]
	d.pos++
	return v, nil
}

func (d *decoder) u16(what string) (uint16, error) {
	if err := d.need(2, what); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint16(d.b[d.pos:])
	d.pos += 2
	return v, nil
}

func (d *decoder) u32(what string) (uint32, error) {
	if err := d.need(4, what); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint32(d.b[d.pos:])
	d.pos += 4
	return v, nil
}

func (d *decoder) u64(what string) (uint64, error) {
	if err := d.need(8, what); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint64(d.b[d.pos:])
	d.pos += 8
	return v, nil
}

func (d *decoder) str(what string) (string, error) {
	start := d.pos
	n, err := d.u64(what + " length")
	if err != nil {
		return "", err
	}
	if n > d.remaining() {
		return "", fmt.Errorf("gguf: %w: %s at offset %d claims %d bytes but only %d remain (file size %d)",
			ErrTruncated, what, start, n, d.remaining(), len(d.b))
	}
	s := string(d.b[d.pos : d.pos+n])
	d.pos += n
	return s, nil
}

// scalar reads one numeric or bool value of type t in the Value encoding.
func (d *decoder) scalar(t ValueType, what string) (uint64, error) {
	n := uint64(t.size())
	if err := d.need(n, what); err != nil {
		return 0, err
	}
	v := decodeScalar(t, d.b[d.pos:])
	if t == ValueBool && v > 1 {
		return 0, fmt.Errorf("gguf: %s at offset %d: bool byte is %d, not 0 or 1", what, d.pos, v)
	}
	d.pos += n
	return v, nil
}

// value reads a value of type t (already read). depth counts array nesting.
func (d *decoder) value(t ValueType, what string, depth int) (Value, error) {
	switch {
	case t == ValueString:
		s, err := d.str(what)
		return Value{Type: ValueString, str: s}, err
	case t == ValueArray:
		return d.array(what, depth)
	case t.isNumeric():
		n, err := d.scalar(t, what)
		return Value{Type: t, num: n}, err
	}
	return Value{}, fmt.Errorf("gguf: %s at offset %d has unknown value type %d (known: 0..12)", what, d.pos-4, uint32(t))
}

func (d *decoder) array(what string, depth int) (Value, error) {
	if depth >= maxNesting {
		return Value{}, fmt.Errorf("gguf: %s at offset %d: arrays nested more than %d deep", what, d.pos, maxNesting)
	}
	et, err := d.u32(what + " element type")
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	if !elem.Known() {
		return Value{}, fmt.Errorf("gguf: %s at offset %d has unknown array element type %d (known: 0..12)", what, d.pos-4, et)
	}
	countPos := d.pos
	n, err := d.u64(what + " element count")
	if err != nil {
		return Value{}, err
	}
	// Check the count against the bytes left before allocating anything.
	if min := uint64(elem.minSize()); n > d.remaining()/min {
		return Value{}, fmt.Errorf("gguf: %w: %s at offset %d claims %d elements of %s (at least %d bytes each) but only %d bytes remain (file size %d)",
			ErrTruncated, what, countPos, n, elem, min, d.remaining(), len(d.b))
	}
	a := &arrayData{}
	switch {
	case elem == ValueString:
		a.strs = make([]string, n)
		for i := range a.strs {
			if a.strs[i], err = d.str(fmt.Sprintf("%s[%d]", what, i)); err != nil {
				return Value{}, err
			}
		}
	case elem == ValueArray:
		a.arrs = make([]Value, n)
		for i := range a.arrs {
			if a.arrs[i], err = d.array(fmt.Sprintf("%s[%d]", what, i), depth+1); err != nil {
				return Value{}, err
			}
		}
	default:
		size := n * uint64(elem.size()) // fits: checked against remaining above
		a.raw = append([]byte(nil), d.b[d.pos:d.pos+size]...)
		if elem == ValueBool {
			for i, c := range a.raw {
				if c > 1 {
					return Value{}, fmt.Errorf("gguf: %s[%d] at offset %d: bool byte is %d, not 0 or 1", what, i, d.pos+uint64(i), c)
				}
			}
		}
		d.pos += size
	}
	return Value{Type: ValueArray, ElemType: elem, arr: a}, nil
}

// Parse parses a whole GGUF file held in data, validating the header, the
// metadata, the tensor directory and that every tensor's bytes lie within
// data. The File refers to data; it does not copy tensor bytes.
func Parse(data []byte) (*File, error) {
	d := &decoder{b: data}
	if len(data) < 4 {
		return nil, fmt.Errorf("gguf: %w: a GGUF file starts with at least 24 header bytes, this one has %d", ErrTruncated, len(data))
	}
	if string(data[:4]) != Magic {
		return nil, fmt.Errorf("gguf: not a GGUF file (magic %q, want %q)", data[:4], Magic)
	}
	d.pos = 4
	version, err := d.u32("version")
	if err != nil {
		return nil, err
	}
	switch {
	case version == 1:
		return nil, errors.New("gguf: GGUF version 1 is not supported (it predates GGUF v2 of 2023); convert the model again with a current llama.cpp")
	case version == 2 || version == 3:
	case bits.ReverseBytes32(version) == 2 || bits.ReverseBytes32(version) == 3:
		return nil, fmt.Errorf("gguf: big-endian GGUF file (version %d byte-swapped) is not supported", bits.ReverseBytes32(version))
	default:
		return nil, fmt.Errorf("gguf: unsupported GGUF version %d (supported: 2, 3)", version)
	}
	nTensors, err := d.u64("tensor count")
	if err != nil {
		return nil, err
	}
	nKV, err := d.u64("metadata count")
	if err != nil {
		return nil, err
	}
	// Smallest encodings: a KV is key length (8) + type (4) + a 1-byte value;
	// a tensor info is name length (8) + n_dims (4) + type (4) + offset (8).
	if nKV > d.remaining()/13 {
		return nil, fmt.Errorf("gguf: %w: header claims %d metadata entries but only %d bytes follow", ErrTruncated, nKV, d.remaining())
	}
	if nTensors > d.remaining()/24 {
		return nil, fmt.Errorf("gguf: %w: header claims %d tensors but only %d bytes follow", ErrTruncated, nTensors, d.remaining())
	}

	f := &File{
		Version:   version,
		Alignment: DefaultAlignment,
		data:      data,
		KV:        make([]KV, 0, nKV),
		kvIndex:   make(map[string]int, nKV),
	}
	for i := uint64(0); i < nKV; i++ {
		keyPos := d.pos
		key, err := d.str(fmt.Sprintf("metadata key #%d", i))
		if err != nil {
			return nil, err
		}
		if _, dup := f.kvIndex[key]; dup {
			return nil, fmt.Errorf("gguf: duplicate metadata key %q at offset %d", key, keyPos)
		}
		t, err := d.u32(fmt.Sprintf("type of metadata %q", key))
		if err != nil {
			return nil, err
		}
		v, err := d.value(ValueType(t), fmt.Sprintf("metadata %q", key), 0)
		if err != nil {
			return nil, err
		}
		f.kvIndex[key] = len(f.KV)
		f.KV = append(f.KV, KV{Key: key, Value: v})
	}
	if v, ok := f.Get("general.alignment"); ok {
		a, ok := v.AsUint()
		if !ok {
			return nil, fmt.Errorf("gguf: general.alignment has type %s, want an unsigned integer", v.Type)
		}
		if a == 0 || a&(a-1) != 0 {
			return nil, fmt.Errorf("gguf: general.alignment is %d, want a non-zero power of two", a)
		}
		f.Alignment = a
	}

	f.Tensors = make([]TensorInfo, 0, nTensors)
	f.index = make(map[string]int, nTensors)
	for i := uint64(0); i < nTensors; i++ {
		t, err := d.tensorInfo(i)
		if err != nil {
			return nil, err
		}
		if _, dup := f.index[t.Name]; dup {
			return nil, fmt.Errorf("gguf: duplicate tensor name %q", t.Name)
		}
		if t.Offset%f.Alignment != 0 {
			return nil, fmt.Errorf("gguf: tensor %q has offset %d, not a multiple of the alignment %d", t.Name, t.Offset, f.Alignment)
		}
		f.index[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}

	// The data section starts at the next multiple of the alignment.
	off, ok := alignUp(d.pos, f.Alignment)
	if !ok {
		return nil, fmt.Errorf("gguf: alignment %d puts the data section beyond any file size", f.Alignment)
	}
	f.dataOff = off
	size := uint64(len(data))
	for i := range f.Tensors {
		t := &f.Tensors[i]
		start, ok1 := addOK(off, t.Offset)
		end, ok2 := addOK(start, t.Size)
		if !ok1 || !ok2 || end > size {
			return nil, fmt.Errorf("gguf: %w: tensor %q (%s %v) needs bytes %d..%d but the file has %d",
				ErrTruncated, t.Name, t.Type, t.Dims, start, end, size)
		}
	}
	return f, nil
}

func (d *decoder) tensorInfo(i uint64) (TensorInfo, error) {
	name, err := d.str(fmt.Sprintf("name of tensor #%d", i))
	if err != nil {
		return TensorInfo{}, err
	}
	what := fmt.Sprintf("tensor %q", name)
	nd, err := d.u32(what + " dimension count")
	if err != nil {
		return TensorInfo{}, err
	}
	if nd == 0 || nd > MaxDims {
		return TensorInfo{}, fmt.Errorf("gguf: tensor %q has %d dimensions, want 1..%d", name, nd, MaxDims)
	}
	t := TensorInfo{Name: name, Dims: make([]uint64, nd)}
	for j := range t.Dims {
		if t.Dims[j], err = d.u64(what + " dimensions"); err != nil {
			return TensorInfo{}, err
		}
	}
	typ, err := d.u32(what + " type")
	if err != nil {
		return TensorInfo{}, err
	}
	t.Type = Type(typ)
	if !t.Type.Known() {
		return TensorInfo{}, fmt.Errorf("gguf: tensor %q has unknown tensor type %d", name, typ)
	}
	if t.Offset, err = d.u64(what + " offset"); err != nil {
		return TensorInfo{}, err
	}
	if t.Size, err = tensorSize(t.Type, t.Dims); err != nil {
		return TensorInfo{}, fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	return t, nil
}

// tensorSize is the byte size of a tensor of type typ and shape dims, with
// every overflow and block-size mismatch reported.
func tensorSize(typ Type, dims []uint64) (uint64, error) {
	elems := uint64(1)
	for j, n := range dims {
		if n == 0 {
			return 0, fmt.Errorf("dimension %d is zero in %v", j, dims)
		}
		hi, lo := bits.Mul64(elems, n)
		if hi != 0 || lo > math.MaxInt64 {
			return 0, fmt.Errorf("shape %v has more than 2^63 elements", dims)
		}
		elems = lo
	}
	be, bb := uint64(typ.BlockElems()), uint64(typ.BlockBytes())
	if dims[0]%be != 0 {
		return 0, fmt.Errorf("row length %d is not a multiple of the %s block size %d", dims[0], typ, be)
	}
	hi, size := bits.Mul64(elems/be, bb)
	if hi != 0 || size > math.MaxInt64 {
		return 0, fmt.Errorf("shape %v of %s takes more than 2^63 bytes", dims, typ)
	}
	return size, nil
}

func addOK(a, b uint64) (uint64, bool) {
	s, carry := bits.Add64(a, b, 0)
	return s, carry == 0
}

// alignUp rounds n up to a multiple of the power of two a.
func alignUp(n, a uint64) (uint64, bool) {
	s, ok := addOK(n, a-1)
	return s &^ (a - 1), ok
}

// readAll is the fallback used where mapping is unavailable.
func readAll(path string) ([]byte, func([]byte) error, error) {
	f, err := regular.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, err
	}
	return b, func([]byte) error { return nil }, nil
}
