package cartridge

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Meta describes a Cartridge: the model it was trained for, its size, the
// corpus it learned, how it was trained and how well it did.
type Meta struct {
	FormatVersion int                `json:"format_version"`
	Model         ModelInfo          `json:"model"`
	P             int                `json:"p"`      // virtual tokens
	Frozen        int                `json:"frozen"` // leading tokens not trained (the attention sink), usually 1
	Corpus        CorpusInfo         `json:"corpus"`
	Recipe        Recipe             `json:"recipe"`
	Metrics       map[string]float64 `json:"metrics,omitempty"` // evaluation figures, e.g. "nll_cartridge", "nll_icl", "mc_acc"
	Parts         []string           `json:"parts,omitempty"`   // for composed Cartridges: the sources, in order
	Created       time.Time          `json:"created"`
}

// ModelInfo identifies the model a Cartridge belongs to and the numbers its
// shape rests on.
type ModelInfo struct {
	Fingerprint string  `json:"fingerprint"` // "sha256:…" over the model's architecture and tensor data
	Arch        string  `json:"arch"`        // "llama", "qwen2", …
	Layers      int     `json:"layers"`
	KVHeads     int     `json:"kv_heads"`
	HeadDim     int     `json:"head_dim"`
	Dim         int     `json:"dim"`         // hidden size
	RopeLayout  string  `json:"rope_layout"` // "adjacent" (pairs 2i, 2i+1) or "half" (pairs i, i+d/2)
	RopeBase    float64 `json:"rope_base"`
	RopeDims    int     `json:"rope_dims,omitempty"` // rotated dims per head; 0 means HeadDim
}

// CorpusInfo says what a Cartridge learned.
type CorpusInfo struct {
	Kind        string `json:"kind"`   // "git", "dir", "module", "text"
	Source      string `json:"source"` // repository URL or path, or module@version
	Commit      string `json:"commit,omitempty"`
	Tree        string `json:"tree,omitempty"`
	Tokens      int    `json:"tokens"` // corpus length in the model's tokens
	Files       int    `json:"files"`
	Description string `json:"description,omitempty"`
}

// Recipe says how a Cartridge was trained.
type Recipe struct {
	Method        string   `json:"method"` // "self-study", "ntp", "compose", …
	SeedTypes     []string `json:"seed_types,omitempty"`
	Conversations int      `json:"conversations"`
	Steps         int      `json:"steps"`
	Epochs        int      `json:"epochs"`
	LR            float64  `json:"lr"`
	Init          string   `json:"init"` // "first-tokens", "random-tokens", "random-vectors"
	Seed          uint64   `json:"seed"`
	Budget        string   `json:"budget,omitempty"`
	// Beside names the Cartridges this one was trained behind (their
	// corpora's sources, in order): it answers best composed after them.
	Beside []string `json:"beside,omitempty"`
	// Replayed is how many of those Cartridges' own conversations were
	// mixed into its training (train --replay).
	Replayed     int     `json:"replayed,omitempty"`
	TrainSeconds float64 `json:"train_seconds"`
}

// RoPE layouts a Cartridge may record.
const (
	RopeAdjacent = "adjacent"
	RopeHalf     = "half"
)

// Metadata keys. Every value is a string (safetensors requires it): numbers
// in decimal, slices and maps as JSON, times as RFC 3339.
const (
	keyFormatVersion = "cartlsp.format_version"

	keyModelFingerprint = "cartlsp.model.fingerprint"
	keyModelArch        = "cartlsp.model.arch"
	keyModelLayers      = "cartlsp.model.layers"
	keyModelKVHeads     = "cartlsp.model.kv_heads"
	keyModelHeadDim     = "cartlsp.model.head_dim"
	keyModelDim         = "cartlsp.model.dim"
	keyModelRopeLayout  = "cartlsp.model.rope_layout"
	keyModelRopeBase    = "cartlsp.model.rope_base"
	keyModelRopeDims    = "cartlsp.model.rope_dims"

	keyP      = "cartlsp.p"
	keyFrozen = "cartlsp.frozen"

	keyCorpusKind        = "cartlsp.corpus.kind"
	keyCorpusSource      = "cartlsp.corpus.source"
	keyCorpusCommit      = "cartlsp.corpus.commit"
	keyCorpusTree        = "cartlsp.corpus.tree"
	keyCorpusTokens      = "cartlsp.corpus.tokens"
	keyCorpusFiles       = "cartlsp.corpus.files"
	keyCorpusDescription = "cartlsp.corpus.description"

	keyRecipeMethod        = "cartlsp.recipe.method"
	keyRecipeSeedTypes     = "cartlsp.recipe.seed_types"
	keyRecipeConversations = "cartlsp.recipe.conversations"
	keyRecipeSteps         = "cartlsp.recipe.steps"
	keyRecipeEpochs        = "cartlsp.recipe.epochs"
	keyRecipeLR            = "cartlsp.recipe.lr"
	keyRecipeInit          = "cartlsp.recipe.init"
	keyRecipeSeed          = "cartlsp.recipe.seed"
	keyRecipeBudget        = "cartlsp.recipe.budget"
	keyRecipeBeside        = "cartlsp.recipe.beside"
	keyRecipeReplayed      = "cartlsp.recipe.replayed"
	keyRecipeTrainSeconds  = "cartlsp.recipe.train_seconds"

	keyMetrics = "cartlsp.metrics"
	keyParts   = "cartlsp.parts"
	keyCreated = "cartlsp.created"
)

