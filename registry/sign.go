package registry

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"os"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	orasregistry "oras.land/oras-go/v2/registry"
)

// Signatures of Cartridge artifacts are cosign's (docs/ARCHITECTURE.md,
// "Signed Cartridges"): a simple-signing payload naming the signed
// manifest's digest, as a layer whose annotation holds the signature of the
// payload by the signer's key. cartlsp writes them as referrers of the
// Cartridge's manifest (the OCI 1.1 referrers API, or its tag fallback where
// a registry lacks it), as `cosign sign --registry-referrers-mode=oci-1-1`
// does; it reads those and the `sha256-<hex>.sig` tags that a plain
// `cosign sign` writes. Keys are cosign's (`cosign generate-key-pair`, with
// COSIGN_PASSWORD) or plain PEM keys: ECDSA, RSA or Ed25519.
const (
	// SignatureArtifactType is cosign's artifact type for signatures stored
	// as referrers.
	SignatureArtifactType  = "application/vnd.dev.cosign.artifact.sig.v1+json"
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// SignatureAnnotation holds a payload layer's signature, base64.
	SignatureAnnotation = "dev.cosignproject.cosign/signature"
	simpleSigningType   = "cosign container image signature"
	maxPayloadBytes     = 64 << 10
	maxSignatures       = 64 // signature manifests read per Cartridge
)

// ErrUnsigned says a pull that requires a signature found none that a
// configured key verifies: the Cartridge is never installed.
var ErrUnsigned = errors.New("no valid signature")

// simpleSigning is cosign's signature payload ("simple signing").
type simpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// Signer signs Cartridge manifests with a private key.
type Signer struct{ key crypto.Signer }

// LoadSigner reads a private key in PEM: cosign's encrypted key (decrypted
// with password, as COSIGN_PASSWORD gives it to cosign), or an unencrypted
// PKCS #8, SEC 1 (EC) or PKCS #1 (RSA) key.
func LoadSigner(path string, password []byte) (*Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("registry: signing key: %w", err)
	}
	p, _ := pem.Decode(b)
	if p == nil {
		return nil, fmt.Errorf("registry: signing key %s is not PEM", path)
	}
	var k any
	switch p.Type {
	case "ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY":
		der, err := encrypted.Decrypt(p.Bytes, password)
		if err != nil {
			return nil, fmt.Errorf("registry: signing key %s does not decrypt with the password given (COSIGN_PASSWORD): %w", path, err)
		}
		k, err = x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("registry: signing key %s: %w", path, err)
		}
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(p.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(p.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(p.Bytes)
	default:
		return nil, fmt.Errorf("registry: signing key %s is a %q block, not a private key", path, p.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("registry: signing key %s: %w", path, err)
	}
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		if _, err := curveHash(k.Curve); err != nil {
			return nil, fmt.Errorf("registry: signing key %s: %w", path, err)
		}
		return &Signer{k}, nil
	case *rsa.PrivateKey, ed25519.PrivateKey:
		return &Signer{k.(crypto.Signer)}, nil
	}
	return nil, fmt.Errorf("registry: signing key %s is a %T: want ECDSA, RSA or Ed25519", path, k)
}

// Public is the signer's public key.
func (s *Signer) Public() crypto.PublicKey { return s.key.Public() }

// sign signs payload as cosign does with a key of its kind: ECDSA over the
// curve's hash (ASN.1), RSA PKCS #1 v1.5 over SHA-256, Ed25519ph.
func (s *Signer) sign(payload []byte) ([]byte, error) {
	switch k := s.key.(type) {
	case *ecdsa.PrivateKey:
		h, _ := curveHash(k.Curve)
		return ecdsa.SignASN1(rand.Reader, k, sum(h, payload))
	case *rsa.PrivateKey:
		return rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum(sha256.New(), payload))
	case ed25519.PrivateKey:
		return k.Sign(nil, sum(sha512.New(), payload), &ed25519.Options{Hash: crypto.SHA512})
	}
	return nil, fmt.Errorf("registry: cannot sign with a %T", s.key)
}

