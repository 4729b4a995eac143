package cartridge

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// The container is safetensors:
//
//	[8 bytes]  N, the header length, little-endian uint64
//	[N bytes]  JSON: {"__metadata__": {string: string},
//	                  "layers.{i}.keys":   {"dtype": "F32"|"F16"|"BF16", "shape": [n_kv_heads, p, head_dim], "data_offsets": [begin, end]},
//	                  "layers.{i}.values": {…}, …}
//	           padded with spaces to a multiple of 8
//	[rest]     the tensors' little-endian bytes; offsets are relative to the
//	           start of this section, which the tensors tile exactly

// DType is how a Cartridge file stores its numbers.
type DType string

// The dtypes a Cartridge file may use; the names are safetensors'.
const (
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
)

// Size is the number of bytes per element, 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case F32:
		return 4
	case F16, BF16:
		return 2
	}
	return 0
}

// ParseDType reads a dtype name as a person types it: f32, f16, bf16 (any case;
// float32, float16, fp16, half, bfloat16 too).
func ParseDType(s string) (DType, error) {
	switch strings.ToLower(s) {
	case "f32", "float32", "fp32":
		return F32, nil
	case "f16", "float16", "fp16", "half":
		return F16, nil
	case "bf16", "bfloat16":
		return BF16, nil
	}
	return "", fmt.Errorf("unknown dtype %q (want f32, f16 or bf16)", s)
}

// maxHeaderBytes bounds the JSON header; a Cartridge's is a few KiB.
const maxHeaderBytes = 100 << 20

// metadataKey is safetensors' reserved header key for string metadata.
const metadataKey = "__metadata__"

