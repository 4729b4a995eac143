package trainer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/tokenizer"
)

// Chunking (docs/ARCHITECTURE.md, "Self-study"): a chunk is a contiguous window of the corpus of
// about L tokens, L uniform in [min, max], cut at line boundaries, at file
// boundaries where one falls near an end, and with every piece of a file
// introduced by its path header.

// line is one line of a corpus file (its text without the newline).
type line struct {
	file   int // index into Lines.files
	no     int // 0-based line number in its file
	text   string
	tokens int // tokens of the line on its own, newline included
	at     int // tokens of the corpus before this line
}

// Lines is a corpus cut into lines with their token counts: what the
// chunker samples from.
type Lines struct {
	files  []string       // paths
	index  map[string]int // path → index into files
	hashes []string       // ContentHash of each file
	starts []int          // index of each file's first line
	lines  []line
	total  int // tokens in all lines
	// focus, when set, holds the token ranges Sample draws around: the
	// files an incremental training learns anew.
	focus   []tokenRange
	inFocus int // tokens in focus
}

type tokenRange struct{ at, n int }

// ContentHash identifies a file's text (hex, 128 bits of SHA-256).
func ContentHash(text string) string {
	h := sha256.Sum256([]byte(text))
	return hex.EncodeToString(h[:16])
}

// SplitLines cuts a corpus into lines and counts each line's tokens.
func SplitLines(ctx context.Context, c *indexer.Corpus, tok *tokenizer.Tokenizer) (*Lines, error) {
	ls := &Lines{index: make(map[string]int, len(c.Files))}
	for fi, f := range c.Files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ls.index[f.Path] = len(ls.files)
		ls.files = append(ls.files, f.Path)
		ls.hashes = append(ls.hashes, ContentHash(f.Text))
		ls.starts = append(ls.starts, len(ls.lines))
		text := strings.TrimRight(f.Text, "\n")
		for no, s := range strings.Split(text, "\n") {
			n := len(tok.Encode(s+"\n", false))
			ls.lines = append(ls.lines, line{file: fi, no: no, text: s, tokens: n, at: ls.total})
			ls.total += n
		}
	}
	if len(ls.lines) == 0 {
		return nil, fmt.Errorf("chunker: the corpus has no text")
	}
	return ls, nil
}

// Tokens is the corpus's length in tokens (lines counted on their own).
func (ls *Lines) Tokens() int { return ls.total }

// Focus returns the corpus with sampling drawn around the given lines:
// every chunk Sample draws holds one of them (a chunk keeps its usual
// length, so it shows their context too). lines maps a file's path to its
// changed lines (0-based); a nil slice means the whole file. It also
// returns the tokens of those lines. With none of them in the corpus the
// result samples the whole corpus.
func (ls *Lines) Focus(lines map[string][]int) (*Lines, int) {
	out := *ls
	out.focus, out.inFocus = nil, 0
	for fi, p := range ls.files {
		nos, ok := lines[p]
		if !ok {
			continue
		}
		a := ls.starts[fi]
		b := len(ls.lines)
		if fi+1 < len(ls.files) {
			b = ls.starts[fi+1]
		}
		if nos == nil {
			at := ls.lines[a].at
			n := ls.lines[b-1].at + ls.lines[b-1].tokens - at
			out.focus = append(out.focus, tokenRange{at, n})
			out.inFocus += n
			continue
		}
		for _, no := range nos {
			if no < 0 || a+no >= b {
				continue
			}
			l := ls.lines[a+no]
			out.focus = append(out.focus, tokenRange{l.at, l.tokens})
			out.inFocus += l.tokens
		}
	}
	return &out, out.inFocus
}

// ChangedLines are the lines of a file's new text (0-based) that its old
// text does not have anywhere — the edited and added lines — and their
// bytes, newlines included. Lines moved or only deleted around are not
// counted; it is a cheap, diff-free measure of where a commit changed a
// file.
func ChangedLines(old, new string) (lines []int, bytes int) {
	have := make(map[string]bool)
	for _, l := range strings.Split(strings.TrimRight(old, "\n"), "\n") {
		have[l] = true
	}
	lines = []int{}
	for i, l := range strings.Split(strings.TrimRight(new, "\n"), "\n") {
		if !have[l] {
			lines = append(lines, i)
			bytes += len(l) + 1
		}
	}
	return lines, bytes
}

// Changes are the files of a corpus that are new (nil: all of it) or
// changed (their ChangedLines) since an older corpus, and the bytes of
// what changed: what an incremental training learns anew.
func Changes(old, new *indexer.Corpus) (map[string][]int, int) {
	before := make(map[string]string, len(old.Files))
	for _, f := range old.Files {
		before[f.Path] = f.Text
	}
	changed := map[string][]int{}
	n := 0
	for _, f := range new.Files {
		t, ok := before[f.Path]
		switch {
		case !ok:
			changed[f.Path] = nil
			n += len(f.Text)
		case t != f.Text:
			lines, b := ChangedLines(t, f.Text)
			changed[f.Path] = lines
			n += b
		}
	}
	return changed, n
}

