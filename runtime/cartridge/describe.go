package cartridge

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Description is what is known of a Cartridge file without loading it for
// a model: its format, sizes and metadata, and how it compares with putting
// its corpus in context. `cartlsp inspect --json` prints it.
type Description struct {
	File        string         `json:"file"`
	DType       string         `json:"dtype"`
	FileBytes   int64          `json:"file_bytes"`
	HeaderBytes int64          `json:"header_bytes"`
	DataBytes   int64          `json:"data_bytes"`
	Verified    bool           `json:"verified"` // every value was read and found finite
	Meta        Meta           `json:"meta"`
	ICL         *ICLComparison `json:"icl,omitempty"` // absent when the corpus size is unknown
}

// ICLComparison sets a Cartridge against the KV cache of its whole corpus.
type ICLComparison struct {
	Tokens         int     `json:"tokens"`
	BytesF16       int64   `json:"bytes_f16"`           // the corpus as an F16 KV cache
	CartridgeF16   int64   `json:"cartridge_bytes_f16"` // this Cartridge at F16
	TimesCartridge float64 `json:"times_cartridge"`
}

// Describe reads the header of the Cartridge at path and, with verify,
// every value too (an error names the first one that is not finite).
func Describe(path string, verify bool) (*Description, error) {
	info, err := Stat(path)
	if err != nil {
		return nil, err
	}
	if verify {
		if _, err := Read(path); err != nil {
			return nil, err
		}
	}
	r := &Description{
		File: path, DType: string(info.DType), FileBytes: info.FileBytes, HeaderBytes: info.HeaderBytes,
		DataBytes: info.DataBytes, Verified: verify, Meta: info.Meta,
	}
	if m := info.Meta; m.Corpus.Tokens > 0 {
		c := &Cartridge{Meta: m}
		r.ICL = &ICLComparison{
			Tokens:       m.Corpus.Tokens,
			BytesF16:     ICLBytes(m.Model, m.Corpus.Tokens, F16.Size()),
			CartridgeF16: c.Bytes(F16),
		}
		r.ICL.TimesCartridge = float64(r.ICL.BytesF16) / float64(r.ICL.CartridgeF16)
	}
	return r, nil
}

// WriteText describes the Cartridge for people, one labelled line per
// aspect (what `cartlsp inspect` prints).
func (r *Description) WriteText(w io.Writer) {
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
		FormatSize(r.FileBytes), FormatSize(r.HeaderBytes), FormatSize(r.DataBytes), check)

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
	add(re.Conversations > 0, "%s", countOf(re.Conversations, "conversation"))
	add(re.Steps > 0, "%s", countOf(re.Steps, "step"))
	add(re.Epochs > 0, "%s", countOf(re.Epochs, "epoch"))
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
			r.ICL.Tokens, formatMiB(r.ICL.BytesF16), r.ICL.TimesCartridge)
	} else {
		line("memory:", "the corpus size is unknown, so there is no ICL comparison")
	}
}

// FormatSize formats a byte count for people: "512 B", "1.5 KiB", "2.3 MiB".
func FormatSize(n int64) string {
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

// countOf is "1 epoch", "2 epochs".
func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// formatMiB formats a byte count in MiB.
func formatMiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
