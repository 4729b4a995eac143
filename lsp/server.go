// Package lsp is the language server: it answers questions, completions and
// hovers in editors by decoding with the repository's Cartridge, and keeps
// that Cartridge current in the background (docs/LSP.md is the protocol).
//
// Wiring (conn.go) is apart from per-connection state (this file) and the
// features, one file each: ask, completion, hover, commands; workspace.go
// follows the repository and reports status and progress.
package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cartlsp/cartlsp/config"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// Options configure a Server.
type Options struct {
	// Config is the configuration before the client's (flags of
	// `cartlsp serve`); initializationOptions and didChangeConfiguration
	// change it.
	Config Config
	// Log receives the server's log (stderr for `cartlsp serve`); records at
	// info and above also go to the client as window/logMessage.
	Log     slog.Handler
	Version string
	// Training finds and trains the workspace's Cartridges (nil: none is
	// trained or looked up; answers use the corpus in context).
	Training Training
	// TrainAlongside lets the background training run while a request
	// decodes, sharing the cores, instead of pausing between layers.
	TrainAlongside bool
	// ConfigFiles, when set, finds the configuration files for the
	// workspace folder (config.Load): they apply over Config and under the
	// editor's settings (nil: none, as in tests).
	ConfigFiles func(dir string) (config.Files, error)
}

// Lifecycle states.
const (
	stateNew = iota
	stateInitialized
	stateShutdown
)

// Server is one connection's language server.
type Server struct {
	protocol.UnimplementedServer

	opts Options
	log  *slog.Logger
	clog *clientLog
	// maxMessage bounds a message's body (maxMessageBytes; tests lower it).
	maxMessage int
	conn       jsonrpc2.Conn
	client     protocol.Client
	docs       *documents
	comp       completer
	prio       priority        // editor requests before the training
	ctx        context.Context // the connection's lifetime

	mu    sync.Mutex
	state int
	cfg   Config
	// base is the configuration under the editor's settings: the flags'
	// and the configuration files'; a setting the editor gives as null
	// returns to it. sources says which file set what, files which were
	// read, fileProblems what did not apply.
	base         Config
	sources      map[string]string
	files        []string
	fileProblems []FileProblem
	dir          string
	workDone     bool // the client takes work-done progress
	eng          *engine
	engErr       error
	engReady     chan struct{} // closed when the first configuration is in place (or failed)
	engOnce      sync.Once
	ws           *workspace
	exited       chan struct{}
	exitOnce     sync.Once
	exitCode     int

	reconfMu sync.Mutex // one reconfiguration at a time, in order

	// Test hooks: wrap the dispatcher; run before an answer decodes.
	testDispatch     func(jsonrpc2.Handler) jsonrpc2.Handler
	testBeforeDecode func(ctx context.Context)
	testPrefill      func(ctx context.Context)
}

// New makes a server; Serve runs it on a connection.
func New(o Options) *Server {
	if o.Log == nil {
		o.Log = slog.DiscardHandler
	}
	s := &Server{opts: o, cfg: o.Config, docs: newDocuments(), engReady: make(chan struct{}), exited: make(chan struct{}), exitCode: 1,
		maxMessage: maxMessageBytes}
	s.clog = newClientLog(o.Log)
	s.log = slog.New(s.clog)
	return s
}

// Serve answers the client on rwc until it sends exit or goes away, and
// returns the process exit code: 0 after shutdown then exit, 1 otherwise.
func (s *Server) Serve(ctx context.Context, rwc io.ReadWriteCloser) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.ctx = ctx
	s.conn = jsonrpc2.NewConn(newBoundedStream(rwc, s.maxMessage, s.log), jsonrpc2.WithCodec(codec{}))
	s.client = protocol.ClientDispatcher(s.conn)
	go s.clog.run(ctx, s.client)
	s.conn.Go(ctx, s.handler())
	select {
	case <-s.exited:
	case <-s.conn.Done():
		s.log.Info("the client closed the connection")
	case <-ctx.Done():
	}
	cancel() // requests in flight and the training stop
	_ = rwc.Close()
	closed := make(chan struct{})
	go func() {
		_ = s.conn.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		s.log.Warn("the connection did not close in 5 s; exiting anyway")
	}
	s.teardown()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exitCode
}

// teardown stops following the repository and unloads the model.
func (s *Server) teardown() {
	s.reconfMu.Lock()
	defer s.reconfMu.Unlock()
	s.mu.Lock()
	ws, eng := s.ws, s.eng
	s.ws, s.eng = nil, nil
	s.mu.Unlock()
	if ws != nil {
		ws.stop()
	}
	if eng != nil {
		eng.retire()
	}
}

// shutDown reports whether shutdown was received.
func (s *Server) shutDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == stateShutdown
}

