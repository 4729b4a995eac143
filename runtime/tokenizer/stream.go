package tokenizer

import "unicode/utf8"

// StreamDecoder turns generated token ids into text as they arrive. A
// character whose bytes are spread over several tokens is held back until it
// is complete, so every string Push returns ends on a character boundary.
// Bytes that can never become valid UTF-8 are passed through unchanged, so
// the concatenation of all Push results and Flush equals Decode of all ids.
type StreamDecoder struct {
	t   *Tokenizer
	buf []byte // bytes not yet returned: at most an incomplete UTF-8 sequence
}

// NewDecoder returns a StreamDecoder for t.
func (t *Tokenizer) NewDecoder() *StreamDecoder { return &StreamDecoder{t: t} }

// Push adds one token and returns the text that is now complete.
func (d *StreamDecoder) Push(id int) string {
	d.buf = append(d.buf, d.t.piece(id)...)
	n := completePrefix(d.buf)
	if n == 0 {
		return ""
	}
	out := string(d.buf[:n])
	d.buf = append(d.buf[:0], d.buf[n:]...)
	return out
}

// Flush returns whatever is held back (an incomplete sequence, as raw bytes)
// and resets the decoder.
func (d *StreamDecoder) Flush() string {
	out := string(d.buf)
	d.buf = d.buf[:0]
	return out
}

// completePrefix returns the length of the longest prefix of b that does not
// end inside a UTF-8 sequence that could still be completed.
func completePrefix(b []byte) int {
	for k := 1; k <= utf8.UTFMax-1 && k <= len(b); k++ {
		p := len(b) - k
		if b[p]&0xC0 == 0x80 {
			continue // continuation byte: look further back for the lead byte
		}
		if !utf8.FullRune(b[p:]) {
			return p
		}
		break
	}
	return len(b)
}