// tensorEntry is one tensor's line in the header.
type tensorEntry struct {
	DType       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// tensorName is "layers.{layer}.{kind}", kind "keys" or "values".
func tensorName(layer int, kind string) string {
	return "layers." + strconv.Itoa(layer) + "." + kind
}

// parseTensorName undoes tensorName; ok is false for any other name
// (including non-canonical numbers such as "layers.01.keys").
func parseTensorName(name string) (layer int, values bool, ok bool) {
	rest, found := strings.CutPrefix(name, "layers.")
	if !found {
		return 0, false, false
	}
	num, kind, found := strings.Cut(rest, ".")
	if !found || (kind != "keys" && kind != "values") {
		return 0, false, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || strconv.Itoa(n) != num {
		return 0, false, false
	}
	return n, kind == "values", true
}

// span is where one layer tensor lies in the data section.
type span struct {
	name       string
	layer      int
	values     bool
	begin, end int64 // byte offsets into the data section
}

// header is a checked header: every claim in it agrees with the metadata and
// with the size of the data section.
type header struct {
	meta    Meta
	dtype   DType
	spans   []span // sorted by begin; they tile [0, dataLen)
	dataLen int64
}

// headerLength reads and checks the 8-byte length prefix of a file of fileLen bytes.
func headerLength(prefix []byte, fileLen int64) (int64, error) {
	if fileLen < 8 || len(prefix) < 8 {
		return 0, fmt.Errorf("the file is %d bytes, too short to be a Cartridge (a safetensors file starts with an 8-byte header length)", fileLen)
	}
	n := binary.LittleEndian.Uint64(prefix)
	if n > maxHeaderBytes {
		return 0, fmt.Errorf("the header length field says %d bytes, which is absurd (the limit is %d MiB); this is not a Cartridge, or the file is corrupt",
			n, maxHeaderBytes>>20)
	}
	if int64(n) > fileLen-8 {
		return 0, fmt.Errorf("the header length field says %d bytes but only %d bytes follow it; the file is truncated or is not a Cartridge",
			n, fileLen-8)
	}
	return int64(n), nil
}

// parseHeader parses and checks the JSON header for a data section of dataLen bytes.
func parseHeader(js []byte, dataLen int64) (*header, error) {
	mdRaw, entries, names, err := splitHeader(js)
	if err != nil {
		return nil, err
	}
	md := map[string]string{}
	if mdRaw != nil && !bytes.Equal(bytes.TrimSpace(mdRaw), []byte("null")) {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(mdRaw, &raw); err != nil {
			return nil, fmt.Errorf("the header's %s is not a JSON object: %w", metadataKey, err)
		}
		for k, v := range raw {
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, fmt.Errorf("metadata %q is not a string (safetensors metadata values are strings)", k)
			}
			md[k] = s
		}
	}
	meta, err := parseMetadata(md)
	if err != nil {
		return nil, err
	}
	if err := meta.checkMeta(); err != nil {
		return nil, fmt.Errorf("the metadata is inconsistent: %w", err)
	}
	L := meta.Model.Layers
	h := &header{meta: meta, dataLen: dataLen}
	want := []int64{int64(meta.Model.KVHeads), int64(meta.P), int64(meta.Model.HeadDim)}
	for i, name := range names {
		e := entries[i]
		layer, values, ok := parseTensorName(name)
		if !ok {
			return nil, fmt.Errorf("unexpected tensor %q: a Cartridge holds only layers.{i}.keys and layers.{i}.values", name)
		}
		if layer >= L {
			return nil, fmt.Errorf("extra tensor %q: the metadata says the model has %d layers (0..%d)", name, L, L-1)
		}
		dt := DType(e.DType)
		if dt.Size() == 0 {
			return nil, fmt.Errorf("tensor %q has dtype %q; a Cartridge stores F32, F16 or BF16", name, e.DType)
		}
		if h.dtype == "" {
			h.dtype = dt
		} else if dt != h.dtype {
			return nil, fmt.Errorf("tensor %q is %s but the others are %s; a Cartridge stores every tensor in one dtype", name, dt, h.dtype)
		}
		if len(e.Shape) != 3 || e.Shape[0] != want[0] || e.Shape[1] != want[1] || e.Shape[2] != want[2] {
			return nil, fmt.Errorf("tensor %q has shape %v but the metadata says [n_kv_heads=%d, p=%d, head_dim=%d]",
				name, e.Shape, want[0], want[1], want[2])
		}
		if len(e.DataOffsets) != 2 {
			return nil, fmt.Errorf("tensor %q has %d data_offsets; want [begin, end]", name, len(e.DataOffsets))
		}
		b, en := e.DataOffsets[0], e.DataOffsets[1]
		size, ok := mulDims(want[0], want[1], want[2], int64(dt.Size()))
		switch {
		case b < 0 || en < 0:
			return nil, fmt.Errorf("tensor %q has negative data_offsets [%d, %d]", name, b, en)
		case b > en:
			return nil, fmt.Errorf("tensor %q has data_offsets [%d, %d] out of order (begin after end)", name, b, en)
		case en > dataLen:
			return nil, fmt.Errorf("tensor %q has data_offsets [%d, %d] outside the data, which is %d bytes; the file is truncated or its header lies",
				name, b, en, dataLen)
		case !ok || en-b != size:
			return nil, fmt.Errorf("tensor %q takes %d bytes by its data_offsets [%d, %d], but its shape %v in %s needs %d",
				name, en-b, b, en, e.Shape, dt, size)
		}
		h.spans = append(h.spans, span{name: name, layer: layer, values: values, begin: b, end: en})
	}
	if len(h.spans) < 2*L {
		have := make(map[string]bool, len(names))
		for _, n := range names {
			have[n] = true
		}
		// Some tensor among the first len/2+1 layers is missing; the loop is short.
		for l := 0; l < L; l++ {
			for _, kind := range [2]string{"keys", "values"} {
				if n := tensorName(l, kind); !have[n] {
					return nil, fmt.Errorf("tensor %q is missing: the metadata says the model has %d layers, the file holds %d of its %d tensors",
						n, L, len(h.spans), 2*L)
				}
			}
		}
	}
	sort.Slice(h.spans, func(i, j int) bool { return h.spans[i].begin < h.spans[j].begin })
	var at int64
	for _, s := range h.spans {
		switch {
		case s.begin < at:
			return nil, fmt.Errorf("tensor %q at data_offsets [%d, %d] overlaps the tensor before it, which ends at %d", s.name, s.begin, s.end, at)
		case s.begin > at:
			return nil, fmt.Errorf("the data has a hole of %d bytes at offset %d, before tensor %q; the header does not account for them", s.begin-at, at, s.name)
		}
		at = s.end
	}
	if at < dataLen {
		return nil, fmt.Errorf("the file holds %d bytes after the last tensor that its header does not account for; refusing a file larger than its header says",
			dataLen-at)
	}
	return h, nil
}

// splitHeader parses the top-level JSON object into the raw metadata and the
// tensor entries, in file order, refusing duplicate names.
func splitHeader(js []byte) (mdRaw json.RawMessage, entries []tensorEntry, names []string, err error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	bad := func(err error) error { return fmt.Errorf("the header is not valid JSON: %w", err) }
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, nil, bad(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, nil, fmt.Errorf("the header is not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, nil, bad(err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, nil, nil, fmt.Errorf("the header is not valid JSON: object key %v is not a string", tok)
		}
		if seen[key] {
			return nil, nil, nil, fmt.Errorf("the header names %q twice", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, nil, bad(err)
		}
		if key == metadataKey {
			mdRaw = raw
			continue
		}
		var e tensorEntry
		ed := json.NewDecoder(bytes.NewReader(raw))
		ed.DisallowUnknownFields()
		if err := ed.Decode(&e); err != nil {
			return nil, nil, nil, fmt.Errorf("the header's entry for tensor %q is malformed: %w", key, err)
		}
		entries = append(entries, e)
		names = append(names, key)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, nil, nil, bad(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, nil, fmt.Errorf("the header has something after its JSON object")
	}
	return mdRaw, entries, names, nil
}

// encodeHeader builds the padded JSON header for c stored as dtype; tensors
// lie in the order layer 0 keys, layer 0 values, layer 1 keys, ….
func encodeHeader(md map[string]string, m Meta, dtype DType) ([]byte, error) {
	size := m.layerLen() * int64(dtype.Size())
	shape := []int64{int64(m.Model.KVHeads), int64(m.P), int64(m.Model.HeadDim)}
	top := map[string]any{metadataKey: md}
	var at int64
	for l := 0; l < m.Model.Layers; l++ {
		for _, kind := range [2]string{"keys", "values"} {
			top[tensorName(l, kind)] = tensorEntry{DType: string(dtype), Shape: shape, DataOffsets: []int64{at, at + size}}
			at += size
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "<" and "&" readable in descriptions
	// Map keys come out sorted: the same Cartridge makes the same file.
	if err := enc.Encode(top); err != nil {
		return nil, fmt.Errorf("encoding the header: %w", err)
	}
	js := bytes.TrimRight(buf.Bytes(), "\n")
	if len(js) > maxHeaderBytes {
		return nil, errors.New("the header would exceed the size limit")
	}
	for len(js)%8 != 0 { // keep the data 8-byte aligned, as safetensors writers do
		js = append(js, ' ')
	}
	return js, nil
}
