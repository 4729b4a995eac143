package student

import (
	"slices"
	"testing"
)

// seqPrefix is a prefix whose every value says where it is: layer, K or V,
// head, token, dim.
func seqPrefix(layers, heads, p, hd int, base float32) *Prefix {
	pre := &Prefix{P: p, Frozen: 1, KVHeads: heads, HeadDim: hd, K: make([][]float32, layers), V: make([][]float32, layers)}
	for l := 0; l < layers; l++ {
		for h := 0; h < heads; h++ {
			for t := 0; t < p; t++ {
				for d := 0; d < hd; d++ {
					v := base + float32(l*100000+h*1000+t*10+d)
					pre.K[l] = append(pre.K[l], v)
					pre.V[l] = append(pre.V[l], -v)
				}
			}
		}
	}
	return pre
}

func TestConcatTail(t *testing.T) {
	a, b := seqPrefix(2, 3, 4, 2, 0.5), seqPrefix(2, 3, 5, 2, 0.25)
	c, err := Concat(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if c.P != 9 || c.Frozen != 4+1 {
		t.Fatalf("concat: p %d frozen %d, want 9 and 5", c.P, c.Frozen)
	}
	for l := 0; l < 2; l++ {
		for h := 0; h < 3; h++ {
			for tok := 0; tok < 9; tok++ {
				src, st := a, tok
				if tok >= 4 {
					src, st = b, tok-4
				}
				for d := 0; d < 2; d++ {
					got, want := c.K[l][(h*9+tok)*2+d], src.K[l][(h*src.P+st)*2+d]
					if got != want || c.V[l][(h*9+tok)*2+d] != -want {
						t.Fatalf("layer %d head %d token %d dim %d: %g, want %g", l, h, tok, d, got, want)
					}
				}
			}
		}
	}
	back, err := c.Slice(4, 9, 1)
	if err != nil {
		t.Fatal(err)
	}
	if back.P != b.P || back.Frozen != 1 {
		t.Fatalf("tail: p %d frozen %d", back.P, back.Frozen)
	}
	for l := range b.K {
		if !slices.Equal(back.K[l], b.K[l]) || !slices.Equal(back.V[l], b.V[l]) {
			t.Fatalf("layer %d: the tail is not b", l)
		}
	}
	if _, err := Concat(a, seqPrefix(2, 2, 5, 2, 0)); err == nil {
		t.Error("prefixes of other head counts concatenated")
	}
	head, err := c.Slice(0, 4, 1)
	if err != nil || !slices.Equal(head.K[1], a.K[1]) || !slices.Equal(head.V[0], a.V[0]) {
		t.Errorf("the head is not a: %v", err)
	}
	if _, err := c.Slice(4, 10, 0); err == nil {
		t.Error("a slice past the end")
	}
	if _, err := c.Slice(4, 9, 6); err == nil {
		t.Error("more frozen than the slice has")
	}
}
