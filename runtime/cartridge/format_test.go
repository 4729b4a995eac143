package cartridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/runtime/half"
)

func TestRoundTrip(t *testing.T) {
	cases := []struct {
		dt    DType
		round func(float32) float32 // what the dtype makes of a value
		tol   float64               // relative error bound of that rounding
	}{
		{F32, func(v float32) float32 { return v }, 0},
		{F16, half.RoundF16, 1.0 / 2048},
		{BF16, func(v float32) float32 { return half.BF16ToF32(half.F32ToBF16(v)) }, 1.0 / 256},
	}
	for _, tc := range cases {
		t.Run(string(tc.dt), func(t *testing.T) {
			c := randCartridge(1, testMeta(3, 2, 5, 8))
			path := filepath.Join(t.TempDir(), "x.cart")
			if err := Write(path, c, tc.dt); err != nil {
				t.Fatal(err)
			}
			fromFile, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			fromBytes, err := Decode(readFile(t, path))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(readFile(t, path), fileBytes(t, c, tc.dt)) {
				t.Fatal("Write and Encode make different bytes")
			}
			for _, got := range []*Cartridge{fromFile, fromBytes} {
				for l := range c.Keys {
					for _, pair := range [][2][]float32{{c.Keys[l], got.Keys[l]}, {c.Values[l], got.Values[l]}} {
						want, have := pair[0], pair[1]
						if len(have) != len(want) {
							t.Fatalf("layer %d: %d values, want %d", l, len(have), len(want))
						}
						for i := range want {
							if have[i] != tc.round(want[i]) {
								t.Fatalf("layer %d [%d]: %v, want %v (rounded from %v)", l, i, have[i], tc.round(want[i]), want[i])
							}
							if d := math.Abs(float64(have[i] - want[i])); d > tc.tol*math.Abs(float64(want[i]))+1e-7 {
								t.Fatalf("layer %d [%d]: %v is %g from %v", l, i, have[i], d, want[i])
							}
						}
					}
				}
			}
			info, err := Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.DType != tc.dt || info.DataBytes != c.Bytes(tc.dt) || info.FileBytes != info.HeaderBytes+info.DataBytes {
				t.Fatalf("Stat: %+v; want dtype %s and %d data bytes", info, tc.dt, c.Bytes(tc.dt))
			}
			if (info.HeaderBytes-8)%8 != 0 {
				t.Fatalf("header of %d bytes is not padded to 8", info.HeaderBytes-8)
			}
		})
	}
}

func TestMetaRoundTrip(t *testing.T) {
	full := testMeta(2, 1, 3, 4)
	full.Parts = []string{"a@1", "b@2"}
	full.Model.RopeDims = 2
	minimal := Meta{FormatVersion: FormatVersion, Model: ModelInfo{Fingerprint: "x", Layers: 1, KVHeads: 1, HeadDim: 2}, P: 1}
	for name, m := range map[string]Meta{"full": full, "minimal": minimal} {
		t.Run(name, func(t *testing.T) {
			c := randCartridge(2, m)
			got, err := Decode(fileBytes(t, c, F32))
			if err != nil {
				t.Fatal(err)
			}
			if !got.Meta.Created.Equal(m.Created) {
				t.Fatalf("created %v, want %v", got.Meta.Created, m.Created)
			}
			got.Meta.Created, m.Created = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got.Meta, m) {
				t.Fatalf("meta:\n got %+v\nwant %+v", got.Meta, m)
			}
		})
	}
}

// TestMetadataIsPlainSafetensors checks the header is what other safetensors
// tools expect: string metadata, known dtypes, readable keys.
func TestMetadataIsPlainSafetensors(t *testing.T) {
	file := fileBytes(t, randCartridge(3, testMeta(2, 1, 3, 4)), F16)
	h, _ := splitFile(t, file)
	md, ok := h["__metadata__"].(map[string]any)
	if !ok {
		t.Fatalf("no __metadata__ object")
	}
	for k, v := range md {
		if _, ok := v.(string); !ok {
			t.Errorf("metadata %q = %v is not a string", k, v)
		}
	}
	for _, k := range []string{"cartlsp.format_version", "cartlsp.model.fingerprint", "cartlsp.p", "cartlsp.corpus.source", "cartlsp.recipe.lr"} {
		if _, ok := md[k]; !ok {
			t.Errorf("metadata lacks %s", k)
		}
	}
	var seeds []string
	if err := json.Unmarshal([]byte(md["cartlsp.recipe.seed_types"].(string)), &seeds); err != nil || len(seeds) != 5 {
		t.Errorf("seed_types %q: %v", md["cartlsp.recipe.seed_types"], err)
	}
	if !bytes.Contains(file, []byte("a <test> & corpus")) {
		t.Errorf("description is escaped in the header")
	}
	e := h["layers.1.values"].(map[string]any)
	if e["dtype"] != "F16" || !reflect.DeepEqual(e["shape"], []any{1.0, 3.0, 4.0}) {
		t.Errorf("layers.1.values entry %v", e)
	}
	// The same Cartridge makes the same bytes.
	if again := fileBytes(t, randCartridge(3, testMeta(2, 1, 3, 4)), F16); !bytes.Equal(file, again) {
		t.Errorf("two writes of one Cartridge differ")
	}
}

func TestParseDType(t *testing.T) {
	for in, want := range map[string]DType{"f32": F32, "F16": F16, "bf16": BF16, "BFloat16": BF16, "half": F16} {
		if got, err := ParseDType(in); err != nil || got != want {
			t.Errorf("ParseDType(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseDType("f64"); err == nil || !strings.Contains(err.Error(), "f64") {
		t.Errorf("ParseDType(f64): %v", err)
	}
}

func TestSizes(t *testing.T) {
	// SmolLM2-135M: 30 layers, 3 KV heads, head dim 64.
	m := testMeta(30, 3, 2048, 64)
	c := &Cartridge{Meta: m}
	if got, want := c.Bytes(F16), int64(30*2*3*2048*64*2); got != want {
		t.Errorf("Bytes(F16) = %d, want %d", got, want)
	}
	if got, want := c.Bytes(F32), int64(30*2*3*2048*64*4); got != want {
		t.Errorf("Bytes(F32) = %d, want %d", got, want)
	}
	// 100k tokens: 100000 × 30 × 2 × 3 × 64 × 2 bytes = 2.304 GB.
	if got, want := ICLBytes(m.Model, 100000, 2), int64(2_304_000_000); got != want {
		t.Errorf("ICLBytes = %d, want %d", got, want)
	}
}

func TestCheckModel(t *testing.T) {
	m := testMeta(30, 3, 4, 64)
	if err := m.CheckModel(testFP); err != nil {
		t.Fatalf("same model refused: %v", err)
	}
	other := "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	err := m.CheckModel(other)
	var mm *ModelMismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("CheckModel(other) = %v; want a *ModelMismatchError", err)
	}
	msg := err.Error()
	for _, want := range []string{"sha256:0123456789ab…", "sha256:fedcba987654…", "llama", "30 layers", "cartlsp train", "load the model it was made for"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	err = m.CheckModelInfo(ModelInfo{Fingerprint: other, Arch: "qwen2", Layers: 24, KVHeads: 2, HeadDim: 64, Dim: 896})
	if err == nil || !strings.Contains(err.Error(), "qwen2 (24 layers, hidden 896") {
		t.Errorf("CheckModelInfo: %v", err)
	}
	if err := m.CheckModel(""); err == nil {
		t.Errorf("an empty fingerprint was accepted")
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1536: "1.5 KiB", 3 << 20: "3.0 MiB", 5 << 29: "2.50 GiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
