package registry

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/cartlsp/cartlsp/atomicfile"
	"github.com/cartlsp/cartlsp/regular"
	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// PullOptions bound what a pull reads and say what it requires.
type PullOptions struct {
	// MaxCartridgeBytes bounds the Cartridge layer (DefaultMaxCartridgeBytes
	// when 0).
	MaxCartridgeBytes int64
	// Keys, when any, require the artifact's manifest to carry a signature
	// one of them verifies (Verify) before its Cartridge is fetched.
	Keys []crypto.PublicKey
	// Dataset, when set, is where the artifact's dataset layer is written
	// (beside the Cartridge, atomically, after the same checks); an artifact
	// without one, or one over MaxDatasetBytes, leaves it unwritten and the
	// pull says so (Artifact.DatasetSkipped).
	Dataset string
	// MaxDatasetBytes bounds the dataset layer (DefaultMaxDatasetBytes
	// when 0).
	MaxDatasetBytes int64
	// CheckDataset, when set, is called on the fetched dataset before it is
	// installed: an error refuses the whole pull (a dataset that does not
	// read, or was made for another model, says the artifact is unsound).
	CheckDataset func(path string) error
}

// DefaultMaxDatasetBytes is the largest dataset layer a pull fetches:
// 256 MiB, far past the full budget's 8,192 conversations with top-64
// targets (the small budget's is about 1.4 MB).
const DefaultMaxDatasetBytes = 256 << 20

// PushFiles are the files of a pushed artifact: the Cartridge and,
// optionally, the dataset it was trained on.
type PushFiles struct {
	Cartridge string
	Dataset   string // "" for none
}

// DefaultMaxCartridgeBytes is the largest Cartridge a pull accepts: 2 GiB,
// past the full budget's p = 2048 on a 7B model in f16.
const DefaultMaxCartridgeBytes = 2 << 30

// maxManifestBytes bounds a manifest, as registries do (4 MiB).
const maxManifestBytes = 4 << 20

// ErrNotFound says the location has no Cartridge for the artifact's tag.
var ErrNotFound = errors.New("no such Cartridge")

// ErrMismatch says an artifact is not what it was asked for or is not sound:
// it is never installed.
var ErrMismatch = errors.New("refused")

// Push uploads the Cartridge at files.Cartridge as the artifact a (its
// layer, the dataset's layer when files.Dataset is set, then a manifest
// annotated with a's identity, tagged a.Reference()) and returns the
// manifest's descriptor. The Cartridge is read whole first: its model must
// be a's and its values finite. The caller vouches for the dataset (a
// pull checks it with PullOptions.CheckDataset).
func Push(ctx context.Context, t Writable, a Artifact, files PushFiles) (ocispec.Descriptor, error) {
	path := files.Cartridge
	if err := a.check(); err != nil {
		return ocispec.Descriptor{}, err
	}
	c, err := cartridge.Read(path)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("registry: push %s: %w", a.ID(), err)
	}
	if c.Meta.Model.Fingerprint != a.Model {
		return ocispec.Descriptor{}, fmt.Errorf("registry: push %s: %s was trained for model %s, not %s", a.ID(), path, c.Meta.Model.Fingerprint, a.Model)
	}
	a.P = c.Meta.P
	layer, err := pushFile(ctx, t, a, path, LayerMediaType)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	layers := []ocispec.Descriptor{layer}
	if files.Dataset != "" {
		dl, err := pushFile(ctx, t, a, files.Dataset, DatasetLayerMediaType)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		layers = append(layers, dl)
	}
	m, err := oras.PackManifest(ctx, t, oras.PackManifestVersion1_1, ArtifactType, oras.PackManifestOptions{
		Layers: layers, ManifestAnnotations: a.annotations(),
	})
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("registry: push %s: %w", a.ID(), err)
	}
	if err := t.Tag(ctx, m, a.Reference()); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("registry: tag %s: %w", a.Reference(), err)
	}
	return m, nil
}

// pushFile uploads the file at path as a blob of the media type (unless the
// target has it already) and returns its descriptor.
func pushFile(ctx context.Context, t Writable, a Artifact, path, mediaType string) (ocispec.Descriptor, error) {
	layer, err := fileDescriptor(path, mediaType)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if ok, err := t.Exists(ctx, layer); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("registry: push %s: %w", a.ID(), explain(err))
	} else if ok {
		return layer, nil
	}
	f, err := regular.Open(path)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("registry: %w", err)
	}
	err = t.Push(ctx, layer, f)
	f.Close()
	if err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return ocispec.Descriptor{}, fmt.Errorf("registry: push %s: %w", a.ID(), err)
	}
	return layer, nil
}

