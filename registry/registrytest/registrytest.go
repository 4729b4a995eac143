// Package registrytest starts a real OCI registry for tests: the CNCF
// distribution registry (github.com/distribution/distribution/v3, built from
// its Go module by `make registry` into bin/registry), on a loopback port,
// with or without basic auth and TLS. $CARTLSP_REGISTRY names the binary;
// when it is unset the tests that need it are skipped, and `make test` sets
// it, so there they run.
package registrytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Config says how the registry runs.
type Config struct {
	// User and Password turn basic auth on (htpasswd).
	User, Password string
	// TLS serves https with a certificate for 127.0.0.1 that Server.Client
	// trusts.
	TLS bool
}

// Server is a running registry.
type Server struct {
	// Host is "127.0.0.1:PORT".
	Host string
	// Client trusts the server's certificate (http.DefaultClient's settings
	// otherwise).
	Client *http.Client
	// CAFile is the certificate in PEM, for SSL_CERT_FILE in a subprocess.
	CAFile string
	// DockerConfig is a docker config.json holding the credentials (when the
	// server has auth), for registry.Options.DockerConfig or $DOCKER_CONFIG
	// (its directory).
	DockerConfig string
	// Dir is the registry's storage.
	Dir string
}

// Binary is the registry binary, "" when $CARTLSP_REGISTRY is unset.
func Binary(t testing.TB) string {
	p := os.Getenv("CARTLSP_REGISTRY")
	if p == "" {
		t.Skip("set CARTLSP_REGISTRY to the distribution registry binary (make registry builds bin/registry; make test sets it)")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("CARTLSP_REGISTRY=%s: %v", p, err)
	}
	return p
}

// Start runs a registry until the test ends.
func Start(t testing.TB, c Config) *Server {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	s := &Server{Dir: filepath.Join(dir, "storage"), Client: &http.Client{Timeout: time.Minute}}
	port := freePort(t)
	s.Host = fmt.Sprintf("127.0.0.1:%d", port)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n", s.Dir)
	fmt.Fprintf(&cfg, "http:\n  addr: %s\n", s.Host)
	scheme := "http"
	if c.TLS {
		cert, key := writeCert(t, dir)
		fmt.Fprintf(&cfg, "  tls:\n    certificate: %s\n    key: %s\n", cert, key)
		s.CAFile = cert
		pool := x509.NewCertPool()
		b, _ := os.ReadFile(cert)
		pool.AppendCertsFromPEM(b)
		s.Client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
		scheme = "https"
	}
	auths := map[string]any{}
	if c.User != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(c.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(c.User+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&cfg, "auth:\n  htpasswd:\n    realm: cartlsp-test\n    path: %s\n", htpasswd)
		auths[s.Host] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(c.User + ":" + c.Password))}
	}
	s.DockerConfig = filepath.Join(dir, "docker", "config.json")
	os.MkdirAll(filepath.Dir(s.DockerConfig), 0o700)
	dc, _ := json.Marshal(map[string]any{"auths": auths})
	if err := os.WriteFile(s.DockerConfig, dc, 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none", "OTEL_SDK_DISABLED=true")
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the registry: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := s.Client.Get(scheme + "://" + s.Host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry did not come up on %s: %v\n%s", s.Host, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t testing.TB, dir string) (certPath, keyPath string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cartlsp test registry"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certPath, keyPath
}

// KeyPair writes a new ECDSA P-256 key pair for signing Cartridges: the
// private key as PKCS #8 PEM, the public key as PKIX PEM (as cosign.pub).
func KeyPair(t testing.TB) (priv, pub string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pder, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, pub = filepath.Join(dir, "signing.key"), filepath.Join(dir, "signing.pub")
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}), 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}
