package lsp

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/follow"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
	"github.com/cartlsp/cartlsp/trainer"
	"github.com/cartlsp/cartlsp/trainer/storetrain"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// An in-process editor: a client connection over pipes to a Server, which
// records what the server sends (status, progress, log messages).

type editor struct {
	t      *testing.T
	s      *Server
	conn   jsonrpc2.Conn
	code   chan int // the server's exit code
	mu     sync.Mutex
	status []Status
	prog   []progressMsg
	logs   []string
	shown  []string
	notify chan struct{} // pinged on every message from the server
}

type progressMsg struct {
	Token string
	Value map[string]any
}

// pipeRWC joins a reader and a writer; Close closes both.
type pipeRWC struct {
	io.ReadCloser
	io.WriteCloser
}

func (p pipeRWC) Close() error {
	p.ReadCloser.Close()
	return p.WriteCloser.Close()
}

// newEditor starts a server with o and connects an editor to it.
func newEditor(t *testing.T, o Options, setup func(*Server)) *editor {
	t.Helper()
	if o.Training == nil {
		o.Training = testTraining{budget: testBudget}
	}
	s := New(o)
	if setup != nil {
		setup(s)
	}
	c2sR, c2sW := io.Pipe()
	s2cR, s2cW := io.Pipe()
	e := &editor{t: t, s: s, code: make(chan int, 1), notify: make(chan struct{}, 1)}
	go func() { e.code <- s.Serve(context.Background(), pipeRWC{c2sR, s2cW}) }()
	e.conn = jsonrpc2.NewConn(jsonrpc2.NewHeaderStream(pipeRWC{s2cR, c2sW}), jsonrpc2.WithCodec(codec{}))
	e.conn.Go(context.Background(), e.handle)
	t.Cleanup(func() {
		e.conn.Close()
		select {
		case <-e.code:
		case <-time.After(30 * time.Second):
			t.Error("the server did not stop after the editor closed the connection")
		}
	})
	return e
}

