package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		name, text string
		keys       string
		err        string
	}{
		{name: "settings", text: "budget = \"tiny\"\nexclude = [\"vendor/**\"]\n[completion]\nmaxTokens = 32\n", keys: "budget,completion.maxTokens,exclude"},
		{name: "empty", text: "", keys: ""},
		{name: "syntax", text: "budget = \n", err: ".cartlsp.toml:1:"},
		{name: "date", text: "when = 2026-12-04\n", err: "when: a"},
		{name: "tables", text: "[[x]]\na = 1\n", err: "array of tables"},
	} {
		f, err := Parse(".cartlsp.toml", []byte(c.text))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want an error with %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || strings.Join(f.Keys, ",") != c.keys {
			t.Errorf("%s: %+v %v, want keys %s", c.name, f, err, c.keys)
		}
	}
	f, _ := Parse("x", []byte("budget = \"tiny\"\n[completion]\nmaxTokens = 32\n"))
	var n int
	if ok, err := f.Value("completion.maxTokens", &n); !ok || err != nil || n != 32 {
		t.Errorf("Value: %v %v %d", ok, err, n)
	}
	if ok, _ := f.Value("completion.latencyMs", &n); ok || !f.Sets("completion") || f.Sets("p") {
		t.Error("Value/Sets of keys the file does not set")
	}
}

// TestLoad: the repository's file is found from a subfolder up to the
// repository's root and no further; the user's comes from $CARTLSP_CONFIG;
// a broken file is said and the other still read.
func TestLoad(t *testing.T) {
	root := t.TempDir()
	outer := filepath.Join(root, RepoFile) // above the repository: never read
	repo := filepath.Join(root, "repo")
	sub := filepath.Join(repo, "a", "b")
	os.MkdirAll(sub, 0o755)
	os.MkdirAll(filepath.Join(repo, ".git"), 0o755)
	os.WriteFile(outer, []byte("budget = \"full\"\n"), 0o644)
	user := filepath.Join(root, "user.toml")
	os.WriteFile(user, []byte("threads = 2\n"), 0o644)
	t.Setenv(UserEnv, user)

	f, err := Load(sub)
	if err != nil || f.Repo != nil || f.User == nil || f.User.Path != user {
		t.Fatalf("no repository file: %+v %v", f, err)
	}
	os.WriteFile(filepath.Join(repo, RepoFile), []byte("budget = \"tiny\"\n"), 0o644)
	if f, err = Load(sub); err != nil || f.Repo == nil || f.Repo.Path != filepath.Join(repo, RepoFile) || len(f.Layers()) != 2 {
		t.Fatalf("the repository's file from a subfolder: %+v %v", f, err)
	}
	os.WriteFile(user, []byte("threads = \n"), 0o644)
	if f, err = Load(sub); err == nil || !strings.Contains(err.Error(), "user.toml:1") || f.Repo == nil {
		t.Errorf("a broken user file: %+v %v; want the error and the repository's file", f, err)
	}
	t.Setenv(UserEnv, filepath.Join(root, "absent.toml"))
	if _, err = Load(sub); err == nil {
		t.Error("$CARTLSP_CONFIG naming a missing file: no error")
	}
}
