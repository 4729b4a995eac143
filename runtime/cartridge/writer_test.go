package cartridge

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteAtomic checks that a failed write leaves no file behind and does
// not clobber the file it was to replace.
func TestWriteAtomic(t *testing.T) {
	good := randCartridge(6, testMeta(3, 2, 4, 8))
	nanLast := randCartridge(7, testMeta(3, 2, 4, 8))
	nanLast.Values[2][len(nanLast.Values[2])-1] = float32(math.NaN()) // found after most of the file is written
	huge := randCartridge(8, testMeta(3, 2, 4, 8))
	huge.Keys[1][5] = 1e6 // beyond F16's 65504
	short := randCartridge(9, testMeta(3, 2, 4, 8))
	short.Keys[2] = short.Keys[2][:10]
	badMeta := randCartridge(10, testMeta(3, 2, 4, 8))
	badMeta.Meta.Metrics["nll_icl"] = math.Inf(1)

	cases := []struct {
		name string
		c    *Cartridge
		dt   DType
		want string
	}{
		{"NaN in the last tensor", nanLast, F32, `"layers.2.values": element 63 (KV head 1, token 3, dim 7) is NaN`},
		{"beyond the KV range, F16", huge, F16, "is 1e+06, not a finite number within ±65504"},
		{"beyond the KV range, F32", huge, F32, "is 1e+06, not a finite number within ±65504"},
		{"wrong tensor length", short, F32, "layer 2 holds 10 keys"},
		{"non-finite metric", badMeta, F32, `metric "nll_icl" is +Inf`},
		{"unknown dtype", good, DType("F8"), `unknown dtype "F8"`},
		{"nil", nil, F32, "nil Cartridge"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "c.cart")
			// First with nothing there, then over an existing good file.
			if err := Write(path, tc.c, tc.dt); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Write: %v\nwant it to say %q", err, tc.want)
			}
			assertDir(t, dir)
			if err := Write(path, good, F16); err != nil {
				t.Fatal(err)
			}
			before := readFile(t, path)
			if err := Write(path, tc.c, tc.dt); err == nil {
				t.Fatalf("Write succeeded")
			}
			assertDir(t, dir, "c.cart")
			if !bytes.Equal(readFile(t, path), before) {
				t.Fatalf("a failed Write changed the existing file")
			}
		})
	}

	t.Run("no such directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := Write(filepath.Join(dir, "sub", "c.cart"), good, F32); err == nil {
			t.Fatal("Write into a missing directory succeeded")
		}
		assertDir(t, dir)
	})
	t.Run("onto a directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "c.cart"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := Write(filepath.Join(dir, "c.cart"), good, F32); err == nil {
			t.Fatal("Write over a directory succeeded")
		}
		assertDir(t, dir, "c.cart")
	})
	t.Run("replaces", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "c.cart")
		if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := Write(path, good, F32); err != nil {
			t.Fatal(err)
		}
		assertDir(t, dir, "c.cart")
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o644 || st.Size() < good.Bytes(F32) {
			t.Fatalf("mode %v, size %d", st.Mode(), st.Size())
		}
		if _, err := Read(path); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("relative path", func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)
		if err := Write("rel.cart", good, BF16); err != nil {
			t.Fatal(err)
		}
		assertDir(t, dir, "rel.cart")
	})
}

// assertDir checks that dir holds exactly the named entries (no temporary files).
func assertDir(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("directory holds %v, want %v", got, names)
	}
}

func TestValidate(t *testing.T) {
	c := randCartridge(11, testMeta(2, 1, 3, 4))
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Keys[1][4] = float32(math.Inf(1))
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `"layers.1.keys": element 4 (KV head 0, token 1, dim 0) is +Inf`) {
		t.Fatalf("Validate: %v", err)
	}
	c.Meta.Frozen = 4
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "4 frozen tokens do not fit p = 3") {
		t.Fatalf("Validate: %v", err)
	}
}

// TestValidateRange: values a KV cache cannot hold (3e38 decoded zero
// tokens before) are refused like NaN.
func TestValidateRange(t *testing.T) {
	for _, v := range []float32{3e38, -70000, float32(math.Inf(-1))} {
		c := randCartridge(11, testMeta(3, 2, 4, 8))
		c.Values[1][2] = v
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "±65504") {
			t.Errorf("%v: %v", v, err)
		}
	}
	if err := randCartridge(11, testMeta(3, 2, 4, 8)).Validate(); err != nil {
		t.Error(err)
	}
}
