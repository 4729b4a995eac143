package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/cartlsp/cartlsp/trainer"
)

// inspectDataset describes a synthesized dataset: its settings, sizes, and
// the first conversations (show of them).
func inspectDataset(w io.Writer, path string, show int, asJSON bool) error {
	h, convs, err := trainer.ReadDataset(path, math.MaxInt32)
	if err != nil {
		return err
	}
	sort.Slice(convs, func(i, j int) bool { return convs[i].Index < convs[j].Index })
	var toks, targets, user, answer int
	bySeed := map[trainer.SeedType]int{}
	for _, c := range convs {
		toks += len(c.Tokens)
		targets += len(c.Targets)
		user += c.AnsStart - c.UserStart
		answer += c.AnsEnd - c.AnsStart
		bySeed[c.Seed]++
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"file": path, "header": h, "conversations": len(convs), "tokens": toks,
			"targets": targets, "by_seed_type": bySeed})
	}
	n := max(len(convs), 1)
	fmt.Fprintf(w, "dataset:        %s (format %d)\n", path, h.Version)
	fmt.Fprintf(w, "model:          %s\ncorpus:         %s\n", h.Model, h.Corpus)
	s := h.Synth
	fmt.Fprintf(w, "synthesis:      chunks %d–%d tokens, user ≤ %d, answer ≤ %d tokens, user temperature %g, top-%d targets, seed %d\n",
		s.ChunkMin, s.ChunkMax, s.MaxUser, s.MaxAnswer, s.UserTemp, s.TopK, s.Seed)
	fmt.Fprintf(w, "conversations:  %d (%d tokens, %.0f per conversation: user %.0f, answer %.0f; %d targets)\n",
		len(convs), toks, float64(toks)/float64(n), float64(user)/float64(n), float64(answer)/float64(n), targets)
	var parts []string
	for _, t := range trainer.SeedTypes {
		parts = append(parts, fmt.Sprintf("%s %d", t, bySeed[t]))
	}
	fmt.Fprintf(w, "seed types:     %s\n", strings.Join(parts, ", "))
	for i, c := range convs {
		if i >= show {
			break
		}
		fmt.Fprintf(w, "\n#%d (%s/%d, chunk at token %d, %d tokens)\nuser:   %s\nanswer: %s\n", c.Index, c.Seed, c.Variant,
			c.ChunkStart, c.ChunkTokens, c.User, strings.ReplaceAll(strings.TrimSpace(c.Answer), "\n", "\n        "))
	}
	return nil
}
