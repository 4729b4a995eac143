package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// verifiedFile is a cartridge.cart whose checksum was checked, as it was
// then.
type verifiedFile struct {
	size    int64
	modTime time.Time
}

// verify checks e's cartridge.cart against the checksum in its meta.json
// and returns why it does not match ("" when it does, or when meta.json
// records none); read has already compared the sizes. A file checked before and unchanged since (size and
// modification time) is not read again.
func (s *Store) verify(e *Entry) string {
	if e.Meta.CartridgeSHA256 == "" {
		return ""
	}
	path := filepath.Join(e.Dir, CartridgeName)
	st, err := os.Stat(path)
	if err != nil {
		return err.Error()
	}
	if v, ok := s.verified.Load(e.ID); ok && v.(verifiedFile) == (verifiedFile{st.Size(), st.ModTime()}) {
		return ""
	}
	sum, n, err := fileSHA256(path)
	switch {
	case err != nil:
		return fmt.Sprintf("reading %s: %v", CartridgeName, err)
	case n != e.Meta.CartridgeBytes:
		return fmt.Sprintf("%s is %d bytes, %s says %d", CartridgeName, n, MetaName, e.Meta.CartridgeBytes)
	case sum != e.Meta.CartridgeSHA256:
		return fmt.Sprintf("%s's sha256 is %s, %s says %s", CartridgeName, sum, MetaName, e.Meta.CartridgeSHA256)
	}
	s.verified.Store(e.ID, verifiedFile{st.Size(), st.ModTime()})
	return ""
}

// setAside moves a damaged cartridge.cart out of the way (to
// cartridge.cart.damaged, with damaged.txt saying why), unless a training
// holds the entry (it is about to replace it), and logs it.
func (s *Store) setAside(e *Entry, why string) {
	s.verified.Delete(e.ID)
	l := flock.New(filepath.Join(e.Dir, lockName), flock.SetPermissions(0o644))
	if ok, err := l.TryLock(); err != nil || !ok {
		return
	}
	defer l.Unlock()
	path := filepath.Join(e.Dir, CartridgeName)
	note := fmt.Sprintf("%s failed its checksum on %s: %s; set aside as %s, the next training makes it again",
		CartridgeName, time.Now().UTC().Format(time.RFC3339), why, CartridgeName+damagedSuffix)
	if err := os.Rename(path, path+damagedSuffix); err != nil {
		slog.Warn("store: a damaged Cartridge could not be set aside", "entry", e.ID, "problem", why, "err", err)
		return
	}
	_ = writeFileAtomic(filepath.Join(e.Dir, damagedName), []byte(note+"\n"))
	slog.Warn("store: damaged Cartridge set aside; it will be trained again", "entry", e.ID, "repo", e.Meta.Repo, "problem", why)
}

// fileSHA256 is a file's sha256 (hex) and size.
func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
