package cpu

import "os"

// level is the kernel family the package dispatches to.
type level int

const (
	levelGeneric level = iota // pure Go
	levelAVX2                 // AVX2 + FMA + F16C
	levelAVX512               // AVX-512 F/BW/VL + VNNI + FMA + F16C
)

func (l level) String() string {
	switch l {
	case levelAVX2:
		return "avx2"
	case levelAVX512:
		return "avx512-vnni"
	}
	return "generic"
}

// useNEON and neonDot: the arm64 kernels may run (features_arm64.go).
var useNEON, neonDot bool

// detected is the best level this CPU supports; active is the one in use
// (tests switch it to compare kernels against their Go twins).
var detected, active level

func init() {
	detected = capLevel(detectLevel(), os.Getenv("CARTLSP_KERNELS"))
	active = detected
	amxDetected, bf16dpDetected = detectBF16(detected)
	trainBF16 = HasAMX() && os.Getenv("CARTLSP_TRAIN_F32") != "1"
	if os.Getenv("CARTLSP_NOASM") == "1" {
		active = levelGeneric
	}
}

// Features names the kernel family in use: "avx512-vnni", "avx2" or "generic".
func Features() string { return active.String() }

// capLevel is the kernel level to use on a CPU that supports best, with
// CARTLSP_KERNELS = "avx2" or "generic" asking for no more than that
// (to measure the paths of CPUs without AVX-512 on one that has it); any
// other value leaves best.
func capLevel(best level, want string) level {
	for _, l := range []level{levelGeneric, levelAVX2, levelAVX512} {
		if l.String() == want || want == "avx512" && l == levelAVX512 {
			return min(best, l)
		}
	}
	return best
}
