package cpu

import (
	"fmt"
	"os"
	"sync"

	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/half"
)

// The student's frozen weights in bfloat16 on a matrix unit (Intel AMX):
// both products of a training step, y = x·Wᵀ forward and dx = dy·W
// backward, as bf16 × bf16 tile products with float32 sums. The weight is
// packed once per direction into the tile layout; the activation operand is
// rounded to bf16 and packed on each call (O(m·k) against the product's
// O(m·n·k)). docs/ARCHITECTURE.md ("Training precision") says where this
// runs and what it changes.
//
// Layout. A packed operand is a sequence of 32-row groups; a group holds
// ks = ⌈k/32⌉ steps of 1024 bf16, step s covering k = 32s..32s+31:
//   - A (activations, row i, k): group i/32, step k/32, at (i%32)·32 + k%32
//     — rows 0–15 then 16–31, 32 consecutive k each;
//   - B (weights, output column j, k): panel j/32, step k/32, tile (j%32)/16,
//     at 512·tile + ((k%32)/2)·32 + (j%16)·2 + k%2 — AMX's pair layout,
//     two consecutive k of one column side by side.
// Rows, columns and k beyond the operand's size are zero.

// bf16PackGo is bf16PackAVX512's Go twin: steps·32 floats of src to bf16
// (half.F32ToBF16, nearest even), 32 of them every stride elements of dst.
// The two agree bit for bit on finite numbers; only the twin keeps a NaN
// a NaN (activations have none).
func bf16PackGo(dst []uint16, src []float32, steps, stride int) {
	for s := 0; s < steps; s++ {
		d, x := dst[s*stride:s*stride+32], src[s*32:s*32+32]
		for i, v := range x {
			d[i] = half.F32ToBF16(v)
		}
	}
}

// amxKernelGo is amxKernel's Go twin: C[32, 32] (+)= A·B over ks packed
// steps, each element a float32 sum of the bf16 products in k order (pf,
// the prefetch hint, is ignored).
func amxKernelGo(ks int, a, b []uint16, c []float32, ldc int, acc bool, pf []uint16) {
	for i := 0; i < 32; i++ {
		for j := 0; j < 32; j++ {
			var s float32
			if acc {
				s = c[i*ldc+j]
			}
			bo := (j/16)*512 + (j%16)*2
			for st := 0; st < ks; st++ {
				ar, br := a[st*1024+i*32:], b[st*1024+bo:]
				for k := 0; k < 32; k += 2 {
					s += half.BF16ToF32(ar[k])*half.BF16ToF32(br[k/2*32]) + half.BF16ToF32(ar[k+1])*half.BF16ToF32(br[k/2*32+1])
				}
			}
			c[i*ldc+j] = s
		}
	}
}

// bf16Panels is a packed B operand: Bt[n, k] (C = A·Btᵀ) in panels of 32
// columns, np·kp bf16 in all.
type bf16Panels struct {
	n, k   int
	np, kp int // n and k rounded up to 32
	data   []uint16
}

// packPanels packs Bt[j, k] = w[j·cols + k] (w [rows, cols], so n = rows,
// k = cols) or, transposed, Bt[j, k] = w[k·cols + j] (n = cols, k = rows).
func packPanels(p *Pool, w []float32, rows, cols int, transpose bool) *bf16Panels {
	n, k := rows, cols
	if transpose {
		n, k = cols, rows
	}
	pk := &bf16Panels{n: n, k: k, np: (n + 31) &^ 31, kp: (k + 31) &^ 31}
	pk.data = make([]uint16, pk.np*pk.kp)
	at := func(j, kk int) float32 {
		if j >= n || kk >= k {
			return 0
		}
		if transpose {
			return w[kk*cols+j]
		}
		return w[j*cols+kk]
	}
	ks := pk.kp / 32
	p.Run(pk.np/32, func(lo, hi int) {
		for pn := lo; pn < hi; pn++ {
			panel := pk.data[pn*ks*1024 : (pn+1)*ks*1024]
			for s := 0; s < ks; s++ {
				st := panel[s*1024 : (s+1)*1024]
				for jj := 0; jj < 32; jj++ {
					o := (jj/16)*512 + (jj%16)*2
					for kk := 0; kk < 32; kk++ {
						st[o+(kk/2)*32+kk%2] = half.F32ToBF16(at(pn*32+jj, s*32+kk))
					}
				}
			}
		}
	})
	return pk
}

// at is Bt[j, kk] as a float32.
func (pk *bf16Panels) at(j, kk int) float32 {
	ks := pk.kp / 32
	jj, s, r := j%32, kk/32, kk%32
	return half.BF16ToF32(pk.data[(j/32)*ks*1024+s*1024+(jj/16)*512+(r/2)*32+(jj%16)*2+r%2])
}