// acceptsBeforeInit says whether a message may be handled in the current
// lifecycle state.
func (s *Server) acceptsBeforeInit(method string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case stateNew:
		return method == protocol.MethodInitialize || method == protocol.MethodExit
	case stateShutdown:
		return method == protocol.MethodExit || method == protocol.MethodShutdown || method == protocol.MethodCancelRequest
	}
	return true
}

func (s *Server) config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

func (s *Server) clientProgress() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.workDone
}

// Initialize takes the workspace folder, the client's capabilities and the
// initial configuration.
func (s *Server) Initialize(ctx context.Context, p *protocol.InitializeParams) (*protocol.InitializeResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateNew {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "cartlsp: initialize was already received")
	}
	s.dir = workspaceDir(p)
	base := s.cfg
	if s.opts.ConfigFiles != nil {
		files, err := s.opts.ConfigFiles(s.dir) // a file that does not parse: reported, the others apply
		base, s.sources, s.fileProblems = ApplyFiles(base, files, s.opts.Training)
		for _, f := range files.Layers() {
			s.files = append(s.files, f.Path)
		}
		if err != nil {
			s.fileProblems = append([]FileProblem{{Error: err.Error()}}, s.fileProblems...)
		}
	}
	cfg, unknown, err := base.merge(p.InitializationOptions, s.opts.Training, base)
	if err != nil {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, "cartlsp: initializationOptions: "+err.Error())
	}
	if len(unknown) > 0 {
		s.log.Warn("ignoring settings cartlsp does not know (see docs/LSP.md)", "settings", unknown)
	}
	s.base, s.cfg = base, cfg
	if w := p.Capabilities.Window; w != nil && w.WorkDoneProgress != nil {
		s.workDone = *w.WorkDoneProgress
	}
	s.state = stateInitialized
	s.log.Info("initialize", "client", p.ClientInfo.Name, "workspace", s.dir)
	sync := protocol.TextDocumentSyncKindIncremental
	open := true
	return &protocol.InitializeResult{
		Capabilities: protocol.ServerCapabilities{
			TextDocumentSync:         &protocol.TextDocumentSyncOptions{OpenClose: &open, Change: &sync},
			CompletionProvider:       &protocol.CompletionOptions{TriggerCharacters: []string{".", "(", " "}},
			HoverProvider:            protocol.Boolean(true),
			InlineCompletionProvider: protocol.Boolean(true),
			ExecuteCommandProvider:   protocol.ExecuteCommandOptions{Commands: slices.Clone(commands)},
		},
		ServerInfo: protocol.ServerInfo{Name: "cartlsp", Version: protocol.NewOptional(s.opts.Version)},
	}, nil
}

// workspaceDir is the first workspace folder, else rootUri, else rootPath.
func workspaceDir(p *protocol.InitializeParams) string {
	if fs, ok := p.WorkspaceFolders.Get(); ok && len(fs) > 0 && fs[0].URI.Scheme() == "file" {
		return fs[0].URI.FsPath()
	}
	if p.RootURI != nil && *p.RootURI != "" && p.RootURI.Scheme() == "file" {
		return p.RootURI.FsPath()
	}
	if r, ok := p.RootPath.Get(); ok && r != "" {
		return r
	}
	return ""
}

// Initialized loads the model and starts following the repository, in the
// background.
func (s *Server) Initialized(ctx context.Context, _ *protocol.InitializedParams) error {
	s.reportFiles(ctx)
	cfg := s.config()
	go s.reconfigure(s.ctx, cfg)
	return nil
}

