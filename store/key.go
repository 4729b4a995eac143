package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Key names one Cartridge: the model it was trained for, the corpus it was
// trained on and the recipe that trained it. Each is a fingerprint string,
// such as "sha256:…"; the store does not interpret them.
type Key struct {
	Model  string `json:"model"`
	Corpus string `json:"corpus"`
	Recipe string `json:"recipe"`
}

// idLen is the length of an entry ID: 24 hex digits, 96 bits of sha256.
const idLen = 24

// ID is the entry's directory name: the first 24 hex digits of
// sha256(Model \x00 Corpus \x00 Recipe). It never changes for a key, so a
// store written by one version of cartlsp is found by the next.
func (k Key) ID() string {
	h := sha256.New()
	h.Write([]byte(k.Model))
	h.Write([]byte{0})
	h.Write([]byte(k.Corpus))
	h.Write([]byte{0})
	h.Write([]byte(k.Recipe))
	return hex.EncodeToString(h.Sum(nil))[:idLen]
}

// check refuses a key with a NUL byte in a fingerprint: NUL separates the
// fingerprints in the ID's hash, so such a key could share its ID with
// another. Fingerprints are printable strings.
func (k Key) check() error {
	if strings.ContainsRune(k.Model+k.Corpus+k.Recipe, 0) {
		return fmt.Errorf("store: a key fingerprint contains a NUL byte: %q", k)
	}
	return nil
}

// validID reports whether id looks like an entry ID (24 lowercase hex digits),
// so that no path outside entries/ can be named through Get.
func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
