package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/trainer"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

func errCode(err error) jsonrpc2.Code {
	var je *jsonrpc2.Error
	if errors.As(err, &je) {
		return je.Code
	}
	return 0
}

// TestLifecycle: what a client may send before initialize, unknown
// methods, a panic in a handler, and the exit codes.
func TestLifecycle(t *testing.T) {
	model := tinyModel(t)
	dir := gitRepo(t, goFiles())
	cases := []struct {
		name     string
		shutdown bool
		want     int
	}{
		{"shutdown then exit", true, 0},
		{"exit without shutdown", false, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEditor(t, Options{Config: withModel(model, t.TempDir())}, func(s *Server) {
				s.testDispatch = func(h jsonrpc2.Handler) jsonrpc2.Handler {
					return func(ctx context.Context, req *jsonrpc2.Request) (any, error) {
						if req.Method() == "test/panic" {
							panic("boom")
						}
						return h(ctx, req)
					}
				}
			})
			ctx := context.Background()
			err := e.call(ctx, "textDocument/hover", map[string]any{}, nil)
			if errCode(err) != codeServerNotInitialized {
				t.Fatalf("a request before initialize: %v, want code %d", err, codeServerNotInitialized)
			}
			res := e.initialize(dir, map[string]any{"autoTrain": false})
			caps := res.Capabilities
			if caps.CompletionProvider == nil || caps.HoverProvider == nil || caps.InlineCompletionProvider == nil ||
				len(caps.ExecuteCommandProvider.Commands) != 4 || res.ServerInfo.Name != "cartlsp" {
				t.Errorf("capabilities: %+v", res)
			}
			if err := e.call(ctx, "initialize", map[string]any{"capabilities": map[string]any{}}, nil); err == nil {
				t.Error("a second initialize was accepted")
			}
			if err := e.call(ctx, "cartlsp/nope", map[string]any{}, nil); errCode(err) != jsonrpc2.MethodNotFound {
				t.Errorf("an unknown request: %v, want MethodNotFound", err)
			}
			if err := e.conn.Notify(ctx, "cartlsp/unknownNotification", map[string]any{"x": 1}); err != nil {
				t.Fatal(err)
			}
			if err := e.call(ctx, "test/panic", map[string]any{}, nil); errCode(err) != jsonrpc2.InternalError {
				t.Errorf("a panicking handler: %v, want InternalError", err)
			}
			var st Status
			if err := e.call(ctx, "workspace/executeCommand", map[string]any{"command": "cartlsp.status"}, &st); err != nil || st.State == "" {
				t.Fatalf("the server after an unknown notification and a panic: %+v, %v", st, err)
			}
			var code int
			if c.shutdown {
				code = e.shutdown()
			} else {
				code = e.exit()
			}
			if code != c.want {
				t.Errorf("exit code %d, want %d", code, c.want)
			}
		})
	}
}

func withModel(model, store string) Config {
	c := DefaultConfig()
	c.Model, c.Store, c.Threads = model, store, 2
	return c
}

