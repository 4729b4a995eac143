package registry

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/registry/registrytest"
	"github.com/cartlsp/cartlsp/runtime/cartridge"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
)

const (
	modelA = "sha256:1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
	modelB = "sha256:cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
)

func artifact(module, version, model string) Artifact {
	return Artifact{Ecosystem: "go", Module: module, Version: version, Model: model, ModelName: "test",
		Corpus: "sha256:c0ffee" + version, Recipe: "sha256:0123456789abcdef", Budget: "small"}
}

// writeCart writes a small Cartridge for model with seeded values.
func writeCart(t *testing.T, dir, model string, p int, seed uint64) string {
	t.Helper()
	m := cartridge.Meta{
		FormatVersion: cartridge.FormatVersion,
		Model: cartridge.ModelInfo{Fingerprint: model, Arch: "qwen2", Layers: 2, KVHeads: 2, HeadDim: 8, Dim: 32,
			RopeLayout: cartridge.RopeHalf, RopeBase: 1e6},
		P: p, Frozen: 1,
		Corpus:  cartridge.CorpusInfo{Kind: "module", Source: "github.com/google/uuid@v1.6.0", Tokens: 100 * p, Files: 3},
		Recipe:  cartridge.Recipe{Method: "self-study", Conversations: 8, Steps: 2, Epochs: 1, LR: 0.02, Init: "first-tokens", Seed: seed},
		Created: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC),
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	c := &cartridge.Cartridge{Meta: m}
	n := 2 * p * 8
	for l := 0; l < 2; l++ {
		k, v := make([]float32, n), make([]float32, n)
		for i := range k {
			k[i], v[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		c.Keys, c.Values = append(c.Keys, k), append(c.Values, v)
	}
	path := filepath.Join(dir, "c.cart")
	if err := cartridge.Write(path, c, cartridge.F16); err != nil {
		t.Fatal(err)
	}
	return path
}

var tagPattern = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

func TestReference(t *testing.T) {
	a := artifact("github.com/google/uuid", "v1.6.0", modelA)
	if got, want := a.Reference(), "go_github.com.google.uuid_v1.6.0_m1d9614638d18_r0123456789ab"; !strings.HasPrefix(got, want[:len(want)-4]) {
		t.Errorf("tag %q, want it to start %q", got, want[:len(want)-4])
	}
	seen := map[string]string{}
	long := strings.Repeat("very-long-segment/", 12) + "end"
	for _, x := range []Artifact{
		a, artifact("github.com/google/uuid", "v1.5.0", modelA), artifact("github.com/google/uuid", "v1.6.0", modelB),
		artifact("github.com/google-uuid", "v1.6.0", modelA), artifact("github.com/google.uuid", "v1.6.0", modelA),
		artifact("github.com/Google/UUID", "v1.6.0", modelA), artifact(long, "v0.0.0-20260101000000-abcdef123456", modelA),
		{Ecosystem: "npm", Module: "@scope/pkg", Version: "1.2.3+build.4", Model: modelA, Corpus: "c", Recipe: "r"},
		{Ecosystem: "pypi", Module: "typing-extensions", Version: "4.12.2", Model: modelA, Corpus: "c", Recipe: "r"},
	} {
		tag := x.Reference()
		if !tagPattern.MatchString(tag) {
			t.Errorf("%s: tag %q is not a valid OCI tag", x.ID(), tag)
		}
		if !strings.Contains(tag, ModelTag(x.Model)) {
			t.Errorf("%s: tag %q does not carry its model's part %q", x.ID(), tag, ModelTag(x.Model))
		}
		if other, ok := seen[tag]; ok {
			t.Errorf("%s and %s share the tag %q", x.ID(), other, tag)
		}
		seen[tag] = x.ID()
	}
	if tag := artifact(long, "v1", modelA).Reference(); !strings.Contains(tag, "end_v1") {
		t.Errorf("a long module keeps its end: %q", tag)
	}
}

func TestParseLocation(t *testing.T) {
	for _, c := range []struct {
		in   string
		kind Kind
		ref  string
		err  string
	}{
		{in: "ghcr.io/team/cartridges", kind: KindRegistry, ref: "ghcr.io/team/cartridges"},
		{in: "oci://localhost:5000/carts", kind: KindRegistry, ref: "localhost:5000/carts"},
		{in: "localhost/carts", kind: KindRegistry, ref: "localhost/carts"},
		{in: "dir:/srv/carts", kind: KindDir, ref: "/srv/carts"},
		{in: "./carts", kind: KindDir, ref: "./carts"},
		{in: "https://example.com/carts/", kind: KindHTTP, ref: "https://example.com/carts/"},
		{in: "", err: "empty"},
		{in: "team/cartridges", err: "HOST/REPOSITORY"},
		{in: "ghcr.io", err: "HOST/REPOSITORY"},
		{in: "ghcr.io/team/carts:latest", err: "tag or digest"},
		{in: "ghcr.io/Team/carts", err: "invalid"},
		{in: "https://", err: "not a URL"},
	} {
		l, err := ParseLocation(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %+v %v, want an error with %q", c.in, l, err, c.err)
			}
			continue
		}
		if err != nil || l.Kind != c.kind || l.Ref != c.ref {
			t.Errorf("%q: %+v %v, want %s %s", c.in, l, err, c.kind, c.ref)
		}
	}
}

// roundTrip pushes two Cartridges for two models, lists them by model,
// pulls one back byte for byte, and checks the refusals a pull makes.
func roundTrip(t *testing.T, w Writable, r func() Target) {
	ctx := context.Background()
	dir := t.TempDir()
	a := artifact("github.com/google/uuid", "v1.6.0", modelA)
	b := artifact("github.com/google/uuid", "v1.6.0", modelB)
	pa := writeCart(t, t.TempDir(), modelA, 8, 1)
	pb := writeCart(t, t.TempDir(), modelB, 16, 2)
	ds := filepath.Join(t.TempDir(), "dataset.bin")
	dsBytes := []byte("CARTDS\x00\x03 the dataset the Cartridge was trained on")
	if err := os.WriteFile(ds, dsBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Push(ctx, w, a, PushFiles{Cartridge: pa, Dataset: ds}); err != nil {
		t.Fatal(err)
	}
	if _, err := Push(ctx, w, b, PushFiles{Cartridge: pb}); err != nil {
		t.Fatal(err)
	}
	if _, err := Push(ctx, w, artifact("github.com/x/y", "v1.0.0", modelA), PushFiles{Cartridge: pb}); err == nil || !strings.Contains(err.Error(), "trained for model") {
		t.Errorf("pushing a Cartridge under another model: %v", err)
	}
	tgt := r()
	for _, c := range []struct {
		model string
		want  []string
	}{{modelA, []string{a.Reference()}}, {modelB, []string{b.Reference()}}, {"", []string{a.Reference(), b.Reference()}}} {
		got, err := List(ctx, tgt, c.model)
		if err != nil {
			t.Fatal(err)
		}
		var tags []string
		for _, x := range got {
			tags = append(tags, x.Tag)
		}
		if strings.Join(tags, ",") != strings.Join(c.want, ",") && !(c.model == "" && len(tags) == 2) {
			t.Errorf("list %q: %v, want %v", c.model, tags, c.want)
		}
	}
	dst := filepath.Join(dir, "pulled.cart")
	got, err := Pull(ctx, tgt, a, dst, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.P != 8 || got.Digest == "" || got.Tag != a.Reference() {
		t.Errorf("pulled %+v", got)
	}
	want, _ := os.ReadFile(pa)
	if b, _ := os.ReadFile(dst); string(b) != string(want) {
		t.Error("the pulled Cartridge differs from the pushed one")
	}
	if got.DatasetBytes != int64(len(dsBytes)) || got.DatasetSkipped != "" {
		t.Errorf("pulled %+v: want a dataset of %d bytes, not fetched", got, len(dsBytes))
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("a pull without PullOptions.Dataset wrote %d files", len(es))
	}
	// The dataset layer, asked for: installed beside the Cartridge after
	// CheckDataset; over its limit, or without one, the Cartridge alone.
	checked := ""
	dd := filepath.Join(t.TempDir(), "dataset.bin")
	got, err = Pull(ctx, tgt, a, filepath.Join(dir, "with.cart"), PullOptions{Dataset: dd,
		CheckDataset: func(p string) error { b, _ := os.ReadFile(p); checked = string(b); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dd); string(b) != string(dsBytes) || checked != string(dsBytes) || got.DatasetSkipped != "" {
		t.Errorf("the pulled dataset %q (checked %q, skipped %q), want %q", b, checked, got.DatasetSkipped, dsBytes)
	}
	for name, c := range map[string]struct {
		want Artifact
		lim  PullOptions
		skip string
	}{
		"dataset limit": {a, PullOptions{MaxDatasetBytes: 10}, "over the limit of 10"},
		"no dataset":    {b, PullOptions{}, "has no dataset"},
	} {
		d := filepath.Join(t.TempDir(), "x.cart")
		c.lim.Dataset = filepath.Join(filepath.Dir(d), "dataset.bin")
		got, err := Pull(ctx, tgt, c.want, d, c.lim)
		if err != nil || !strings.Contains(got.DatasetSkipped, c.skip) {
			t.Errorf("%s: %+v %v, want the Cartridge and the dataset skipped: %q", name, got, err, c.skip)
		}
		if _, err := os.Stat(c.lim.Dataset); err == nil {
			t.Errorf("%s: a skipped dataset was written", name)
		}
	}
	for name, c := range map[string]struct {
		want Artifact
		lim  PullOptions
		err  error
		msg  string
	}{
		"other version": {artifact("github.com/google/uuid", "v1.5.0", modelA), PullOptions{}, ErrNotFound, "v1.5.0"},
		"other recipe":  {func() Artifact { x := a; x.Recipe = "sha256:ffff"; return x }(), PullOptions{}, ErrNotFound, ""},
		"size limit":    {a, PullOptions{MaxCartridgeBytes: 100}, ErrMismatch, "over the limit"},
		"bad dataset": {a, PullOptions{CheckDataset: func(string) error { return errors.New("made for another model") }},
			ErrMismatch, "its dataset: made for another model"},
	} {
		d := filepath.Join(t.TempDir(), "x.cart")
		c.lim.Dataset = filepath.Join(filepath.Dir(d), "dataset.bin")
		_, err := Pull(ctx, tgt, c.want, d, c.lim)
		if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %v with %q", name, err, c.err, c.msg)
		}
		if es, _ := os.ReadDir(filepath.Dir(d)); len(es) != 0 {
			t.Errorf("%s: a refused pull left %d files", name, len(es))
		}
	}
	// A manifest under a's tag that describes another module: refused.
	forged := a
	forged.Module = "github.com/evil/uuid"
	layer, err := fileDescriptor(pa, LayerMediaType)
	if err != nil {
		t.Fatal(err)
	}
	m, err := oras.PackManifest(ctx, w, oras.PackManifestVersion1_1, ArtifactType, oras.PackManifestOptions{
		Layers: []ocispec.Descriptor{layer}, ManifestAnnotations: forged.annotations()})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Tag(ctx, m, a.Reference()); err != nil {
		t.Fatal(err)
	}
	if _, err := Pull(ctx, r(), a, filepath.Join(dir, "forged.cart"), PullOptions{}); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "module") {
		t.Errorf("a forged manifest: %v, want a refusal naming the module", err)
	}
}

func TestShareDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "carts")
	w, err := OpenWritable(context.Background(), "dir:"+dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	open := func() Target {
		tg, err := Open(context.Background(), dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return tg
	}
	roundTrip(t, w, open)
	if _, err := Open(context.Background(), filepath.Join(dir, "absent"), Options{}); err == nil {
		t.Error("opening a missing directory for reading succeeded")
	}
}

// TestShareDirTampered flips a byte of a stored Cartridge blob: the pull
// refuses it by digest and writes nothing.
func TestShareDirTampered(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "carts")
	w, err := OpenWritable(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := artifact("github.com/google/uuid", "v1.6.0", modelA)
	pa := writeCart(t, t.TempDir(), modelA, 8, 1)
	if _, err := Push(ctx, w, a, PushFiles{Cartridge: pa}); err != nil {
		t.Fatal(err)
	}
	layer, _ := fileDescriptor(pa, LayerMediaType)
	blob := filepath.Join(dir, "blobs", "sha256", layer.Digest.Encoded())
	b, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-3] ^= 0x40
	if err := os.WriteFile(blob, b, 0o644); err != nil {
		t.Fatal(err)
	}
	tg, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "x.cart")
	if _, err := Pull(ctx, tg, a, dst, PullOptions{}); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "digest") {
		t.Errorf("a tampered blob: %v, want a digest refusal", err)
	}
	// A tampered dataset layer refuses the whole pull, Cartridge too.
	ds := filepath.Join(t.TempDir(), "dataset.bin")
	if err := os.WriteFile(ds, []byte("conversations about the corpus"), 0o644); err != nil {
		t.Fatal(err)
	}
	a2 := artifact("github.com/google/uuid", "v1.5.0", modelA)
	if _, err := Push(ctx, w, a2, PushFiles{Cartridge: writeCart(t, t.TempDir(), modelA, 8, 3), Dataset: ds}); err != nil {
		t.Fatal(err)
	}
	dl, _ := fileDescriptor(ds, DatasetLayerMediaType)
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", dl.Digest.Encoded()), []byte("conversations about the c0rpus"), 0o644); err != nil {
		t.Fatal(err)
	}
	if tg, err = Open(ctx, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Pull(ctx, tg, a2, dst, PullOptions{Dataset: filepath.Join(filepath.Dir(dst), "dataset.bin")}); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "dataset does not match its digest") {
		t.Errorf("a tampered dataset: %v, want a digest refusal", err)
	}
	if es, _ := os.ReadDir(filepath.Dir(dst)); len(es) != 0 {
		t.Errorf("a refused pull left %d files", len(es))
	}
}

