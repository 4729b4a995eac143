// Package registry shares dependency Cartridges: it pushes a Cartridge as an
// OCI artifact to a registry (any OCI registry, through oras-go and the
// user's docker credentials), to a directory holding an OCI image layout, and
// pulls from those or from a static HTTP(S) copy of such a directory. A pull
// checks the manifest's digest and size, the artifact's identity (module,
// version, model, corpus and recipe) and the Cartridge itself before a byte
// of it is installed. docs/ARCHITECTURE.md, "Sharing Cartridges", says how.
package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Media types of a Cartridge artifact: the manifest's artifactType, its
// first layer (the .cart file) and its optional second layer, the
// self-study dataset the Cartridge was trained on (dataset.bin), which lets
// a repository's Cartridge trained beside the dependency replay the
// dependency's own conversations (docs/ARCHITECTURE.md, "Composing
// Cartridges").
const (
	ArtifactType          = "application/vnd.cartlsp.cartridge.v1+json"
	LayerMediaType        = "application/vnd.cartlsp.cartridge.layer.v1"
	DatasetLayerMediaType = "application/vnd.cartlsp.dataset.layer.v1"
)

// Annotation keys of a Cartridge artifact's manifest.
const (
	AnnotationEcosystem = "dev.cartlsp.ecosystem"
	AnnotationModule    = "dev.cartlsp.module"
	AnnotationVersion   = "dev.cartlsp.version"
	AnnotationModel     = "dev.cartlsp.model"      // the model's fingerprint, sha256:…
	AnnotationModelName = "dev.cartlsp.model.name" // for people, e.g. qwen2.5-coder-0.5b
	AnnotationCorpus    = "dev.cartlsp.corpus"     // the store key's corpus fingerprint
	AnnotationRecipe    = "dev.cartlsp.recipe"     // the store key's recipe hash
	AnnotationP         = "dev.cartlsp.p"
	AnnotationBudget    = "dev.cartlsp.budget"
)

// Artifact identifies one shared Cartridge: which module version it learned,
// for which model, by which recipe.
type Artifact struct {
	Ecosystem string `json:"ecosystem"` // go, npm, pypi
	Module    string `json:"module"`    // module path, package or distribution name
	Version   string `json:"version"`
	Model     string `json:"model"` // fingerprint
	ModelName string `json:"model_name,omitempty"`
	Corpus    string `json:"corpus"`
	Recipe    string `json:"recipe"`
	P         int    `json:"p"`
	Budget    string `json:"budget,omitempty"`
	// Tag and Digest are where a listing or a pull found it.
	Tag    string `json:"tag,omitempty"`
	Digest string `json:"digest,omitempty"`
	// DatasetBytes is the size of the artifact's dataset layer, 0 when it
	// has none (a listing or a pull fills it in).
	DatasetBytes int64 `json:"dataset_bytes,omitempty"`
	// DatasetSkipped says why a pull asked for the dataset
	// (PullOptions.Dataset) did not install it: the artifact has none, or
	// it is over the limit.
	DatasetSkipped string `json:"dataset_skipped,omitempty"`
}

// ID is "module@version".
func (a Artifact) ID() string { return a.Module + "@" + a.Version }

func (a Artifact) annotations() map[string]string {
	m := map[string]string{
		AnnotationEcosystem: a.Ecosystem, AnnotationModule: a.Module, AnnotationVersion: a.Version,
		AnnotationModel: a.Model, AnnotationCorpus: a.Corpus, AnnotationRecipe: a.Recipe,
		AnnotationP: strconv.Itoa(a.P),
	}
	if a.ModelName != "" {
		m[AnnotationModelName] = a.ModelName
	}
	if a.Budget != "" {
		m[AnnotationBudget] = a.Budget
	}
	return m
}

func fromAnnotations(m map[string]string) Artifact {
	p, _ := strconv.Atoi(m[AnnotationP])
	return Artifact{
		Ecosystem: m[AnnotationEcosystem], Module: m[AnnotationModule], Version: m[AnnotationVersion],
		Model: m[AnnotationModel], ModelName: m[AnnotationModelName], Corpus: m[AnnotationCorpus],
		Recipe: m[AnnotationRecipe], P: p, Budget: m[AnnotationBudget],
	}
}

// check reports the first field that is empty.
func (a Artifact) check() error {
	for _, f := range []struct{ name, v string }{
		{"ecosystem", a.Ecosystem}, {"module", a.Module}, {"version", a.Version},
		{"model", a.Model}, {"corpus", a.Corpus}, {"recipe", a.Recipe},
	} {
		if f.v == "" {
			return fmt.Errorf("registry: the artifact has no %s", f.name)
		}
	}
	return nil
}

// mismatch names the first identity field where got differs from want, ""
// when they agree.
func mismatch(want, got Artifact) string {
	for _, f := range []struct{ name, w, g string }{
		{"ecosystem", want.Ecosystem, got.Ecosystem}, {"module", want.Module, got.Module},
		{"version", want.Version, got.Version}, {"model", want.Model, got.Model},
		{"corpus", want.Corpus, got.Corpus}, {"recipe", want.Recipe, got.Recipe},
	} {
		if f.w != f.g {
			return fmt.Sprintf("its %s is %q, want %q", f.name, f.g, f.w)
		}
	}
	return ""
}

// maxTag is the longest OCI tag.
const maxTag = 128

var tagUnsafe = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// Reference is the artifact's tag: ecosystem, module, version, the first 12 hex
// digits of the model's fingerprint and 8 of the recipe's, and 8 of a hash
// over all of them, e.g. go_github.com.google.uuid_v1.6.0_m1d9614638d18_r3f2a1b4c_5e6f7a8b.
// Characters a tag cannot hold become "-" ("/" becomes "."), so the hash
// keeps two modules apart whose names differ only there; a module name too
// long for 128 characters keeps its end. ModelTag finds a model's tags.
func (a Artifact) Reference() string {
	h := sha256.Sum256([]byte(strings.Join([]string{a.Ecosystem, a.Module, a.Version, a.Model, a.Recipe, a.Corpus}, "\x00")))
	suffix := "_" + tagSafe(a.Version) + ModelTag(a.Model) + "r" + short(a.Recipe, 8) + "_" + hex.EncodeToString(h[:4])
	prefix := tagSafe(a.Ecosystem) + "_"
	name := tagSafe(strings.ReplaceAll(strings.TrimPrefix(a.Module, "@"), "/", "."))
	if room := maxTag - len(prefix) - len(suffix); len(name) > room {
		name = name[len(name)-max(room, 0):]
	}
	return prefix + name + suffix
}

// ModelTag is the part of every tag that names the model: "_m" and the first
// 12 hex digits of its fingerprint, then "_".
func ModelTag(model string) string { return "_m" + short(model, 12) + "_" }

func tagSafe(s string) string { return tagUnsafe.ReplaceAllString(s, "-") }

// short is the first n hex digits of a "sha256:…" fingerprint.
func short(fp string, n int) string {
	_, h, ok := strings.Cut(fp, ":")
	if !ok {
		h = fp
	}
	h = tagSafe(h)
	if len(h) > n {
		h = h[:n]
	}
	return h
}