// TestTrainAskAndProgress follows a repository with an empty store: the
// first question is answered with the corpus in context while the
// Cartridge trains (work-done progress with percentages, status
// notifications), the next with the Cartridge; answers stream.
func TestTrainAskAndProgress(t *testing.T) {
	dir := gitRepo(t, goFiles())
	e := newEditor(t, Options{Config: withModel(tinyModel(t), t.TempDir())}, nil)
	e.initialize(dir, map[string]any{"budget": "tiny", "inContextTokens": 256})
	ctx := context.Background()

	e.waitStatus("training", time.Minute, func(s Status) bool { return s.State == "training" })
	var early AskResult
	if err := e.call(ctx, methodAsk, map[string]any{"question": "What does Area return?", "maxTokens": 8}, &early); err != nil {
		t.Fatal(err)
	}
	if st := e.s.status(); st.State == "training" && early.Source != sourceInContext {
		t.Errorf("while training the answer came from %q, want in-context (note %q)", early.Source, early.Note)
	}
	if early.Source == sourceInContext && !strings.Contains(early.Note, "in context") {
		t.Errorf("an in-context answer's note: %q", early.Note)
	}

	ready := e.waitStatus("ready", 3*time.Minute, func(s Status) bool { return s.State == "ready" })
	if ready.Source != sourceCartridge || ready.Cartridge == "" {
		t.Errorf("ready status: %+v", ready)
	}
	// Work-done progress: begin, reports with rising percentages, end.
	e.mu.Lock()
	var kinds []string
	last := -1
	for _, p := range e.prog {
		k, _ := p.Value["kind"].(string)
		kinds = append(kinds, k)
		if pct, ok := p.Value["percentage"].(float64); ok {
			if int(pct) < last {
				t.Errorf("percentage fell from %d to %v", last, pct)
			}
			last = int(pct)
		}
	}
	e.mu.Unlock()
	if len(kinds) < 3 || kinds[0] != "begin" || kinds[len(kinds)-1] != "end" || last <= 0 {
		t.Errorf("training progress: kinds %v, last percentage %d", kinds, last)
	}

	var ans AskResult
	if err := e.call(ctx, methodAsk, map[string]any{"question": "What does Perimeter return?", "maxTokens": 12, "partialResultToken": "q1"}, &ans); err != nil {
		t.Fatal(err)
	}
	if ans.Source != sourceCartridge || ans.Cartridge != ready.Cartridge || ans.Timings.GeneratedTokens == 0 {
		t.Errorf("answer after training: %+v", ans)
	}
	// The answers cite where the names they mention are declared: Area
	// (line 4) and Perimeter (first declared on line 9) in shapes.go.
	for _, c := range []struct {
		a    AskResult
		name string
		line uint32
	}{{early, "Area", 3}, {ans, "Perimeter", 8}} {
		found := false
		for _, r := range c.a.References {
			if r.Name == c.name {
				found = r.Range.Start.Line == c.line && strings.HasSuffix(string(r.URI), "/shapes.go")
			}
		}
		if !found {
			t.Errorf("the answer about %s cites %+v; want shapes.go line %d", c.name, c.a.References, c.line+1)
		}
	}
	var streamed strings.Builder
	e.mu.Lock()
	for _, p := range e.prog {
		if p.Token == `"q1"` {
			s, _ := p.Value["text"].(string)
			streamed.WriteString(s)
		}
	}
	e.mu.Unlock()
	if strings.TrimSpace(streamed.String()) != ans.Answer {
		t.Errorf("streamed %q, answered %q", streamed.String(), ans.Answer)
	}
	if code := e.shutdown(); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

// TestCancel: $/cancelRequest ends a question with RequestCancelled.
func TestCancel(t *testing.T) {
	dir := gitRepo(t, goFiles())
	started := make(chan struct{}, 1)
	e := newEditor(t, Options{Config: withModel(tinyModel(t), t.TempDir())}, func(s *Server) {
		s.testBeforeDecode = func(ctx context.Context) {
			started <- struct{}{}
			<-ctx.Done() // a long answer: ends only when cancelled
		}
	})
	e.initialize(dir, map[string]any{"autoTrain": false})
	done := make(chan error, 1)
	go func() {
		_, err := e.conn.Call(context.Background(), methodAsk, map[string]any{"question": "Explain everything."}, nil)
		done <- err
	}()
	select {
	case <-started:
	case <-time.After(time.Minute):
		t.Fatal("the question never started decoding")
	}
	// The connection numbers its calls from 1: initialize was 1, the question 2.
	if err := e.conn.Notify(context.Background(), "$/cancelRequest", map[string]any{"id": 2}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if errCode(err) != protocol.CodeRequestCancelled {
			t.Errorf("a cancelled question: %v, want RequestCancelled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the cancelled question was never answered")
	}
}

// TestCompletionAndHover: completion and inline completion answer at a
// position of an open document, hover on an identifier.
func TestCompletionAndHover(t *testing.T) {
	dir := gitRepo(t, goFiles())
	e := newEditor(t, Options{Config: withModel(tinyModel(t), t.TempDir())}, nil)
	e.initialize(dir, map[string]any{"autoTrain": false, "completion": map[string]any{"latencyMs": 60000}, "hover": map[string]any{"enable": true}})
	ctx := context.Background()
	u := uri.File(filepath.Join(dir, "shapes.go"))
	text, _ := os.ReadFile(filepath.Join(dir, "shapes.go"))
	if err := e.conn.Notify(ctx, "textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": u, "languageId": "go", "version": 1, "text": string(text)}}); err != nil {
		t.Fatal(err)
	}
	// Type "func Vol" on a new last line.
	lines := strings.Count(string(text), "\n")
	if err := e.conn.Notify(ctx, "textDocument/didChange", map[string]any{
		"textDocument": map[string]any{"uri": u, "version": 2},
		"contentChanges": []any{map[string]any{
			"range": map[string]any{"start": map[string]any{"line": lines, "character": 0}, "end": map[string]any{"line": lines, "character": 0}},
			"text":  "func Vol"}}}); err != nil {
		t.Fatal(err)
	}
	pos := map[string]any{"line": lines, "character": 8}
	// The first completion may find the corpus still being prefilled.
	var list protocol.CompletionList
	for i := 0; i < 100; i++ {
		if err := e.call(ctx, "textDocument/completion", map[string]any{"textDocument": map[string]any{"uri": u}, "position": pos}, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(list.Items) != 1 {
		t.Fatalf("completion items: %+v", list)
	}
	it := list.Items[0]
	te, ok := it.TextEdit.(*protocol.TextEdit)
	if !ok || !strings.HasPrefix(te.NewText, "Vol") || te.Range.Start.Character != 5 || te.Range.End.Character != 8 || strings.Contains(te.NewText, "\n") {
		t.Errorf("completion item: %+v (edit %+v)", it, it.TextEdit)
	}
	// By default a completion decodes after nothing (completion.cartridge
	// false); with it, after what answers use (here the corpus in context).
	if d, _ := it.Detail.Get(); !strings.HasPrefix(d, "cartlsp · none") {
		t.Errorf("completion detail %q; want the model alone (none)", d)
	}
	if err := e.conn.Notify(ctx, "workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{
		"completion": map[string]any{"cartridge": true}}}); err != nil {
		t.Fatal(err)
	}
	source := ""
	for deadline := time.Now().Add(30 * time.Second); !strings.HasPrefix(source, "cartlsp · in-context") && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := e.call(ctx, "textDocument/completion", map[string]any{"textDocument": map[string]any{"uri": u}, "position": pos}, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) > 0 {
			source, _ = list.Items[0].Detail.Get()
		}
	}
	if !strings.HasPrefix(source, "cartlsp · in-context") {
		t.Errorf("with completion.cartridge, the completion's detail %q; want in-context", source)
	}
	var inline protocol.InlineCompletionList
	if err := e.call(ctx, "textDocument/inlineCompletion", map[string]any{"textDocument": map[string]any{"uri": u}, "position": pos,
		"context": map[string]any{"triggerKind": 1}}, &inline); err != nil {
		t.Fatal(err)
	}
	var hover protocol.Hover
	if err := e.call(ctx, "textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": u},
		"position": map[string]any{"line": 3, "character": 7}}, &hover); err != nil {
		t.Fatal(err)
	}
	mc, ok := hover.Contents.(*protocol.MarkupContent)
	if !ok || !strings.HasPrefix(mc.Value, "**Area**") || hover.Range == nil || hover.Range.Start.Character != 5 {
		t.Errorf("hover: %+v", hover)
	}

	// Per language: no completions in a language the setting names.
	if err := e.conn.Notify(ctx, "workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{
		"completion": map[string]any{"disabledLanguages": []string{"markdown", "go"}}}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); len(e.s.config().Completion.DisabledLanguages) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	list = protocol.CompletionList{}
	if err := e.call(ctx, "textDocument/completion", map[string]any{"textDocument": map[string]any{"uri": u}, "position": pos}, &list); err != nil || len(list.Items) != 0 {
		t.Errorf("completion in a disabled language: %+v %v", list, err)
	}

	// The off switches: completion.enable false answers empty lists
	// without the model; hover.enable false (the default) no hover.
	if err := e.conn.Notify(ctx, "workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{
		"completion": map[string]any{"enable": false}, "hover": nil}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.s.config().Completion.Enable && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	list = protocol.CompletionList{}
	inline = protocol.InlineCompletionList{}
	if err := e.call(ctx, "textDocument/completion", map[string]any{"textDocument": map[string]any{"uri": u}, "position": pos}, &list); err != nil || len(list.Items) != 0 {
		t.Errorf("completion with completion.enable false: %+v %v", list, err)
	}
	if err := e.call(ctx, "textDocument/inlineCompletion", map[string]any{"textDocument": map[string]any{"uri": u}, "position": pos,
		"context": map[string]any{"triggerKind": 1}}, &inline); err != nil || len(inline.Items) != 0 {
		t.Errorf("inline completion with completion.enable false: %+v %v", inline, err)
	}
	var raw json.RawMessage
	if err := e.call(ctx, "textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": u},
		"position": map[string]any{"line": 3, "character": 7}}, &raw); err != nil || string(raw) != "null" {
		t.Errorf("hover with hover.enable back to its default: %s %v", raw, err)
	}
}

