package registry

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cartlsp/cartlsp/registry/registrytest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"oras.land/oras-go/v2/content"
	orasregistry "oras.land/oras-go/v2/registry"
)

// writeKeys writes a key pair in PEM (the private key as PKCS #8, or
// encrypted as cosign writes it when password is set) and returns the paths.
func writeKeys(t *testing.T, k crypto.Signer, password string) (priv, pub string) {
	t.Helper()
	dir := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	block := &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	if password != "" {
		enc, err := encrypted.Encrypt(der, []byte(password))
		if err != nil {
			t.Fatal(err)
		}
		block = &pem.Block{Type: "ENCRYPTED SIGSTORE PRIVATE KEY", Bytes: enc}
	}
	pder, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	priv, pub = filepath.Join(dir, "k.key"), filepath.Join(dir, "k.pub")
	os.WriteFile(priv, pem.EncodeToMemory(block), 0o600)
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}), 0o644)
	return priv, pub
}

func TestSignKeys(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, otherPub := writeKeys(t, other, "")
	for _, c := range []struct {
		name     string
		key      crypto.Signer
		password string
	}{
		{"ecdsa-p256", p256, ""}, {"ecdsa-p384", p384, ""}, {"rsa", rsaKey, ""}, {"ed25519", edKey, ""},
		{"cosign-encrypted", p256, "hunter2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			privPath, pubPath := writeKeys(t, c.key, c.password)
			s, err := LoadSigner(privPath, []byte(c.password))
			if err != nil {
				t.Fatal(err)
			}
			if c.password != "" {
				if _, err := LoadSigner(privPath, []byte("wrong")); err == nil || !strings.Contains(err.Error(), "COSIGN_PASSWORD") {
					t.Errorf("a wrong password: %v", err)
				}
			}
			keys, err := LoadPublicKeys(pubPath)
			if err != nil {
				t.Fatal(err)
			}
			otherKeys, _ := LoadPublicKeys(otherPub)
			loc := "dir:" + filepath.Join(t.TempDir(), "carts")
			w, err := OpenWritable(ctx, loc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			signed := artifact("github.com/google/uuid", "v1.6.0", modelA)
			unsigned := artifact("github.com/google/uuid", "v1.5.0", modelA)
			cart := writeCart(t, t.TempDir(), modelA, 8, 1)
			m, err := Push(ctx, w, signed, PushFiles{Cartridge: cart})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Push(ctx, w, unsigned, PushFiles{Cartridge: writeCart(t, t.TempDir(), modelA, 8, 2)}); err != nil {
				t.Fatal(err)
			}
			if _, err := Sign(ctx, w, m, loc, s); err != nil {
				t.Fatal(err)
			}
			r, err := Open(ctx, loc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(t.TempDir(), "x.cart")
			if _, err := Pull(ctx, r, signed, dst, PullOptions{Keys: keys}); err != nil {
				t.Fatalf("a signed Cartridge: %v", err)
			}
			for _, x := range []struct {
				name string
				a    Artifact
				keys []crypto.PublicKey
				want string
			}{
				{"another key", signed, otherKeys, "is by the configured key"},
				{"unsigned", unsigned, keys, "is not signed"},
			} {
				dst := filepath.Join(t.TempDir(), "x.cart")
				if _, err := Pull(ctx, r, x.a, dst, PullOptions{Keys: x.keys}); !errors.Is(err, ErrUnsigned) || !strings.Contains(err.Error(), x.want) {
					t.Errorf("%s: %v, want ErrUnsigned saying %q", x.name, err, x.want)
				}
				if _, err := os.Stat(dst); err == nil {
					t.Errorf("%s: the refused pull wrote its file", x.name)
				}
			}
			if _, err := Pull(ctx, r, unsigned, filepath.Join(t.TempDir(), "x.cart"), PullOptions{}); err != nil {
				t.Errorf("without a key an unsigned Cartridge is pulled: %v", err)
			}
		})
	}
}

// TestSignForged: a signature copied onto another Cartridge's manifest, or
// one whose payload was changed, verifies nothing.
func TestSignForged(t *testing.T) {
	ctx := context.Background()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	privPath, pubPath := writeKeys(t, k, "")
	s, _ := LoadSigner(privPath, nil)
	keys, _ := LoadPublicKeys(pubPath)
	loc := "dir:" + filepath.Join(t.TempDir(), "carts")
	w, _ := OpenWritable(ctx, loc, Options{})
	a := artifact("github.com/google/uuid", "v1.6.0", modelA)
	b := artifact("github.com/google/uuid", "v1.5.0", modelA)
	ma, err := Push(ctx, w, a, PushFiles{Cartridge: writeCart(t, t.TempDir(), modelA, 8, 1)})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := Push(ctx, w, b, PushFiles{Cartridge: writeCart(t, t.TempDir(), modelA, 8, 2)})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := Sign(ctx, w, ma, loc, s)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := content.FetchAll(ctx, w, sig)
	if err != nil {
		t.Fatal(err)
	}
	var sm ocispec.Manifest
	json.Unmarshal(raw, &sm)
	layer := sm.Layers[0]
	payload, _ := content.FetchAll(ctx, w, layer)

	// a's signature layer, as a referrer of b.
	copied := sm
	copied.Subject = &mb
	pushManifest(t, w, copied)
	if err := Verify(ctx, w, mb, keys); !errors.Is(err, ErrUnsigned) {
		t.Errorf("a's signature referring to b: %v", err)
	}
	// A payload naming b, under a's signature.
	changed := strings.Replace(string(payload), ma.Digest.String(), mb.Digest.String(), 1)
	cl := content.NewDescriptorFromBytes(SimpleSigningMediaType, []byte(changed))
	cl.Annotations = layer.Annotations
	pushBlob(ctx, w, cl, []byte(changed))
	forged := sm
	forged.Subject = &mb
	forged.Layers = []ocispec.Descriptor{cl}
	pushManifest(t, w, forged)
	if err := Verify(ctx, w, mb, keys); !errors.Is(err, ErrUnsigned) {
		t.Errorf("a payload naming b under a's signature: %v", err)
	}
	// A signature changed by one bit.
	bad := []byte(layer.Annotations[SignatureAnnotation])
	sigBytes, _ := base64.StdEncoding.DecodeString(string(bad))
	sigBytes[len(sigBytes)/2] ^= 1
	bl := layer
	bl.Annotations = map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString(sigBytes)}
	flipped := sm
	flipped.Subject = &mb
	flipped.Layers = []ocispec.Descriptor{bl}
	pushManifest(t, w, flipped)
	if err := Verify(ctx, w, mb, keys); !errors.Is(err, ErrUnsigned) {
		t.Errorf("a flipped signature: %v", err)
	}
	if err := Verify(ctx, w, ma, keys); err != nil {
		t.Errorf("a's own signature: %v", err)
	}
}

