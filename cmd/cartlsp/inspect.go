package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/trainer"
)

// inspectReport is what `cartlsp inspect --json` prints.
type inspectReport struct {
	File        string         `json:"file"`
	DType       string         `json:"dtype"`
	FileBytes   int64          `json:"file_bytes"`
	HeaderBytes int64          `json:"header_bytes"`
	DataBytes   int64          `json:"data_bytes"`
	Verified    bool           `json:"verified"` // every value was read and found finite
	Meta        cartridge.Meta `json:"meta"`
	ICL         *iclComparison `json:"icl,omitempty"` // absent when the corpus size is unknown
}

// iclComparison sets a Cartridge against the KV cache of its whole corpus.
type iclComparison struct {
	Tokens         int     `json:"tokens"`
	BytesF16       int64   `json:"bytes_f16"`           // the corpus as an F16 KV cache
	CartridgeF16   int64   `json:"cartridge_bytes_f16"` // this Cartridge at F16
	TimesCartridge float64 `json:"times_cartridge"`
}

func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", "inspect FILE.cart|dataset.bin [--json] [--verify] [--show N]", stderr)
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	verify := fs.Bool("verify", false, "read every value too (slower), not just the header")
	show := fs.Int("show", 3, "for a dataset: how many conversations to print")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errUsage
	}
	if trainer.IsDataset(pos[0]) {
		return inspectDataset(stdout, pos[0], *show, *asJSON)
	}
	info, err := cartridge.Stat(pos[0])
	if err != nil {
		return err
	}
	if *verify {
		if _, err := cartridge.Read(pos[0]); err != nil {
			return err
		}
	}
	r := inspectReport{
		File: pos[0], DType: string(info.DType), FileBytes: info.FileBytes, HeaderBytes: info.HeaderBytes,
		DataBytes: info.DataBytes, Verified: *verify, Meta: info.Meta,
	}
	m := info.Meta
	if m.Corpus.Tokens > 0 {
		c := &cartridge.Cartridge{Meta: m}
		r.ICL = &iclComparison{
			Tokens:       m.Corpus.Tokens,
			BytesF16:     cartridge.ICLBytes(m.Model, m.Corpus.Tokens, cartridge.F16.Size()),
			CartridgeF16: c.Bytes(cartridge.F16),
		}
		r.ICL.TimesCartridge = float64(r.ICL.BytesF16) / float64(r.ICL.CartridgeF16)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	printInspect(stdout, r)
	return nil
}

func printInspect(w io.Writer, r inspectReport) {
	m := r.Meta
	line := func(label, format string, a ...any) {
		fmt.Fprintf(w, "%-13s%s\n", label, fmt.Sprintf(format, a...))
	}
	more := func(format string, a ...any) { line("", format, a...) }

	line("file:", "%s", r.File)
	check := "header checked"
	if r.Verified {
		check = "header and every value checked"
	}
	line("format:", "version %d, %s, %s (header %s, tensors %s); %s", m.FormatVersion, r.DType,
		cartSize(r.FileBytes), cartSize(r.HeaderBytes), cartSize(r.DataBytes), check)

	mi := m.Model
	arch := mi.Arch
	if arch == "" {
		arch = "unknown architecture"
	}
	desc := fmt.Sprintf("%s, %d layers", arch, mi.Layers)
	if mi.Dim > 0 {
		desc += fmt.Sprintf(", hidden %d", mi.Dim)
	}
	desc += fmt.Sprintf(", %d KV heads × head dim %d", mi.KVHeads, mi.HeadDim)
	if mi.RopeLayout != "" {
		desc += fmt.Sprintf(", RoPE %s (base %g", mi.RopeLayout, mi.RopeBase)
		if mi.RopeDims > 0 && mi.RopeDims != mi.HeadDim {
			desc += fmt.Sprintf(", %d dims", mi.RopeDims)
		}
		desc += ")"
	}
	line("model:", "%s", desc)
	line("fingerprint:", "%s", mi.Fingerprint)
	line("tokens:", "p = %d virtual tokens, %d frozen (the attention sink)", m.P, m.Frozen)

	co := m.Corpus
	src := strings.TrimSpace(co.Kind + " " + co.Source)
	if src == "" {
		src = "unknown"
	}
	if co.Commit != "" {
		src += ", commit " + co.Commit
	}
	if co.Tree != "" {
		src += ", tree " + co.Tree
	}
	line("corpus:", "%s", src)
	if co.Tokens > 0 || co.Files > 0 {
		more("%d tokens in %d files", co.Tokens, co.Files)
	}
	if co.Description != "" {
		more("%s", co.Description)
	}

	re := m.Recipe
	method := re.Method
	if method == "" {
		method = "unknown method"
	}
	var parts []string
	add := func(ok bool, format string, a ...any) {
		if ok {
			parts = append(parts, fmt.Sprintf(format, a...))
		}
	}
	add(re.Conversations > 0, "%s", cartCount(re.Conversations, "conversation"))
	add(re.Steps > 0, "%s", cartCount(re.Steps, "step"))
	add(re.Epochs > 0, "%s", cartCount(re.Epochs, "epoch"))
	add(re.LR > 0, "lr %g", re.LR)
	add(re.Init != "", "init %s", re.Init)
	add(re.Seed != 0, "seed %d", re.Seed)
	add(re.Budget != "", "budget %s", re.Budget)
	add(re.TrainSeconds > 0, "trained in %s", time.Duration(re.TrainSeconds*float64(time.Second)).Round(time.Second/10))
	if len(parts) > 0 {
		method += ": " + strings.Join(parts, ", ")
	}
	line("recipe:", "%s", method)
	if len(re.SeedTypes) > 0 {
		more("seed types: %s", strings.Join(re.SeedTypes, ", "))
	}

	if len(m.Metrics) == 0 {
		line("metrics:", "none")
	} else {
		names := make([]string, 0, len(m.Metrics))
		for k := range m.Metrics {
			names = append(names, k)
		}
		sort.Strings(names)
		for i, k := range names {
			label := ""
			if i == 0 {
				label = "metrics:"
			}
			line(label, "%-16s %.4g", k, m.Metrics[k])
		}
	}
	if len(m.Parts) > 0 {
		line("parts:", "%s", strings.Join(m.Parts, " + "))
	}
	if !m.Created.IsZero() {
		line("created:", "%s", m.Created.Format(time.RFC3339))
	}
	if r.ICL != nil {
		line("memory:", "as an ICL KV cache the same %d-token corpus would take %s (%.1f× this Cartridge; both at F16)",
			r.ICL.Tokens, cartMiB(r.ICL.BytesF16), r.ICL.TimesCartridge)
	} else {
		line("memory:", "the corpus size is unknown, so there is no ICL comparison")
	}
}

// cartSize formats a byte count for people.
func cartSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}

// cartCount is "1 epoch", "2 epochs".
func cartCount(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// cartMiB formats a byte count in MiB.
func cartMiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// parseInterleaved parses flags that may come before, between or after the
// positional arguments (`inspect a.cart --json`), which flag.Parse alone does
// not allow; everything after "--" is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
