// Package regular opens files that must be regular files — models,
// Cartridges — refusing anything else (a FIFO, a device, a directory)
// before it is opened, so that opening one never blocks (a FIFO waits for a
// writer) or reads without end (/dev/zero).
package regular

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Open opens path for reading when it is a regular file (after symbolic
// links), and checks again on the opened file in case the path changed.
func Open(path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = &fs.PathError{Op: "open", Path: path, Err: pe.Err} // as os.Open says it
		}
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, st.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return f, nil
}
