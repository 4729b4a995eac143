package trainer

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func TestChunkSample(t *testing.T) {
	tt := newTiny(t)
	ls := testLines(t, tt.tok)
	if ls.Tokens() < 1000 {
		t.Fatalf("test corpus is only %d tokens", ls.Tokens())
	}
	for _, r := range []struct{ min, max int }{{32, 64}, {100, 300}, {400, 400}, {5000, 9000}} {
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < 50; i++ {
			c := ls.Sample(rng, r.min, r.max)
			if c.Tokens == 0 || len(c.Files) == 0 {
				t.Fatalf("empty chunk %+v", c)
			}
			if r.min < ls.Tokens() && c.Tokens > r.max+40 {
				t.Errorf("[%d,%d]: chunk of %d tokens", r.min, r.max, c.Tokens)
			}
			if !strings.HasPrefix(c.Text, "### "+c.Files[0]) {
				t.Errorf("chunk does not open with its file's header: %q", c.Text[:40])
			}
			if n := strings.Count(c.Text, "### "); n != len(c.Files) {
				t.Errorf("%d headers for %d files", n, len(c.Files))
			}
			for _, l := range strings.Split(c.Text, "\n") {
				if strings.HasPrefix(l, "// F") && !strings.HasSuffix(l, ".") {
					t.Errorf("a line was cut: %q", l)
				}
			}
		}
	}
	// Seeded: the same draws give the same chunks.
	a := ls.Sample(rand.New(rand.NewPCG(9, 9)), 64, 256)
	b := ls.Sample(rand.New(rand.NewPCG(9, 9)), 64, 256)
	if !reflect.DeepEqual(a, b) {
		t.Error("chunks are not deterministic")
	}
	// Larger than the corpus: the whole corpus.
	all := ls.Sample(rand.New(rand.NewPCG(1, 1)), ls.Tokens()+10, ls.Tokens()+20)
	if all.Tokens != ls.Tokens() || len(all.Files) != 3 || strings.Contains(all.Text, "(continued)") {
		t.Errorf("whole-corpus chunk: %d tokens, files %v", all.Tokens, all.Files)
	}
}

// TestChunkSpread: chunks placed at successive SpreadPoints cover every
// line of the corpus, and cover it more evenly than independent draws.
func TestChunkSpread(t *testing.T) {
	tt := newTiny(t)
	ls := testLines(t, tt.tok)
	const minTok, maxTok = 64, 128
	n := 4 * ls.Tokens() / ((minTok + maxTok) / 2) // about 4 chunks over every token
	cover := func(spread bool) (lo, hi int) {
		counts := make([]int, ls.Tokens())
		rng := rand.New(rand.NewPCG(3, 4))
		for i := 0; i < n; i++ {
			at := -1.0
			if spread {
				at = SpreadPoint(7, i)
			}
			c := ls.SampleAt(rng, minTok, maxTok, at)
			for j := c.Start; j < min(c.Start+c.Tokens, len(counts)); j++ {
				counts[j]++
			}
		}
		lo, hi = counts[0], counts[0]
		for _, c := range counts {
			lo, hi = min(lo, c), max(hi, c)
		}
		return lo, hi
	}
	slo, shi := cover(true)
	rlo, rhi := cover(false)
	t.Logf("%d chunks over %d tokens: spread covers each token %d–%d times, random %d–%d", n, ls.Tokens(), slo, shi, rlo, rhi)
	if slo == 0 {
		t.Errorf("spread chunks leave tokens uncovered")
	}
	if shi-slo > rhi-rlo {
		t.Errorf("spread coverage %d–%d is no more even than random %d–%d", slo, shi, rlo, rhi)
	}
	for i := 0; i < 100; i++ {
		if u := SpreadPoint(uint64(i), i*7919); u < 0 || u >= 1 {
			t.Fatalf("SpreadPoint = %g", u)
		}
	}
}