// LoadPublicKeys reads public keys in PEM (PKIX "PUBLIC KEY", as
// cosign.pub, or PKCS #1 "RSA PUBLIC KEY").
func LoadPublicKeys(paths ...string) ([]crypto.PublicKey, error) {
	var out []crypto.PublicKey
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("registry: verification key: %w", err)
		}
		p, _ := pem.Decode(b)
		if p == nil {
			return nil, fmt.Errorf("registry: verification key %s is not PEM", path)
		}
		var k any
		switch p.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(p.Bytes)
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(p.Bytes)
		default:
			return nil, fmt.Errorf("registry: verification key %s is a %q block, not a public key (give the .pub file)", path, p.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("registry: verification key %s: %w", path, err)
		}
		switch k := k.(type) {
		case *ecdsa.PublicKey:
			if _, err := curveHash(k.Curve); err != nil {
				return nil, fmt.Errorf("registry: verification key %s: %w", path, err)
			}
		case *rsa.PublicKey, ed25519.PublicKey:
		default:
			return nil, fmt.Errorf("registry: verification key %s is a %T: want ECDSA, RSA or Ed25519", path, k)
		}
		out = append(out, k)
	}
	return out, nil
}

// verifies reports whether sig is key's signature of payload, as cosign
// verifies one (Ed25519 signatures are accepted both pure and prehashed).
func verifies(key crypto.PublicKey, payload, sig []byte) bool {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		h, err := curveHash(k.Curve)
		return err == nil && ecdsa.VerifyASN1(k, sum(h, payload), sig)
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, sum(sha256.New(), payload), sig) == nil
	case ed25519.PublicKey:
		ph := ed25519.VerifyWithOptions(k, sum(sha512.New(), payload), sig, &ed25519.Options{Hash: crypto.SHA512}) == nil
		return ph || ed25519.Verify(k, payload, sig)
	}
	return false
}

// curveHash is the hash sigstore pairs with an ECDSA curve.
func curveHash(c elliptic.Curve) (hash.Hash, error) {
	switch c {
	case elliptic.P256():
		return sha256.New(), nil
	case elliptic.P384():
		return sha512.New384(), nil
	case elliptic.P521():
		return sha512.New(), nil
	}
	return nil, fmt.Errorf("ECDSA curve %s is not supported (P-256, P-384, P-521)", c.Params().Name)
}

func sum(h hash.Hash, b []byte) []byte { h.Write(b); return h.Sum(nil) }

// Sign signs the Cartridge manifest desc (as Push returned it) and stores
// the signature beside it as a referrer. ref is the repository it is
// published as (the payload's docker-reference, e.g. ghcr.io/team/carts).
func Sign(ctx context.Context, t Writable, desc ocispec.Descriptor, ref string, s *Signer) (ocispec.Descriptor, error) {
	var p simpleSigning
	p.Critical.Identity.DockerReference = ref
	p.Critical.Image.DockerManifestDigest = desc.Digest.String()
	p.Critical.Type = simpleSigningType
	payload, err := json.Marshal(p)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	sig, err := s.sign(payload)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	layer := content.NewDescriptorFromBytes(SimpleSigningMediaType, payload)
	layer.Annotations = map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)}
	if err := pushBlob(ctx, t, layer, payload); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("registry: signing %s: %w", desc.Digest, explain(err))
	}
	m, err := oras.PackManifest(ctx, t, oras.PackManifestVersion1_1, SignatureArtifactType, oras.PackManifestOptions{
		Subject: &desc, Layers: []ocispec.Descriptor{layer},
	})
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("registry: signing %s: %w", desc.Digest, explain(err))
	}
	return m, nil
}

func pushBlob(ctx context.Context, t Writable, desc ocispec.Descriptor, b []byte) error {
	if ok, err := t.Exists(ctx, desc); err != nil || ok {
		return err
	}
	return t.Push(ctx, desc, bytes.NewReader(b))
}

