package cpu

import (
	"encoding/binary"
	"math"
	"math/rand"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/half"
)

// levels lists the kernel levels this CPU can run, pure Go first.
func levels() []level {
	ls := []level{levelGeneric}
	for l := levelAVX2; l <= detected; l++ {
		ls = append(ls, l)
	}
	return ls
}

// withLevel runs fn with the given kernel level active.
func withLevel(t testing.TB, l level, fn func()) {
	t.Helper()
	old := active
	active = l
	defer func() { active = old }()
	fn()
}

func putF16(b []byte, f float32) { binary.LittleEndian.PutUint16(b, half.F32ToF16(f)) }

// randomWeight returns GGUF row-major blocks of type typ for [rows, cols]
// with random but realistic scales and quants.
func randomWeight(rng *rand.Rand, typ gguf.Type, rows, cols int) []byte {
	rb, err := typ.RowBytes(cols)
	if err != nil {
		panic(err)
	}
	raw := make([]byte, rows*rb)
	rng.Read(raw)
	bb := typ.BlockBytes()
	for off := 0; off < len(raw); off += bb {
		blk := raw[off : off+bb]
		switch typ {
		case gguf.TypeF32:
			binary.LittleEndian.PutUint32(blk, math.Float32bits(float32(rng.NormFloat64()*0.1)))
		case gguf.TypeF16:
			putF16(blk, float32(rng.NormFloat64()*0.1))
		case gguf.TypeBF16:
			binary.LittleEndian.PutUint16(blk, half.F32ToBF16(float32(rng.NormFloat64()*0.1)))
		case gguf.TypeQ4_0, gguf.TypeQ8_0, gguf.TypeQ5_0:
			putF16(blk, float32(0.001+0.02*rng.Float64()))
		case gguf.TypeQ4_1, gguf.TypeQ5_1:
			putF16(blk, float32(0.001+0.02*rng.Float64()))
			putF16(blk[2:], float32(-0.15*rng.Float64()))
		case gguf.TypeQ4_K, gguf.TypeQ5_K:
			putF16(blk, float32(0.0005+0.002*rng.Float64()))
			putF16(blk[2:], float32(0.0005+0.002*rng.Float64()))
		case gguf.TypeQ6_K:
			putF16(blk[208:], float32(0.0005+0.002*rng.Float64()))
		}
	}
	return raw
}

