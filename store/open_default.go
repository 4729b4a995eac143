package store

// OpenDefault opens the store in dir, or in DefaultDir when dir is "".
func OpenDefault(dir string) (*Store, error) {
	if dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	return Open(dir)
}