func (e *editor) handle(ctx context.Context, req *jsonrpc2.Request) (any, error) {
	e.mu.Lock()
	switch req.Method() {
	case "window/workDoneProgress/create":
	case "$/progress":
		var p struct {
			Token any            `json:"token"`
			Value map[string]any `json:"value"`
		}
		if err := json.Unmarshal(req.Params(), &p); err == nil {
			e.prog = append(e.prog, progressMsg{Token: jsonString(p.Token), Value: p.Value})
		}
	case methodStatus:
		var st Status
		if err := json.Unmarshal(req.Params(), &st); err == nil {
			e.status = append(e.status, st)
		}
	case "window/logMessage":
		var m protocol.LogMessageParams
		if err := json.Unmarshal(req.Params(), &m); err == nil {
			e.logs = append(e.logs, m.Message)
		}
	case "window/showMessage":
		var m protocol.ShowMessageParams
		if err := json.Unmarshal(req.Params(), &m); err == nil {
			e.shown = append(e.shown, m.Message)
		}
	default:
		e.mu.Unlock()
		if req.IsCall() {
			return nil, jsonrpc2.ErrMethodNotFound
		}
		return nil, nil
	}
	e.mu.Unlock()
	select {
	case e.notify <- struct{}{}:
	default:
	}
	return nil, nil
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// call sends a request and decodes its result.
func (e *editor) call(ctx context.Context, method string, params, result any) error {
	return protocol.Call(ctx, e.conn, method, params, result)
}

// initialize sends initialize (with options) and initialized.
func (e *editor) initialize(dir string, options map[string]any) *protocol.InitializeResult {
	e.t.Helper()
	raw, _ := json.Marshal(options)
	yes := true
	p := map[string]any{
		"processId":             nil,
		"rootUri":               string(uri.File(dir)),
		"capabilities":          protocol.ClientCapabilities{Window: &protocol.WindowClientCapabilities{WorkDoneProgress: &yes}},
		"initializationOptions": json.RawMessage(raw),
	}
	if dir == "" {
		p["rootUri"] = nil
	}
	var res protocol.InitializeResult
	if err := e.call(context.Background(), "initialize", p, &res); err != nil {
		e.t.Fatalf("initialize: %v", err)
	}
	if err := e.conn.Notify(context.Background(), "initialized", map[string]any{}); err != nil {
		e.t.Fatal(err)
	}
	return &res
}

// waitStatus waits for a status that satisfies ok (one already seen counts).
func (e *editor) waitStatus(what string, timeout time.Duration, ok func(Status) bool) Status {
	e.t.Helper()
	deadline := time.After(timeout)
	for {
		e.mu.Lock()
		for _, s := range e.status {
			if ok(s) {
				e.mu.Unlock()
				return s
			}
		}
		e.mu.Unlock()
		select {
		case <-e.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			e.mu.Lock()
			defer e.mu.Unlock()
			e.t.Fatalf("timed out waiting for %s; statuses: %+v; logs: %q", what, e.status, e.logs)
		}
	}
}

// shutdown sends shutdown and exit and returns the server's exit code.
func (e *editor) shutdown() int {
	e.t.Helper()
	if err := e.call(context.Background(), "shutdown", nil, nil); err != nil {
		e.t.Fatalf("shutdown: %v", err)
	}
	return e.exit()
}

func (e *editor) exit() int {
	e.t.Helper()
	_ = e.conn.Notify(context.Background(), "exit", nil)
	select {
	case c := <-e.code:
		e.code <- c // for Cleanup
		return c
	case <-time.After(30 * time.Second):
		e.t.Fatal("the server did not exit")
	}
	return -1
}

// testTraining trains as `cartlsp serve` does (trainer/storetrain), with
// the budgets budget returns.
type testTraining struct {
	budget func(name string) (trainer.Budget, error)
}

func (t testTraining) CheckBudget(name string) error {
	_, err := trainer.LookupBudget(name)
	return err
}

func (t testTraining) CheckMethod(name string) error { return trainer.CheckMethod(name) }

func (t testTraining) Builder(s TrainingSettings) (follow.Builder, error) {
	b, err := t.budget(s.Budget)
	if err != nil {
		return nil, err
	}
	if s.P > 0 {
		b.Train.P = s.P
	}
	sb, err := storetrain.New(s.Model, s.Store, b, s.Filter)
	if err != nil {
		return nil, err
	}
	sb.Yield, sb.Log, sb.Method = s.Yield, s.Log, s.Method
	sb.TrainBesideReplayable(s.Beside)
	return sb, nil
}

func (t testTraining) Dependencies(s TrainingSettings) (Dependencies, error) {
	b, err := t.Builder(s)
	if err != nil {
		return nil, err
	}
	return storetrain.Dependencies{B: b.(*storetrain.Builder)}, nil
}

// testBudget shrinks the budgets so that a tiny model trains in seconds.
func testBudget(name string) (trainer.Budget, error) {
	b, err := trainer.LookupBudget(name)
	if err != nil {
		return b, err
	}
	b.Synth = trainer.SynthConfig{Conversations: 8, ChunkMin: 48, ChunkMax: 96, MaxUser: 12, MaxAnswer: 16, UserTemp: 0.6, TopK: 4, SeedTypes: trainer.SeedTypes}
	b.Train = trainer.TrainConfig{P: 8, Frozen: 1, Init: trainer.InitFirstTokens, LR: 2e-2, Epochs: 1, Batch: 4, MicroTokens: 512}
	b.SynthBatch = 4
	return b, nil
}

// tinyModel writes a tiny random chat model for the test.
func tinyModel(t *testing.T) string {
	t.Helper()
	w, err := modeltest.BuildChat(modeltest.Options{Context: 4096, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// gitRepo makes a repository with one commit of files.
func gitRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@x", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@x",
			"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("add", "-A")
	git("commit", "-q", "-m", "first")
	return dir
}

// goFiles is a small Go corpus.
func goFiles() map[string]string {
	var b strings.Builder
	b.WriteString("package shapes\n\n// Area is the area of a rectangle.\nfunc Area(w, h int) int {\n\treturn w * h\n}\n")
	for i := 0; i < 12; i++ {
		b.WriteString("\n// Perimeter returns twice the sum of the sides.\nfunc Perimeter(w, h int) int {\n\treturn 2 * (w + h)\n}\n")
	}
	return map[string]string{"shapes.go": b.String(), "README.md": "# shapes\n\nGeometry helpers: Area and Perimeter.\n"}
}
