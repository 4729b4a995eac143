package cartridge

// ComposeFiles reads the Cartridges at paths and composes them in order
// (ComposeWith). It returns the dtype to write the result in: dtype when it
// is set, else the inputs' dtype when they agree, else F32.
func ComposeFiles(o ComposeOptions, dtype DType, paths ...string) (*Cartridge, DType, error) {
	explicit := dtype != ""
	parts := make([]*Cartridge, len(paths))
	for i, p := range paths {
		info, err := Stat(p)
		if err != nil {
			return nil, "", err
		}
		switch {
		case explicit:
		case i == 0:
			dtype = info.DType
		case dtype != info.DType:
			dtype = F32
		}
		if parts[i], err = Read(p); err != nil {
			return nil, "", err
		}
	}
	c, err := ComposeWith(o, parts...)
	return c, dtype, err
}
