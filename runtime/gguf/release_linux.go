package gguf

import (
	"os"
	"syscall"
	"unsafe"
)

// release tells the kernel that the mapped pages wholly inside b are not
// needed now: they leave the process's resident set and are read again from
// the file if touched.
func release(b []byte) {
	page := uintptr(os.Getpagesize())
	if len(b) == 0 {
		return
	}
	p0 := uintptr(unsafe.Pointer(&b[0]))
	lo := (p0 + page - 1) &^ (page - 1)
	hi := (p0 + uintptr(len(b))) &^ (page - 1)
	if hi <= lo {
		return
	}
	_ = syscall.Madvise(b[lo-p0:hi-p0], syscall.MADV_DONTNEED)
}
