package gguf

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/cartlsp/cartlsp/runtime/half"
)

// Quantize encodes in as type t, for tests that build small models. The
// block quantizers round the way ggml's reference (quantize_row_*_ref)
// quantizers do, so for Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 the bytes match
// theirs. Q4_K and Q6_K use a simpler max-abs scale search than ggml's
// (their bytes differ from llama.cpp's; the layout is the same).
// len(in) must be a whole number of blocks.
func Quantize(t Type, in []float32) ([]byte, error) {
	n, err := t.RowBytes(len(in))
	if err != nil {
		return nil, err
	}
	out := make([]byte, n)
	switch t {
	case TypeF32:
		for i, x := range in {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
		}
		return out, nil
	case TypeF16:
		for i, x := range in {
			binary.LittleEndian.PutUint16(out[2*i:], half.F32ToF16(x))
		}
		return out, nil
	case TypeBF16:
		for i, x := range in {
			binary.LittleEndian.PutUint16(out[2*i:], half.F32ToBF16(x))
		}
		return out, nil
	}
	q, ok := blockQuantizers[t]
	if !ok {
		return nil, fmt.Errorf("gguf: quantizing to %s is not supported", t)
	}
	be, bb := t.BlockElems(), t.BlockBytes()
	for i := 0; i < len(in); i += be {
		q(in[i:i+be], out[i/be*bb:][:bb])
	}
	return out, nil
}

var blockQuantizers = map[Type]func(x []float32, b []byte){
	TypeQ8_0: quantQ8_0,
	TypeQ4_0: func(x []float32, b []byte) { quantSym(x, b, 4) },
	TypeQ5_0: func(x []float32, b []byte) { quantSym(x, b, 5) },
	TypeQ4_1: func(x []float32, b []byte) { quantAffine(x, b, 4) },
	TypeQ5_1: func(x []float32, b []byte) { quantAffine(x, b, 5) },
	TypeQ4_K: quantQ4_K,
	TypeQ6_K: quantQ6_K,
}

func putF16(b []byte, x float32) { binary.LittleEndian.PutUint16(b, half.F32ToF16(x)) }

// roundAway rounds half away from zero, like C's roundf.
func roundAway(x float32) float32 { return float32(math.Round(float64(x))) }

func quantQ8_0(x []float32, b []byte) {
	var amax float32
	for _, v := range x {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	d := amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	putF16(b, d)
	for j, v := range x {
		b[2+j] = byte(int8(roundAway(v * id)))
	}
}

// quantSym writes a Q4_0 (bits 4) or Q5_0 (bits 5) block: d = the value of
// largest magnitude / −2^(bits−1), q = trunc(x/d + 2^(bits−1) + 0.5).
func quantSym(x []float32, b []byte, bits int) {
	var amax, vmax float32
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); a > amax {
			amax, vmax = a, v
		}
	}
	off := float32(int(1) << (bits - 1))
	offHalf := off + 0.5 // added in one rounding, as ggml adds 8.5f or 16.5f
	d := vmax / -off
	var id float32
	if d != 0 {
		id = 1 / d
	}
	putF16(b, d)
	var q [32]byte
	for j, v := range x {
		q[j] = byte(min(int8(1<<bits-1), int8(float32(v*id)+offHalf)))
	}
	packNibbles(q[:], b[2:], bits)
}

// quantAffine writes a Q4_1 or Q5_1 block: d = (max−min)/(2^bits−1), m = min,
// q = trunc((x−min)/d + 0.5).
func quantAffine(x []float32, b []byte, bits int) {
	lo, hi := float32(math.MaxFloat32), float32(-math.MaxFloat32)
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	d := (hi - lo) / float32(int(1)<<bits-1)
	var id float32
	if d != 0 {
		id = 1 / d
	}
	putF16(b, d)
	putF16(b[2:], lo)
	var q [32]byte
	for j, v := range x {
		q[j] = byte(min(int8(1<<bits-1), int8(float32((v-lo)*id)+0.5)))
	}
	packNibbles(q[:], b[4:], bits)
}

