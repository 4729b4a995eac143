package cpu

import (
	"math"
	"sync"

	"github.com/cartlsp/cartlsp/runtime/backend"
)

// Blocked attention over a KV cache with an online softmax (the
// FlashAttention recurrence), grouped by KV head: the G = Heads/KVHeads
// query heads that share a KV head, for up to flashTq tokens, are stacked
// into one [R = flashTq·G, hd] matrix, so each block of flashBk keys and
// values is read (and widened from binary16) once for all of them and both
// products are small GEMMs (SgemmNT for Q·Kᵀ, SgemmNN for P·V).
//
// For query row r (token t, position pos) and key block [j0, j1):
//
//	s_j   = q_r·k_j / √hd              (j ≤ pos; later keys are masked)
//	m'    = max(m, max_j s_j)
//	o_r   = o_r·e^(m−m') + Σ_j e^(s_j−m')·v_j
//	l_r   = l_r·e^(m−m') + Σ_j e^(s_j−m')
//
// and the result is o_r / l_r. When a step has few query blocks (decoding:
// one token, KVHeads blocks), the keys are also split into chunks that run
// in parallel, each with its own (m, l, o), merged at the end as
//
//	m = max_c m_c,  l = Σ_c l_c·e^(m_c−m),  o = Σ_c o_c·e^(m_c−m) / l.
//
// The split depends only on the shapes, never on the thread count, so the
// result is the same on any number of threads. This is the path everything
// but the llama.cpp parity tests runs (see Backend.SetExactAttention): it
// rounds differently from llama.cpp's (q and the softmax weights stay
// float32, the sums run in another order), to ~1e-6 relative.
const (
	flashTq      = 16  // query tokens per block
	flashBk      = 256 // keys per block (128: 25–30% slower; 512: no faster)
	flashTasks   = 8   // split keys into chunks when there are fewer (g, query block) pairs than this
	flashChunkKs = 512 // … into chunks of at least this many keys
)

// kvSource reads the rows of one KV head out of a cache [L, KVHeads·hd]
// held as binary16 (h) or float32 (f).
type kvSource struct {
	h      []uint16
	f      []float32
	stride int
}

func newKVSource(t backend.Tensor) kvSource {
	if h, ok := t.(*f16Tensor); ok {
		return kvSource{h: h.data, stride: h.cols}
	}
	a := act(t)
	return kvSource{f: a.data, stride: a.cols}
}

// block writes rows j0..j1−1, columns off..off+hd−1 as float32 into
// dst [j1−j0, hd].
func (s kvSource) block(dst []float32, j0, j1, off, hd int) {
	for j := j0; j < j1; j++ {
		d := dst[(j-j0)*hd : (j-j0+1)*hd]
		if s.h != nil {
			f16ToF32(d, s.h[j*s.stride+off:j*s.stride+off+hd])
		} else {
			copy(d, s.f[j*s.stride+off:j*s.stride+off+hd])
		}
	}
}

// flashScratch is one task's working memory.
type flashScratch struct {
	q, o   []float32 // [R, hd]
	kb, vb []float32 // [flashBk, hd]
	s      []float32 // [R, flashBk]
	m      []float32 // [R] running max
	l      []float64 // [R] running sum
}

var flashScratchPool = sync.Pool{New: func() any { return new(flashScratch) }}

// flashPlan is the task split of one call.
type flashPlan struct {
	n, L, pos0, G, hd int
	nqb, nch, chunk   int // query blocks, key chunks per block, keys per chunk
}

func planFlash(n, pos0, kvHeads, G, hd int) flashPlan {
	L := pos0 + n
	p := flashPlan{n: n, L: L, pos0: pos0, G: G, hd: hd, nqb: (n + flashTq - 1) / flashTq, nch: 1, chunk: L}
	if pairs := kvHeads * p.nqb; pairs < flashTasks && L >= 2*flashChunkKs {
		p.nch = min((flashTasks+pairs-1)/pairs, L/flashChunkKs)
		p.chunk = ((L+p.nch-1)/p.nch + flashBk - 1) / flashBk * flashBk
		p.nch = (L + p.chunk - 1) / p.chunk
	}
	return p
}