// metadata renders m as safetensors metadata (the current format version,
// whatever m.FormatVersion says). Empty optional fields are left out.
func (m Meta) metadata() (map[string]string, error) {
	if err := m.checkMeta(); err != nil {
		return nil, err
	}
	if m.Model.Fingerprint == "" {
		return nil, fmt.Errorf("the model fingerprint is empty; a Cartridge must name the model it was trained for")
	}
	if err := checkRopeLayout(m.Model.RopeLayout); err != nil {
		return nil, err
	}
	md := map[string]string{
		keyFormatVersion:    strconv.Itoa(FormatVersion),
		keyModelFingerprint: m.Model.Fingerprint,
		keyModelLayers:      strconv.Itoa(m.Model.Layers),
		keyModelKVHeads:     strconv.Itoa(m.Model.KVHeads),
		keyModelHeadDim:     strconv.Itoa(m.Model.HeadDim),
		keyP:                strconv.Itoa(m.P),
		keyFrozen:           strconv.Itoa(m.Frozen),
	}
	str := func(k, v string) {
		if v != "" {
			md[k] = v
		}
	}
	num := func(k string, v int) {
		if v != 0 {
			md[k] = strconv.Itoa(v)
		}
	}
	var err error
	flt := func(k string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			err = fmt.Errorf("%s is %v; metadata numbers must be finite", k, v)
		}
		if v != 0 {
			md[k] = strconv.FormatFloat(v, 'g', -1, 64)
		}
	}
	js := func(k string, v any) {
		b, e := json.Marshal(v)
		if e != nil {
			err = fmt.Errorf("encoding %s: %w", k, e)
			return
		}
		md[k] = string(b)
	}
	str(keyModelArch, m.Model.Arch)
	num(keyModelDim, m.Model.Dim)
	str(keyModelRopeLayout, m.Model.RopeLayout)
	flt(keyModelRopeBase, m.Model.RopeBase)
	num(keyModelRopeDims, m.Model.RopeDims)

	str(keyCorpusKind, m.Corpus.Kind)
	str(keyCorpusSource, m.Corpus.Source)
	str(keyCorpusCommit, m.Corpus.Commit)
	str(keyCorpusTree, m.Corpus.Tree)
	num(keyCorpusTokens, m.Corpus.Tokens)
	num(keyCorpusFiles, m.Corpus.Files)
	str(keyCorpusDescription, m.Corpus.Description)

	str(keyRecipeMethod, m.Recipe.Method)
	if len(m.Recipe.SeedTypes) > 0 {
		js(keyRecipeSeedTypes, m.Recipe.SeedTypes)
	}
	num(keyRecipeConversations, m.Recipe.Conversations)
	num(keyRecipeSteps, m.Recipe.Steps)
	num(keyRecipeEpochs, m.Recipe.Epochs)
	flt(keyRecipeLR, m.Recipe.LR)
	str(keyRecipeInit, m.Recipe.Init)
	if m.Recipe.Seed != 0 {
		md[keyRecipeSeed] = strconv.FormatUint(m.Recipe.Seed, 10)
	}
	str(keyRecipeBudget, m.Recipe.Budget)
	if len(m.Recipe.Beside) > 0 {
		js(keyRecipeBeside, m.Recipe.Beside)
	}
	if m.Recipe.Replayed > 0 {
		md[keyRecipeReplayed] = strconv.Itoa(m.Recipe.Replayed)
	}
	flt(keyRecipeTrainSeconds, m.Recipe.TrainSeconds)

	if len(m.Metrics) > 0 {
		for k, v := range m.Metrics {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("metric %q is %v; metadata numbers must be finite", k, v)
			}
		}
		js(keyMetrics, m.Metrics)
	}
	if len(m.Parts) > 0 {
		js(keyParts, m.Parts)
	}
	if !m.Created.IsZero() {
		md[keyCreated] = m.Created.Format(time.RFC3339Nano)
	}
	if err != nil {
		return nil, err
	}
	return md, nil
}