// TestShareHTTP serves an OCI layout directory as static files (what any web
// server or object store does) and pulls from it.
func TestShareHTTP(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "carts")
	w, err := OpenWritable(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	roundTrip(t, w, func() Target {
		tg, err := Open(context.Background(), srv.URL+"/", Options{})
		if err != nil {
			t.Fatal(err)
		}
		return tg
	})
	if _, err := OpenWritable(context.Background(), srv.URL, Options{}); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("pushing to a static store: %v", err)
	}
	if _, err := Open(context.Background(), srv.URL+"/absent", Options{}); err == nil {
		t.Error("a static store without an OCI layout opened")
	}
}

// TestShareRegistry pushes to and pulls from the real distribution registry
// on loopback: plain HTTP, basic auth through a docker config, TLS, and both.
func TestShareRegistry(t *testing.T) {
	registrytest.Binary(t)
	for _, c := range []struct {
		name string
		cfg  registrytest.Config
	}{
		{"plain", registrytest.Config{}},
		{"auth", registrytest.Config{User: "ci", Password: "s3cret"}},
		{"tls", registrytest.Config{TLS: true}},
		{"auth+tls", registrytest.Config{User: "ci", Password: "s3cret", TLS: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := registrytest.Start(t, c.cfg)
			o := Options{PlainHTTP: !c.cfg.TLS, HTTPClient: s.Client, DockerConfig: s.DockerConfig}
			loc := s.Host + "/team/cartridges"
			w, err := OpenWritable(context.Background(), loc, o)
			if err != nil {
				t.Fatal(err)
			}
			if tg, err := Open(context.Background(), s.Host+"/team/empty", o); err != nil {
				t.Fatal(err)
			} else if got, err := List(context.Background(), tg, modelA); err != nil || len(got) != 0 {
				t.Errorf("listing a repository nothing was pushed to: %v %v", got, err)
			}
			roundTrip(t, w, func() Target {
				tg, err := Open(context.Background(), loc, o)
				if err != nil {
					t.Fatal(err)
				}
				return tg
			})
			if c.name == "plain" {
				// A blob changed in the registry's storage (a disk, a mirror or a
				// proxy between): the pull refuses it by digest.
				a := artifact("github.com/google/uuid", "v1.6.0", modelB)
				pb := writeCart(t, t.TempDir(), modelB, 16, 2)
				layer, _ := fileDescriptor(pb, LayerMediaType)
				hex := layer.Digest.Encoded()
				data := filepath.Join(s.Dir, "docker", "registry", "v2", "blobs", "sha256", hex[:2], hex, "data")
				b, err := os.ReadFile(data)
				if err != nil {
					t.Fatal(err)
				}
				b[len(b)/2] ^= 1
				if err := os.WriteFile(data, b, 0o644); err != nil {
					t.Fatal(err)
				}
				tg, _ := Open(context.Background(), loc, o)
				dst := filepath.Join(t.TempDir(), "x.cart")
				if _, err := Pull(context.Background(), tg, a, dst, PullOptions{}); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "digest") {
					t.Errorf("a blob tampered with in the registry: %v", err)
				}
				if _, err := os.Stat(dst); err == nil {
					t.Error("a tampered pull wrote its file")
				}
			}
			if c.cfg.User != "" {
				// Without the credentials the registry refuses.
				empty := filepath.Join(t.TempDir(), "config.json")
				os.WriteFile(empty, []byte(`{"auths":{}}`), 0o600)
				bad := o
				bad.DockerConfig = empty
				tg, _ := Open(context.Background(), loc, bad)
				if _, err := Pull(context.Background(), tg, artifact("github.com/google/uuid", "v1.6.0", modelB), filepath.Join(t.TempDir(), "x.cart"), PullOptions{}); err == nil || !strings.Contains(err.Error(), "docker login") {
					t.Errorf("a pull without credentials: %v", err)
				}
			}
		})
	}
}
