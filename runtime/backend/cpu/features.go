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

// detected is the best level this CPU supports; active is the one in use
// (tests switch it to compare kernels against their Go twins).
var detected, active level

func init() {
	detected = detectLevel()
	active = detected
	amxDetected, bf16dpDetected = detectBF16(detected)
	trainBF16 = HasAMX() && os.Getenv("CARTLSP_TRAIN_F32") != "1"
	if os.Getenv("CARTLSP_NOASM") == "1" {
		active = levelGeneric
	}
}

// Features names the kernel family in use: "avx512-vnni", "avx2" or "generic".
func Features() string { return active.String() }