// TestConfiguration: settings merge over the defaults, nested or not;
// invalid ones are refused whole.
func TestConfiguration(t *testing.T) {
	base := DefaultConfig()
	cases := []struct {
		name, raw string
		check     func(Config) bool
		err       string
		unknown   string
	}{
		{"empty", ``, func(c Config) bool { return c.Budget == "small" }, "", ""},
		{"flat", `{"budget":"tiny","p":32}`, func(c Config) bool { return c.Budget == "tiny" && c.P == 32 && c.AutoTrain }, "", ""},
		{"section", `{"cartlsp":{"dependencies":["a.cart"],"completion":{"latencyMs":300}}}`, func(c Config) bool {
			return len(c.Dependencies) == 1 && c.Completion.LatencyMs == 300 && c.Completion.MaxTokens == 48
		}, "", ""},
		{"unknown fields ignored", `{"cartlsp":{"serverPath":"/x","budget":"tiny","completion":{"maxTokens":9,"fast":true}}}`,
			func(c Config) bool { return c.Budget == "tiny" && c.Completion.MaxTokens == 9 }, "", "completion.fast serverPath"},
		{"bad budget", `{"budget":"huge"}`, nil, "budget", ""},
		{"bad device", `{"device":"tpu"}`, nil, `use device "auto" or "cpu"`, ""},
		{"negative", `{"completion":{"latencyMs":0}}`, nil, "completion.latencyMs", ""},
		{"not an object", `[1]`, nil, "JSON object", ""},
		{"exclude", `{"exclude":["*_test.go"]}`, func(c Config) bool { return len(c.Exclude) == 1 && c.filter().Exclude[0] == "*_test.go" }, "", ""},
		{"bad exclude", `{"exclude":["[x"]}`, nil, "exclude", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, unknown, err := base.merge([]byte(c.raw), testTraining{budget: testBudget})
			if strings.Join(unknown, " ") != c.unknown {
				t.Errorf("unknown fields %q, want %q", unknown, c.unknown)
			}
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				if got.Budget != base.Budget {
					t.Error("a refused configuration changed the old one")
				}
				return
			}
			if err != nil || !c.check(got) {
				t.Fatalf("%+v, %v", got, err)
			}
		})
	}
}

