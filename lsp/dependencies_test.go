package lsp

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/deps"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/registry"
	"github.com/cartlsp/cartlsp/registry/registrytest"
	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/runtime/modelfile"
	"github.com/cartlsp/cartlsp/store"
	"github.com/cartlsp/cartlsp/trainer/storetrain"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"go.lsp.dev/protocol"
)

// TestModuleDependencies names a dependency by module in the settings: the
// status says its Cartridge is missing, cartlsp.pullDependencies fetches it
// from a registry directory (where another machine pushed it), and answers
// then say they were decoded against it.
func TestModuleDependencies(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("GOMODCACHE", cache)
	mod := filepath.Join(cache, "example.com", "used@v1.2.0")
	os.MkdirAll(mod, 0o755)
	var src strings.Builder
	src.WriteString("// Package used is a dependency.\npackage used\n")
	for i := 0; i < 12; i++ {
		src.WriteString("\n// Value returns a number.\nfunc Value() int { return 7 }\n")
	}
	os.WriteFile(filepath.Join(mod, "used.go"), []byte(src.String()), 0o644)
	files := goFiles()
	files["go.mod"] = "module example.com/app\n\ngo 1.22\n\nrequire example.com/used v1.2.0\n"
	files["main.go"] = "package shapes\n\nimport \"example.com/used\"\n\nvar X = used.Value()\n"
	dir := gitRepo(t, files)
	modelPath := tinyModel(t)

	// Another machine trains it and pushes it to a registry directory.
	reg := filepath.Join(t.TempDir(), "registry")
	var pushed ocispec.Descriptor
	var w registry.Writable
	{
		l, err := modelfile.Load(modelPath, modelfile.DeviceCPU, 2)
		if err != nil {
			t.Fatal(err)
		}
		st, err := store.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		b, err := testBudget("tiny")
		if err != nil {
			t.Fatal(err)
		}
		sb, err := storetrain.New(l, st, b, indexer.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		found, err := deps.Discover(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		d, err := deps.Find(found.Deps, "example.com/used")
		if err != nil {
			t.Fatal(err)
		}
		path, trained, err := sb.EnsureDependency(context.Background(), d, mod, false)
		if err != nil || !trained {
			t.Fatalf("training the dependency: %v (trained %v)", err, trained)
		}
		w, err = registry.OpenWritable(context.Background(), "dir:"+reg, registry.Options{})
		if err != nil {
			t.Fatal(err)
		}
		e, err := sb.LookupDependency(d)
		if err != nil || e == nil || filepath.Join(e.Dir, store.CartridgeName) != path {
			t.Fatalf("the dependency's entry: %+v %v", e, err)
		}
		var files registry.PushFiles
		if pushed, files, err = sb.PushDependency(context.Background(), w, d, e, false); err != nil || files.Dataset == "" {
			t.Fatalf("pushing the dependency with its dataset: %v (%+v)", err, files)
		}
		l.Close()
	}

	e := newEditor(t, Options{Config: withModel(modelPath, t.TempDir())}, nil)
	priv, pub := registrytest.KeyPair(t)
	signer, err := registry.LoadSigner(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.initialize(dir, map[string]any{"budget": "tiny", "dependencies": []string{"example.com/used", "example.com/absent"}, "registry": "dir:" + reg,
		"registryVerifyKey": pub})
	ready := e.waitStatus("ready", 3*time.Minute, func(s Status) bool { return s.State == "ready" })
	if len(ready.Dependencies) != 2 || ready.Dependencies[0].State != "missing" || ready.Dependencies[0].ID != "example.com/used@v1.2.0" ||
		ready.Dependencies[1].State != "error" || !strings.Contains(ready.Dependencies[1].Message, "does not depend on") {
		t.Fatalf("dependencies before the pull: %+v", ready.Dependencies)
	}
	ctx := context.Background()
	pull := func() (res PullDependenciesResult) {
		t.Helper()
		raw, err := e.s.ExecuteCommand(ctx, &protocol.ExecuteCommandParams{Command: cmdPullDependencies})
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Fatalf("%v: %s", err, raw)
		}
		return res
	}
	// registryVerifyKey is set and nothing signed it: refused.
	if res := pull(); len(res.Dependencies) != 2 || res.Dependencies[0].State != "error" || !strings.Contains(res.Dependencies[0].Message, "not signed") {
		t.Fatalf("an unsigned Cartridge with registryVerifyKey set: %+v", res)
	}
	if _, err := registry.Sign(ctx, w, pushed, "dir:"+reg, signer); err != nil {
		t.Fatal(err)
	}
	res := pull()
	if len(res.Dependencies) != 2 || res.Dependencies[0].State != "loaded" || !strings.Contains(res.Message, "1 pulled") ||
		!strings.Contains(res.Message, "train beside") {
		t.Fatalf("after the pull: %+v", res)
	}
	// trainBesideDependencies is on by default: the pull brought the
	// dependency's dataset, so the repository's Cartridge trains again
	// beside it, replaying its conversations, under another recipe.
	beside := e.waitStatus("ready beside", 3*time.Minute, func(s Status) bool {
		return s.State == "ready" && s.Cartridge != "" && s.Cartridge != ready.Cartridge
	})
	m, _, err := cartridge.ReadHeader(beside.Cartridge)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Recipe.Beside) != 1 || m.Recipe.Beside[0] != "example.com/used@v1.2.0" {
		t.Errorf("the Cartridge trained beside names %v in its recipe", m.Recipe.Beside)
	}
	if m.Recipe.Replayed == 0 {
		t.Error("no conversations were replayed from the pulled dependency's dataset")
	}
	var ans AskResult
	if err := e.call(ctx, methodAsk, map[string]any{"question": "What does Value return?", "maxTokens": 4}, &ans); err != nil {
		t.Fatal(err)
	}
	if ans.Source != sourceCartridge || len(ans.Dependencies) != 1 || ans.Dependencies[0] != "example.com/used@v1.2.0" {
		t.Errorf("the answer: source %q, dependencies %v; want the Cartridge after example.com/used@v1.2.0", ans.Source, ans.Dependencies)
	}

	// Turned off: the Cartridge trained alone again, from the store.
	if err := e.conn.Notify(ctx, "workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"trainBesideDependencies": false}}); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("ready alone", 3*time.Minute, func(s Status) bool { return s.State == "ready" && s.Cartridge == ready.Cartridge })
}