// flashAttention is Attention's blocked path: out, q [n, Heads·hd] (q
// rotated), k, v [≥ pos0+n, KVHeads·hd] as cache or activation tensors.
func (b *Backend) flashAttention(oa, qa *tensor, k, v backend.Tensor, s backend.AttnShape, pos0 int) {
	n, hd := qa.rows, s.HeadDim
	G := s.Heads / s.KVHeads
	p := planFlash(n, pos0, s.KVHeads, G, hd)
	ks, vs := newKVSource(k), newKVSource(v)
	R := flashTq * G
	var part []float32 // [tasks, R, hd+2]: o, then m and l of each row
	if p.nch > 1 {
		part = make([]float32, s.KVHeads*p.nqb*p.nch*R*(hd+2))
	}
	tasks := s.KVHeads * p.nqb * p.nch
	b.pool.RunChunked(tasks, 1, func(lo, hi int) {
		sc := flashScratchPool.Get().(*flashScratch)
		defer flashScratchPool.Put(sc)
		for it := lo; it < hi; it++ {
			// Later query blocks have more keys: run them first.
			task := tasks - 1 - it
			c := task % p.nch
			qb := (task / p.nch) % p.nqb
			g := task / (p.nch * p.nqb)
			var dst []float32
			if part != nil {
				dst = part[task*R*(hd+2) : (task+1)*R*(hd+2)]
			}
			b.flashTask(sc, oa, qa, ks, vs, s, &p, g, qb, c, dst)
		}
	})
	if part == nil {
		return
	}
	b.pool.Run(s.KVHeads*p.nqb, func(lo, hi int) {
		for pair := lo; pair < hi; pair++ {
			g, qb := pair/p.nqb, pair%p.nqb
			t0, t1 := qb*flashTq, min(n, (qb+1)*flashTq)
			for t := t0; t < t1; t++ {
				for hh := 0; hh < G; hh++ {
					r := (t-t0)*G + hh
					out := oa.row(t)[(g*G+hh)*hd : (g*G+hh+1)*hd]
					mergeChunks(out, part[pair*p.nch*R*(hd+2):(pair+1)*p.nch*R*(hd+2)], p.nch, R, r, hd)
				}
			}
		}
	})
}

// mergeChunks combines row r of nch partial results, each [R, hd+2] (o, m,
// l), into out.
func mergeChunks(out, part []float32, nch, R, r, hd int) {
	mx := float32(math.Inf(-1))
	for c := 0; c < nch; c++ {
		row := part[(c*R+r)*(hd+2):]
		if row[hd+1] > 0 {
			mx = max(mx, row[hd])
		}
	}
	clear(out)
	var l float64
	for c := 0; c < nch; c++ {
		row := part[(c*R+r)*(hd+2) : (c*R+r+1)*(hd+2)]
		if !(row[hd+1] > 0) {
			continue
		}
		w := float32(math.Exp(float64(row[hd] - mx)))
		l += float64(w) * float64(row[hd+1])
		Axpy(w, row[:hd], out)
	}
	inv := float32(1 / l)
	for d := range out {
		out[d] *= inv
	}
}