var bf16Bufs = sync.Pool{New: func() any { return new([]uint16) }}

// bf16ABlock bounds the A block packed at once (bytes): it stays in L2
// while every panel of B streams past; bf16KC bounds its k (a multiple of
// 32), so that a block has enough rows to use each panel of B many times.
const (
	bf16ABlock = 1 << 20
	bf16KC     = 1024
)

// bf16Gemm computes C[m, n] (+)= A[m, k] · Btᵀ, A float32 rows lda apart
// (rounded to bf16 here), C float32 rows ldc apart; n and k are pk's.
func bf16Gemm(p *Pool, m int, a []float32, lda int, pk *bf16Panels, c []float32, ldc int, acc bool) {
	if m <= 0 || pk.n == 0 {
		return
	}
	if pk.k == 0 {
		if !acc {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+pk.n])
			}
		}
		return
	}
	ks := pk.kp / 32
	kc := min(pk.kp, bf16KC)
	mb := min(max(bf16ABlock/(2*kc)&^31, 32), (m+31)&^31)
	buf := bf16Bufs.Get().(*[]uint16)
	defer bf16Bufs.Put(buf)
	*buf = grow(*buf, mb*kc)
	ap := *buf
	kern := bf16Kernel()
	npanels := pk.np / 32
	for i0 := 0; i0 < m; i0 += mb {
		rows := min(mb, m-i0)
		groups := (rows + 31) / 32
		for k0 := 0; k0 < pk.kp; k0 += kc {
			kb := min(kc, pk.kp-k0) // a multiple of 32
			bs := kb / 32
			add := acc || k0 > 0
			packBF16A(p, ap, a, lda, i0, rows, k0, min(kb, pk.k-k0), bs)
			p.Run(npanels, func(lo, hi int) {
				var edge [32 * 32]float32
				for pn := lo; pn < hi; pn++ {
					panel := pk.data[(pn*ks+k0/32)*1024 : (pn*ks+k0/32+bs)*1024]
					var next []uint16
					if pn+1 < npanels {
						next = pk.data[((pn+1)*ks+k0/32)*1024 : ((pn+1)*ks+k0/32+bs)*1024]
					}
					cols := min(32, pk.n-pn*32)
					for g := 0; g < groups; g++ {
						blk := ap[g*bs*1024 : (g+1)*bs*1024]
						var pf []uint16
						if next != nil {
							pf = next[(g%16)*64*bs:]
						}
						r := min(32, rows-g*32)
						ct := c[(i0+g*32)*ldc+pn*32:]
						if r == 32 && cols == 32 {
							kern(bs, blk, panel, ct, ldc, add, pf)
							continue
						}
						kern(bs, blk, panel, edge[:], 32, false, pf)
						for i := 0; i < r; i++ {
							d, e := ct[i*ldc:i*ldc+cols], edge[i*32:i*32+cols]
							if add {
								for j, v := range e {
									d[j] += v
								}
							} else {
								copy(d, e)
							}
						}
					}
				}
			})
		}
	}
}

// packBF16A packs rows i0..i0+rows−1, k0..k0+kk−1 of A (float32, rows lda
// apart) as bs steps of 32-row groups into ap, zeros beyond.
func packBF16A(p *Pool, ap []uint16, a []float32, lda, i0, rows, k0, kk, bs int) {
	groups := (rows + 31) / 32
	p.Run(groups, func(lo, hi int) {
		for g := lo; g < hi; g++ {
			blk := ap[g*bs*1024 : (g+1)*bs*1024]
			for r := 0; r < 32; r++ {
				if g*32+r >= rows {
					for s := 0; s < bs; s++ {
						clear(blk[s*1024+r*32 : s*1024+r*32+32])
					}
					continue
				}
				i := i0 + g*32 + r
				x := a[i*lda+k0 : i*lda+k0+kk]
				full := kk / 32
				bf16Pack(blk[r*32:], x, full, 1024)
				for s := full; s < bs; s++ { // the tail of k, and zeros
					d := blk[s*1024+r*32 : s*1024+r*32+32]
					clear(d)
					for q := s * 32; q < kk && q < s*32+32; q++ {
						d[q-s*32] = half.F32ToBF16(x[q])
					}
				}
			}
		}
	})
}

// The bf16 product units of this CPU (set with the kernel level, features.go)
// and trainBF16, whether TrainWeight keeps weights in bf16 by default: where
// the tiles run them (CARTLSP_TRAIN_F32=1 keeps float32). AVX512-BF16
// alone is opt-in (SetTrainBF16, cartlsp train --precision bf16).
var amxDetected, bf16dpDetected, trainBF16 bool

