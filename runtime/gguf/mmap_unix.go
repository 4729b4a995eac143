//go:build unix

package gguf

import (
	"fmt"
	"github.com/cartlsp/cartlsp/regular"
	"syscall"
)

// mapFile maps path read-only and returns its bytes and the function that
// unmaps them; mapped is false when the bytes were read into memory instead
// (a file that is not regular).
func mapFile(path string) (data []byte, unmap func([]byte) error, mapped bool, err error) {
	fd, err := regular.Open(path)
	if err != nil {
		return nil, nil, false, err
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, nil, false, err
	}
	size := st.Size()
	if size == 0 {
		return nil, nil, false, fmt.Errorf("%s: file is empty", path)
	}
	if int64(int(size)) != size {
		return nil, nil, false, fmt.Errorf("%s: file of %d bytes is too large to map", path, size)
	}
	if !st.Mode().IsRegular() {
		data, unmap, err := readAll(path)
		return data, unmap, false, err
	}
	b, err := syscall.Mmap(int(fd.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%s: mmap: %w", path, err)
	}
	return b, syscall.Munmap, true, nil
}