// TestConfigurationChange: didChangeConfiguration with a new budget
// restarts following (and trains for the new key); an invalid one is
// shown to the user and changes nothing.
func TestConfigurationChange(t *testing.T) {
	dir := gitRepo(t, goFiles())
	e := newEditor(t, Options{Config: withModel(tinyModel(t), t.TempDir())}, nil)
	e.initialize(dir, map[string]any{"autoTrain": false})
	e.waitStatus("idle", time.Minute, func(s Status) bool { return s.State == "idle" })
	ctx := context.Background()
	if err := e.conn.Notify(ctx, "workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"cartlsp": map[string]any{"budget": "nope"}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.mu.Lock()
		n := len(e.shown)
		e.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an invalid configuration was not shown to the user")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := e.conn.Notify(ctx, "workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"autoTrain": true, "budget": "tiny"}}); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("training after the change", time.Minute, func(s Status) bool { return s.State == "training" })
	if c := e.s.config(); c.Budget != "tiny" || !c.AutoTrain {
		t.Errorf("config after the change: %+v", c)
	}
}

// TestNotARepository: a folder outside git is answered from its files in
// context, and the status says why nothing trains.
func TestNotARepository(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.go"), []byte("package a\n\nfunc A() int { return 1 }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEditor(t, Options{Config: withModel(tinyModel(t), t.TempDir())}, nil)
	e.initialize(dir, nil)
	st := e.waitStatus("idle", time.Minute, func(s Status) bool { return s.State == "idle" })
	if !strings.Contains(st.Message, "not in a git repository") {
		t.Errorf("status: %+v", st)
	}
	var ans AskResult
	if err := e.call(context.Background(), methodAsk, map[string]any{"question": "What does A return?", "maxTokens": 4}, &ans); err != nil {
		t.Fatal(err)
	}
	if ans.Source != sourceInContext {
		t.Errorf("answer: %+v", ans)
	}
	var tr TrainResult
	raw, _ := json.Marshal(map[string]any{"command": "cartlsp.train"})
	if err := e.call(context.Background(), "workspace/executeCommand", json.RawMessage(raw), &tr); err != nil || tr.Started {
		t.Errorf("train outside a repository: %+v, %v", tr, err)
	}
}

