package tokenizer

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// Code point classes used by the pre-tokenizers. They follow llama.cpp's
// unicode tables (Unicode 15.1 general categories plus the White_Space
// property), which Go's unicode package (15.0.0 in Go 1.26) reproduces except
// for the CJK Extension I block added in 15.1 (see isNewLetter).
type cclass uint8

const (
	cLetter cclass = 1 << iota // \p{L}
	cNumber                    // \p{N}
	cSpace                     // \s: the Unicode White_Space property
	cPunct                     // \p{P}, used only by the "default" pre-tokenizer
	cAny                       // set for every code point inside the current segment
)

// asciiClass is the class of every ASCII code point (with cAny set).
var asciiClass [128]cclass

// bmpClass is the class of every code point below 0x10000, built on first use.
var (
	bmpOnce  sync.Once
	bmpClass []cclass
)

func init() {
	for r := rune(0); r < 128; r++ {
		asciiClass[r] = slowClass(r)
	}
}

// classOf returns the class of code point r; the result always has cAny set.
func classOf(r rune) cclass {
	if r < 128 {
		return asciiClass[r]
	}
	if r < 0x10000 {
		bmpOnce.Do(buildBMP)
		return bmpClass[r]
	}
	return slowClass(r)
}

func buildBMP() {
	t := make([]cclass, 0x10000)
	for r := rune(0); r < 0x10000; r++ {
		t[r] = slowClass(r)
	}
	bmpClass = t
}

func slowClass(r rune) cclass {
	c := cAny
	// unicode.IsSpace is exactly the White_Space property (U+0009–U+000D,
	// U+0020, U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029,
	// U+202F, U+205F, U+3000), the same set as llama.cpp's table.
	if unicode.IsSpace(r) {
		c |= cSpace
	}
	if unicode.IsLetter(r) || isNewLetter(r) {
		c |= cLetter
	}
	if unicode.IsNumber(r) {
		c |= cNumber
	}
	if unicode.IsPunct(r) {
		c |= cPunct
	}
	return c
}

// isNewLetter reports letters assigned after Unicode 15.0 that llama.cpp's
// 15.1 tables already know: CJK Unified Ideographs Extension I.
// (15.1 also added a few symbols, U+2FFC–U+2FFF and U+31EF, which fall in no
// class used here.)
func isNewLetter(r rune) bool {
	return unicode.Version == "15.0.0" && r >= 0x2EBF0 && r <= 0x2EE5D
}

// decodeRune decodes one code point from s[i:] the way llama.cpp does
// (unicode_cpt_from_utf8 + unicode_cpts_from_utf8): it checks only the lead
// byte's length bits and that continuation bytes look like 10xxxxxx, so it
// accepts overlong forms and surrogates; anything else yields U+FFFD and
// consumes one byte.
func decodeRune(s string, i int) (rune, int) {
	b0 := s[i]
	switch {
	case b0 < 0x80:
		return rune(b0), 1
	case b0&0x40 == 0: // stray continuation byte
		return utf8.RuneError, 1
	case b0&0x20 == 0:
		if i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
			return rune(b0&0x1F)<<6 | rune(s[i+1]&0x3F), 2
		}
	case b0&0x10 == 0:
		if i+2 < len(s) && s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80 {
			return rune(b0&0x0F)<<12 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F), 3
		}
	case b0&0x08 == 0:
		if i+3 < len(s) && s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80 && s[i+3]&0xC0 == 0x80 {
			r := rune(b0&0x07)<<18 | rune(s[i+1]&0x3F)<<12 | rune(s[i+2]&0x3F)<<6 | rune(s[i+3]&0x3F)
			if r > unicode.MaxRune {
				// llama.cpp cannot re-encode these (it throws); we use U+FFFD.
				return utf8.RuneError, 4
			}
			return r, 4
		}
	}
	return utf8.RuneError, 1
}

// appendCpt appends the UTF-8 form of r as llama.cpp's unicode_cpt_to_utf8
// writes it: surrogates are encoded like any other 3-byte code point.
func appendCpt(b []byte, r rune) []byte {
	switch {
	case r < 0x80:
		return append(b, byte(r))
	case r < 0x800:
		return append(b, 0xC0|byte(r>>6), 0x80|byte(r)&0x3F)
	case r < 0x10000:
		return append(b, 0xE0|byte(r>>12), 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
	default:
		return append(b, 0xF0|byte(r>>18), 0x80|byte(r>>12)&0x3F, 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
	}
}

// normalizeUTF8 returns s re-encoded code point by code point after
// decodeRune, which is what llama.cpp tokenizes: invalid bytes become U+FFFD
// and overlong forms their shortest form. Valid UTF-8 is returned unchanged.
func normalizeUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, n := decodeRune(s, i)
		b = appendCpt(b, r)
		i += n
	}
	return string(b)
}
