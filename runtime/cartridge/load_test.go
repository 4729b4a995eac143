package cartridge

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeTemp writes c as dir/name in F32 and returns the path.
func writeTemp(t *testing.T, dir, name string, c *Cartridge) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := Write(p, c, F32); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadOne(t *testing.T) {
	dir := t.TempDir()
	c := randCartridge(1, testMeta(2, 1, 5, 4))
	p := writeTemp(t, dir, "a.cart", c)
	got, err := Load(testFP, p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Keys, c.Keys) || !reflect.DeepEqual(got.Values, c.Values) {
		t.Error("one file: tensors differ from what was written")
	}
	if got.Meta.P != 5 || got.Meta.Frozen != 1 || got.Meta.Recipe.Method != "self-study" || got.Meta.Corpus.Kind != "git" {
		t.Errorf("one file: meta changed: %+v", got.Meta)
	}
}

func TestLoadCompose(t *testing.T) {
	dir := t.TempDir()
	a := randCartridge(1, testMeta(2, 2, 5, 4))
	b := randCartridge(2, testMeta(2, 2, 3, 4))
	pa := writeTemp(t, dir, "a.cart", a)
	pb := writeTemp(t, dir, "b.cart", b)
	got, err := Load(testFP, pa, pb)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Compose(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Meta.P != 5+3-1 || got.Meta.Frozen != 1 {
		t.Errorf("composed P=%d Frozen=%d; want P=7 Frozen=1", got.Meta.P, got.Meta.Frozen)
	}
	if !reflect.DeepEqual(got.Keys, want.Keys) || !reflect.DeepEqual(got.Values, want.Values) {
		t.Error("Load of two files differs from Compose of the two Cartridges")
	}
	// Spot check: b's sink is dropped, its token 1 follows a's last token.
	const D = 4
	for l := 0; l < 2; l++ {
		for h := 0; h < 2; h++ {
			gotRow := got.Keys[l][(h*7+5)*D : (h*7+6)*D]
			wantRow := b.Keys[l][(h*3+1)*D : (h*3+2)*D]
			if !reflect.DeepEqual(gotRow, wantRow) {
				t.Errorf("layer %d head %d: composed token 5 is not b's token 1", l, h)
			}
		}
	}
	if got.Meta.Recipe.Method != "compose" || len(got.Meta.Parts) != 2 {
		t.Errorf("composed meta: method %q parts %v", got.Meta.Recipe.Method, got.Meta.Parts)
	}
}

func TestLoadRefusesOtherModel(t *testing.T) {
	dir := t.TempDir()
	a := randCartridge(1, testMeta(2, 1, 4, 4))
	mb := testMeta(2, 1, 4, 4)
	mb.Model.Fingerprint = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	b := randCartridge(2, mb)
	pa := writeTemp(t, dir, "a.cart", a)
	pb := writeTemp(t, dir, "b.cart", b)

	for _, paths := range [][]string{{pb}, {pa, pb}, {pb, pa}} {
		_, err := Load(testFP, paths...)
		var mm *ModelMismatchError
		if !errors.As(err, &mm) {
			t.Errorf("Load(%v): err = %v; want a ModelMismatchError", paths, err)
			continue
		}
		if !strings.Contains(err.Error(), "b.cart") {
			t.Errorf("Load(%v): error does not name the file: %v", paths, err)
		}
	}
	// The right file for another fingerprint is refused too.
	if _, err := Load(mb.Model.Fingerprint, pa); err == nil {
		t.Error("Load with another model's fingerprint: no error")
	}
	if _, err := Load(testFP); err == nil {
		t.Error("Load with no files: no error")
	}
	if _, err := Load(testFP, filepath.Join(dir, "missing.cart")); err == nil {
		t.Error("Load of a missing file: no error")
	}
}
