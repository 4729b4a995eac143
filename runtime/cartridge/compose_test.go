package cartridge

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"strings"
	"testing"
)

// refRope rotates one head's vector u [headDim] to position pos, written
// independently of rope.go: each rotated pair is a complex number multiplied
// by e^{i·pos·θ_i}, θ_i = base^(−2i/d).
func refRope(u []float64, pos int, layout string, base float64, d int) []float32 {
	out := make([]float32, len(u))
	for i := range u {
		out[i] = float32(u[i])
	}
	for i := 0; i < d/2; i++ {
		a, b := 2*i, 2*i+1
		if layout == RopeHalf {
			a, b = i, i+d/2
		}
		z := complex(u[a], u[b]) * cmplx.Exp(complex(0, float64(pos)*math.Pow(base, -2*float64(i)/float64(d))))
		out[a], out[b] = float32(real(z)), float32(imag(z))
	}
	return out
}

func closeTo(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > tol {
			t.Fatalf("%s [%d]: %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestRotate: a key rotated to position a and then re-rotated by b equals the
// key rotated to a+b, for both layouts and for partial rotary dims.
func TestRotate(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 1))
	const hd = 16
	for _, layout := range []string{RopeAdjacent, RopeHalf} {
		for _, dims := range []int{0, 8} {
			m := ModelInfo{HeadDim: hd, RopeLayout: layout, RopeBase: 10000, RopeDims: dims}
			d := dims
			if d == 0 {
				d = hd
			}
			for _, ab := range [][2]int{{0, 1}, {3, 4}, {1, 127}, {1000, 2500}, {50, -20}} {
				a, b := ab[0], ab[1]
				u := make([]float64, hd)
				for i := range u {
					u[i] = rng.NormFloat64()
				}
				k := refRope(u, a, layout, m.RopeBase, d)
				if err := Rotate(m, k, b); err != nil {
					t.Fatal(err)
				}
				closeTo(t, layout, k, refRope(u, a+b, layout, m.RopeBase, d), 2e-5)
				for i := d; i < hd; i++ {
					if k[i] != float32(u[i]) {
						t.Fatalf("dim %d beyond the %d rotated dims changed", i, d)
					}
				}
			}
		}
	}
	if err := Rotate(ModelInfo{HeadDim: 4, RopeLayout: "", RopeBase: 1e4}, make([]float32, 4), 1); err == nil {
		t.Error("Rotate with no layout succeeded")
	}
	if err := Rotate(ModelInfo{HeadDim: 4, RopeLayout: RopeHalf, RopeBase: 1e4}, make([]float32, 6), 1); err == nil {
		t.Error("Rotate of a partial head succeeded")
	}
	if err := Rotate(ModelInfo{}, make([]float32, 6), 1); err == nil {
		t.Error("Rotate with head dim 0 succeeded")
	}
}

// at returns the vector [headDim] of token t of KV head h in x [kvHeads, p, headDim].
func at(x []float32, h, t, p, hd int) []float32 {
	return x[(h*p+t)*hd : (h*p+t+1)*hd]
}

func TestCompose(t *testing.T) {
	const L, H, D = 2, 2, 4
	mk := func(seed uint64, p, frozen int, source string) *Cartridge {
		m := testMeta(L, H, p, D)
		m.Frozen = frozen
		m.Corpus.Source = source
		m.Corpus.Tokens = 1000 * p
		return randCartridge(seed, m)
	}
	a, b, c := mk(1, 5, 1, "a"), mk(2, 4, 1, "b"), mk(3, 3, 0, "c")
	got, err := Compose(a, b, c)
	if err != nil {
		t.Fatal(err)
	}
	// a keeps all 5 (its sink included), b drops its sink (3 kept), c has none to drop (3).
	if got.Meta.P != 11 || got.Meta.Frozen != 1 {
		t.Fatalf("P %d frozen %d; want 11 and 1", got.Meta.P, got.Meta.Frozen)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	type src struct {
		part *Cartridge
		tok  int
	}
	var where []src // composed token → its source
	for t := 0; t < 5; t++ {
		where = append(where, src{a, t})
	}
	for t := 1; t < 4; t++ {
		where = append(where, src{b, t})
	}
	for t := 0; t < 3; t++ {
		where = append(where, src{c, t})
	}
	for l := 0; l < L; l++ {
		for h := 0; h < H; h++ {
			for q, s := range where {
				pp := s.part.Meta.P
				closeTo(t, "keys", at(got.Keys[l], h, q, 11, D), at(s.part.Keys[l], h, s.tok, pp, D), 0)
				closeTo(t, "values", at(got.Values[l], h, q, 11, D), at(s.part.Values[l], h, s.tok, pp, D), 0)
			}
		}
	}
	m := got.Meta
	if strings.Join(m.Parts, ",") != "a@0123456789ab,b@0123456789ab,c@0123456789ab" {
		t.Errorf("parts %q", m.Parts)
	}
	if m.Corpus.Tokens != 12000 || m.Recipe.Method != "compose" || m.Metrics != nil || m.Model != a.Meta.Model || m.Corpus.Kind != "git" {
		t.Errorf("meta %+v", m)
	}
	// A composed part contributes its own parts; the result survives a file.
	again, err := Compose(got, mk(4, 2, 1, "d"))
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Meta.Parts) != 4 || again.Meta.P != 12 {
		t.Errorf("parts %q, P %d", again.Meta.Parts, again.Meta.P)
	}
	back, err := Decode(fileBytes(t, again, F32))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Meta.Parts) != 4 {
		t.Errorf("parts after a round trip: %q", back.Meta.Parts)
	}
	// One part composes to itself.
	one, err := Compose(a)
	if err != nil || one.Meta.P != 5 {
		t.Fatalf("Compose(a): %v", err)
	}
	closeTo(t, "one part", one.Keys[1], a.Keys[1], 0)
}