// Verify checks that the Cartridge manifest desc carries a signature one of
// keys verifies: among its referrers of the signature artifact type and
// under cosign's `sha256-<hex>.sig` tag. It returns an error wrapping
// ErrUnsigned, saying what it found, when none does.
func Verify(ctx context.Context, t Target, desc ocispec.Descriptor, keys []crypto.PublicKey) error {
	if len(keys) == 0 {
		return fmt.Errorf("%w: no verification key", ErrUnsigned)
	}
	manifests, err := orasregistry.Referrers(ctx, t, desc, SignatureArtifactType)
	if err != nil && !notFound(err) {
		return fmt.Errorf("listing the signatures of %s: %w", desc.Digest, explain(err))
	}
	if d, err := t.Resolve(ctx, cosignTag(desc.Digest)); err == nil {
		manifests = append(manifests, d)
	}
	if len(manifests) > maxSignatures {
		manifests = manifests[len(manifests)-maxSignatures:]
	}
	seen, bad := 0, 0
	for _, m := range manifests {
		layers, err := signatureLayers(ctx, t, m)
		if err != nil {
			bad++
			continue
		}
		for _, l := range layers {
			seen++
			ok, err := verifyLayer(ctx, t, l, desc.Digest, keys)
			if err != nil {
				bad++
			}
			if ok {
				return nil
			}
		}
	}
	switch {
	case seen == 0 && bad == 0:
		return fmt.Errorf("%w: %s is not signed (sign it: cartlsp deps push --sign-key KEY, or cosign sign --key KEY)", ErrUnsigned, desc.Digest)
	case bad > 0:
		return fmt.Errorf("%w: none of the %d signatures of %s verifies with the configured key (%d did not read)", ErrUnsigned, seen, desc.Digest, bad)
	}
	return fmt.Errorf("%w: none of the %d signatures of %s is by the configured key", ErrUnsigned, seen, desc.Digest)
}

// cosignTag is the tag a plain `cosign sign` stores a manifest's signatures
// under.
func cosignTag(d digest.Digest) string {
	return d.Algorithm().String() + "-" + d.Encoded() + ".sig"
}

// signatureLayers reads a signature manifest's payload layers.
func signatureLayers(ctx context.Context, t Target, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	if desc.Size > maxManifestBytes {
		return nil, fmt.Errorf("signature manifest of %d bytes", desc.Size)
	}
	if desc.MediaType != ocispec.MediaTypeImageManifest && desc.MediaType != "application/vnd.docker.distribution.manifest.v2+json" {
		return nil, fmt.Errorf("signature manifest of type %q", desc.MediaType)
	}
	b, err := content.FetchAll(ctx, t, desc)
	if err != nil {
		return nil, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	var out []ocispec.Descriptor
	for _, l := range m.Layers {
		if l.MediaType == SimpleSigningMediaType {
			out = append(out, l)
		}
	}
	return out, nil
}

// verifyLayer checks one payload layer: a payload that names want, signed
// by one of keys.
func verifyLayer(ctx context.Context, t Target, l ocispec.Descriptor, want digest.Digest, keys []crypto.PublicKey) (bool, error) {
	sig, err := base64.StdEncoding.DecodeString(l.Annotations[SignatureAnnotation])
	if err != nil || len(sig) == 0 {
		return false, fmt.Errorf("no signature annotation")
	}
	if l.Size > maxPayloadBytes {
		return false, fmt.Errorf("payload of %d bytes", l.Size)
	}
	payload, err := content.FetchAll(ctx, t, l)
	if err != nil {
		return false, err
	}
	var p simpleSigning
	if err := json.Unmarshal(payload, &p); err != nil {
		return false, err
	}
	if p.Critical.Type != simpleSigningType || p.Critical.Image.DockerManifestDigest != want.String() {
		return false, nil // a signature of something else
	}
	for _, k := range keys {
		if verifies(k, payload, sig) {
			return true, nil
		}
	}
	return false, nil
}