// Sources are the files and content hashes of a chunk.
func (ls *Lines) sources(c Chunk) []Source {
	out := make([]Source, 0, len(c.Files))
	for _, p := range c.Files {
		out = append(out, Source{Path: p, Hash: ls.hashes[ls.index[p]]})
	}
	return out
}

// Chunk is a window of the corpus rendered for the teacher.
type Chunk struct {
	Text   string   // the files' pieces, each with its path header
	Files  []string // the files it touches, in order
	Tokens int      // tokens of its lines (headers not counted)
	Start  int      // token offset of its first line in the corpus
}

// Sample draws a chunk of about L tokens, L uniform in [minTok, maxTok],
// starting at a uniformly drawn token of the corpus (snapped to its line).
// A file boundary within the first quarter of the window moves the start
// there; one within the last quarter ends the window there.
func (ls *Lines) Sample(rng *rand.Rand, minTok, maxTok int) Chunk {
	return ls.SampleAt(rng, minTok, maxTok, -1)
}

// SampleAt is Sample with the window's place given: at in [0, 1) puts its
// middle at that fraction of the corpus (windows that would run off an end
// are moved inside, so the ends are covered as often as the rest); at < 0
// draws the start uniformly. Successive points of a low-discrepancy
// sequence (SpreadPoint) cover every region of the corpus, small files
// included, about equally often.
func (ls *Lines) SampleAt(rng *rand.Rand, minTok, maxTok int, at float64) Chunk {
	if maxTok < minTok {
		maxTok = minTok
	}
	L := minTok + rng.IntN(maxTok-minTok+1)
	if L >= ls.total {
		return ls.render(0, len(ls.lines))
	}
	// The line holding a random token; windows may not run off the end.
	var t int
	if at >= 0 {
		t = min(max(int(at*float64(ls.total))-L/2, 0), ls.total-L)
	} else {
		t = rng.IntN(ls.total - L + 1)
	}
	u := -1 // a token the window must hold
	if ls.inFocus > 0 {
		// A token of a focused file in the first half of the window, where
		// the end's snap to a file boundary cannot cut it off.
		u = rng.IntN(ls.inFocus)
		for _, r := range ls.focus {
			if u < r.n {
				u += r.at
				break
			}
			u -= r.n
		}
		t = min(max(u-rng.IntN(L/2+1), 0), ls.total-L)
	}
	first := sort.Search(len(ls.lines), func(i int) bool { return ls.lines[i].at+ls.lines[i].tokens > t })
	// Snap the start to the next file's first line when it is close (and
	// does not pass the token the window must hold).
	if fi := ls.lines[first].file; ls.lines[first].no != 0 && fi+1 < len(ls.files) {
		next := ls.starts[fi+1]
		if ls.lines[next].at-ls.lines[first].at <= L/4 && (u < 0 || ls.lines[next].at <= u) {
			first = next
		}
	}
	end, n := first, 0
	for end < len(ls.lines) && n < L {
		// At a file boundary with most of the window filled, stop.
		if end > first && ls.lines[end].no == 0 && n >= 3*L/4 {
			break
		}
		n += ls.lines[end].tokens
		end++
	}
	if u >= 0 { // hold the focused token's line, whatever the boundaries said
		ul := sort.Search(len(ls.lines), func(i int) bool { return ls.lines[i].at+ls.lines[i].tokens > u })
		first, end = min(first, ul), max(end, ul+1)
	}
	return ls.render(first, end)
}

// SpreadPoint is point i of a low-discrepancy sequence in [0, 1) (the
// golden-ratio Weyl sequence, offset by seed): any run of consecutive
// points, the first n included, is spread evenly over the interval.
func SpreadPoint(seed uint64, i int) float64 {
	const phi = 0.6180339887498949 // 1/golden ratio
	off := float64(seed%1000003) / 1000003
	x := off + phi*float64(i)
	return x - math.Floor(x)
}

// render writes lines [a, b) with a header for each file's piece.
func (ls *Lines) render(a, b int) Chunk {
	var sb strings.Builder
	c := Chunk{Start: ls.lines[a].at}
	for i := a; i < b; {
		fi := ls.lines[i].file
		p := ls.files[fi]
		if ls.lines[i].no == 0 {
			sb.WriteString(indexer.Header(p))
		} else {
			sb.WriteString(indexer.Continued(p))
		}
		c.Files = append(c.Files, p)
		j := i
		for j < b && ls.lines[j].file == fi {
			if j > i {
				sb.WriteByte('\n')
			}
			sb.WriteString(ls.lines[j].text)
			c.Tokens += ls.lines[j].tokens
			j++
		}
		sb.WriteString(indexer.Footer)
		i = j
	}
	c.Text = strings.TrimRight(sb.String(), "\n") + "\n"
	return c
}
