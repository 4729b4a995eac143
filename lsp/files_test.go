package lsp

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/config"
)

// TestConfigFiles: the user's file, then the repository's, apply over the
// defaults and under the editor's settings; cartlsp/config says where each
// value came from; a setting the editor gives as null returns to the
// files'; unknown keys and refused files are shown to the user.
func TestConfigFiles(t *testing.T) {
	parse := func(path, text string) *config.File {
		f, err := config.Parse(path, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	files := config.Files{
		User: parse("/home/u/.config/cartlsp/config.toml", "budget = \"tiny\"\nthreads = 2\nbudgte = \"x\"\n"),
		Repo: parse("/repo/.cartlsp.toml", "method = \"ntp\"\nexclude = [\"vendor/**\"]\n[completion]\nmaxTokens = 20\n"),
	}
	e := newEditor(t, Options{Config: withModel("", t.TempDir()), ConfigFiles: func(string) (config.Files, error) { return files, nil }}, nil)
	e.initialize(t.TempDir(), map[string]any{"completion": map[string]any{"maxTokens": 30}, "budget": nil})
	ctx := context.Background()
	get := func() map[string]Setting {
		t.Helper()
		var res ConfigResult
		if err := e.call(ctx, methodConfig, nil, &res); err != nil {
			t.Fatal(err)
		}
		m := map[string]Setting{}
		for _, s := range res.Settings {
			m[s.Key] = s
		}
		if len(res.Files) != 2 || len(res.Problems) != 1 || res.Problems[0].Unknown[0] != "budgte" {
			t.Errorf("files %v, problems %+v", res.Files, res.Problems)
		}
		return m
	}
	want := func(m map[string]Setting, key, value, source string) {
		t.Helper()
		if s := m[key]; string(s.Value) != value || s.Source != source {
			t.Errorf("%s = %s from %s, want %s from %s", key, s.Value, s.Source, value, source)
		}
	}
	m := get()
	want(m, "budget", `"tiny"`, files.User.Path) // null in initializationOptions: the files' value
	want(m, "threads", `2`, files.User.Path)
	want(m, "method", `"ntp"`, files.Repo.Path)
	want(m, "exclude", `["vendor/**"]`, files.Repo.Path)
	want(m, "completion.maxTokens", `30`, SourceEditor)
	want(m, "completion.latencyMs", `1500`, SourceDefault)

	// The user takes the editor's completion.maxTokens out: the file's again.
	if err := e.conn.Notify(ctx, "workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"completion": map[string]any{"maxTokens": nil}, "method": "mixed"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for m = get(); string(m["method"].Value) != `"mixed"` && time.Now().Before(deadline); m = get() {
		time.Sleep(20 * time.Millisecond)
	}
	want(m, "completion.maxTokens", `20`, files.Repo.Path)
	want(m, "method", `"mixed"`, SourceEditor)
	e.mu.Lock()
	shown := strings.Join(e.shown, "\n")
	e.mu.Unlock()
	if !strings.Contains(shown, "config.toml: no such settings: budgte") {
		t.Errorf("the unknown key was not shown: %q", shown)
	}
}

// TestApplyFilesRefused: a file with a refused value is left out whole.
func TestApplyFilesRefused(t *testing.T) {
	bad, _ := config.Parse("/repo/.cartlsp.toml", []byte("budget = \"huge\"\np = 8\n"))
	c, sources, problems := ApplyFiles(DefaultConfig(), config.Files{Repo: bad}, testTraining{budget: testBudget})
	if c.Budget != "small" || c.P != 0 || len(sources) != 0 || len(problems) != 1 || !strings.Contains(problems[0].Error, "budget") {
		t.Errorf("%+v %v %+v", c, sources, problems)
	}
	raw, _ := json.Marshal(problems[0])
	if !strings.Contains(string(raw), `"path":"/repo/.cartlsp.toml"`) {
		t.Errorf("%s", raw)
	}
}

// TestVSCodeExposesEverySetting: the VS Code extension contributes a
// cartlsp.<key> setting for every server setting (and the editor's own:
// serverPath, trace.server).
func TestVSCodeExposesEverySetting(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "extensions", "vscode", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Contributes struct {
			Configuration struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"configuration"`
		} `json:"contributes"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	props := pkg.Contributes.Configuration.Properties
	server := map[string]bool{}
	for _, s := range Settings(DefaultConfig(), nil) {
		server[s.Key] = true
		if _, ok := props["cartlsp."+s.Key]; !ok {
			t.Errorf("the VS Code extension has no setting cartlsp.%s", s.Key)
		}
	}
	for k := range props {
		if key := strings.TrimPrefix(k, "cartlsp."); !server[key] && key != "serverPath" && key != "trace.server" {
			t.Errorf("the VS Code extension's %s is not a server setting", k)
		}
	}
}