// TestComposeRerotate builds parts whose keys are known vectors cached at
// positions 0..p−1 of their own Cartridge and checks that, re-rotated, each
// key looks cached at its position in the composition; plainly concatenated,
// it keeps its old rotation.
func TestComposeRerotate(t *testing.T) {
	const L, H, D = 2, 2, 8
	for _, layout := range []string{RopeAdjacent, RopeHalf} {
		t.Run(layout, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(13, 2))
			type part struct {
				c *Cartridge
				u [][][][]float64 // [layer][head][token][dim], before RoPE
			}
			mk := func(p, frozen int) part {
				m := testMeta(L, H, p, D)
				m.Model.RopeLayout, m.Frozen = layout, frozen
				pt := part{c: randCartridge(rng.Uint64(), m)}
				for l := 0; l < L; l++ {
					pt.u = append(pt.u, make([][][]float64, H))
					for h := 0; h < H; h++ {
						for tok := 0; tok < p; tok++ {
							u := make([]float64, D)
							for i := range u {
								u[i] = rng.NormFloat64()
							}
							pt.u[l][h] = append(pt.u[l][h], u)
							copy(at(pt.c.Keys[l], h, tok, p, D), refRope(u, tok, layout, m.Model.RopeBase, D))
						}
					}
				}
				return pt
			}
			parts := []part{mk(6, 1), mk(5, 1), mk(4, 2)}
			for _, rerotate := range []bool{false, true} {
				got, err := ComposeWith(ComposeOptions{Rerotate: rerotate}, parts[0].c, parts[1].c, parts[2].c)
				if err != nil {
					t.Fatal(err)
				}
				P := got.Meta.P // 6 + 4 + 2
				if P != 12 {
					t.Fatalf("P %d", P)
				}
				wantMethod := map[bool]string{false: "compose", true: "compose+rerotate"}[rerotate]
				if got.Meta.Recipe.Method != wantMethod {
					t.Errorf("method %q", got.Meta.Recipe.Method)
				}
				q := 0
				for j, pt := range parts {
					skip := 0
					if j > 0 {
						skip = pt.c.Meta.Frozen
					}
					for tok := skip; tok < pt.c.Meta.P; tok, q = tok+1, q+1 {
						pos := tok // plain: the rotation it was cached with
						if rerotate {
							pos = q
						}
						for l := 0; l < L; l++ {
							for h := 0; h < H; h++ {
								closeTo(t, "key", at(got.Keys[l], h, q, P, D), refRope(pt.u[l][h][tok], pos, layout, 100000, D), 1e-5)
								closeTo(t, "value", at(got.Values[l], h, q, P, D), at(pt.c.Values[l], h, tok, pt.c.Meta.P, D), 0)
							}
						}
					}
				}
			}
		})
	}
}

