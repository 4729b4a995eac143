package cpu

import "syscall"

// amxPermit asks Linux for the tile data state (arch_prctl
// ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA), which a process must request
// before its first tile instruction (Linux 5.16 and later).
func amxPermit() bool {
	const (
		archReqXcompPerm  = 0x1023
		xfeatureXTileData = 18
	)
	_, _, errno := syscall.RawSyscall(syscall.SYS_ARCH_PRCTL, archReqXcompPerm, xfeatureXTileData, 0)
	return errno == 0
}