// reconfigure brings the engine and the workspace in line with cfg: the
// model is loaded again when its settings changed (a model that does not
// load leaves the one in use, and its settings, in place), following
// restarts when the training settings (or the model) changed.
func (s *Server) reconfigure(ctx context.Context, cfg Config) {
	s.reconfMu.Lock()
	defer s.reconfMu.Unlock()
	if ctx.Err() != nil {
		return
	}
	s.mu.Lock()
	eng, ws, dir := s.eng, s.ws, s.dir
	s.mu.Unlock()
	if eng == nil || eng.key != cfg.modelKey() {
		s.notifyStatus(ctx, Status{State: "starting", Message: "loading the model", Source: sourceNone})
		next, err := loadEngine(cfg)
		if err != nil {
			s.log.Error("loading the model", "err", err)
			s.notifyStatus(ctx, Status{State: "error", Message: "cannot load the model: " + err.Error(), Error: err.Error(), Source: sourceNone})
			s.showError(ctx, fmt.Sprintf("cartlsp: cannot load the model: %v", err))
			s.mu.Lock()
			if eng == nil {
				s.engErr = err
			} else {
				// Go on with the model in use.
				s.cfg.Model, s.cfg.Device, s.cfg.Threads = eng.cfg.Model, eng.cfg.Device, eng.cfg.Threads
				cfg.Model, cfg.Device, cfg.Threads = eng.cfg.Model, eng.cfg.Device, eng.cfg.Threads
			}
			s.mu.Unlock()
			if eng == nil {
				s.engLoaded()
				return
			}
		} else {
			next.base, next.onPrefill = ctx, s.testPrefill
			if ws != nil {
				ws.stop() // its training uses the old model
				ws = nil
			}
			// The stopped workspace stays in s.ws until its successor is
			// set: meanwhile questions still see its last Cartridge.
			s.mu.Lock()
			old := s.eng
			s.eng, s.engErr = next, nil
			s.mu.Unlock()
			if old != nil {
				old.retire()
			}
			eng = next
			s.log.Info("model loaded", "path", eng.l.Path, "device", eng.l.Device, "threads", eng.l.Backend.Threads())
		}
	}
	if ws != nil && ws.cfg.trainKey() == cfg.trainKey() {
		if ws.refreshDependencies(ctx, cfg) {
			s.notifyStatus(ctx, ws.currentStatus())
		}
		return
	}
	if ws != nil {
		ws.stop()
	}
	defer s.engLoaded() // the first configuration is in place: requests go on
	next, err := s.startWorkspace(ctx, cfg, eng, dir)
	if err != nil {
		s.log.Error("following the repository", "err", err)
		s.notifyStatus(ctx, Status{State: "error", Message: err.Error(), Error: err.Error(), Source: sourceNone})
		return
	}
	s.mu.Lock()
	s.ws = next
	s.mu.Unlock()
}

// restartWorkspace follows the repository again with the configuration in
// force (what it trains beside changed).
func (s *Server) restartWorkspace(ctx context.Context) {
	s.reconfMu.Lock()
	defer s.reconfMu.Unlock()
	s.mu.Lock()
	eng, ws, dir, cfg := s.eng, s.ws, s.dir, s.cfg
	s.mu.Unlock()
	if eng == nil || ws == nil {
		return
	}
	ws.stop()
	next, err := s.startWorkspace(ctx, cfg, eng, dir)
	if err != nil {
		s.log.Error("following the repository", "err", err)
		s.notifyStatus(ctx, Status{State: "error", Message: err.Error(), Error: err.Error(), Source: sourceNone})
		return
	}
	s.mu.Lock()
	s.ws = next
	s.mu.Unlock()
}

// engLoaded marks the end of the first model load (requests wait for it).
func (s *Server) engLoaded() {
	s.engOnce.Do(func() { close(s.engReady) })
}

// session is what a request answers with: the engine (held until done is
// called) and the workspace.
type session struct {
	eng *engine
	ws  *workspace
	cfg Config
}

// session waits for the model (loading at start) and holds it.
func (s *Server) session(ctx context.Context) (*session, func(), error) {
	select {
	case <-s.engReady:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	for {
		s.mu.Lock()
		eng, ws, cfg, err := s.eng, s.ws, s.cfg, s.engErr
		s.mu.Unlock()
		if eng == nil {
			if err == nil {
				err = errors.New("the model is not loaded")
			}
			return nil, nil, fmt.Errorf("cartlsp: %w", err)
		}
		if eng.acquire() {
			return &session{eng: eng, ws: ws, cfg: cfg}, eng.release, nil
		}
		// Retired between the read and the acquire: a new one is in place.
	}
}

// spec is what the session's answers decode after; it waits (ctx
// permitting) until the workspace knows whether a Cartridge answers.
func (ss *session) spec(ctx context.Context) (contextSpec, error) {
	if ss.ws == nil {
		var files []string
		for _, d := range ss.cfg.Dependencies {
			if isCartridgeFile(d) {
				files = append(files, d)
			}
		}
		return contextSpec{deps: files, depNames: files, why: "The repository is not followed yet."}, nil
	}
	if f := ss.ws.follower; f != nil {
		select {
		case <-f.Started():
		case <-ctx.Done():
			return contextSpec{}, ctx.Err()
		}
	}
	return ss.ws.spec(ss.cfg), nil
}

// Shutdown stops the training (its work stays resumable) and answers.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.state = stateShutdown
	s.mu.Unlock()
	s.teardown()
	return nil
}

// Exit ends the server: exit code 0 after shutdown, 1 without.
func (s *Server) Exit(ctx context.Context) error {
	s.exitOnce.Do(func() {
		s.mu.Lock()
		if s.state == stateShutdown {
			s.exitCode = 0
		}
		s.mu.Unlock()
		close(s.exited)
	})
	return nil
}

func (s *Server) DidOpen(ctx context.Context, p *protocol.DidOpenTextDocumentParams) error {
	s.docs.open(p)
	return nil
}

