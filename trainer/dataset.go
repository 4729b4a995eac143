package trainer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cartlsp/cartlsp/regular"
	"hash/crc32"
	"io"
	"math"
	"os"
	"sort"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/runtime/half"
	"github.com/cartlsp/cartlsp/runtime/student"
)

// The synthesized dataset file: a header that says what it was made from,
// then one framed record per conversation, appended as conversations are
// finished. Every record carries its length and a CRC, so a file cut short
// by a crash is read up to its last whole record and synthesis resumes from
// there.
//
//	"CARTDS\x00\x01"  magic and format version
//	u32 n, n bytes    the header, JSON (DatasetHeader)
//	records:          u32 payload length, u32 CRC-32C of the payload, payload
//
// A payload (little-endian, varints as encoding/binary writes them):
//
//	uvarint index, byte seed type, uvarint variant, uvarint chunk start,
//	uvarint chunk tokens, string user, string answer,
//	uvarint n, n × uvarint token, uvarint user start, uvarint answer start,
//	uvarint answer end, uvarint targets, per target: uvarint pos, byte k,
//	k × uvarint id, k × u16 log-probability (binary16),
//	(version 2) uvarint sources, per source: string path, string hash
//
// Strings are uvarint length + bytes. Teacher log-probabilities are kept as
// binary16: their rounding (≤ 2⁻¹¹ relative) is far below what the
// distillation loss can tell apart.

const datasetMagic = "CARTDS\x00\x02"

// DatasetVersion is the dataset format this package writes; it reads
// version 1 too (records without sources).
const DatasetVersion = 2

// DatasetHeader says what a dataset was synthesized from and how. A
// dataset resumes only under the same header (Created aside).
type DatasetHeader struct {
	Version int            `json:"version"`
	Model   string         `json:"model"`  // model fingerprint
	Corpus  string         `json:"corpus"` // corpus fingerprint
	Synth   SynthConfig    `json:"synth"`
	Extra   map[string]any `json:"extra,omitempty"`
}

// Conversation is one synthesized exchange and its distillation targets.
type Conversation struct {
	Index        int      // its number in the dataset (conversation i is drawn from the seed and i alone)
	Seed         SeedType // the seed prompt's type
	Variant      int      // and variant
	ChunkStart   int      // the chunk's first token in the corpus
	ChunkTokens  int      // and its length
	User         string   // A's message
	Answer       string   // B's answer
	answer.Turns          // the student's tokens: user turn + assistant turn, no system turn
	// Targets are the teacher's top-k log-probabilities at the user message
	// and answer positions: Targets[i] is the distribution of the token after
	// Tokens[Targets[i].Pos].
	Targets []student.Target
	// Sources are the files the chunk showed the teacher and their content
	// hashes: while every one is unchanged the conversation stays true, so
	// an incremental training replays it (nil in version 1 files).
	Sources []Source
}

// Source is a file a conversation's chunk came from.
type Source struct {
	Path string
	Hash string // ContentHash of the file's text
}

var seedCodes = func() map[SeedType]byte {
	m := map[SeedType]byte{}
	for i, t := range SeedTypes {
		m[t] = byte(i)
	}
	return m
}()

