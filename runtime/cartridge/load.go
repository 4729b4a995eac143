package cartridge

import "fmt"

// Load reads the Cartridge files at paths for the model with this
// fingerprint and, when there is more than one, composes them in order at
// load time (Compose: plain concatenation, only the first part's frozen sink
// kept). One file is returned as read.
//
// Every file's header is checked against the model before any tensor is
// read, so a Cartridge for another model is refused early, with a
// *ModelMismatchError naming the file (errors.As finds it).
func Load(fingerprint string, paths ...string) (*Cartridge, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("cartridge: load: no Cartridge files given")
	}
	for _, p := range paths {
		m, _, err := ReadHeader(p)
		if err != nil {
			return nil, err
		}
		if err := m.CheckModel(fingerprint); err != nil {
			return nil, fmt.Errorf("cartridge %s: %w", p, err)
		}
	}
	parts := make([]*Cartridge, len(paths))
	for i, p := range paths {
		c, err := Read(p)
		if err != nil {
			return nil, err
		}
		// The header was checked above; check again in case the file was
		// replaced in between.
		if err := c.Meta.CheckModel(fingerprint); err != nil {
			return nil, fmt.Errorf("cartridge %s: %w", p, err)
		}
		parts[i] = c
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return Compose(parts...)
}
