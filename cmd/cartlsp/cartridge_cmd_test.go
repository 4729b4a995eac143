package main

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/runtime/cartridge"
)

const cmdTestFP = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// writeTestCart writes a seeded 2-layer Cartridge (2 KV heads, p=8, head dim 4)
// for a 4000-token corpus and returns its path.
func writeTestCart(t *testing.T, dir, name, fingerprint string, dt cartridge.DType) string {
	t.Helper()
	m := cartridge.Meta{
		Model: cartridge.ModelInfo{Fingerprint: fingerprint, Arch: "llama", Layers: 2, KVHeads: 2, HeadDim: 4, Dim: 16,
			RopeLayout: cartridge.RopeAdjacent, RopeBase: 100000},
		P: 8, Frozen: 1,
		Corpus:  cartridge.CorpusInfo{Kind: "git", Source: "https://example.com/" + name, Commit: "abcdef0123456789", Tokens: 4000, Files: 12},
		Recipe:  cartridge.Recipe{Method: "self-study", SeedTypes: []string{"question", "creative"}, Conversations: 256, Steps: 32, Epochs: 1, LR: 0.02, Init: "first-tokens", Seed: 7, TrainSeconds: 95.5},
		Metrics: map[string]float64{"mc_acc": 0.5, "nll_cartridge": 1.5},
		Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	c := &cartridge.Cartridge{Meta: m}
	seed := float32(len(name))
	for l := 0; l < 2; l++ {
		k, v := make([]float32, 2*8*4), make([]float32, 2*8*4)
		for i := range k {
			k[i] = float32(math.Sin(float64(seed + float32(i+100*l))))
			v[i] = float32(math.Cos(float64(seed + float32(i+100*l))))
		}
		c.Keys, c.Values = append(c.Keys, k), append(c.Values, v)
	}
	path := filepath.Join(dir, name+".cart")
	if err := cartridge.Write(path, c, dt); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCLIInspect(t *testing.T) {
	dir := t.TempDir()
	a := writeTestCart(t, dir, "a", cmdTestFP, cartridge.F16)

	code, out, errs := runCLI(t, "inspect", a)
	if code != 0 {
		t.Fatalf("inspect: code %d, stderr %q", code, errs)
	}
	// ICL: 4000 tokens × 2 layers × 2 × 2 KV heads × head dim 4 × 2 bytes = 256000 B = 0.24 MiB;
	// the Cartridge at F16 holds 8 tokens: 500× less.
	for _, want := range []string{
		a, "version 1, F16", cmdTestFP, "llama, 2 layers, hidden 16, 2 KV heads × head dim 4, RoPE adjacent (base 100000)",
		"p = 8 virtual tokens, 1 frozen", "git https://example.com/a, commit abcdef0123456789", "4000 tokens in 12 files",
		"self-study: 256 conversations, 32 steps, 1 epoch, lr 0.02, init first-tokens, seed 7, trained in 1m35.5s",
		"seed types: question, creative", "mc_acc", "nll_cartridge", "1.5", "2026-01-02T03:04:05Z",
		"as an ICL KV cache the same 4000-token corpus would take 0.2 MiB (500.0× this Cartridge; both at F16)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}

	for _, args := range [][]string{{"inspect", "--json", a}, {"inspect", a, "--json", "--verify"}} {
		code, out, errs = runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: code %d, stderr %q", args, code, errs)
		}
		var r cartridge.Description
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		if r.DType != "F16" || r.Meta.P != 8 || r.Meta.Model.Fingerprint != cmdTestFP || r.ICL == nil ||
			r.ICL.TimesCartridge != 500 || r.ICL.BytesF16 != 256000 || r.DataBytes != 2*2*2*8*4*2 || r.Meta.Metrics["mc_acc"] != 0.5 {
			t.Errorf("%v: %+v", args, r)
		}
	}
}

func TestCLIInspectRefuses(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short.cart")
	if err := os.WriteFile(short, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A NaN in the values: the header is fine, so only --verify finds it.
	nan := writeTestCart(t, dir, "nan", cmdTestFP, cartridge.F32)
	b, err := os.ReadFile(nan)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b)
	binary.LittleEndian.PutUint32(b[8+n+4*3:], math.Float32bits(float32(math.NaN())))
	if err := os.WriteFile(nan, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "inspect", nan); code != 0 {
		t.Fatalf("inspect without --verify: code %d, %q", code, errs)
	}

	cases := []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"inspect"}, 2, "Usage: cartlsp inspect"},
		{[]string{"inspect", "a.cart", "b.cart"}, 2, "Usage: cartlsp inspect"},
		{[]string{"inspect", "--nope", "a.cart"}, 2, "flag provided but not defined"},
		{[]string{"inspect", filepath.Join(dir, "none.cart")}, 1, "cartlsp inspect: cartridge: open"},
		{[]string{"inspect", short}, 1, "cartlsp inspect: cartridge " + short + ": the file is 3 bytes, too short"},
		{[]string{"inspect", "--verify", nan}, 1, "element 3 (KV head 0, token 0, dim 3) is NaN"},
	}
	for _, c := range cases {
		code, _, errs := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.inStderr) {
			t.Errorf("cartlsp %v: code %d, stderr %q; want %d and %q", c.args, code, errs, c.code, c.inStderr)
		}
	}
}

