package cartridge

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDecodeRefuses builds bad files by editing a good one and checks each is
// refused with a message that says what is wrong, by Decode, Read and (for
// faults in the header) ReadHeader.
func TestDecodeRefuses(t *testing.T) {
	// 2 layers, tensors [2 KV heads, p=3, head dim 4] in F32: 96 bytes each,
	// at [0,96) [96,192) [192,288) [288,384) for L0.keys L0.values L1.keys L1.values.
	good := fileBytes(t, randCartridge(4, testMeta(2, 2, 3, 4)), F32)
	if _, err := Decode(good); err != nil {
		t.Fatal(err)
	}
	hdr := func(edit func(h map[string]any, data []byte) []byte) []byte {
		h, data := splitFile(t, good)
		data = bytes.Clone(data)
		if d := edit(h, data); d != nil {
			data = d
		}
		return joinFile(t, h, data)
	}
	md := func(key, val string) []byte {
		return hdr(func(h map[string]any, _ []byte) []byte {
			h["__metadata__"].(map[string]any)[key] = val
			return nil
		})
	}
	entry := func(name, field string, val any) []byte {
		return hdr(func(h map[string]any, _ []byte) []byte {
			h[name].(map[string]any)[field] = val
			return nil
		})
	}
	setFloat := func(at int, v float32) []byte {
		b := bytes.Clone(good)
		n := binary.LittleEndian.Uint64(b)
		binary.LittleEndian.PutUint32(b[8+int(n)+4*at:], math.Float32bits(v))
		return b
	}
	prefix := func(n uint64) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint64(b, n)
		return b
	}
	goodHeader := good[8 : 8+binary.LittleEndian.Uint64(good)]
	goodData := good[8+len(goodHeader):]

	cases := []struct {
		name     string
		file     []byte
		want     string
		dataOnly bool // a fault in the values, which ReadHeader does not read
	}{
		{"empty", nil, "0 bytes, too short", false},
		{"short", good[:5], "5 bytes, too short", false},
		{"absurd header length", prefix(1 << 40), "absurd", false},
		{"header length past the end", prefix(uint64(len(good))), "only", false},
		{"invalid JSON", rawFile([]byte(`{"__metadata__": {`), goodData), "not valid JSON", false},
		{"not an object", rawFile([]byte(`[1, 2]  `), goodData), "not a JSON object", false},
		{"junk after the object", rawFile(append(bytes.Clone(goodHeader), " x"...), goodData), "something after", false},
		{"duplicate name", rawFile(append([]byte(`{"layers.0.keys":{"dtype":"F32","shape":[2,3,4],"data_offsets":[0,96]},`), goodHeader[1:]...), goodData), "twice", false},
		{"unknown dtype", entry("layers.0.keys", "dtype", "F64"), `dtype "F64"`, false},
		{"mixed dtypes", entry("layers.1.values", "dtype", "BF16"), "one dtype", false},
		{"unknown entry field", entry("layers.0.keys", "extra", 1), "malformed", false},
		{"negative offset", entry("layers.0.keys", "data_offsets", []any{-96, 0}), "negative", false},
		{"offsets out of order", entry("layers.0.keys", "data_offsets", []any{96, 0}), "out of order", false},
		{"one offset", entry("layers.0.keys", "data_offsets", []any{96}), "want [begin, end]", false},
		{"overlapping", entry("layers.0.values", "data_offsets", []any{48, 144}), "overlaps", false},
		{"outside the data", entry("layers.1.values", "data_offsets", []any{300, 396}), "outside the data", false},
		{"size not shape×dtype", entry("layers.1.values", "data_offsets", []any{288, 380}), "needs 96", false},
		{"hole", hdr(func(h map[string]any, d []byte) []byte {
			h["layers.1.values"].(map[string]any)["data_offsets"] = []any{292, 388}
			return append(d, 0, 0, 0, 0)
		}), "hole of 4 bytes", false},
		{"trailing bytes", append(bytes.Clone(good), 0, 0, 0, 0), "larger than its header says", false},
		{"missing tensor", hdr(func(h map[string]any, d []byte) []byte {
			delete(h, "layers.1.values")
			return d[:288]
		}), `"layers.1.values" is missing`, false},
		{"extra layer", hdr(func(h map[string]any, d []byte) []byte {
			h["layers.2.keys"] = map[string]any{"dtype": "F32", "shape": []any{2, 3, 4}, "data_offsets": []any{384, 480}}
			return append(d, make([]byte, 96)...)
		}), `extra tensor "layers.2.keys"`, false},
		{"foreign tensor", hdr(func(h map[string]any, d []byte) []byte {
			h["lm_head.weight"] = map[string]any{"dtype": "F32", "shape": []any{1}, "data_offsets": []any{384, 388}}
			return append(d, make([]byte, 4)...)
		}), `unexpected tensor "lm_head.weight"`, false},
		{"shape kv heads", entry("layers.0.keys", "shape", []any{1, 3, 4}), "n_kv_heads=2", false},
		{"shape p", entry("layers.0.keys", "shape", []any{2, 4, 4}), "has shape [2 4 4]", false},
		{"shape head dim", entry("layers.0.keys", "shape", []any{2, 3, 8}), "head_dim=4", false},
		{"shape rank", entry("layers.0.keys", "shape", []any{6, 4}), "has shape [6 4]", false},
		{"metadata p", md("cartlsp.p", "4"), "has shape [2 3 4] but the metadata says [n_kv_heads=2, p=4", false},
		{"metadata more layers", md("cartlsp.model.layers", "3"), `"layers.2.keys" is missing`, false},
		{"metadata fewer layers", md("cartlsp.model.layers", "1"), `extra tensor "layers.1.`, false},
		{"metadata huge p", hdr(func(h map[string]any, _ []byte) []byte {
			h["__metadata__"].(map[string]any)["cartlsp.p"] = "1099511627776"
			for _, n := range []string{"layers.0.keys", "layers.0.values", "layers.1.keys", "layers.1.values"} {
				h[n].(map[string]any)["shape"] = []any{2, 1 << 40, 4}
			}
			return nil
		}), "needs 35184372088832", false},
		{"NaN", setFloat(7, float32(math.NaN())), `"layers.0.keys": element 7 (KV head 0, token 1, dim 3) is NaN`, true},
		{"Inf", setFloat(48+13, float32(math.Inf(-1))), `"layers.1.keys": element 13 (KV head 1, token 0, dim 1) is -Inf`, true},
		{"newer format", md("cartlsp.format_version", "2"), "made by a newer cartlsp", false},
		{"bad format version", md("cartlsp.format_version", "one"), `unknown Cartridge format version "one"`, false},
		{"not a Cartridge", hdr(func(h map[string]any, _ []byte) []byte { delete(h, "__metadata__"); return nil }), "not a cartlsp Cartridge", false},
		{"metadata not a string", hdr(func(h map[string]any, _ []byte) []byte {
			h["__metadata__"].(map[string]any)["cartlsp.p"] = 3
			return nil
		}), "is not a string", false},
		{"metadata not a number", md("cartlsp.p", "three"), `cartlsp.p = "three" is not a whole number`, false},
		{"metadata negative", md("cartlsp.model.layers", "-1"), "not a whole number", false},
		{"metadata bad float", md("cartlsp.recipe.lr", "NaN"), "not a finite number", false},
		{"metadata bad JSON", md("cartlsp.metrics", "{1}"), "cartlsp.metrics is not valid JSON", false},
		{"metadata bad time", md("cartlsp.created", "yesterday"), "RFC 3339", false},
		{"no fingerprint", hdr(func(h map[string]any, _ []byte) []byte {
			delete(h["__metadata__"].(map[string]any), "cartlsp.model.fingerprint")
			return nil
		}), "lacks cartlsp.model.fingerprint", false},
		{"frozen beyond p", md("cartlsp.frozen", "4"), "4 frozen tokens but p is 3", false},
		{"unknown RoPE layout", md("cartlsp.model.rope_layout", "spiral"), `RoPE layout "spiral"`, false},
		{"zero layers", md("cartlsp.model.layers", "0"), "0 layers", false},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Decode(tc.file)
			if err == nil || c != nil {
				t.Fatalf("Decode accepted the file")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Decode: %v\nwant it to say %q", err, tc.want)
			}
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".cart")
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Read(path); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Read: %v\nwant it to name the file and say %q", err, tc.want)
			}
			m, n, err := ReadHeader(path)
			if tc.dataOnly {
				if err != nil || m == nil || n != 384 {
					t.Fatalf("ReadHeader: %v, %d, %v; the header is fine", m, n, err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadHeader: %v\nwant it to say %q", err, tc.want)
			}
		})
	}
}

func TestReadHeader(t *testing.T) {
	c := randCartridge(5, testMeta(3, 2, 5, 8))
	path := filepath.Join(t.TempDir(), "h.cart")
	if err := Write(path, c, BF16); err != nil {
		t.Fatal(err)
	}
	m, n, err := ReadHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	if n != c.Bytes(BF16) || m.P != 5 || m.Model.Fingerprint != testFP || m.Metrics["mc_acc"] != 0.55 {
		t.Fatalf("ReadHeader: %+v, %d", m, n)
	}
	if _, _, err := ReadHeader(filepath.Join(t.TempDir(), "none.cart")); err == nil || !strings.Contains(err.Error(), "none.cart") {
		t.Fatalf("missing file: %v", err)
	}
	if _, _, err := ReadHeader(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("directory: %v", err)
	}
}