// noAMX leaves the tiles unused (CARTLSP_NOAMX=1): an AMX CPU then runs
// the AVX512-BF16 kernel, as a CPU without AMX would.
var noAMX = os.Getenv("CARTLSP_NOAMX") == "1"

// useAMX is whether the tile kernel (rather than its Go twin) runs: the
// CPU has it and the kernels are not switched to Go (tests, CARTLSP_NOASM).
func useAMX() bool { return HasAMX() && active >= levelAVX512 }

// useBF16DP is whether the AVX512-BF16 kernel can run.
func useBF16DP() bool { return bf16dpDetected && active >= levelAVX512 }

type bf16Kern func(ks int, a, b []uint16, c []float32, ldc int, acc bool, pf []uint16)

// bf16Kernel is the 32×32 block product in use: the tiles, else AVX512-BF16
// dot products, else the Go twin.
func bf16Kernel() bf16Kern {
	switch {
	case useAMX():
		return amxTile
	case useBF16DP():
		return bf16dpTile
	}
	return amxKernelGo
}

// HasAMX reports whether this CPU and OS run the bf16 tile products (and
// CARTLSP_NOAMX does not turn them off).
func HasAMX() bool { return amxDetected && !noAMX }

// BF16Unit names what runs the bf16 products of TrainWeight: "amx",
// "avx512-bf16", or "" when the CPU has neither.
func BF16Unit() string {
	switch {
	case HasAMX():
		return "amx"
	case bf16dpDetected:
		return "avx512-bf16"
	}
	return ""
}

// SetTrainBF16 says whether later TrainWeight calls keep bf16 panels (on)
// or float32 (off) and returns the setting in force: on needs a BF16Unit.
func (b *Backend) SetTrainBF16(on bool) bool {
	b.bf16 = on && BF16Unit() != ""
	return b.bf16
}

// TrainPrecision is "bf16" or "f32": how TrainWeight keeps weights now.
func (b *Backend) TrainPrecision() string {
	if b.bf16 {
		return "bf16"
	}
	return "f32"
}

// WithBF16Weights is a view of b whose LoadWeight dequantizes matrices
// into bf16 panels for the matrix unit (forward only) instead of keeping
// their GGUF blocks; nil when the CPU has no AMX. It shares b's workers:
// close b, not the view. A model loaded on it computes with bf16 operands
// and float32 sums rather than llama.cpp's quantized activations — what
// self-study's teacher may do and answers do not (docs/ARCHITECTURE.md,
// "Training precision").
func (b *Backend) WithBF16Weights() *Backend {
	if !HasAMX() {
		return nil
	}
	v := *b
	v.loadBF16 = true
	return &v
}

func (b *Backend) loadWeightBF16(typ gguf.Type, rows, cols int, raw []byte) (backend.Tensor, error) {
	x := make([]float32, rows*cols)
	if err := gguf.Dequantize(typ, raw, x); err != nil {
		return nil, fmt.Errorf("cpu: %w", err)
	}
	return &bf16Weight{rows: rows, cols: cols, fwd: packPanels(b.pool, x, rows, cols, false)}, nil
}

// bf16Weight is a frozen [rows, cols] weight the student multiplies both
// ways, in bf16 panels for each direction (2 bytes a number each, the same
// memory as one float32 copy).
type bf16Weight struct {
	rows, cols int
	fwd        *bf16Panels // Bt = W: y = x·Wᵀ
	bwd        *bf16Panels // Bt = Wᵀ: dx = dy·W; nil for a loaded (inference) weight
}

func (w *bf16Weight) Rows() int       { return w.rows }
func (w *bf16Weight) Cols() int       { return w.cols }
func (w *bf16Weight) Type() gguf.Type { return gguf.TypeBF16 }
func (w *bf16Weight) Slice(lo, hi int) backend.Tensor {
	panic(fmt.Sprintf("cpu: slicing rows %d..%d of a bf16 training weight", lo, hi))
}

// TrainWeight is a frozen weight of the student: bf16 panels when
// SetTrainBF16 is on (by default where the CPU has AMX and
// CARTLSP_TRAIN_F32 is not set), else data as float32.
func (b *Backend) TrainWeight(rows, cols int, data []float32) backend.Tensor {
	if len(data) != rows*cols {
		panic(fmt.Sprintf("cpu: %d numbers for a [%d, %d] weight", len(data), rows, cols))
	}
	if !b.bf16 || rows < 32 || cols < 32 {
		return b.FromHost(rows, cols, data)
	}
	return &bf16Weight{rows: rows, cols: cols,
		fwd: packPanels(b.pool, data, rows, cols, false),
		bwd: packPanels(b.pool, data, rows, cols, true)}
}
