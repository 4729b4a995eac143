// Package nvim_test runs the Neovim plugin in headless Neovim against a freshly built
// `cartlsp serve` and the real model, on a small git repository: test/e2e.lua drives
// the plugin and reports each step in JSON, which this test checks.
package nvim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
	"github.com/cartlsp/cartlsp/runtime/modelfile"
)

// requiredSteps are the steps test/e2e.lua must report as passed.
var requiredSteps = []string{
	"initialize",        // the client attached, the server answered initialize with its capabilities
	"training_progress", // $/progress with a percentage, or cartridge/status "training"
	"trained",           // cartridge/status "ready" with a Cartridge (budget tiny)
	"status_command",    // workspace/executeCommand cartlsp.status
	"ask",               // cartridge/ask through the plugin: streamed pieces and a non-empty answer
	"ask_selection",     // :CartAskSelection on a range of lines: an answer in the window
	"completion",        // textDocument/completion returns an item
	"ghost_text",        // in insert mode: an inline completion shown as extmarks; the mapped keys accept a word, then the rest
	"ghost_auto",        // keys typed within the debounce: one automatic request (kind 2); the mapped dismiss key hides its answer
	"ghost_keys",        // a mapped accept key does its usual job when no ghost text shows
	"health",            // :checkhealth cartlsp: the binary, the model, the store (HEAD's Cartridge) and git OK
	"lsp_config",        // lsp/cartlsp.lua is a config for vim.lsp.enable
	"help",              // doc/cartlsp.txt: helptags, and :help finds its tags
	"restart",           // :CartRestart: a new client that initializes, the old one exited with code 0
	"stop",              // :CartStop: the server exits and stays stopped on BufEnter; :CartRestart starts it
	"log",               // :CartLog opens the LSP log in a new tab
	"selection_range",   // :CartAskSelection's range (no server involved)
	"cancel",            // closing the ask window cancels the request
	"shutdown",          // client stop: shutdown, exit, exit code 0
	"lsp_config_client", // a client started from lsp/cartlsp.lua (setup autostart off): registered, setup's settings sent, its exit recorded
}

// The Lua script selects characters on the first two lines of greet.go: keep them long.
var repoFiles = map[string]string{
	"go.mod": "module example.com/greet\n\ngo 1.22\n",
	"greet.go": `// Package greet says hello.
package greet

import "fmt"

// Greet returns a greeting for name, such as "Hello, Ada!".
func Greet(name string) string {
	return fmt.Sprintf("Hello, %s!", name)
}
`,
	"counter.go": `package greet

// Counter counts the greetings made so far.
type Counter struct{ n int }

// Inc adds one greeting and returns the new count.
func (c *Counter) Inc() int {
	c.n++
	return c.n
}
`,
}

type step struct {
	Name    string          `json:"name"`
	OK      bool            `json:"ok"`
	Detail  json.RawMessage `json:"detail"`
	StartMs int64           `json:"startMs"`
	Ms      int64           `json:"ms"`
}

type report struct {
	Steps []step `json:"steps"`
	Error string `json:"error"`
	Done  bool   `json:"done"`
	Nvim  string `json:"nvim"`
}

func TestNeovimEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("the Neovim end-to-end test trains a Cartridge (minutes); skipped with -short")
	}
	// The Makefile sets CARTLSP_REQUIRE_NVIM=1 (after installing Neovim) so that a
	// missing prerequisite fails instead of skipping.
	skip := func(why string) {
		if os.Getenv("CARTLSP_REQUIRE_NVIM") == "1" {
			t.Fatal(why + " (CARTLSP_REQUIRE_NVIM=1)")
		}
		t.Skip(why)
	}
	// The small real model (the point here is the editor, not the model), by
	// modeltest.SmallPath's rule: $CARTLSP_SMALL_MODEL (a missing file fails
	// the test), else the pulled smollm2-135m; the server gets it as
	// $CARTLSP_MODEL.
	if os.Getenv(modeltest.SmallModelEnv) == "" {
		if _, err := modelfile.Resolve(modelfile.TestName); err != nil {
			skip("this test needs the small real model: `cartlsp model pull " + modelfile.TestName + "`, or set CARTLSP_SMALL_MODEL to its GGUF file")
		}
	}
	modelPath := modeltest.SmallPath(t)
	nvim, err := exec.LookPath("nvim")
	if err != nil {
		skip("nvim is not on $PATH: install Neovim 0.7 or later (apt-get install neovim)")
	}
	for _, tool := range []string{"go", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			skip(tool + " is not on $PATH")
		}
	}

	plugin, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(filepath.Dir(plugin)) // extensions/nvim -> the module root
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found above %s: %v", plugin, err)
	}

	tmp := t.TempDir()
	bin := filepath.Join(tmp, "cartlsp")
	build := exec.Command("go", "build", "-o", bin, "./cmd/cartlsp")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/cartlsp: %v\n%s", err, out)
	}
	repo := makeRepo(t, filepath.Join(tmp, "repo"))
	store := filepath.Join(tmp, "store")
	if err := os.Mkdir(store, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "report.json")
	serverLog := filepath.Join(tmp, "server.log")
	xdg := filepath.Join(tmp, "xdg") // keeps Neovim's own files (lsp.log) out of the user's home

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	// Paths travel in the environment, so that no quoting for Vim's command line is needed.
	cmd := exec.CommandContext(ctx, nvim, "--headless", "-u", "NONE", "-i", "NONE",
		"--cmd", `lua vim.opt.runtimepath:append(os.getenv("CARTLSP_E2E_PLUGIN"))`,
		"-c", `lua dofile(os.getenv("CARTLSP_E2E_PLUGIN") .. "/test/e2e.lua")`)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(),
		"CARTLSP_E2E_PLUGIN="+plugin,
		"CARTLSP_E2E_BIN="+bin,
		"CARTLSP_E2E_REPO="+repo,
		"CARTLSP_E2E_FILE=greet.go",
		"CARTLSP_E2E_OUT="+out,
		"CARTLSP_E2E_SERVER_LOG="+serverLog,
		"CARTLSP_STORE="+store,
		"CARTLSP_MODEL="+modelPath,
		"XDG_CACHE_HOME="+filepath.Join(xdg, "cache"),
		"XDG_STATE_HOME="+filepath.Join(xdg, "state"),
		"XDG_DATA_HOME="+filepath.Join(xdg, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(xdg, "config"),
	)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	start := time.Now()
	runErr := cmd.Run()
	t.Logf("nvim ran %s", time.Since(start).Round(time.Second))

	showLogs := func() {
		t.Logf("nvim output:\n%s", output.String())
		logFile(t, "server log (stderr of cartlsp serve)", serverLog)
		logFile(t, "Neovim 0.7 lsp.log", filepath.Join(xdg, "cache", "nvim", "lsp.log"))
		logFile(t, "Neovim lsp.log", filepath.Join(xdg, "state", "nvim", "lsp.log"))
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("nvim did not finish within 8 minutes (killed)")
	} else if runErr != nil {
		t.Errorf("nvim: %v", runErr)
	}

	data, err := os.ReadFile(out)
	if err != nil {
		showLogs()
		t.Fatalf("test/e2e.lua wrote no report: %v", err)
	}
	var rep report
	if err := json.Unmarshal(data, &rep); err != nil {
		showLogs()
		t.Fatalf("report %s: %v\n%s", out, err, data)
	}
	t.Logf("Neovim %s", rep.Nvim)
	byName := map[string]step{}
	for _, s := range rep.Steps {
		byName[s.Name] = s
		t.Logf("%-17s ok=%-5v at %6.1fs took %6.1fs %s", s.Name, s.OK, float64(s.StartMs)/1000, float64(s.Ms)/1000, s.Detail)
	}
	if rep.Error != "" {
		t.Errorf("test/e2e.lua stopped with an error: %s", rep.Error)
	}
	for _, name := range requiredSteps {
		s, ok := byName[name]
		switch {
		case !ok:
			t.Errorf("step %s did not run (an earlier step failed, or the script stopped)", name)
		case !s.OK:
			t.Errorf("step %s failed: %s", name, s.Detail)
		}
	}
	if !rep.Done && !t.Failed() {
		t.Errorf("test/e2e.lua did not finish its report")
	}
	if t.Failed() {
		showLogs()
	}
}

// makeRepo writes repoFiles into dir and commits them on branch main.
func makeRepo(t *testing.T, dir string) string {
	t.Helper()
	for name, text := range repoFiles {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com", "GIT_AUTHOR_DATE=2024-01-02T03:04:05Z",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com", "GIT_COMMITTER_DATE=2024-01-02T03:04:05Z",
	)
	for _, args := range [][]string{
		{"-c", "init.defaultBranch=main", "init", "-q"},
		{"add", "-A"},
		{"commit", "-q", "-m", "greet: Greet and Counter"},
	} {
		git := exec.Command("git", args...)
		git.Dir, git.Env = dir, env
		if out, err := git.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return dir
}

func logFile(t *testing.T, what, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	t.Logf("%s (%s):\n%s", what, path, data)
}