func TestComposeRefuses(t *testing.T) {
	a := randCartridge(1, testMeta(2, 2, 3, 4))
	other := randCartridge(2, testMeta(2, 2, 3, 4))
	other.Meta.Model.Fingerprint = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	other.Meta.Model.Arch = "qwen2"
	shape := randCartridge(3, testMeta(2, 2, 3, 8)) // same fingerprint, other head dim
	broken := randCartridge(4, testMeta(2, 2, 3, 4))
	broken.Values = broken.Values[:1]
	noRope := randCartridge(5, testMeta(2, 2, 3, 4))
	noRope.Meta.Model.RopeLayout = ""
	noRope2 := randCartridge(6, noRope.Meta)

	cases := []struct {
		name  string
		opts  ComposeOptions
		parts []*Cartridge
		want  []string
	}{
		{"nothing", ComposeOptions{}, nil, []string{"nothing to compose"}},
		{"nil part", ComposeOptions{}, []*Cartridge{a, nil}, []string{"part 2", "nil Cartridge"}},
		{"other model", ComposeOptions{}, []*Cartridge{a, other}, []string{"part 2 was trained for model qwen2", "sha256:fedcba987654…", "part 1 for model llama", "sha256:0123456789ab…", "same model"}},
		{"other shape", ComposeOptions{}, []*Cartridge{a, a, shape}, []string{"part 3 has 2 layers × 2 KV heads × head dim 8", "corrupt"}},
		{"broken part", ComposeOptions{}, []*Cartridge{a, broken}, []string{"part 2", "1 value layers"}},
		{"rerotate without a layout", ComposeOptions{Rerotate: true}, []*Cartridge{noRope, noRope2}, []string{"cannot re-rotate", "RoPE layout"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ComposeWith(tc.opts, tc.parts...)
			if err == nil || c != nil {
				t.Fatal("Compose succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("Compose: %v\nwant it to say %q", err, w)
				}
			}
		})
	}
	// Without re-rotation the layout does not matter.
	if _, err := Compose(noRope, noRope2); err != nil {
		t.Fatal(err)
	}
}

func TestCacheKV(t *testing.T) {
	// p = 3 tokens, 2 KV heads of dim 2: element value = 100·head + 10·pos + i.
	c := &Cartridge{Meta: Meta{P: 3, Model: ModelInfo{KVHeads: 2, HeadDim: 2}}}
	x := make([]float32, 12)
	for h := 0; h < 2; h++ {
		for j := 0; j < 3; j++ {
			for i := 0; i < 2; i++ {
				x[(h*3+j)*2+i] = float32(100*h + 10*j + i)
			}
		}
	}
	c.Keys, c.Values = [][]float32{x}, [][]float32{x}
	k, v := c.CacheKV()
	want := []float32{0, 1, 100, 101, 10, 11, 110, 111, 20, 21, 120, 121}
	for i := range want {
		if k[0][i] != want[i] || v[0][i] != want[i] {
			t.Fatalf("cache layout: got %v, want %v", k[0], want)
		}
	}
}