func TestCLICompose(t *testing.T) {
	dir := t.TempDir()
	a := writeTestCart(t, dir, "a", cmdTestFP, cartridge.F16)
	b := writeTestCart(t, dir, "bb", cmdTestFP, cartridge.F16)
	c32 := writeTestCart(t, dir, "ccc", cmdTestFP, cartridge.F32)
	out := filepath.Join(dir, "out.cart")

	cases := []struct {
		args   []string
		p      int
		dtype  cartridge.DType
		method string
		parts  int
	}{
		{[]string{"compose", a, b, "-o", out}, 15, cartridge.F16, "compose", 2},
		{[]string{"compose", "-o", out, "--rerotate", a, b, c32}, 22, cartridge.F32, "compose+rerotate", 3},
		{[]string{"compose", a, "--dtype", "bf16", b, "-o", out}, 15, cartridge.BF16, "compose", 2},
		{[]string{"compose", "-o", out, "--", a, c32}, 15, cartridge.F32, "compose", 2},
	}
	for _, tc := range cases {
		code, stdout, errs := runCLI(t, tc.args...)
		if code != 0 {
			t.Fatalf("%v: code %d, stderr %q", tc.args, code, errs)
		}
		if !strings.Contains(stdout, "wrote "+out) {
			t.Errorf("%v: stdout %q", tc.args, stdout)
		}
		info, err := cartridge.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		m := info.Meta
		if m.P != tc.p || m.Frozen != 1 || info.DType != tc.dtype || m.Recipe.Method != tc.method || len(m.Parts) != tc.parts ||
			m.Corpus.Tokens != 4000*tc.parts || m.Parts[0] != "https://example.com/a@abcdef012345" {
			t.Errorf("%v: p %d frozen %d dtype %s method %q parts %q tokens %d", tc.args, m.P, m.Frozen, info.DType, m.Recipe.Method, m.Parts, m.Corpus.Tokens)
		}
		if _, err := cartridge.Read(out); err != nil {
			t.Fatal(err)
		}
	}
	// The composed file inspects, and composes again.
	if code, stdout, errs := runCLI(t, "inspect", out); code != 0 || !strings.Contains(stdout, "parts:") {
		t.Errorf("inspect of a composition: code %d, %q, %q", code, stdout, errs)
	}
	if code, _, errs := runCLI(t, "compose", out, a, "-o", filepath.Join(dir, "again.cart")); code != 0 {
		t.Errorf("composing a composition: code %d, %q", code, errs)
	}
}

func TestCLIComposeRefuses(t *testing.T) {
	dir := t.TempDir()
	a := writeTestCart(t, dir, "a", cmdTestFP, cartridge.F16)
	other := writeTestCart(t, dir, "other", "sha256:ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100", cartridge.F16)
	out := filepath.Join(dir, "out.cart")
	cases := []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"compose", a, "-o", out}, 2, "Usage: cartlsp compose"},
		{[]string{"compose", a, a}, 2, "Usage: cartlsp compose"},
		{[]string{"compose", a, a, "-o", out, "--dtype", "f8"}, 1, `cartlsp compose: unknown dtype "f8"`},
		{[]string{"compose", a, filepath.Join(dir, "none.cart"), "-o", out}, 1, "none.cart"},
		{[]string{"compose", a, other, "-o", out}, 1, "part 2 was trained for model llama (2 layers, hidden 16, 2 KV heads × head dim 4; fingerprint sha256:ffeeddccbbaa…) but part 1 for model llama"},
	}
	for _, c := range cases {
		code, _, errs := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.inStderr) {
			t.Errorf("cartlsp %v: code %d, stderr %q; want %d and %q", c.args, code, errs, c.code, c.inStderr)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused compose left %s behind", out)
	}
	if code, out, _ := runCLI(t, "--help"); code != 0 || !strings.Contains(out, "inspect") || !strings.Contains(out, "compose") {
		t.Errorf("usage does not list inspect and compose:\n%s", out)
	}
}
