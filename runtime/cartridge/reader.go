package cartridge

import (
	"encoding/binary"
	"fmt"
	"github.com/cartlsp/cartlsp/regular"
	"io"
	"math"
	"os"

	"github.com/cartlsp/cartlsp/runtime/half"
)

// Info describes a Cartridge file from its header alone.
type Info struct {
	Meta        Meta
	DType       DType
	HeaderBytes int64 // the 8-byte length and the JSON header
	DataBytes   int64 // the tensors
	FileBytes   int64 // HeaderBytes + DataBytes
}

// Decode reads a Cartridge from the bytes of a whole file.
func Decode(data []byte) (*Cartridge, error) {
	c, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("cartridge: %w", err)
	}
	return c, nil
}

func decode(data []byte) (*Cartridge, error) {
	n, err := headerLength(data, int64(len(data)))
	if err != nil {
		return nil, err
	}
	body := data[8+n:]
	h, err := parseHeader(data[8:8+n], int64(len(body)))
	if err != nil {
		return nil, err
	}
	c := h.newCartridge()
	for _, s := range h.spans {
		if err := c.fill(h.dtype, s, body[s.begin:s.end]); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Read reads and checks a Cartridge file.
func Read(path string) (*Cartridge, error) {
	f, err := regular.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cartridge: %w", err)
	}
	defer f.Close()
	info, h, err := readHeader(f)
	if err != nil {
		return nil, fmt.Errorf("cartridge %s: %w", path, err)
	}
	c := h.newCartridge()
	buf := make([]byte, h.spans[0].end-h.spans[0].begin) // every tensor has this size, checked
	for _, s := range h.spans {
		if _, err := f.ReadAt(buf, info.HeaderBytes+s.begin); err != nil {
			return nil, fmt.Errorf("cartridge %s: reading tensor %q: %w", path, s.name, err)
		}
		if err := c.fill(h.dtype, s, buf); err != nil {
			return nil, fmt.Errorf("cartridge %s: %w", path, err)
		}
	}
	return c, nil
}

// ReadHeader reads only the header of a Cartridge file: its Meta and the
// number of data bytes. The header is fully checked against the file's size;
// the tensor values are not read.
func ReadHeader(path string) (*Meta, int64, error) {
	info, err := Stat(path)
	if err != nil {
		return nil, 0, err
	}
	return &info.Meta, info.DataBytes, nil
}

// Stat is ReadHeader with the dtype and sizes of the file too.
func Stat(path string) (*Info, error) {
	f, err := regular.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cartridge: %w", err)
	}
	defer f.Close()
	info, _, err := readHeader(f)
	if err != nil {
		return nil, fmt.Errorf("cartridge %s: %w", path, err)
	}
	return info, nil
}

// readHeader reads and checks the length prefix and header of an open file.
func readHeader(f *os.File) (*Info, *header, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("not a regular file")
	}
	size := st.Size()
	var prefix [8]byte
	if size >= 8 {
		if _, err := io.ReadFull(f, prefix[:]); err != nil {
			return nil, nil, err
		}
	}
	n, err := headerLength(prefix[:], size)
	if err != nil {
		return nil, nil, err
	}
	js := make([]byte, n) // n ≤ min(maxHeaderBytes, size−8), checked
	if _, err := io.ReadFull(f, js); err != nil {
		return nil, nil, fmt.Errorf("reading the header: %w", err)
	}
	h, err := parseHeader(js, size-8-n)
	if err != nil {
		return nil, nil, err
	}
	return &Info{Meta: h.meta, DType: h.dtype, HeaderBytes: 8 + n, DataBytes: h.dataLen, FileBytes: size}, h, nil
}

// newCartridge allocates the tensors a checked header describes; their total
// size equals the data section's, already known to exist.
func (h *header) newCartridge() *Cartridge {
	L := h.meta.Model.Layers
	return &Cartridge{Meta: h.meta, Keys: make([][]float32, L), Values: make([][]float32, L)}
}

// fill decodes one tensor's raw little-endian bytes into c, refusing NaN and ±Inf.
func (c *Cartridge) fill(dt DType, s span, raw []byte) error {
	x := make([]float32, len(raw)/dt.Size()) // [kvHeads, p, headDim]
	switch dt {
	case F32:
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case F16:
		for i := range x {
			x[i] = half.F16ToF32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case BF16:
		for i := range x {
			x[i] = half.BF16ToF32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	}
	if i := firstNonFinite(x); i >= 0 {
		return fmt.Errorf("tensor %q: %s", s.name, c.Meta.describeBad(x, i))
	}
	if s.values {
		c.Values[s.layer] = x
	} else {
		c.Keys[s.layer] = x
	}
	return nil
}