func (s *Server) DidChange(ctx context.Context, p *protocol.DidChangeTextDocumentParams) error {
	return s.docs.change(p)
}

func (s *Server) DidClose(ctx context.Context, p *protocol.DidCloseTextDocumentParams) error {
	s.docs.close(p.TextDocument.URI)
	return nil
}

// DidChangeConfiguration merges the settings and applies them in the
// background; invalid settings are refused whole, with a message.
func (s *Server) DidChangeConfiguration(ctx context.Context, p *protocol.DidChangeConfigurationParams) error {
	s.mu.Lock()
	before := s.cfg
	cfg, unknown, err := s.cfg.merge(p.Settings, s.opts.Training, s.base)
	if err == nil {
		s.cfg = cfg
		if o := overrides(s.base, cfg, s.sources); len(o) > 0 && !slices.Equal(o, overrides(s.base, before, s.sources)) {
			s.log.Info("editor settings override the configuration files", "overrides", o)
		}
	}
	s.mu.Unlock()
	if len(unknown) > 0 {
		s.log.Debug("ignoring settings cartlsp does not know", "settings", unknown)
	}
	if err != nil {
		s.showError(ctx, "cartlsp: "+err.Error()+"; the previous settings stay in force")
		return err
	}
	go s.reconfigure(s.ctx, cfg)
	return nil
}

// WorkDoneProgressCancel stops the training whose progress the user
// cancelled.
func (s *Server) WorkDoneProgressCancel(ctx context.Context, p *protocol.WorkDoneProgressCancelParams) error {
	s.mu.Lock()
	ws := s.ws
	s.mu.Unlock()
	if ws != nil {
		go ws.cancelProgress(s.ctx, p.Token)
	}
	return nil
}

// Request serves the methods protocol does not know: cartridge/ask.
func (s *Server) Request(ctx context.Context, method string, params any) (any, error) {
	switch method {
	case methodAsk:
		var p AskParams
		if err := decodeParams(params, &p); err != nil {
			return nil, err
		}
		return s.ask(ctx, &p)
	}
	return nil, jsonrpc2.NewError(jsonrpc2.MethodNotFound, fmt.Sprintf("cartlsp: no method %q", method))
}

// decodeParams decodes a custom method's params (raw JSON) into v.
func decodeParams(params any, v any) error {
	var raw []byte
	switch p := params.(type) {
	case protocol.LSPAny:
		raw = p
	case []byte:
		raw = p
	default:
		b, err := json.Marshal(p)
		if err != nil {
			return jsonrpc2.NewError(jsonrpc2.InvalidParams, err.Error())
		}
		raw = b
	}
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return jsonrpc2.NewError(jsonrpc2.InvalidParams, "cartlsp: params: "+err.Error())
	}
	return nil
}

// notifyStatus sends cartridge/status.
func (s *Server) notifyStatus(ctx context.Context, st Status) {
	if err := s.conn.Notify(context.WithoutCancel(ctx), methodStatus, st); err != nil {
		s.log.Debug("sending status", "err", err)
	}
}

// showError shows a message the user should act on.
func (s *Server) showError(ctx context.Context, msg string) {
	_ = s.client.ShowMessage(context.WithoutCancel(ctx), &protocol.ShowMessageParams{Type: protocol.MessageTypeError, Message: msg})
}

// status is the current status (for cartlsp.status).
func (s *Server) status() Status {
	s.mu.Lock()
	ws, engErr := s.ws, s.engErr
	s.mu.Unlock()
	if ws != nil {
		return ws.currentStatus()
	}
	if engErr != nil {
		return Status{State: "error", Message: "cannot load the model: " + engErr.Error(), Error: engErr.Error(), Source: sourceNone}
	}
	return Status{State: "starting", Message: "starting", Source: sourceNone}
}

// workspaceDir is the workspace folder ("" before initialize, or without
// one).
func (s *Server) workspaceDir() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dir
}

// docURI parses a client's document URI.
func docURI(s string) (uri.URI, error) {
	u, err := uri.Parse(s)
	if err != nil {
		return "", jsonrpc2.NewError(jsonrpc2.InvalidParams, fmt.Sprintf("cartlsp: document uri %q: %v", s, err))
	}
	return u, nil
}

// warm builds the prefix spec describes in the background (the corpus in
// context is prefilled once; completions do not wait for it).
func (s *Server) warm(eng *engine, spec contextSpec) {
	if !eng.acquire() {
		return
	}
	defer eng.release()
	defer s.prio.hold()() // the corpus's prefill goes before the training
	if _, err := eng.prefixFor(s.ctx, spec); err != nil && s.ctx.Err() == nil {
		s.log.Warn("preparing the context answers decode after", "err", err)
	}
}