// TestProgressCancel: cancelling the training's work-done progress stops
// the training (status "stopped"); cartlsp.train starts it again.
func TestProgressCancel(t *testing.T) {
	dir := gitRepo(t, goFiles())
	long := func(name string) (trainer.Budget, error) {
		b, err := testBudget(name)
		b.Synth.Conversations = 400 // long enough to be cancelled while it runs
		return b, err
	}
	e := newEditor(t, Options{Config: withModel(tinyModel(t), t.TempDir()), Training: testTraining{budget: long}}, nil)
	e.initialize(dir, map[string]any{"budget": "tiny"})
	var tok string
	deadline := time.Now().Add(time.Minute)
	for tok == "" {
		e.mu.Lock()
		for _, p := range e.prog {
			if p.Value["kind"] == "begin" {
				tok = p.Token
			}
		}
		e.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("no training progress began")
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx := context.Background()
	if err := e.conn.Notify(ctx, "window/workDoneProgress/cancel", map[string]any{"token": json.RawMessage(tok)}); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("stopped", time.Minute, func(s Status) bool { return s.State == "stopped" })
	e.mu.Lock()
	last := e.prog[len(e.prog)-1]
	e.mu.Unlock()
	if last.Token != tok || last.Value["kind"] != "end" {
		t.Errorf("the cancelled progress did not end: %+v", last)
	}
	e.mu.Lock()
	e.status = nil
	e.mu.Unlock()
	var tr TrainResult
	if err := e.call(ctx, "workspace/executeCommand", map[string]any{"command": "cartlsp.train"}, &tr); err != nil || !tr.Started {
		t.Fatalf("cartlsp.train after a stop: %+v, %v", tr, err)
	}
	e.waitStatus("training again", time.Minute, func(s Status) bool { return s.State == "training" })
}

// TestDependencies: dependency Cartridges are composed before the
// repository's: the prefix answers decode after holds both.
func TestDependencies(t *testing.T) {
	dir := gitRepo(t, goFiles())
	store := t.TempDir()
	e := newEditor(t, Options{Config: withModel(tinyModel(t), store)}, nil)
	e.initialize(dir, map[string]any{"budget": "tiny"})
	ready := e.waitStatus("ready", 3*time.Minute, func(s Status) bool { return s.State == "ready" })
	dep := filepath.Join(t.TempDir(), "dep.cart")
	b, err := os.ReadFile(ready.Cartridge)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dep, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.conn.Notify(ctx, "workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"dependencies": []string{dep}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(e.s.config().Dependencies) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	var ans AskResult
	if err := e.call(ctx, methodAsk, map[string]any{"question": "What is Area?", "maxTokens": 4}, &ans); err != nil {
		t.Fatal(err)
	}
	ss, done, err := e.s.session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	spec, err := ss.spec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pre, err := ss.eng.prefixFor(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Source != sourceCartridge || pre.Len() != 2*8-1 { // composing keeps the first part's frozen sink only
		t.Errorf("with a dependency: source %q, prefix of %d tokens; want the Cartridge after the dependency (15)", ans.Source, pre.Len())
	}
	// A dependency that is not a Cartridge: the question says why.
	bad := filepath.Join(t.TempDir(), "bad.cart")
	os.WriteFile(bad, []byte("not a cartridge"), 0o644)
	if err := e.conn.Notify(ctx, "workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"dependencies": []string{bad}}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); e.s.config().Dependencies[0] != bad && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	// The status says why; answers decode without it.
	st := e.waitStatus("a bad dependency", 10*time.Second, func(s Status) bool {
		return len(s.Dependencies) == 1 && s.Dependencies[0].Name == bad
	})
	if d := st.Dependencies[0]; d.State != "error" || !strings.Contains(d.Message, "bad.cart") {
		t.Errorf("a bad dependency's status: %+v", d)
	}
	ans = AskResult{}
	if err := e.call(ctx, methodAsk, map[string]any{"question": "What is Area?", "maxTokens": 4}, &ans); err != nil || len(ans.Dependencies) != 0 {
		t.Errorf("with a bad dependency: %v, decoded after %v; want an answer without it", err, ans.Dependencies)
	}
	// The dependencyTokens cap: the second copy (8 more tokens) would pass 10.
	if err := e.conn.Notify(ctx, "workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"dependencies": []string{dep, dep}, "dependencyTokens": 10}}); err != nil {
		t.Fatal(err)
	}
	st = e.waitStatus("capped", 10*time.Second, func(s Status) bool { return len(s.Dependencies) == 2 })
	if a, b := st.Dependencies[0], st.Dependencies[1]; a.State != "loaded" || a.Tokens != 8 || b.State != "skipped" || !strings.Contains(b.Message, "dependencyTokens") {
		t.Errorf("past the cap: %+v %+v", a, b)
	}
	ans = AskResult{}
	if err := e.call(ctx, methodAsk, map[string]any{"question": "What is Area?", "maxTokens": 4}, &ans); err != nil || len(ans.Dependencies) != 1 {
		t.Errorf("with one dependency past the cap: %v, decoded after %v; want the first only", err, ans.Dependencies)
	}
}

// TestModelChange: a model that does not load is reported and the one in
// use stays; a model that loads replaces it (the old one is closed when
// its last request is done).
func TestModelChange(t *testing.T) {
	dir := gitRepo(t, goFiles())
	first := tinyModel(t)
	e := newEditor(t, Options{Config: withModel(first, t.TempDir())}, nil)
	e.initialize(dir, map[string]any{"autoTrain": false})
	e.waitStatus("idle", time.Minute, func(s Status) bool { return s.State == "idle" })
	ctx := context.Background()
	ask := func() AskResult {
		t.Helper()
		var a AskResult
		if err := e.call(ctx, methodAsk, map[string]any{"question": "What is Area?", "maxTokens": 3}, &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := ask(); a.Source != sourceInContext || !strings.Contains(a.Note, "automatic training is off") {
		t.Errorf("without a Cartridge and with training off: source %q, note %q", a.Source, a.Note)
	}
	missing := filepath.Join(t.TempDir(), "missing.gguf")
	if err := e.conn.Notify(ctx, "workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"model": missing}}); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("the load error", time.Minute, func(s Status) bool { return s.State == "error" && strings.Contains(s.Message, "missing.gguf") })
	for deadline := time.Now().Add(10 * time.Second); e.s.config().Model != first; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the model setting after a failed load: %q, want the model in use %q", e.s.config().Model, first)
		}
	}
	// The message is written before the setting is restored, but the
	// editor reads it on its own goroutine: wait for it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		e.mu.Lock()
		shown := strings.Join(e.shown, "\n")
		e.mu.Unlock()
		if strings.Contains(shown, "cannot load the model") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shown messages: %q", shown)
		}
	}
	ask()

	second := filepath.Join(t.TempDir(), "second.gguf")
	b, _ := os.ReadFile(first)
	os.WriteFile(second, b, 0o644)
	old := e.s.eng
	if err := e.conn.Notify(ctx, "workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"model": second}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		e.s.mu.Lock()
		eng := e.s.eng
		e.s.mu.Unlock()
		if eng != old && eng.l.Path == second {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the new model was not loaded")
		}
	}
	old.refMu.Lock()
	retired := old.retired
	old.refMu.Unlock()
	if !retired {
		t.Error("the old model was not retired")
	}
	ask()
}

// TestCartridgeNeverWaitsForTheCorpus: a server started where the store
// has HEAD's Cartridge answers with it and never prefills the corpus (the
// in-context fallback) meanwhile.
func TestCartridgeNeverWaitsForTheCorpus(t *testing.T) {
	dir := gitRepo(t, goFiles())
	model, store := tinyModel(t), t.TempDir()
	first := newEditor(t, Options{Config: withModel(model, store)}, nil)
	opts := map[string]any{"budget": "tiny", "exclude": []string{"README.md"}} // as `cartlsp train --exclude` takes
	first.initialize(dir, opts)
	first.waitStatus("ready", 3*time.Minute, func(s Status) bool { return s.State == "ready" })
	first.shutdown()

	prefilled := make(chan struct{}, 1)
	e := newEditor(t, Options{Config: withModel(model, store)}, func(s *Server) {
		s.testPrefill = func(ctx context.Context) {
			prefilled <- struct{}{}
			<-ctx.Done() // a prefill that never ends
		}
	})
	e.initialize(dir, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ans AskResult
	if err := e.call(ctx, methodAsk, map[string]any{"question": "What is Area?", "maxTokens": 3}, &ans); err != nil {
		t.Fatalf("the question: %v", err)
	}
	if ans.Source != sourceCartridge {
		t.Errorf("answered from %q, want the Cartridge", ans.Source)
	}
	select {
	case <-prefilled:
		t.Error("the corpus was prefilled although HEAD's Cartridge was in the store")
	default:
	}
}

// TestBadInput: malformed or impossible requests are answered with errors
// that say what is wrong, and the server goes on.
func TestBadInput(t *testing.T) {
	dir := gitRepo(t, goFiles())
	e := newEditor(t, Options{Config: withModel(tinyModel(t), t.TempDir())}, nil)
	e.initialize(dir, map[string]any{"autoTrain": false, "hover": map[string]any{"enable": true}})
	ctx := context.Background()
	doc := string(uri.File(filepath.Join(dir, "shapes.go")))
	missing := string(uri.File(filepath.Join(dir, "missing.go")))
	cases := []struct {
		name, method string
		params       any
		want         string // in the error; "" when a result is fine
	}{
		{"ask without a question", methodAsk, map[string]any{}, "question"},
		{"ask with a bad token", methodAsk, map[string]any{"question": "q", "partialResultToken": map[string]any{"x": 1}}, "progress token"},
		{"ask with a range past the end", methodAsk, map[string]any{"question": "q", "textDocument": map[string]any{"uri": doc},
			"range": map[string]any{"start": map[string]any{"line": 900, "character": 0}, "end": map[string]any{"line": 901, "character": 0}}}, "past the document"},
		{"ask about a missing file", methodAsk, map[string]any{"question": "q", "textDocument": map[string]any{"uri": missing},
			"range": map[string]any{"start": map[string]any{"line": 0, "character": 0}, "end": map[string]any{"line": 0, "character": 1}}}, "missing.go"},
		{"ask with params of the wrong type", methodAsk, []any{1, 2}, "params"},
		{"completion in a missing file", "textDocument/completion", map[string]any{"textDocument": map[string]any{"uri": missing}, "position": map[string]any{"line": 0, "character": 0}}, "missing.go"},
		{"completion past the end", "textDocument/completion", map[string]any{"textDocument": map[string]any{"uri": doc}, "position": map[string]any{"line": 900, "character": 0}}, "past the document"},
		{"hover past the end", "textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": doc}, "position": map[string]any{"line": 900, "character": 3}}, "past the document"},
		{"hover on nothing", "textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": doc}, "position": map[string]any{"line": 1, "character": 0}}, ""},
		{"unknown command", "workspace/executeCommand", map[string]any{"command": "cartlsp.nope"}, "unknown command"},
		{"ask command without arguments", "workspace/executeCommand", map[string]any{"command": "cartlsp.ask"}, "one argument"},
		{"ask command with a number", "workspace/executeCommand", map[string]any{"command": "cartlsp.ask", "arguments": []any{5}}, "cartlsp.ask"},
		{"a document uri that is not one", methodAsk, map[string]any{"question": "q", "textDocument": map[string]any{"uri": "::"},
			"range": map[string]any{"start": map[string]any{"line": 0, "character": 0}, "end": map[string]any{"line": 0, "character": 1}}}, "reading"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := e.call(ctx, c.method, c.params, nil)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("error %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("error %v, want one naming %q", err, c.want)
			}
		})
	}
	// Notifications that cannot be applied are logged, never fatal.
	e.conn.Notify(ctx, "textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": missing, "version": 2},
		"contentChanges": []any{map[string]any{"text": "x"}}})
	e.conn.Notify(ctx, "workspace/didChangeConfiguration", map[string]any{"settings": "not an object"})
	e.conn.Notify(ctx, "$/cancelRequest", map[string]any{"id": map[string]any{"bad": true}})
	var st Status
	if err := e.call(ctx, "workspace/executeCommand", map[string]any{"command": "cartlsp.status"}, &st); err != nil {
		t.Fatalf("the server after bad notifications: %v", err)
	}
	if code := e.shutdown(); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

