package deps

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/cartlsp/cartlsp/indexer"
)

// CorpusFingerprint is the store key's corpus fingerprint of a dependency:
// its ecosystem, name, version and replacement, the corpus filter's
// configuration and the tokenizer's fingerprint. A released version's
// source never changes (go.sum, npm and PyPI refuse to replace a
// published version), so the fingerprint needs no source: `deps ls` and a
// pull find a Cartridge before anything is downloaded, and every machine
// computes the same key.
func CorpusFingerprint(d Dependency, f indexer.Filter, tokenizer string) string {
	h := sha256.New()
	fmt.Fprintf(h, "cartlsp dependency corpus v1\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s",
		d.Ecosystem, d.Name, d.Version, d.Replace, f.Config(), tokenizer)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