// appendUvarint/appendString are the payload's primitives.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encode renders a conversation as a record payload.
func (c *Conversation) encode() []byte {
	b := make([]byte, 0, 64+len(c.User)+len(c.Answer)+3*len(c.Tokens)+len(c.Targets)*90)
	b = binary.AppendUvarint(b, uint64(c.Index))
	b = append(b, seedCodes[c.Seed])
	b = binary.AppendUvarint(b, uint64(c.Variant))
	b = binary.AppendUvarint(b, uint64(c.ChunkStart))
	b = binary.AppendUvarint(b, uint64(c.ChunkTokens))
	b = appendString(b, c.User)
	b = appendString(b, c.Answer)
	b = binary.AppendUvarint(b, uint64(len(c.Tokens)))
	for _, t := range c.Tokens {
		b = binary.AppendUvarint(b, uint64(t))
	}
	b = binary.AppendUvarint(b, uint64(c.UserStart))
	b = binary.AppendUvarint(b, uint64(c.AnsStart))
	b = binary.AppendUvarint(b, uint64(c.AnsEnd))
	b = binary.AppendUvarint(b, uint64(len(c.Targets)))
	for _, t := range c.Targets {
		b = binary.AppendUvarint(b, uint64(t.Pos))
		b = append(b, byte(len(t.IDs)))
		for _, id := range t.IDs {
			b = binary.AppendUvarint(b, uint64(id))
		}
		for _, lp := range t.LogProbs {
			b = binary.LittleEndian.AppendUint16(b, half.F32ToF16(lp))
		}
	}
	b = binary.AppendUvarint(b, uint64(len(c.Sources)))
	for _, s := range c.Sources {
		b = appendString(b, s.Path)
		b = appendString(b, s.Hash)
	}
	return b
}

// payloadReader decodes a payload, remembering the first error.
type payloadReader struct {
	b   []byte
	err error
}

func (r *payloadReader) uvarint(max uint64, what string) int {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%s: truncated", what)
		return 0
	}
	if v > max {
		r.err = fmt.Errorf("%s: %d is out of range", what, v)
		return 0
	}
	r.b = r.b[n:]
	return int(v)
}