// flashTask runs query block qb of KV head g over key chunk c, and writes
// the normalised rows into oa, or when dst is not nil the unnormalised
// (o, m, l) of each row into dst [R, hd+2].
func (b *Backend) flashTask(sc *flashScratch, oa, qa *tensor, ks, vs kvSource, s backend.AttnShape, p *flashPlan, g, qb, c int, dst []float32) {
	G, hd := p.G, p.hd
	t0, t1 := qb*flashTq, min(p.n, (qb+1)*flashTq)
	T := t1 - t0
	R := T * G
	sc.q, sc.o = grow(sc.q, R*hd), grow(sc.o, R*hd)
	sc.kb, sc.vb = grow(sc.kb, flashBk*hd), grow(sc.vb, flashBk*hd)
	sc.s, sc.m, sc.l = grow(sc.s, R*flashBk), grow(sc.m, R), grow(sc.l, R)
	q, o, S := sc.q[:R*hd], sc.o[:R*hd], sc.s
	scale := float32(1 / math.Sqrt(float64(hd)))
	// Row r = t·G + hh: token t's heads of group g are contiguous in q.
	for t := 0; t < T; t++ {
		src := qa.row(t0 + t)[g*G*hd : (g+1)*G*hd]
		dq := q[t*G*hd : (t+1)*G*hd]
		for i, x := range src {
			dq[i] = x * scale
		}
	}
	clear(o)
	for r := range sc.m[:R] {
		sc.m[r], sc.l[r] = float32(math.Inf(-1)), 0
	}
	// Keys this task reads: its chunk, up to the block's last position.
	k0 := c * p.chunk
	k1 := min(p.L, k0+p.chunk, p.pos0+t1)
	// A few rows (decoding) read the binary16 cache directly (flashdec.go)
	// where its kernels run; elsewhere the GEMM path is the faster one.
	dec := R <= flashDecRows && ks.h != nil && vs.h != nil && flashDecKernels(hd)
	for j0 := k0; j0 < k1; j0 += flashBk {
		bk := min(flashBk, k1-j0)
		if dec {
			scoresF16(q, R, hd, ks.h[j0*ks.stride+g*hd:], ks.stride, bk, S, bk) // S = Q·Kᵀ/√hd  [R, bk]
		} else {
			ks.block(sc.kb, j0, j0+bk, g*hd, hd)
			vs.block(sc.vb, j0, j0+bk, g*hd, hd)
			SgemmNT(b.pool, R, bk, hd, q, sc.kb, S, false) // S = Q·Kᵀ/√hd  [R, bk]
		}
		for r := 0; r < R; r++ {
			row := S[r*bk : (r+1)*bk]
			nv := min(bk, p.pos0+t0+r/G+1-j0) // keys j ≤ pos
			if nv <= 0 {
				clear(row)
				continue
			}
			mnew := max(sc.m[r], MaxRow(row[:nv]))
			if mnew > sc.m[r] && sc.l[r] > 0 {
				alpha := float32(math.Exp(float64(sc.m[r] - mnew)))
				sc.l[r] *= float64(alpha)
				orow := o[r*hd : (r+1)*hd]
				for d := range orow {
					orow[d] *= alpha
				}
			}
			sc.m[r] = mnew
			sc.l[r] += ExpRow(row[:nv], 1, mnew) // e^(s_j − m')
			clear(row[nv:])
		}
		if dec {
			pvF16(S, bk, R, vs.h[j0*vs.stride+g*hd:], vs.stride, bk, hd, o) // O += P·V  [R, hd]
		} else {
			SgemmNN(b.pool, R, hd, bk, S, sc.vb, o, true) // O += P·V  [R, hd]
		}
	}
	if dst != nil {
		for r := 0; r < R; r++ {
			row := dst[r*(hd+2) : (r+1)*(hd+2)]
			copy(row, o[r*hd:(r+1)*hd])
			row[hd], row[hd+1] = sc.m[r], float32(sc.l[r])
		}
		return
	}
	for t := 0; t < T; t++ {
		out := oa.row(t0 + t)[g*G*hd : (g+1)*G*hd]
		for hh := 0; hh < G; hh++ {
			r := t*G + hh
			inv := float32(1 / sc.l[r])
			orow, drow := o[r*hd:(r+1)*hd], out[hh*hd:(hh+1)*hd]
			for d := range drow {
				drow[d] = orow[d] * inv
			}
		}
	}
}
