package trainer

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"

	"github.com/cartlsp/cartlsp/atomicfile"
	"github.com/cartlsp/cartlsp/runtime/student"
)

// A training checkpoint: everything needed to continue a run exactly — the
// Cartridge being trained, Adam's moments, the step reached and the loss
// history. One file, replaced with atomicfile.Write, so a crash leaves
// either the old checkpoint or the new one.
//
//	"CARTCK\x00\x01", u32 n, n bytes of JSON (checkpointHeader),
//	then float32 little-endian tensors: per layer K, V; then, when Adam has
//	stepped, per layer its MK, VK, MV, VV; then u32 CRC-32C of all before it.

const checkpointMagic = "CARTCK\x00\x01"

type checkpoint struct {
	ID      string
	Step    int
	Seconds float64
	Losses  []LossPoint
	Prefix  *student.Prefix
	Adam    student.AdamState
}

type checkpointHeader struct {
	ID      string     `json:"id"`
	Step    int        `json:"step"`
	Seconds float64    `json:"seconds"`
	Losses  []lossJSON `json:"losses"`
	P       int        `json:"p"`
	Frozen  int        `json:"frozen"`
	KVHeads int        `json:"kv_heads"`
	HeadDim int        `json:"head_dim"`
	Layers  int        `json:"layers"`
	AdamT   int        `json:"adam_t"`
	// Adam's per-layer step scales (student.Adam.Relative); absent in
	// checkpoints of absolute-rate runs made before they existed.
	ScaleK []float64 `json:"scale_k,omitempty"`
	ScaleV []float64 `json:"scale_v,omitempty"`
}

// lossJSON is a LossPoint with NaN written as null.
type lossJSON struct {
	Step     int      `json:"step"`
	Epoch    float64  `json:"epoch"`
	Loss     *float64 `json:"loss"`
	EvalLoss *float64 `json:"eval_loss"`
	LR       float64  `json:"lr"`
	Tokens   int      `json:"tokens"`
	Seconds  float64  `json:"seconds"`
}

func ptrNaN(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

func fromPtr(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func writeCheckpoint(path string, ck *checkpoint) error {
	pre := ck.Prefix
	h := checkpointHeader{ID: ck.ID, Step: ck.Step, Seconds: ck.Seconds, P: pre.P, Frozen: pre.Frozen,
		KVHeads: pre.KVHeads, HeadDim: pre.HeadDim, Layers: len(pre.K), AdamT: ck.Adam.T, ScaleK: ck.Adam.SK, ScaleV: ck.Adam.SV}
	for _, l := range ck.Losses {
		h.Losses = append(h.Losses, lossJSON{l.Step, l.Epoch, ptrNaN(l.Loss), ptrNaN(l.EvalLoss), l.LR, l.Tokens, l.Seconds})
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return err
	}
	err = atomicfile.Write(path, 0o600, func(out io.Writer) error {
		crc := newCRCWriter(out)
		w := bufio.NewWriterSize(crc, 1<<20)
		w.WriteString(checkpointMagic)
		binary.Write(w, binary.LittleEndian, uint32(len(hj)))
		w.Write(hj)
		put := func(x [][]float32) {
			for _, l := range x {
				binary.Write(w, binary.LittleEndian, l)
			}
		}
		for l := range pre.K {
			put([][]float32{pre.K[l], pre.V[l]})
		}
		if ck.Adam.T > 0 {
			for l := range pre.K {
				put([][]float32{ck.Adam.MK[l], ck.Adam.VK[l], ck.Adam.MV[l], ck.Adam.VV[l]})
			}
		}
		if err := w.Flush(); err != nil { // a write error sticks in w and comes back here
			return err
		}
		return binary.Write(out, binary.LittleEndian, crc.sum)
	})
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

func readCheckpoint(path string) (*checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	bad := func(what string) error {
		return fmt.Errorf("checkpoint %s is damaged (%s); delete it to start over", path, what)
	}
	if len(b) < len(checkpointMagic)+8 || string(b[:len(checkpointMagic)]) != checkpointMagic {
		return nil, bad("not a checkpoint")
	}
	body, tail := b[:len(b)-4], b[len(b)-4:]
	c := newCRCWriter(io.Discard)
	c.Write(body)
	if c.sum != binary.LittleEndian.Uint32(tail) {
		return nil, bad("checksum mismatch")
	}
	r := body[len(checkpointMagic):]
	n := int(binary.LittleEndian.Uint32(r))
	r = r[4:]
	if n > len(r) {
		return nil, bad("header length")
	}
	var h checkpointHeader
	if err := json.Unmarshal(r[:n], &h); err != nil {
		return nil, bad(err.Error())
	}
	r = r[n:]
	if h.Layers < 1 || h.P < 1 || h.KVHeads < 1 || h.HeadDim < 1 || h.Frozen < 0 || h.Frozen > h.P || h.AdamT < 0 {
		return nil, bad("shape")
	}
	per := h.KVHeads * h.P * h.HeadDim
	want := 2 * h.Layers * per
	if h.AdamT > 0 {
		want += 4 * h.Layers * per
	}
	if len(r) != 4*want {
		return nil, bad("size")
	}
	take := func() []float32 {
		x := make([]float32, per)
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(r[4*i:]))
		}
		r = r[4*per:]
		return x
	}
	pre := &student.Prefix{P: h.P, Frozen: h.Frozen, KVHeads: h.KVHeads, HeadDim: h.HeadDim,
		K: make([][]float32, h.Layers), V: make([][]float32, h.Layers)}
	for l := 0; l < h.Layers; l++ {
		pre.K[l], pre.V[l] = take(), take()
	}
	ad := student.AdamState{T: h.AdamT, SK: h.ScaleK, SV: h.ScaleV}
	if h.AdamT > 0 {
		ad.MK, ad.VK, ad.MV, ad.VV = make([][]float32, h.Layers), make([][]float32, h.Layers), make([][]float32, h.Layers), make([][]float32, h.Layers)
		for l := 0; l < h.Layers; l++ {
			ad.MK[l], ad.VK[l], ad.MV[l], ad.VV[l] = take(), take(), take(), take()
		}
	}
	ck := &checkpoint{ID: h.ID, Step: h.Step, Seconds: h.Seconds, Prefix: pre, Adam: ad}
	for _, l := range h.Losses {
		ck.Losses = append(ck.Losses, LossPoint{Step: l.Step, Epoch: l.Epoch, Loss: fromPtr(l.Loss), EvalLoss: fromPtr(l.EvalLoss), LR: l.LR, Tokens: l.Tokens, Seconds: l.Seconds})
	}
	return ck, nil
}

// crcWriter passes writes through and keeps their CRC-32C.
type crcWriter struct {
	w   io.Writer
	sum uint32
}

func newCRCWriter(w io.Writer) *crcWriter { return &crcWriter{w: w} }

func (c *crcWriter) Write(p []byte) (int, error) {
	c.sum = crc32.Update(c.sum, crcTable, p)
	return c.w.Write(p)
}