// packNibbles stores 32 quants: for 5 bits a u32 of 5th bits first, then
// 16 bytes holding element j (low nibble) and j+16 (high nibble).
func packNibbles(q []byte, b []byte, bits int) {
	if bits == 5 {
		var qh uint32
		for j, v := range q {
			qh |= uint32(v>>4&1) << j
		}
		binary.LittleEndian.PutUint32(b, qh)
		b = b[4:]
	}
	for j := range 16 {
		b[j] = q[j]&0xf | q[j+16]&0xf<<4
	}
}

// quantQ4_K: each sub-block of 32 gets min = min(0, min x) and scale
// (max−min)/15; the 8 scales and mins are themselves quantized to 6 bits
// against the super-block d and dmin.
func quantQ4_K(x []float32, b []byte) {
	var scales, mins [8]float32
	var maxScale, maxMin float32
	for s := range 8 {
		lo, hi := float32(0), float32(-math.MaxFloat32)
		for _, v := range x[32*s : 32*s+32] {
			lo, hi = min(lo, v), max(hi, v)
		}
		scales[s] = (hi - lo) / 15
		mins[s] = -lo
		maxScale, maxMin = max(maxScale, scales[s]), max(maxMin, mins[s])
	}
	d := half.RoundF16(maxScale / 63)
	dmin := half.RoundF16(maxMin / 63)
	putF16(b[0:], d)
	putF16(b[2:], dmin)
	var ls, lm [8]byte
	for s := range 8 {
		if d > 0 {
			ls[s] = byte(min(63, roundAway(scales[s]/d)))
		}
		if dmin > 0 {
			lm[s] = byte(min(63, roundAway(mins[s]/dmin)))
		}
	}
	p := b[4:16]
	for j := range 8 {
		if j < 4 {
			p[j] = ls[j]
			p[j+4] = lm[j]
		} else {
			p[j+4] = ls[j]&0xf | lm[j]&0xf<<4
			p[j-4] |= ls[j] >> 4 << 6
			p[j] |= lm[j] >> 4 << 6
		}
	}
	qs := b[16:144]
	for c := range 4 {
		for h := range 2 {
			s := 2*c + h
			dl, ml := d*float32(ls[s]), dmin*float32(lm[s])
			for l := range 32 {
				var q byte
				if dl > 0 {
					q = byte(max(0, min(15, roundAway((x[32*s+l]+ml)/dl))))
				}
				qs[32*c+l] |= q << (4 * h)
			}
		}
	}
}

// quantQ6_K: each sub-block of 16 gets scale maxabs/32 (signed so the
// extreme maps to −32), quantized to int8 against the super-block d.
func quantQ6_K(x []float32, b []byte) {
	var scales [16]float32
	var amax, smax float32
	for s := range 16 {
		var a, v0 float32
		for _, v := range x[16*s : 16*s+16] {
			if av := float32(math.Abs(float64(v))); av > a {
				a, v0 = av, v
			}
		}
		scales[s] = v0 / -32
		if a := float32(math.Abs(float64(scales[s]))); a > amax {
			amax, smax = a, scales[s]
		}
	}
	d := half.RoundF16(smax / -128)
	putF16(b[208:], d)
	ql, qh, sc := b[0:128], b[128:192], b[192:208]
	var q [256]byte
	for s := range 16 {
		var is int8
		if d != 0 {
			is = int8(max(-128, min(127, roundAway(scales[s]/d))))
		}
		sc[s] = byte(is)
		dl := d * float32(is)
		for l := range 16 {
			v := 32
			if dl != 0 {
				v = int(max(-32, min(31, roundAway(x[16*s+l]/dl)))) + 32
			}
			q[16*s+l] = byte(v)
		}
	}
	for n := range 2 {
		for l := range 32 {
			q1, q2, q3, q4 := q[128*n+l], q[128*n+l+32], q[128*n+l+64], q[128*n+l+96]
			ql[64*n+l] = q1&0xf | q3&0xf<<4
			ql[64*n+l+32] = q2&0xf | q4&0xf<<4
			qh[32*n+l] = q1>>4 | q2>>4<<2 | q3>>4<<4 | q4>>4<<6
		}
	}
}