// refDequant decodes one GGUF row of blocks straight from the file layout
// (independently of the repacked tiles) into float64.
func refDequant(typ gguf.Type, row []byte, cols int) []float64 {
	out := make([]float64, cols)
	f16 := func(b []byte) float64 { return float64(half.F16ToF32(binary.LittleEndian.Uint16(b))) }
	bb := typ.BlockBytes()
	for b := 0; b < cols/typ.BlockElems(); b++ {
		blk := row[b*bb : (b+1)*bb]
		switch typ {
		case gguf.TypeF32:
			out[b] = float64(math.Float32frombits(binary.LittleEndian.Uint32(blk)))
		case gguf.TypeF16:
			out[b] = f16(blk)
		case gguf.TypeBF16:
			out[b] = float64(half.BF16ToF32(binary.LittleEndian.Uint16(blk)))
		case gguf.TypeQ8_0:
			for j := 0; j < 32; j++ {
				out[b*32+j] = f16(blk) * float64(int8(blk[2+j]))
			}
		case gguf.TypeQ4_0:
			for j := 0; j < 16; j++ {
				out[b*32+j] = f16(blk) * float64(int(blk[2+j]&15)-8)
				out[b*32+j+16] = f16(blk) * float64(int(blk[2+j]>>4)-8)
			}
		case gguf.TypeQ5_0:
			qh := binary.LittleEndian.Uint32(blk[2:])
			for j := 0; j < 16; j++ {
				lo := int(blk[6+j]&15) | int(qh>>j&1)<<4
				hi := int(blk[6+j]>>4) | int(qh>>(j+16)&1)<<4
				out[b*32+j] = f16(blk) * float64(lo-16)
				out[b*32+j+16] = f16(blk) * float64(hi-16)
			}
		case gguf.TypeQ4_1:
			for j := 0; j < 16; j++ {
				out[b*32+j] = f16(blk)*float64(blk[4+j]&15) + f16(blk[2:])
				out[b*32+j+16] = f16(blk)*float64(blk[4+j]>>4) + f16(blk[2:])
			}
		case gguf.TypeQ5_1:
			qh := binary.LittleEndian.Uint32(blk[4:])
			for j := 0; j < 16; j++ {
				lo := int(blk[8+j]&15) | int(qh>>j&1)<<4
				hi := int(blk[8+j]>>4) | int(qh>>(j+16)&1)<<4
				out[b*32+j] = f16(blk)*float64(lo) + f16(blk[2:])
				out[b*32+j+16] = f16(blk)*float64(hi) + f16(blk[2:])
			}
		case gguf.TypeQ4_K:
			d, dmin := f16(blk), f16(blk[2:])
			sc := blk[4:16]
			scaleMin := func(j int) (float64, float64) {
				if j < 4 {
					return float64(sc[j] & 63), float64(sc[j+4] & 63)
				}
				return float64(sc[j+4]&15 | (sc[j-4]>>6)<<4), float64(sc[j+4]>>4 | (sc[j]>>6)<<4)
			}
			for c := 0; c < 4; c++ {
				s1, m1 := scaleMin(2 * c)
				s2, m2 := scaleMin(2*c + 1)
				for l := 0; l < 32; l++ {
					q := blk[16+32*c+l]
					out[b*256+64*c+l] = d*s1*float64(q&15) - dmin*m1
					out[b*256+64*c+32+l] = d*s2*float64(q>>4) - dmin*m2
				}
			}
		case gguf.TypeQ5_K:
			d, dmin := f16(blk), f16(blk[2:])
			sc := blk[4:16]
			scaleMin := func(j int) (float64, float64) {
				if j < 4 {
					return float64(sc[j] & 63), float64(sc[j+4] & 63)
				}
				return float64(sc[j+4]&15 | (sc[j-4]>>6)<<4), float64(sc[j+4]>>4 | (sc[j]>>6)<<4)
			}
			qh, qs := blk[16:48], blk[48:176]
			for c := 0; c < 4; c++ {
				s1, m1 := scaleMin(2 * c)
				s2, m2 := scaleMin(2*c + 1)
				for l := 0; l < 32; l++ {
					lo := float64(qs[32*c+l]&15) + 16*float64(qh[l]>>(2*c)&1)
					hi := float64(qs[32*c+l]>>4) + 16*float64(qh[l]>>(2*c+1)&1)
					out[b*256+64*c+l] = d*s1*lo - dmin*m1
					out[b*256+64*c+32+l] = d*s2*hi - dmin*m2
				}
			}
		case gguf.TypeQ6_K:
			d := f16(blk[208:])
			for n := 0; n < 2; n++ {
				ql, qh, sc := blk[64*n:], blk[128+32*n:], blk[192+8*n:]
				for l := 0; l < 32; l++ {
					is := l / 16
					q1 := int(ql[l]&15|(qh[l]>>0&3)<<4) - 32
					q2 := int(ql[l+32]&15|(qh[l]>>2&3)<<4) - 32
					q3 := int(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
					q4 := int(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
					o := out[b*256+128*n:]
					o[l] = d * float64(int8(sc[is])) * float64(q1)
					o[l+32] = d * float64(int8(sc[is+2])) * float64(q2)
					o[l+64] = d * float64(int8(sc[is+4])) * float64(q3)
					o[l+96] = d * float64(int8(sc[is+6])) * float64(q4)
				}
			}
		}
	}
	return out
}

func randomActs(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
		if rng.Intn(50) == 0 {
			x[i] *= 8 // outliers, as real activations have
		}
	}
	return x
}
