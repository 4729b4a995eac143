package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"github.com/cartlsp/cartlsp/atomicfile"
	"io"
)

// Writer builds a GGUF v3 file in memory: metadata, then tensors, each
// tensor's data aligned. Tests use it to make tiny models.
type Writer struct {
	alignment uint64
	kvs       []KV
	kvIndex   map[string]int
	tensors   []wTensor
	names     map[string]bool
}

type wTensor struct {
	info TensorInfo
	data []byte
}

// NewWriter returns a Writer whose data section uses the given alignment
// (0 means DefaultAlignment). It panics if alignment is not a power of two.
// An alignment other than the default is recorded as general.alignment.
func NewWriter(alignment uint64) *Writer {
	if alignment == 0 {
		alignment = DefaultAlignment
	}
	if alignment&(alignment-1) != 0 {
		panic(fmt.Sprintf("gguf.NewWriter: alignment %d is not a power of two", alignment))
	}
	w := &Writer{alignment: alignment, kvIndex: map[string]int{}, names: map[string]bool{}}
	if alignment != DefaultAlignment {
		w.AddKV("general.alignment", U32(uint32(alignment)))
	}
	return w
}

// AddKV adds a metadata entry. Adding a key again replaces its value in place.
// Setting general.alignment to a valid unsigned value also sets the alignment
// the Writer uses.
func (w *Writer) AddKV(key string, v Value) {
	if key == "general.alignment" {
		if a, ok := v.AsUint(); ok && a != 0 && a&(a-1) == 0 {
			w.alignment = a
		}
	}
	if i, ok := w.kvIndex[key]; ok {
		w.kvs[i].Value = v
		return
	}
	w.kvIndex[key] = len(w.kvs)
	w.kvs = append(w.kvs, KV{Key: key, Value: v})
}

// AddTensor adds a tensor of type typ and shape dims (fastest-varying first)
// whose encoded bytes are data; len(data) must be the size of that shape.
// data is copied.
func (w *Writer) AddTensor(name string, typ Type, dims []uint64, data []byte) error {
	if w.names[name] {
		return fmt.Errorf("gguf: duplicate tensor name %q", name)
	}
	if !typ.Known() {
		return fmt.Errorf("gguf: tensor %q has unknown tensor type %d", name, uint32(typ))
	}
	if len(dims) == 0 || len(dims) > MaxDims {
		return fmt.Errorf("gguf: tensor %q has %d dimensions, want 1..%d", name, len(dims), MaxDims)
	}
	size, err := tensorSize(typ, dims)
	if err != nil {
		return fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	if uint64(len(data)) != size {
		return fmt.Errorf("gguf: tensor %q (%s %v) needs %d bytes, got %d", name, typ, dims, size, len(data))
	}
	w.names[name] = true
	w.tensors = append(w.tensors, wTensor{
		info: TensorInfo{Name: name, Dims: append([]uint64(nil), dims...), Type: typ, Size: size},
		data: append([]byte(nil), data...),
	})
	return nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// enc buffers the little-endian encoding; the first error sticks.
type enc struct {
	w   *bufio.Writer
	err error
}

func (e *enc) bytes(p []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(p)
	}
}

func (e *enc) u32(v uint32) { e.bytes(binary.LittleEndian.AppendUint32(nil, v)) }
func (e *enc) u64(v uint64) { e.bytes(binary.LittleEndian.AppendUint64(nil, v)) }
func (e *enc) str(s string) { e.u64(uint64(len(s))); e.bytes([]byte(s)) }

func (e *enc) scalar(t ValueType, n uint64) { e.bytes(appendScalar(nil, t, n)) }

func (e *enc) value(v Value) {
	switch {
	case v.Type == ValueString:
		e.str(v.str)
	case v.Type == ValueArray && v.ElemType.Known():
		e.u32(uint32(v.ElemType))
		e.u64(uint64(v.Len()))
		if v.arr == nil {
			break
		}
		switch {
		case v.ElemType == ValueString:
			for _, s := range v.arr.strs {
				e.str(s)
			}
		case v.ElemType == ValueArray:
			for _, a := range v.arr.arrs {
				e.value(a)
			}
		default:
			e.bytes(v.arr.raw)
		}
	case v.Type.isNumeric():
		e.scalar(v.Type, v.num)
	default:
		if e.err == nil {
			e.err = fmt.Errorf("gguf: cannot write value of type %s (element type %s)", v.Type, v.ElemType)
		}
	}
}

// WriteTo writes the file as GGUF v3.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	cw := &countingWriter{w: out}
	e := &enc{w: bufio.NewWriterSize(cw, 1<<16)}
	e.bytes([]byte(Magic))
	e.u32(3)
	e.u64(uint64(len(w.tensors)))
	e.u64(uint64(len(w.kvs)))
	for _, kv := range w.kvs {
		e.str(kv.Key)
		e.u32(uint32(kv.Value.Type))
		e.value(kv.Value)
	}
	a := w.alignment
	var off uint64
	for _, t := range w.tensors {
		off, _ = alignUp(off, a)
		e.str(t.info.Name)
		e.u32(uint32(len(t.info.Dims)))
		for _, d := range t.info.Dims {
			e.u64(d)
		}
		e.u32(uint32(t.info.Type))
		e.u64(off)
		off += t.info.Size
	}
	if e.err == nil {
		e.err = e.w.Flush()
	}
	pos := uint64(cw.n)
	var zeros [256]byte
	pad := func(to uint64) {
		for pos < to && e.err == nil {
			n := min(to-pos, uint64(len(zeros)))
			e.bytes(zeros[:n])
			pos += n
		}
	}
	if len(w.tensors) > 0 {
		dataOff, _ := alignUp(pos, a)
		pad(dataOff)
		base := dataOff
		for _, t := range w.tensors {
			start, _ := alignUp(pos-base, a)
			pad(base + start)
			e.bytes(t.data)
			pos += uint64(len(t.data))
		}
	}
	if e.err == nil {
		e.err = e.w.Flush()
	}
	if e.err != nil {
		return cw.n, fmt.Errorf("gguf: writing: %w", e.err)
	}
	return cw.n, nil
}

// WriteFile writes the file to path atomically (atomicfile.Write): a
// reader or a crash sees the old file or the whole new one.
func (w *Writer) WriteFile(path string) error {
	if err := atomicfile.Write(path, 0o644, func(f io.Writer) error {
		_, err := w.WriteTo(f)
		return err
	}); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	return nil
}
