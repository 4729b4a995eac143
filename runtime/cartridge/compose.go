package cartridge

import (
	"fmt"
	"strings"
	"time"
)

// ComposeOptions changes how Compose joins Cartridges.
type ComposeOptions struct {
	// Rerotate re-rotates each later part's keys by its offset in the
	// composed Cartridge, so that a key trained at position t of its own
	// Cartridge looks as if it had been cached at its new position.
	//
	// The default is plain concatenation (false), as docs/ARCHITECTURE.md ("Self-study") and the
	// Cartridges paper compose: a Cartridge's keys are free parameters that
	// were only initialised from post-RoPE keys at 0..p−1, and the paper
	// composes them unchanged. Whether re-rotation helps is for an evaluation
	// to show; this switch lets it compare the two.
	Rerotate bool
}

// Compose concatenates Cartridges along the token axis (plain concatenation;
// see ComposeOptions). All parts must be for the same model. The result keeps
// the first part's frozen sink tokens and drops the first Frozen tokens of
// every later part: P = parts[0].P + Σ_{j>0} (parts[j].P − parts[j].Frozen).
func Compose(parts ...*Cartridge) (*Cartridge, error) {
	return ComposeWith(ComposeOptions{}, parts...)
}

// ComposeWith is Compose with options.
func ComposeWith(opts ComposeOptions, parts ...*Cartridge) (*Cartridge, error) {
	c, err := compose(opts, parts)
	if err != nil {
		return nil, fmt.Errorf("cartridge: compose: %w", err)
	}
	return c, nil
}

func compose(opts ComposeOptions, parts []*Cartridge) (*Cartridge, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("nothing to compose")
	}
	for j, p := range parts {
		if err := p.checkShape(); err != nil {
			return nil, fmt.Errorf("part %d: %w", j+1, err)
		}
	}
	first := parts[0].Meta
	m0 := first.Model
	// start[j] is where part j's kept tokens begin in the result; skip[j] how
	// many of its leading tokens are dropped.
	start := make([]int, len(parts))
	skip := make([]int, len(parts))
	P := 0
	for j, p := range parts {
		m := p.Meta.Model
		if m.Fingerprint != m0.Fingerprint {
			return nil, fmt.Errorf("part %d was trained for %s but part 1 for %s; Cartridges compose only for the same model",
				j+1, describeModel(m), describeModel(m0))
		}
		if m.Layers != m0.Layers || m.KVHeads != m0.KVHeads || m.HeadDim != m0.HeadDim ||
			m.RopeLayout != m0.RopeLayout || m.RopeBase != m0.RopeBase || m.RopeDims != m0.RopeDims {
			return nil, fmt.Errorf("part %d has %d layers × %d KV heads × head dim %d (RoPE %q, base %g) but part 1 has %d × %d × %d (RoPE %q, base %g), for the same model fingerprint; one of them is corrupt",
				j+1, m.Layers, m.KVHeads, m.HeadDim, m.RopeLayout, m.RopeBase, m0.Layers, m0.KVHeads, m0.HeadDim, m0.RopeLayout, m0.RopeBase)
		}
		if j > 0 {
			skip[j] = p.Meta.Frozen
		}
		start[j] = P
		P += p.Meta.P - skip[j]
	}

	// Re-rotation: part j's token t (t ≥ skip[j]) lands at start[j] + t − skip[j].
	rot := make([]*rotation, len(parts))
	if opts.Rerotate {
		for j := 1; j < len(parts); j++ {
			r, err := newRotation(m0, start[j]-skip[j])
			if err != nil {
				return nil, err
			}
			rot[j] = r
		}
	}

	L, H, D := m0.Layers, m0.KVHeads, m0.HeadDim
	out := &Cartridge{Meta: composeMeta(parts, P, opts), Keys: make([][]float32, L), Values: make([][]float32, L)}
	for l := 0; l < L; l++ {
		k := make([]float32, H*P*D) // [kvHeads, P, headDim]
		v := make([]float32, H*P*D)
		for j, part := range parts {
			pj := part.Meta.P
			n := (pj - skip[j]) * D // kept floats per head
			for h := 0; h < H; h++ {
				src := (h*pj + skip[j]) * D
				dst := (h*P + start[j]) * D
				copy(k[dst:dst+n], part.Keys[l][src:src+n])
				copy(v[dst:dst+n], part.Values[l][src:src+n])
				if rot[j] != nil {
					for at := dst; at < dst+n; at += D {
						rot[j].apply(k[at : at+D])
					}
				}
			}
		}
		out.Keys[l], out.Values[l] = k, v
	}
	return out, nil
}

// composeMeta describes the composition of parts: the first part's model and
// sink, the corpora summed, the sources listed; metrics do not carry over.
func composeMeta(parts []*Cartridge, P int, opts ComposeOptions) Meta {
	first := parts[0].Meta
	m := Meta{
		FormatVersion: FormatVersion,
		Model:         first.Model,
		P:             P,
		Frozen:        first.Frozen,
		Recipe:        Recipe{Method: "compose"},
		Created:       time.Now().UTC(),
	}
	if opts.Rerotate {
		m.Recipe.Method = "compose+rerotate"
	}
	kind := first.Corpus.Kind
	seeds := map[string]bool{}
	for _, p := range parts {
		pm := p.Meta
		m.Parts = append(m.Parts, partNames(pm)...)
		m.Corpus.Tokens += pm.Corpus.Tokens
		m.Corpus.Files += pm.Corpus.Files
		if pm.Corpus.Kind != kind {
			kind = ""
		}
		m.Recipe.Conversations += pm.Recipe.Conversations
		m.Recipe.Steps += pm.Recipe.Steps
		m.Recipe.TrainSeconds += pm.Recipe.TrainSeconds
		for _, s := range pm.Recipe.SeedTypes {
			if !seeds[s] {
				seeds[s] = true
				m.Recipe.SeedTypes = append(m.Recipe.SeedTypes, s)
			}
		}
	}
	m.Corpus.Kind = kind
	m.Corpus.Source = strings.Join(m.Parts, " + ")
	m.Corpus.Description = fmt.Sprintf("composition of %d Cartridges", len(parts))
	return m
}

// partNames names the source(s) of one part: a composed part lists its own
// parts; otherwise the corpus source, with the commit for a git corpus.
func partNames(m Meta) []string {
	if len(m.Parts) > 0 {
		return m.Parts
	}
	s := m.Corpus.Source
	if s == "" {
		s = fmt.Sprintf("unnamed Cartridge (p=%d)", m.P)
	}
	if m.Corpus.Commit != "" && !strings.Contains(s, "@") {
		c := m.Corpus.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		s += "@" + c
	}
	return []string{s}
}
