package registry

import (
	"bytes"
	"context"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/memory"
)

// FuzzManifest: any bytes as a Cartridge's manifest (or a signature's) are
// accepted only as a well-formed Cartridge manifest, never with a panic.
func FuzzManifest(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.cartlsp.cartridge.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/vnd.cartlsp.cartridge.layer.v1","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}],"annotations":{"dev.cartlsp.module":"m","dev.cartlsp.p":"x"}}`))
	f.Add([]byte(`{"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":-1,"annotations":{"dev.cosignproject.cosign/signature":"!!"}}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ctx := context.Background()
		s := memTarget{memory.New()}
		desc := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, b)
		if err := s.Push(ctx, desc, bytesReader(b)); err != nil {
			return // the store itself refuses it (it indexes manifests as it stores them)
		}
		a, layers, err := readManifest(ctx, s, desc)
		if err == nil && (len(layers) < 1 || layers[0].MediaType != LayerMediaType || a.P < 0 || a.DatasetBytes < 0 ||
			len(layers) > 2 || len(layers) == 2 && layers[1].MediaType != DatasetLayerMediaType) {
			t.Fatalf("accepted %+v with layers %+v", a, layers)
		}
		if ls, err := signatureLayers(ctx, s, desc); err == nil {
			for _, l := range ls {
				_, _ = verifyLayer(ctx, s, l, desc.Digest, nil)
			}
		}
	})
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// memTarget is an in-memory store as a Target.
type memTarget struct{ *memory.Store }

func (memTarget) Tags(context.Context, string, func([]string) error) error { return nil }