func (r *payloadReader) byte1(what string) byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 1 {
		r.err = fmt.Errorf("%s: truncated", what)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *payloadReader) str(what string) string {
	n := r.uvarint(uint64(len(r.b)), what)
	if r.err == nil && n > len(r.b) {
		r.err = fmt.Errorf("%s: truncated", what)
	}
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// decodeConversation parses a record payload of a file of the given
// format version; vocab bounds token ids.
func decodeConversation(b []byte, vocab, version int) (*Conversation, error) {
	r := &payloadReader{b: b}
	c := &Conversation{}
	const big = 1 << 40
	c.Index = r.uvarint(big, "index")
	code := r.byte1("seed type")
	if r.err == nil && int(code) >= len(SeedTypes) {
		return nil, fmt.Errorf("seed type code %d is unknown", code)
	}
	if r.err == nil {
		c.Seed = SeedTypes[code]
	}
	c.Variant = r.uvarint(255, "variant")
	c.ChunkStart = r.uvarint(big, "chunk start")
	c.ChunkTokens = r.uvarint(big, "chunk tokens")
	c.User = r.str("user message")
	c.Answer = r.str("answer")
	n := r.uvarint(uint64(len(r.b)), "token count")
	if r.err == nil {
		c.Tokens = make([]int, n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		c.Tokens[i] = r.uvarint(uint64(vocab-1), "token")
	}
	c.UserStart = r.uvarint(uint64(n), "user start")
	c.AnsStart = r.uvarint(uint64(n), "answer start")
	c.AnsEnd = r.uvarint(uint64(n), "answer end")
	nt := r.uvarint(uint64(len(r.b)), "target count")
	if r.err == nil {
		c.Targets = make([]student.Target, nt)
	}
	for i := 0; i < nt && r.err == nil; i++ {
		t := &c.Targets[i]
		t.Pos = r.uvarint(uint64(max(n-2, 0)), "target position")
		k := int(r.byte1("target k"))
		if r.err == nil && k == 0 {
			r.err = errors.New("a target has no tokens")
		}
		if r.err != nil {
			break
		}
		t.IDs = make([]int, k)
		for j := range t.IDs {
			t.IDs[j] = r.uvarint(uint64(vocab-1), "target token")
		}
		if r.err == nil && len(r.b) < 2*k {
			r.err = errors.New("target log-probabilities: truncated")
		}
		if r.err != nil {
			break
		}
		t.LogProbs = make([]float32, k)
		for j := range t.LogProbs {
			lp := half.F16ToF32(binary.LittleEndian.Uint16(r.b[2*j:]))
			if math.IsNaN(float64(lp)) || lp > 0 {
				r.err = fmt.Errorf("target log-probability %g is not ≤ 0", lp)
				break
			}
			t.LogProbs[j] = lp
		}
		r.b = r.b[2*k:]
	}
	if version >= 2 && r.err == nil {
		ns := r.uvarint(uint64(len(r.b)), "source count")
		for i := 0; i < ns && r.err == nil; i++ {
			c.Sources = append(c.Sources, Source{Path: r.str("source path"), Hash: r.str("source hash")})
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%d bytes after the conversation", len(r.b))
	}
	if !(c.UserStart <= c.AnsStart && c.AnsStart <= c.AnsEnd) {
		return nil, fmt.Errorf("turn offsets %d/%d/%d are out of order", c.UserStart, c.AnsStart, c.AnsEnd)
	}
	return c, nil
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// maxRecord bounds a record's payload (a conversation of 64k tokens with
// top-64 targets is far below it).
const maxRecord = 256 << 20

// Dataset is an open dataset file: its header and the conversations read
// from it, ready to append more.
type Dataset struct {
	Header DatasetHeader
	Convs  []*Conversation // in the order they were written
	f      *os.File
	w      *bufio.Writer
	path   string
}

// OpenDataset opens the dataset at path for appending, creating it with
// header h when it does not exist. An existing file must have been made
// under the same header; its whole records are read and a torn tail (a
// crash while writing) is cut off. vocab bounds token ids.
func OpenDataset(path string, h DatasetHeader, vocab int) (*Dataset, error) {
	h.Version = DatasetVersion
	hj, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("dataset: %w", err)
	}
	d := &Dataset{Header: h, f: f, path: path}
	if st.Size() == 0 {
		var b bytes.Buffer
		b.WriteString(datasetMagic)
		binary.Write(&b, binary.LittleEndian, uint32(len(hj)))
		b.Write(hj)
		if _, err := f.Write(b.Bytes()); err != nil {
			f.Close()
			return nil, fmt.Errorf("dataset: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("dataset: %w", err)
		}
	} else {
		got, convs, good, err := readDataset(f, vocab)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("dataset %s: %w", path, err)
		}
		// The number of conversations may grow between runs (the first n
		// are the same either way); everything else must match.
		got.Extra, h.Extra = nil, nil
		got.Synth.Conversations, h.Synth.Conversations = 0, 0
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(h)
		if !bytes.Equal(a, b) {
			f.Close()
			return nil, fmt.Errorf("dataset %s was synthesized with other settings, model or corpus (%s; now %s); "+
				"delete it (cartlsp train --fresh) to synthesize again", path, a, b)
		}
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, fmt.Errorf("dataset: cutting a torn record: %w", err)
		}
		d.Convs = convs
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, fmt.Errorf("dataset: %w", err)
	}
	d.w = bufio.NewWriterSize(f, 1<<20)
	return d, nil
}

// ReadDataset reads a whole dataset file (a torn tail is ignored).
func ReadDataset(path string, vocab int) (DatasetHeader, []*Conversation, error) {
	f, err := regular.Open(path)
	if err != nil {
		return DatasetHeader{}, nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	h, convs, _, err := readDataset(f, vocab)
	if err != nil {
		return h, nil, fmt.Errorf("dataset %s: %w", path, err)
	}
	return h, convs, nil
}

// CheckDataset reads a whole dataset file made elsewhere (a dependency's,
// pulled from a registry, to replay) and returns how many conversations it
// holds: it must read, hold at least one, and have been synthesized for the
// model with fingerprint model (vocab bounds its token ids).
func CheckDataset(path, model string, vocab int) (int, error) {
	h, convs, err := ReadDataset(path, vocab)
	if err != nil {
		return 0, err
	}
	if h.Model != model {
		return 0, fmt.Errorf("dataset %s was made for model %s, not %s", path, h.Model, model)
	}
	if len(convs) == 0 {
		return 0, fmt.Errorf("dataset %s holds no whole conversation", path)
	}
	return len(convs), nil
}

// readDataset reads the header and every whole record; good is the offset
// after the last whole record.
func readDataset(f *os.File, vocab int) (h DatasetHeader, convs []*Conversation, good int64, err error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return h, nil, 0, err
	}
	r := bufio.NewReaderSize(f, 1<<20)
	var magic [8]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil || string(magic[:7]) != datasetMagic[:7] {
		return h, nil, 0, errors.New("not a cartlsp dataset file")
	}
	version := int(magic[7])
	if version < 1 || version > DatasetVersion {
		return h, nil, 0, fmt.Errorf("format version %d is not supported (this build reads 1 to %d)", version, DatasetVersion)
	}
	var n uint32
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil || n > 1<<20 {
		return h, nil, 0, errors.New("the header is damaged")
	}
	hb := make([]byte, n)
	if _, err := io.ReadFull(r, hb); err != nil {
		return h, nil, 0, errors.New("the header is truncated")
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return h, nil, 0, fmt.Errorf("the header: %w", err)
	}
	good = int64(len(magic) + 4 + len(hb))
	st, err := f.Stat()
	if err != nil {
		return h, nil, 0, err
	}
	var fr [8]byte
	for {
		if _, err := io.ReadFull(r, fr[:]); err != nil {
			return h, convs, good, nil // end of file, or a torn frame
		}
		size := binary.LittleEndian.Uint32(fr[:4])
		if size > maxRecord || int64(size) > st.Size()-good-8 {
			return h, convs, good, nil // past the end of the file: a torn record, never allocated
		}
		p := make([]byte, size)
		if _, err := io.ReadFull(r, p); err != nil {
			return h, convs, good, nil
		}
		if crc32.Checksum(p, crcTable) != binary.LittleEndian.Uint32(fr[4:]) {
			return h, convs, good, nil
		}
		c, err := decodeConversation(p, vocab, version)
		if err != nil {
			return h, nil, 0, fmt.Errorf("record %d (offset %d) is damaged: %w", len(convs), good, err)
		}
		convs = append(convs, c)
		good += int64(8 + len(p))
	}
}

// Append writes a conversation and makes it durable. Its log-probabilities
// are rounded to binary16 as the file holds them, so a conversation is the
// same whether it was just made or read back.
func (d *Dataset) Append(c *Conversation) error {
	for _, t := range c.Targets {
		for j, lp := range t.LogProbs {
			t.LogProbs[j] = half.RoundF16(lp)
		}
	}
	p := c.encode()
	var fr [8]byte
	binary.LittleEndian.PutUint32(fr[:4], uint32(len(p)))
	binary.LittleEndian.PutUint32(fr[4:], crc32.Checksum(p, crcTable))
	d.w.Write(fr[:])
	d.w.Write(p)
	if err := d.w.Flush(); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	d.Convs = append(d.Convs, c)
	return nil
}

// Sync makes appended records durable (fsync).
func (d *Dataset) Sync() error { return d.f.Sync() }

// Close flushes and closes the file.
func (d *Dataset) Close() error {
	if d.f == nil {
		return nil
	}
	err := d.w.Flush()
	if e := d.f.Sync(); err == nil {
		err = e
	}
	if e := d.f.Close(); err == nil {
		err = e
	}
	d.f = nil
	return err
}

// Done is the set of conversation indices already in the dataset.
func (d *Dataset) Done() map[int]bool {
	m := make(map[int]bool, len(d.Convs))
	for _, c := range d.Convs {
		m[c.Index] = true
	}
	return m
}

// Sorted returns the conversations by index.
func (d *Dataset) Sorted() []*Conversation {
	out := append([]*Conversation(nil), d.Convs...)
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

// IsDataset reports whether the file at path starts like a dataset file.
func IsDataset(path string) bool {
	f, err := regular.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [6]byte
	_, err = io.ReadFull(f, magic[:])
	return err == nil && string(magic[:]) == datasetMagic[:6]
}
