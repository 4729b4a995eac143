package cartridge

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/cartlsp/cartlsp/atomicfile"
	"github.com/cartlsp/cartlsp/runtime/half"
)

// Write stores c at path in dtype, atomically (atomicfile.Write: temporary
// file, fsync, rename, directory fsync). On any error path is untouched and
// no temporary file remains.
// Values that are NaN or ±Inf, or that overflow dtype, are refused.
func Write(path string, c *Cartridge, dtype DType) error {
	if err := write(path, c, dtype); err != nil {
		return fmt.Errorf("cartridge: writing %s: %w", path, err)
	}
	return nil
}

func write(path string, c *Cartridge, dtype DType) error {
	if err := c.checkShape(); err != nil { // before making a temporary file
		return err
	}
	return atomicfile.Write(path, 0o644, func(w io.Writer) error { return encode(w, c, dtype) })
}

// Encode writes c to w as a Cartridge file in dtype, refusing the same
// Cartridges Write refuses. A failure can leave part of a file in w.
func Encode(w io.Writer, c *Cartridge, dtype DType) error {
	if err := encode(w, c, dtype); err != nil {
		return fmt.Errorf("cartridge: %w", err)
	}
	return nil
}

func encode(out io.Writer, c *Cartridge, dtype DType) error {
	if dtype.Size() == 0 {
		return fmt.Errorf("unknown dtype %q (want F32, F16 or BF16)", dtype)
	}
	if err := c.checkShape(); err != nil {
		return err
	}
	md, err := c.Meta.metadata()
	if err != nil {
		return err
	}
	js, err := encodeHeader(md, c.Meta, dtype)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(out, 1<<20)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(js)))
	w.Write(n[:])
	w.Write(js)
	for l := 0; l < c.Meta.Model.Layers; l++ {
		if err := encodeTensor(w, tensorName(l, "keys"), c.Meta, c.Keys[l], dtype); err != nil {
			return err
		}
		if err := encodeTensor(w, tensorName(l, "values"), c.Meta, c.Values[l], dtype); err != nil {
			return err
		}
	}
	return w.Flush()
}

// encodeTensor writes x [kvHeads, p, headDim] as little-endian dtype,
// refusing values that are not finite or do not fit dtype.
func encodeTensor(w *bufio.Writer, name string, m Meta, x []float32, dtype DType) error {
	const chunk = 8192 // elements per write
	buf := make([]byte, 0, chunk*4)
	for start := 0; start < len(x); start += chunk {
		buf = buf[:0]
		for i := start; i < min(start+chunk, len(x)); i++ {
			v := x[i]
			if math.IsNaN(float64(v)) || v > MaxMagnitude || v < -MaxMagnitude {
				return fmt.Errorf("tensor %q: %s; refusing to write it", name, m.describeBad(x, i))
			}
			var h uint16
			var back float32
			switch dtype {
			case F32:
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
				continue
			case F16:
				h = half.F32ToF16(v)
				back = half.F16ToF32(h)
			case BF16:
				h = half.F32ToBF16(v)
				back = half.BF16ToF32(h)
			}
			if math.IsInf(float64(back), 0) {
				return fmt.Errorf("tensor %q: element %d is %v, too large for %s; write the Cartridge as F32", name, i, v, dtype)
			}
			buf = binary.LittleEndian.AppendUint16(buf, h)
		}
		w.Write(buf) // a write error sticks in w and comes back from Flush
	}
	return nil
}