// parseMetadata reads a Meta back from safetensors metadata. Keys it does not
// know (another tool's, say) are ignored; a format version it does not know
// is refused before anything else is looked at.
func parseMetadata(md map[string]string) (Meta, error) {
	var m Meta
	v, ok := md[keyFormatVersion]
	if !ok {
		return m, fmt.Errorf("not a cartlsp Cartridge: the safetensors metadata has no %s", keyFormatVersion)
	}
	ver, err := strconv.Atoi(v)
	switch {
	case err != nil || ver < 1:
		return m, fmt.Errorf("unknown Cartridge format version %q", v)
	case ver > FormatVersion:
		return m, fmt.Errorf("this Cartridge was made by a newer cartlsp (format version %d; this cartlsp reads up to version %d); upgrade cartlsp to use it",
			ver, FormatVersion)
	}
	m.FormatVersion = ver

	p := metaParser{md: md}
	m.Model.Fingerprint = p.str(keyModelFingerprint, true)
	m.Model.Arch = p.str(keyModelArch, false)
	m.Model.Layers = p.int(keyModelLayers, true)
	m.Model.KVHeads = p.int(keyModelKVHeads, true)
	m.Model.HeadDim = p.int(keyModelHeadDim, true)
	m.Model.Dim = p.int(keyModelDim, false)
	m.Model.RopeLayout = p.str(keyModelRopeLayout, false)
	m.Model.RopeBase = p.float(keyModelRopeBase)
	m.Model.RopeDims = p.int(keyModelRopeDims, false)
	m.P = p.int(keyP, true)
	m.Frozen = p.int(keyFrozen, true)

	m.Corpus.Kind = p.str(keyCorpusKind, false)
	m.Corpus.Source = p.str(keyCorpusSource, false)
	m.Corpus.Commit = p.str(keyCorpusCommit, false)
	m.Corpus.Tree = p.str(keyCorpusTree, false)
	m.Corpus.Tokens = p.int(keyCorpusTokens, false)
	m.Corpus.Files = p.int(keyCorpusFiles, false)
	m.Corpus.Description = p.str(keyCorpusDescription, false)

	m.Recipe.Method = p.str(keyRecipeMethod, false)
	p.json(keyRecipeSeedTypes, &m.Recipe.SeedTypes)
	m.Recipe.Conversations = p.int(keyRecipeConversations, false)
	m.Recipe.Steps = p.int(keyRecipeSteps, false)
	m.Recipe.Epochs = p.int(keyRecipeEpochs, false)
	m.Recipe.LR = p.float(keyRecipeLR)
	m.Recipe.Init = p.str(keyRecipeInit, false)
	m.Recipe.Seed = p.uint(keyRecipeSeed)
	m.Recipe.Budget = p.str(keyRecipeBudget, false)
	p.json(keyRecipeBeside, &m.Recipe.Beside)
	m.Recipe.Replayed = p.int(keyRecipeReplayed, false)
	m.Recipe.TrainSeconds = p.float(keyRecipeTrainSeconds)

	p.json(keyMetrics, &m.Metrics)
	p.json(keyParts, &m.Parts)
	if s, ok := md[keyCreated]; ok && p.err == nil {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			p.err = fmt.Errorf("metadata %s = %q is not an RFC 3339 time", keyCreated, s)
		}
		m.Created = t
	}
	if p.err != nil {
		return m, p.err
	}
	if m.Frozen < 0 || m.Frozen > m.P {
		return m, fmt.Errorf("metadata says %d frozen tokens but p is %d", m.Frozen, m.P)
	}
	if err := checkRopeLayout(m.Model.RopeLayout); err != nil {
		return m, err
	}
	if m.Model.RopeDims > m.Model.HeadDim {
		return m, fmt.Errorf("metadata says %d RoPE dims but the head dim is %d", m.Model.RopeDims, m.Model.HeadDim)
	}
	return m, nil
}

