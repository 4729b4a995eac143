package modeltest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// realPathChild is set when this test binary runs as TestRealPathRule's child.
const realPathChild = "CARTLSP_MODELTEST_REALPATH_CHILD"

func TestRealPathChild(t *testing.T) {
	if os.Getenv(realPathChild) == "" {
		t.Skip("child process of TestRealPathRule")
	}
	t.Log("path:", RealPath(t))
}

// TestRealPathRule runs RealPath in a child test process (a failing or
// skipping test cannot be observed from inside): an explicit $CARTLSP_MODEL
// that does not exist fails, saying what to do; with none set and no model
// pulled the test skips; an explicit one that exists is used.
func TestRealPathRule(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.gguf")
	if err := os.WriteFile(model, []byte("GGUF"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, env string
		fail      bool
		want      string
	}{
		{"explicit missing", filepath.Join(dir, "missing.gguf"), true, "point it at a GGUF model file"},
		{"none asked, none pulled", "", false, "--- SKIP: TestRealPathChild"},
		{"explicit present", model, false, "path: " + model},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestRealPathChild$", "-test.v")
			cmd.Env = append(os.Environ(), realPathChild+"=1", ModelEnv+"="+tc.env, "CARTLSP_MODEL_DIR="+filepath.Join(dir, "cache"))
			out, err := cmd.CombinedOutput()
			if failed := err != nil; failed != tc.fail || !strings.Contains(string(out), tc.want) {
				t.Errorf("child failed: %v (want %v); want %q in its output:\n%s", err, tc.fail, tc.want, out)
			}
		})
	}
}