// TestRequestBounds: what a request can make the server read or put in a
// prompt is bounded. A hover over a 4 MB identifier says nothing, a 1 MB
// selection is cut in the question, and documents the client has not
// opened are read only from the workspace.
func TestRequestBounds(t *testing.T) {
	dir := gitRepo(t, goFiles())
	e := newEditor(t, Options{Config: withModel(tinyModel(t), t.TempDir())}, nil)
	e.initialize(dir, map[string]any{"autoTrain": false, "inContextTokens": 0})
	ctx := context.Background()
	u := uri.File(filepath.Join(dir, "huge.go"))
	ident := strings.Repeat("a", 4<<20)
	if err := e.conn.Notify(ctx, "textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": u, "languageId": "go", "version": 1, "text": "package p\n\nvar " + ident + " = 1\n"}}); err != nil {
		t.Fatal(err)
	}
	var hover *protocol.Hover
	if err := e.call(ctx, "textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": u},
		"position": map[string]any{"line": 2, "character": 100}}, &hover); err != nil || hover != nil {
		t.Errorf("hover over a 4 MB identifier: %+v %v, want nothing", hover, err)
	}
	// A selection of ~1 MB: the question quotes its first 16 KiB only.
	sel := strings.Repeat("x := 1\n", 150000)
	su := uri.File(filepath.Join(dir, "sel.go"))
	e.conn.Notify(ctx, "textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": su, "languageId": "go", "version": 1, "text": sel}})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := e.s.docs.text(su, ""); err == nil {
			break
		}
	}
	q, err := e.s.askText(&AskParams{Question: "What?", TextDocument: &DocumentRef{URI: string(su)},
		Range: &protocol.Range{Start: protocol.Position{}, End: protocol.Position{Line: 150000}}})
	if err != nil || len(q) > maxSelectionBytes+200 || !strings.Contains(q, "first") {
		t.Errorf("a 1 MB selection: %d bytes of question (%v)", len(q), err)
	}
	outside := filepath.Join(t.TempDir(), "secret.go")
	os.WriteFile(outside, []byte("package secret // s3cret\n"), 0o644)
	for _, path := range []string{outside, "/dev/zero"} {
		err := e.call(ctx, methodAsk, map[string]any{"question": "What?", "maxTokens": 2,
			"textDocument": map[string]any{"uri": uri.File(path)}, "range": map[string]any{"start": map[string]any{"line": 0, "character": 0}, "end": map[string]any{"line": 1, "character": 0}}}, nil)
		if err == nil || !strings.Contains(err.Error(), "outside the workspace") {
			t.Errorf("asking about %s, which is not open: %v", path, err)
		}
	}
}