func pushManifest(t *testing.T, w Writable, m ocispec.Manifest) {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	d := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, b)
	if err := pushBlob(context.Background(), w, d, b); err != nil {
		t.Fatal(err)
	}
}

// TestSignCosign checks the signatures against cosign itself ($CARTLSP_COSIGN,
// built by `make cosign`), on the real registry: cartlsp verifies what
// `cosign sign` writes (under its .sig tag, and as a referrer), and
// `cosign verify` accepts what cartlsp signs, with cosign's own encrypted key.
func TestSignCosign(t *testing.T) {
	bin := os.Getenv("CARTLSP_COSIGN")
	if bin == "" {
		t.Skip("set CARTLSP_COSIGN to a cosign binary (make cosign builds bin/cosign; make test sets it)")
	}
	srv := registrytest.Start(t, registrytest.Config{})
	ctx := context.Background()
	home := t.TempDir()
	cosign := func(wantOK bool, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = home
		cmd.Env = append(os.Environ(), "HOME="+home, "COSIGN_PASSWORD=correct horse", "COSIGN_EXPERIMENTAL=1", "DOCKER_CONFIG="+home)
		out, err := cmd.CombinedOutput()
		if (err == nil) != wantOK {
			t.Fatalf("cosign %s: %v (want success %v)\n%s", strings.Join(args, " "), err, wantOK, out)
		}
		return string(out)
	}
	cosign(true, "generate-key-pair")
	s, err := LoadSigner(filepath.Join(home, "cosign.key"), []byte("correct horse"))
	if err != nil {
		t.Fatalf("cosign's key: %v", err)
	}
	keys, err := LoadPublicKeys(filepath.Join(home, "cosign.pub"))
	if err != nil {
		t.Fatalf("cosign's public key: %v", err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, otherPub := writeKeys(t, other, "")
	otherKeys, _ := LoadPublicKeys(otherPub)

	loc := srv.Host + "/team/cartridges"
	o := Options{PlainHTTP: true}
	w, err := OpenWritable(ctx, loc, o)
	if err != nil {
		t.Fatal(err)
	}
	push := func(version string, seed uint64) ocispec.Descriptor {
		m, err := Push(ctx, w, artifact("github.com/google/uuid", version, modelA), PushFiles{Cartridge: writeCart(t, t.TempDir(), modelA, 8, seed)})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	byTag, byReferrer, ours := push("v1.4.0", 1), push("v1.5.0", 2), push("v1.6.0", 3)
	ref := func(m ocispec.Descriptor) string { return loc + "@" + m.Digest.String() }
	signFlags := []string{"sign", "--key", "cosign.key", "--tlog-upload=false", "--yes", "--allow-http-registry"}

	cosign(true, append(signFlags, ref(byTag))...)
	cosign(true, append(signFlags, "--registry-referrers-mode=oci-1-1", ref(byReferrer))...)
	if _, err := Sign(ctx, w, ours, loc, s); err != nil {
		t.Fatal(err)
	}
	r, _ := Open(ctx, loc, o)
	// Both of cosign's ways of storing a signature are exercised.
	if _, err := r.Resolve(ctx, cosignTag(byTag.Digest)); err != nil {
		t.Errorf("cosign sign left no %s tag: %v", cosignTag(byTag.Digest), err)
	}
	if rs, err := orasregistry.Referrers(ctx, r, byReferrer, SignatureArtifactType); err != nil || len(rs) != 1 {
		t.Errorf("cosign sign --registry-referrers-mode=oci-1-1 left %d referrers (%v)", len(rs), err)
	}
	if _, err := r.Resolve(ctx, cosignTag(byReferrer.Digest)); err == nil {
		t.Errorf("cosign sign --registry-referrers-mode=oci-1-1 left a .sig tag too")
	}
	for name, m := range map[string]ocispec.Descriptor{"cosign sign": byTag, "cosign sign, referrers": byReferrer, "cartlsp": ours} {
		if err := Verify(ctx, r, m, keys); err != nil {
			t.Errorf("%s: cartlsp does not verify it: %v", name, err)
		}
		if err := Verify(ctx, r, m, otherKeys); !errors.Is(err, ErrUnsigned) {
			t.Errorf("%s: another key verifies it: %v", name, err)
		}
	}
	verify := []string{"verify", "--insecure-ignore-tlog=true", "--experimental-oci11", "--allow-http-registry"}
	cosign(true, append(verify, "--key", "cosign.pub", ref(ours))...)
	cosign(false, append(verify, "--key", otherPub, ref(ours))...)
	// Nothing else signed it: cosign agrees that an unsigned Cartridge is not.
	cosign(false, append(verify, "--key", "cosign.pub", ref(push("v1.7.0", 4)))...)
}
