//go:build !unix

package gguf

// mapFile reads the whole file where memory mapping is not available.
func mapFile(path string) ([]byte, func([]byte) error, bool, error) {
	data, unmap, err := readAll(path)
	return data, unmap, false, err
}
