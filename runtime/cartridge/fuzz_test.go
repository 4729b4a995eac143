package cartridge

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzDecode feeds Decode arbitrary bytes: it must never panic, and whatever
// it accepts must be a valid Cartridge that encodes to a file it accepts again.
//
//	go test -run '^$' -fuzz FuzzDecode -fuzztime 60s -fuzzminimizetime 5s ./runtime/cartridge
//
// (minimising a new input of a few KiB can otherwise take the whole minute).
func FuzzDecode(f *testing.F) {
	// Small seeds keep minimisation of new inputs quick; one seed carries
	// every metadata field.
	small := Meta{FormatVersion: 1, Model: ModelInfo{Fingerprint: "x", Layers: 1, KVHeads: 1, HeadDim: 2, RopeLayout: RopeHalf, RopeBase: 10},
		P: 2, Frozen: 1, Parts: []string{"a"}, Metrics: map[string]float64{"m": 1}}
	for i, dt := range []DType{F32, F16, BF16} {
		good := fileBytes(f, randCartridge(uint64(i), small), dt)
		f.Add(good)
		f.Add(good[:len(good)-1])
		f.Add(append(bytes.Clone(good), 0))
	}
	f.Add(fileBytes(f, randCartridge(3, testMeta(1, 1, 1, 1)), F16))
	f.Add([]byte{})
	f.Add(binary.LittleEndian.AppendUint64(nil, 2))
	f.Add(append(binary.LittleEndian.AppendUint64(nil, 2), "{}"...))
	f.Add(append(binary.LittleEndian.AppendUint64(nil, 1<<62), "{}"...))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Decode(data)
		if err != nil {
			if c != nil {
				t.Fatalf("Decode returned a Cartridge with error %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Decode accepted an invalid Cartridge: %v", err)
		}
		var buf bytes.Buffer
		if err := Encode(&buf, c, F32); err != nil {
			t.Fatalf("an accepted Cartridge does not encode: %v", err)
		}
		if _, err := Decode(buf.Bytes()); err != nil {
			t.Fatalf("an accepted Cartridge does not decode again: %v", err)
		}
	})
}
