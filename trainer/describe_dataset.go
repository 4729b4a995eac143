package trainer

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// DatasetDescription summarises a synthesized dataset: its header (the
// settings it was made with), sizes, and its conversations in order.
// `cartlsp inspect --json DATASET` prints it.
type DatasetDescription struct {
	File          string           `json:"file"`
	Header        DatasetHeader    `json:"header"`
	Conversations int              `json:"conversations"`
	Tokens        int              `json:"tokens"`
	Targets       int              `json:"targets"`
	BySeedType    map[SeedType]int `json:"by_seed_type"`

	convs        []*Conversation
	user, answer int // tokens of user messages and of answers
}

// DescribeDataset reads the whole dataset at path.
func DescribeDataset(path string) (*DatasetDescription, error) {
	h, convs, err := ReadDataset(path, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	sort.Slice(convs, func(i, j int) bool { return convs[i].Index < convs[j].Index })
	d := &DatasetDescription{File: path, Header: h, Conversations: len(convs), BySeedType: map[SeedType]int{}, convs: convs}
	for _, c := range convs {
		d.Tokens += len(c.Tokens)
		d.Targets += len(c.Targets)
		d.user += c.AnsStart - c.UserStart
		d.answer += c.AnsEnd - c.AnsStart
		d.BySeedType[c.Seed]++
	}
	return d, nil
}

// WriteText describes the dataset for people, with its first show
// conversations.
func (d *DatasetDescription) WriteText(w io.Writer, show int) {
	h := d.Header
	n := float64(max(d.Conversations, 1))
	fmt.Fprintf(w, "dataset:        %s (format %d)\n", d.File, h.Version)
	fmt.Fprintf(w, "model:          %s\ncorpus:         %s\n", h.Model, h.Corpus)
	s := h.Synth
	fmt.Fprintf(w, "synthesis:      chunks %d–%d tokens, user ≤ %d, answer ≤ %d tokens, user temperature %g, top-%d targets, seed %d\n",
		s.ChunkMin, s.ChunkMax, s.MaxUser, s.MaxAnswer, s.UserTemp, s.TopK, s.Seed)
	fmt.Fprintf(w, "conversations:  %d (%d tokens, %.0f per conversation: user %.0f, answer %.0f; %d targets)\n",
		d.Conversations, d.Tokens, float64(d.Tokens)/n, float64(d.user)/n, float64(d.answer)/n, d.Targets)
	var parts []string
	for _, t := range SeedTypes {
		parts = append(parts, fmt.Sprintf("%s %d", t, d.BySeedType[t]))
	}
	fmt.Fprintf(w, "seed types:     %s\n", strings.Join(parts, ", "))
	for _, c := range d.convs[:min(max(show, 0), len(d.convs))] {
		fmt.Fprintf(w, "\n#%d (%s/%d, chunk at token %d, %d tokens)\nuser:   %s\nanswer: %s\n", c.Index, c.Seed, c.Variant,
			c.ChunkStart, c.ChunkTokens, c.User, strings.ReplaceAll(strings.TrimSpace(c.Answer), "\n", "\n        "))
	}
}
