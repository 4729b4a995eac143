package gguf

import (
	"encoding/binary"
	"math"
)

// K-quants: super-blocks of 256 elements split into sub-blocks of 16 or 32,
// each with its own quantized scale (and min).

// scaleMinK4 unpacks sub-block j's 6-bit scale and min from the 12 packed
// bytes used by Q4_K and Q5_K: bytes 0..3 hold scales 0..3 (low 6 bits) and
// the top 2 bits of scales 4..7; bytes 4..7 the same for the mins; bytes
// 8..11 the low 4 bits of scale (low nibble) and min (high nibble) 4..7.
func scaleMinK4(j int, s []byte) (sc, m float32) {
	if j < 4 {
		return float32(s[j] & 63), float32(s[j+4] & 63)
	}
	return float32(s[j+4]&0xf | s[j-4]>>6<<4), float32(s[j+4]>>4 | s[j]>>6<<4)
}

// Q2_K block (84 bytes): scales[16] (low nibble scale, high nibble min),
// qs[64] (2-bit), f16 d, f16 dmin. Each 32-byte half of qs serves 128
// elements: shift 0,2,4,6 gives four runs of 32, each two sub-blocks of 16.
func dequantQ2_K(b []byte, y []float32) {
	sc, qs := b[0:16], b[16:80]
	d, dmin := f16At(b, 80), f16At(b, 82)
	is := 0
	for n := 0; n < 2; n++ {
		q := qs[32*n : 32*n+32]
		for shift := 0; shift < 8; shift += 2 {
			for half := 0; half < 2; half++ {
				s := sc[is]
				is++
				dl := d * float32(s&0xf)
				ml := dmin * float32(s>>4)
				for l := range 16 {
					v := float32(q[16*half+l] >> shift & 3)
					y[0] = float32(dl*v) - ml
					y = y[1:]
				}
			}
		}
	}
}

// Q3_K block (110 bytes): hmask[32] (high bit, set means no −4 offset),
// qs[64] (low 2 bits, laid out as Q2_K), scales[12] (16 packed 6-bit scales,
// offset by 32), f16 d.
func dequantQ3_K(b []byte, y []float32) {
	hm, qs, ps := b[0:32], b[32:96], b[96:108]
	d := f16At(b, 108)
	var scales [16]int
	for j := range 16 {
		lo := ps[j%8] >> (4 * (j / 8)) & 0xf
		hi := ps[8+j%4] >> (2 * (j / 4)) & 3
		scales[j] = int(lo|hi<<4) - 32
	}
	is := 0
	m := byte(1)
	for n := 0; n < 2; n++ {
		q := qs[32*n : 32*n+32]
		for shift := 0; shift < 8; shift += 2 {
			for half := 0; half < 2; half++ {
				dl := d * float32(scales[is])
				is++
				for l := range 16 {
					v := int(q[16*half+l] >> shift & 3)
					if hm[16*half+l]&m == 0 {
						v -= 4
					}
					y[0] = dl * float32(v)
					y = y[1:]
				}
			}
			m <<= 1
		}
	}
}

// Q4_K block (144 bytes): f16 d, f16 dmin, scales[12] (see scaleMinK4),
// qs[128]: each 32-byte chunk holds sub-block 2c (low nibbles) and 2c+1
// (high nibbles); y = (d·sc)·q − dmin·m.
func dequantQ4_K(b []byte, y []float32) {
	d, dmin := f16At(b, 0), f16At(b, 2)
	s, qs := b[4:16], b[16:144]
	for c := range 4 {
		sc1, m1 := scaleMinK4(2*c, s)
		sc2, m2 := scaleMinK4(2*c+1, s)
		d1, mm1 := d*sc1, dmin*m1
		d2, mm2 := d*sc2, dmin*m2
		q := qs[32*c : 32*c+32]
		for l := range 32 {
			y[64*c+l] = float32(d1*float32(q[l]&0xf)) - mm1
			y[64*c+32+l] = float32(d2*float32(q[l]>>4)) - mm2
		}
	}
}

// Q5_K block (176 bytes): f16 d, f16 dmin, scales[12], qh[32] (bit 2c and
// 2c+1 of qh[l] are the 5th bits of the two sub-blocks of chunk c), qs[128]
// as Q4_K.
func dequantQ5_K(b []byte, y []float32) {
	d, dmin := f16At(b, 0), f16At(b, 2)
	s, qh, qs := b[4:16], b[16:48], b[48:176]
	for c := range 4 {
		sc1, m1 := scaleMinK4(2*c, s)
		sc2, m2 := scaleMinK4(2*c+1, s)
		d1, mm1 := d*sc1, dmin*m1
		d2, mm2 := d*sc2, dmin*m2
		q := qs[32*c : 32*c+32]
		for l := range 32 {
			h1 := qh[l] >> (2 * c) & 1 << 4
			h2 := qh[l] >> (2*c + 1) & 1 << 4
			y[64*c+l] = float32(d1*float32(q[l]&0xf|h1)) - mm1
			y[64*c+32+l] = float32(d2*float32(q[l]>>4|h2)) - mm2
		}
	}
}

// Q6_K block (210 bytes): ql[128] (low 4 bits), qh[64] (high 2 bits),
// scales int8[16], f16 d; y = (d·sc)·(q−32). Each 128-element half uses 64
// ql bytes and 32 qh bytes: element l+32k of the half takes nibble k/2 of
// ql[l+32(k%2)] and bits 2k..2k+1 of qh[l].
func dequantQ6_K(b []byte, y []float32) {
	d := f16At(b, 208)
	for n := range 2 {
		ql, qh, sc := b[64*n:64*n+64], b[128+32*n:128+32*n+32], b[192+8*n:192+8*n+8]
		yy := y[128*n : 128*n+128]
		for l := range 32 {
			is := l / 16
			q1 := int(ql[l]&0xf|(qh[l]>>0&3)<<4) - 32
			q2 := int(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
			q3 := int(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
			q4 := int(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
			yy[l] = d * float32(int8(sc[is])) * float32(q1)
			yy[l+32] = d * float32(int8(sc[is+2])) * float32(q2)
			yy[l+64] = d * float32(int8(sc[is+4])) * float32(q3)
			yy[l+96] = d * float32(int8(sc[is+6])) * float32(q4)
		}
	}
}

// Q8_K block (292 bytes): f32 d, int8 q[256], int16 bsums[16]; y = d·q.
func dequantQ8_K(b []byte, y []float32) {
	d := math.Float32frombits(binary.LittleEndian.Uint32(b))
	for j := range 256 {
		y[j] = d * float32(int8(b[4+j]))
	}
}
