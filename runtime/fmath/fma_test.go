package fmath

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// fmaExact rounds a·b + c computed exactly with math/big.
func fmaExact(a, b, c float32) float32 {
	if math.IsInf(float64(a), 0) || math.IsInf(float64(b), 0) || math.IsInf(float64(c), 0) ||
		math.IsNaN(float64(a)) || math.IsNaN(float64(b)) || math.IsNaN(float64(c)) {
		return float32(float64(a)*float64(b) + float64(c))
	}
	x := new(big.Float).SetPrec(1200).SetFloat64(float64(a))
	x.Mul(x, new(big.Float).SetPrec(1200).SetFloat64(float64(b)))
	x.Add(x, new(big.Float).SetPrec(1200).SetFloat64(float64(c)))
	f, _ := x.Float32()
	if f == 0 && (a*b == 0 || c == 0) {
		return float32(float64(a)*float64(b) + float64(c)) // sign of an exact zero
	}
	return f
}

func TestFMA32(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rnd := func() float32 {
		switch rng.IntN(4) {
		case 0: // small integers and halves: exact ties
			return float32(rng.IntN(1<<12)-1<<11) / float32(int(1)<<rng.IntN(30))
		case 1: // any bit pattern that is finite
			for {
				f := math.Float32frombits(rng.Uint32())
				if !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) {
					return f
				}
			}
		default:
			return float32(rng.NormFloat64() * math.Exp2(float64(rng.IntN(40)-20)))
		}
	}
	for i := 0; i < 2_000_000; i++ {
		a, b, c := rnd(), rnd(), rnd()
		if rng.IntN(3) == 0 {
			// c close to −a·b: cancellation and midpoints
			c = -float32(float64(a)*float64(b)) * (1 + float32(rng.IntN(3)-1)*0x1p-24)
		}
		got, want := FMA32(a, b, c), fmaExact(a, b, c)
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("FMA32(%g, %g, %g) = %g, want %g", a, b, c, got, want)
		}
	}
}

// TestFMA32Midpoint: a·b + c whose float64 rounding lands on a float32
// midpoint (a double-rounding trap for float32(math.FMA(...))).
func TestFMA32Midpoint(t *testing.T) {
	a := float32(1 + 0x1p-12)
	b := float32(1 + 0x1p-12)
	// a·b = 1 + 2^-11 + 2^-24 exactly; with c = 2^-60 the exact sum lies just
	// above the midpoint 1 + 2^-11 + 2^-24 between two float32 neighbours.
	c := float32(0x1p-60)
	if got, want := FMA32(a, b, c), fmaExact(a, b, c); got != want {
		t.Fatalf("got %x want %x", math.Float32bits(got), math.Float32bits(want))
	}
	if float32(math.FMA(float64(a), float64(b), float64(c))) == fmaExact(a, b, c) {
		t.Fatal("the case no longer trips double rounding")
	}
}