func checkRopeLayout(s string) error {
	switch s {
	case "", RopeAdjacent, RopeHalf:
		return nil
	}
	return fmt.Errorf("RoPE layout %q is neither %q nor %q", s, RopeAdjacent, RopeHalf)
}

// metaParser reads typed values from metadata strings, keeping the first error.
type metaParser struct {
	md  map[string]string
	err error
}

// maxMetaInt bounds every integer in the metadata: larger is a lie or a typo.
const maxMetaInt = 1 << 40

func (p *metaParser) str(k string, required bool) string {
	s, ok := p.md[k]
	if !ok && required && p.err == nil {
		p.err = fmt.Errorf("the Cartridge metadata lacks %s", k)
	}
	return s
}

func (p *metaParser) int(k string, required bool) int {
	s, ok := p.md[k]
	if !ok || p.err != nil {
		if !ok && required && p.err == nil {
			p.err = fmt.Errorf("the Cartridge metadata lacks %s", k)
		}
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > maxMetaInt {
		p.err = fmt.Errorf("metadata %s = %q is not a whole number between 0 and %d", k, s, int64(maxMetaInt))
		return 0
	}
	return int(n)
}

func (p *metaParser) uint(k string) uint64 {
	s, ok := p.md[k]
	if !ok || p.err != nil {
		return 0
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		p.err = fmt.Errorf("metadata %s = %q is not an unsigned whole number", k, s)
	}
	return n
}

func (p *metaParser) float(k string) float64 {
	s, ok := p.md[k]
	if !ok || p.err != nil {
		return 0
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		p.err = fmt.Errorf("metadata %s = %q is not a finite number", k, s)
		return 0
	}
	return f
}

func (p *metaParser) json(k string, dst any) {
	s, ok := p.md[k]
	if !ok || p.err != nil {
		return
	}
	if err := json.Unmarshal([]byte(s), dst); err != nil {
		p.err = fmt.Errorf("metadata %s is not valid JSON of the expected kind: %w", k, err)
	}
}

// ModelMismatchError reports a Cartridge loaded with a model it was not
// trained for.
type ModelMismatchError struct {
	Cartridge ModelInfo // the model the Cartridge was trained for
	Loaded    ModelInfo // the model in use; only Fingerprint may be known
}

func (e *ModelMismatchError) Error() string {
	loaded := "the loaded model is " + describeModel(e.Loaded)
	if e.Loaded.Arch == "" && e.Loaded.Layers == 0 {
		loaded = "the loaded model has fingerprint " + ShortFingerprint(e.Loaded.Fingerprint)
	}
	return fmt.Sprintf("this Cartridge was trained for %s, but %s; "+
		"retrain it with `cartlsp train` or load the model it was made for",
		describeModel(e.Cartridge), loaded)
}

// describeModel names a model for people: "model llama (30 layers, hidden
// 576, 3 KV heads × head dim 64; fingerprint sha256:0123456789ab…)".
func describeModel(m ModelInfo) string {
	s := "model"
	if m.Arch != "" {
		s += " " + m.Arch
	}
	s += " ("
	if m.Layers > 0 {
		s += fmt.Sprintf("%d layers", m.Layers)
		if m.Dim > 0 {
			s += fmt.Sprintf(", hidden %d", m.Dim)
		}
		s += fmt.Sprintf(", %d KV heads × head dim %d; ", m.KVHeads, m.HeadDim)
	}
	return s + "fingerprint " + ShortFingerprint(m.Fingerprint) + ")"
}

// ShortFingerprint shortens "sha256:<64 hex>" to "sha256:<12 hex>…".
func ShortFingerprint(fp string) string {
	if fp == "" {
		return "(none)"
	}
	const keep = len("sha256:") + 12
	if len(fp) > keep+1 {
		return fp[:keep] + "…"
	}
	return fp
}

// CheckModel returns a *ModelMismatchError when the Cartridge was trained for
// a model other than the one with this fingerprint.
func (m Meta) CheckModel(fingerprint string) error {
	return m.CheckModelInfo(ModelInfo{Fingerprint: fingerprint})
}

// CheckModelInfo is CheckModel with the loaded model's architecture known, so
// the message can describe both models.
func (m Meta) CheckModelInfo(loaded ModelInfo) error {
	if loaded.Fingerprint != "" && loaded.Fingerprint == m.Model.Fingerprint {
		return nil
	}
	return &ModelMismatchError{Cartridge: m.Model, Loaded: loaded}
}