// fileDescriptor is the layer descriptor of a file: its media type, sha256
// and size.
func fileDescriptor(path, mediaType string) (ocispec.Descriptor, error) {
	f, err := regular.Open(path)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("registry: %w", err)
	}
	defer f.Close()
	dg := digest.SHA256.Digester()
	n, err := io.Copy(dg.Hash(), f)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("registry: %w", err)
	}
	return ocispec.Descriptor{
		MediaType: mediaType, Digest: dg.Digest(), Size: n,
		Annotations: map[string]string{ocispec.AnnotationTitle: filepath.Base(path)},
	}, nil
}

// Pull finds the artifact want (by its tag), checks it and writes its
// Cartridge to dst (and its dataset to lim.Dataset when asked), atomically:
// nothing is written unless every check passes. The checks, in order: the
// manifest's size and digest; its artifact type; its annotations against
// want's identity (module, version, model, corpus, recipe); its layers (the
// Cartridge, then at most a dataset); when keys are configured, a signature
// of the manifest by one of them; the layers' size limits; their digests as
// they stream; then the Cartridge read whole (header, shapes, finite
// values), its model fingerprint and p, and lim.CheckDataset on the
// dataset.
func Pull(ctx context.Context, t Target, want Artifact, dst string, lim PullOptions) (Artifact, error) {
	if err := want.check(); err != nil {
		return Artifact{}, err
	}
	tag := want.Reference()
	desc, err := t.Resolve(ctx, tag)
	if errors.Is(err, errdef.ErrNotFound) {
		return Artifact{}, fmt.Errorf("registry: %s for this model and recipe (tag %s): %w", want.ID(), tag, ErrNotFound)
	}
	if err != nil {
		return Artifact{}, fmt.Errorf("registry: resolve %s: %w", tag, explain(err))
	}
	got, layers, err := readManifest(ctx, t, desc)
	if err != nil {
		return Artifact{}, fmt.Errorf("registry: %s (tag %s): %w", want.ID(), tag, err)
	}
	if why := mismatch(want, got); why != "" {
		return Artifact{}, fmt.Errorf("registry: %s (tag %s): %w: %s", want.ID(), tag, ErrMismatch, why)
	}
	if len(lim.Keys) > 0 {
		if err := Verify(ctx, t, desc, lim.Keys); err != nil {
			return Artifact{}, fmt.Errorf("registry: %s (tag %s): %w", want.ID(), tag, err)
		}
	}
	max := lim.MaxCartridgeBytes
	if max <= 0 {
		max = DefaultMaxCartridgeBytes
	}
	layer := layers[0]
	if layer.Size > max {
		return Artifact{}, fmt.Errorf("registry: %s: %w: its Cartridge is %d bytes, over the limit of %d", want.ID(), ErrMismatch, layer.Size, max)
	}
	var dataset *ocispec.Descriptor
	if lim.Dataset != "" {
		maxData := lim.MaxDatasetBytes
		if maxData <= 0 {
			maxData = DefaultMaxDatasetBytes
		}
		switch {
		case len(layers) < 2:
			got.DatasetSkipped = "the artifact has no dataset"
		case layers[1].Size > maxData:
			got.DatasetSkipped = fmt.Sprintf("its dataset is %d bytes, over the limit of %d", layers[1].Size, maxData)
		default:
			dataset = &layers[1]
		}
	}
	tmp, err := fetchToTemp(ctx, t, layer, dst, "Cartridge")
	if err != nil {
		return Artifact{}, fmt.Errorf("registry: %s: %w", want.ID(), err)
	}
	defer os.Remove(tmp)
	c, err := cartridge.Read(tmp)
	if err != nil {
		return Artifact{}, fmt.Errorf("registry: %s: %w: the Cartridge does not read: %v", want.ID(), ErrMismatch, err)
	}
	if c.Meta.Model.Fingerprint != want.Model {
		return Artifact{}, fmt.Errorf("registry: %s: %w: the Cartridge is for model %s, not %s", want.ID(), ErrMismatch, c.Meta.Model.Fingerprint, want.Model)
	}
	if got.P != 0 && c.Meta.P != got.P {
		return Artifact{}, fmt.Errorf("registry: %s: %w: the Cartridge has p = %d, its manifest says %d", want.ID(), ErrMismatch, c.Meta.P, got.P)
	}
	if dataset != nil {
		dtmp, err := fetchToTemp(ctx, t, *dataset, lim.Dataset, "dataset")
		if err != nil {
			return Artifact{}, fmt.Errorf("registry: %s: %w", want.ID(), err)
		}
		defer os.Remove(dtmp)
		if lim.CheckDataset != nil {
			if err := lim.CheckDataset(dtmp); err != nil {
				return Artifact{}, fmt.Errorf("registry: %s: %w: its dataset: %v", want.ID(), ErrMismatch, err)
			}
		}
		if err := os.Rename(dtmp, lim.Dataset); err != nil {
			return Artifact{}, fmt.Errorf("registry: %w", err)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return Artifact{}, fmt.Errorf("registry: %w", err)
	}
	got.Tag, got.Digest = tag, desc.Digest.String()
	return got, nil
}

// readManifest fetches and checks a Cartridge manifest, returning the
// artifact its annotations describe and its layers: the Cartridge, then the
// dataset when it has one.
func readManifest(ctx context.Context, t Target, desc ocispec.Descriptor) (Artifact, []ocispec.Descriptor, error) {
	if desc.MediaType != ocispec.MediaTypeImageManifest {
		return Artifact{}, nil, fmt.Errorf("%w: its manifest is %q, not an OCI image manifest", ErrMismatch, desc.MediaType)
	}
	if desc.Size > maxManifestBytes {
		return Artifact{}, nil, fmt.Errorf("%w: its manifest is %d bytes, over %d", ErrMismatch, desc.Size, maxManifestBytes)
	}
	b, err := content.FetchAll(ctx, t, desc) // checks size and digest
	if err != nil {
		return Artifact{}, nil, fmt.Errorf("%w: fetching its manifest: %v", ErrMismatch, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Artifact{}, nil, fmt.Errorf("%w: its manifest: %v", ErrMismatch, err)
	}
	if m.ArtifactType != ArtifactType {
		return Artifact{}, nil, fmt.Errorf("%w: its artifact type is %q, not a Cartridge (%s)", ErrMismatch, m.ArtifactType, ArtifactType)
	}
	if len(m.Layers) < 1 || len(m.Layers) > 2 || m.Layers[0].MediaType != LayerMediaType ||
		len(m.Layers) == 2 && m.Layers[1].MediaType != DatasetLayerMediaType {
		types := make([]string, len(m.Layers))
		for i, l := range m.Layers {
			types[i] = l.MediaType
		}
		return Artifact{}, nil, fmt.Errorf("%w: want a layer of type %s and at most one of %s, got %d layers %v", ErrMismatch, LayerMediaType, DatasetLayerMediaType, len(m.Layers), types)
	}
	for _, l := range m.Layers {
		if l.Size < 0 {
			return Artifact{}, nil, fmt.Errorf("%w: a layer of negative size", ErrMismatch)
		}
	}
	a := fromAnnotations(m.Annotations)
	if len(m.Layers) == 2 {
		a.DatasetBytes = m.Layers[1].Size
	}
	return a, m.Layers, nil
}

// fetchToTemp streams a blob (what, for messages) into a temp file beside
// dst, checking its size and digest, and returns the temp file's path.
func fetchToTemp(ctx context.Context, t Target, desc ocispec.Descriptor, dst, what string) (string, error) {
	rc, err := t.Fetch(ctx, desc)
	if err != nil {
		return "", fmt.Errorf("fetching its %s: %w", what, err)
	}
	defer rc.Close()
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".pull-*"+atomicfile.TempSuffix) // a crash leaves what store gc removes
	if err != nil {
		return "", err
	}
	vr := content.NewVerifyReader(rc, desc)
	_, err = io.Copy(f, vr)
	if err == nil {
		err = vr.Verify()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("%w: its %s does not match its digest %s: %v", ErrMismatch, what, desc.Digest, err)
	}
	return f.Name(), nil
}

// List returns the Cartridges at the location for a model (every model
// when model is ""): the tags carrying the model's part (ModelTag), each
// confirmed by its manifest's annotations. Tags of other shapes are passed
// over; a manifest that does not read is left out.
func List(ctx context.Context, t Target, model string) ([]Artifact, error) {
	var tags []string
	err := t.Tags(ctx, "", func(ts []string) error {
		for _, tag := range ts {
			part := "_m"
			if model != "" {
				part = ModelTag(model)
			}
			if strings.Contains(tag, part) {
				tags = append(tags, tag)
			}
		}
		return nil
	})
	if notFound(err) {
		return nil, nil // a repository nothing was pushed to yet
	}
	if err != nil {
		return nil, fmt.Errorf("registry: listing tags: %w", explain(err))
	}
	var out []Artifact
	for _, tag := range tags {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		desc, err := t.Resolve(ctx, tag)
		if err != nil {
			continue
		}
		a, _, err := readManifest(ctx, t, desc)
		if err != nil || a.Reference() != tag || model != "" && a.Model != model {
			continue
		}
		a.Tag, a.Digest = tag, desc.Digest.String()
		out = append(out, a)
	}
	return out, nil
}

// notFound reports whether err says a registry or store has no such thing.
func notFound(err error) bool {
	var er *errcode.ErrorResponse
	return errors.As(err, &er) && er.StatusCode == http.StatusNotFound || errors.Is(err, errdef.ErrNotFound)
}
