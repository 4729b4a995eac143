package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain keeps the user's own configuration file out of the tests.
func TestMain(m *testing.M) {
	dir, _ := os.MkdirTemp("", "cartlsp-config")
	os.Setenv("XDG_CONFIG_HOME", dir)
	os.Unsetenv("CARTLSP_CONFIG")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestCLIConfig: cartlsp config shows each setting's value and source
// (default, the user's file, the repository's, the environment); train
// takes the files' budget and excludes unless flags are given, so that it
// keys the store as the server does; a file with a bad value stops the
// command naming the file, an unknown key is warned about.
func TestCLIConfig(t *testing.T) {
	dir := t.TempDir()
	modelPath := writeChatModel(t, dir)
	repo := committedRepo(t)
	user := filepath.Join(dir, "user.toml")
	os.WriteFile(user, []byte("threads = 1\nbudget = \"small\"\n"), 0o644)
	t.Setenv("CARTLSP_CONFIG", user)
	os.WriteFile(filepath.Join(repo, ".cartlsp.toml"), []byte("budget = \"tiny\"\nexclude = [\"*_test.go\"]\n[completion]\nmaxTokens = 20\n"), 0o644)
	t.Setenv("CARTLSP_STORE", filepath.Join(dir, "store"))

	code, stdout, stderr := runCLI(t, "config", "--json", "--repo", filepath.Join(repo))
	if code != 0 {
		t.Fatalf("config: exit %d\n%s", code, stderr)
	}
	var v struct {
		Settings []struct {
			Key    string
			Value  json.RawMessage
			Source string
		}
		Files []string
	}
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range v.Settings {
		var b bytes.Buffer
		json.Compact(&b, s.Value)
		got[s.Key] = b.String() + " " + s.Source
	}
	for k, want := range map[string]string{
		"budget":               `"tiny" ` + filepath.Join(repo, ".cartlsp.toml"),
		"threads":              `1 ` + user,
		"exclude":              `["*_test.go"] ` + filepath.Join(repo, ".cartlsp.toml"),
		"completion.maxTokens": `20 ` + filepath.Join(repo, ".cartlsp.toml"),
		"completion.latencyMs": `1500 default`,
		"store":                `"` + filepath.Join(dir, "store") + `" $CARTLSP_STORE`,
	} {
		if got[k] != want {
			t.Errorf("config: %s = %s, want %s", k, got[k], want)
		}
	}
	if len(v.Files) != 2 {
		t.Errorf("files %v", v.Files)
	}
	if code, stdout, _ := runCLI(t, "config", "--repo", repo); code != 0 || !strings.Contains(stdout, "budget") || !strings.Contains(stdout, ".cartlsp.toml") {
		t.Errorf("config: exit %d\n%s", code, stdout)
	}

	// train in the repository: the tiny budget from the file.
	code, stdout, stderr = runCLI(t, "train", "--model", modelPath, "--quiet", repo)
	if code != 0 {
		t.Fatalf("train with the file's budget: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, ls, _ := runCLI(t, "store", "ls", "--json"); !strings.Contains(ls, `"budget": "tiny"`) {
		t.Errorf("the store's entry was not trained with the file's budget:\n%s", ls)
	}
	code, stdout, stderr = runCLI(t, "train", "--model", modelPath, "--quiet", repo)
	if code != 0 || !strings.Contains(stdout+stderr, "up to date") {
		t.Errorf("train again: exit %d, want up to date\n%s\n%s", code, stdout, stderr)
	}

	os.WriteFile(filepath.Join(repo, ".cartlsp.toml"), []byte("budget = \"huge\"\n"), 0o644)
	if code, _, stderr := runCLI(t, "train", "--model", modelPath, "--quiet", repo); code == 0 || !strings.Contains(stderr, ".cartlsp.toml") || !strings.Contains(stderr, "huge") {
		t.Errorf("a bad budget in the file: exit %d\n%s", code, stderr)
	}
	os.WriteFile(filepath.Join(repo, ".cartlsp.toml"), []byte("budgte = \"tiny\"\n"), 0o644)
	if code, _, stderr := runCLI(t, "config", "--repo", repo); code != 0 || !strings.Contains(stderr, "no such settings: budgte") {
		t.Errorf("an unknown key: exit %d\n%s", code, stderr)
	}
}
