package tokenizer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
)

// Fingerprint identifies the tokenizer: "sha256:…" over everything that
// decides how text becomes tokens — the token texts and types, the merges
// in order, the pre-tokenizer and the special-token ids. Two tokenizers
// with the same fingerprint cut every text the same way, so a corpus
// tokenized by one is tokenized by the other.
func (t *Tokenizer) Fingerprint() string { return t.fp }

func vocabFingerprint(v Vocab) string {
	h := sha256.New()
	var buf [binary.MaxVarintLen64]byte
	str := func(s string) {
		h.Write(buf[:binary.PutUvarint(buf[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	str("cartlsp tokenizer v1")
	str(v.Pre)
	h.Write(buf[:binary.PutUvarint(buf[:], uint64(len(v.Tokens)))])
	for i, s := range v.Tokens {
		str(s)
		ty := int32(TypeNormal)
		if v.Types != nil {
			ty = v.Types[i]
		}
		h.Write(buf[:binary.PutVarint(buf[:], int64(ty))])
	}
	h.Write(buf[:binary.PutUvarint(buf[:], uint64(len(v.Merges)))])
	for _, m := range v.Merges {
		str(m)
	}
	str(fmt.Sprint(v.BOS, v.EOS, v.EOT, v.PAD, v.UNK, v.AddBOS))
	keys := make([]string, 0, len(v.Extra))
	for k := range v.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		str(fmt.Sprintf("%s=%d", k, v.Extra[k]))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
