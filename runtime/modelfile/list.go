package modelfile

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Cached says what the cache holds for a catalog model.
type Cached struct {
	Spec
	Path     string
	Present  bool  // a file is there
	FileSize int64 // its bytes
	SizeOK   bool  // it has the pinned size
	// Verified is set by List(true): the file's SHA-256 is the pinned one.
	Verified bool
	Default  bool // the model used unless told otherwise
}

// OtherFile is a GGUF file in the cache directory that is no catalog model's.
type OtherFile struct {
	Path string
	Size int64
}

// List reports every catalog model's state in the cache, in catalog order,
// and the other *.gguf files there. With verify it checks the digest of each
// file of the right size (seconds per GB).
func List(verify bool) ([]Cached, []OtherFile, error) {
	dir, err := Dir()
	if err != nil {
		return nil, nil, err
	}
	var out []Cached
	known := map[string]bool{}
	for _, s := range Catalog {
		c := Cached{Spec: s, Path: filepath.Join(dir, s.File), Default: s.Name == Default.Name}
		known[s.File] = true
		if st, err := os.Stat(c.Path); err == nil && st.Mode().IsRegular() {
			c.Present, c.FileSize, c.SizeOK = true, st.Size(), st.Size() == s.Size
			if verify && c.SizeOK {
				c.Verified = s.verify(c.Path) == nil
			}
		}
		out = append(out, c)
	}
	var others []OtherFile
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return nil, nil, err
	}
	for _, e := range ents {
		if known[e.Name()] || !strings.HasSuffix(e.Name(), ".gguf") || !e.Type().IsRegular() {
			continue
		}
		if info, err := e.Info(); err == nil {
			others = append(others, OtherFile{Path: filepath.Join(dir, e.Name()), Size: info.Size()})
		}
	}
	slices.SortFunc(others, func(a, b OtherFile) int { return strings.Compare(a.Path, b.Path) })
	return out, others, nil
}
