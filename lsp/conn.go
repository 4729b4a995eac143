package lsp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// Protocol wiring: the codec, the handler chain around protocol's
// dispatcher, and the stdio transport.

// codeServerNotInitialized answers requests sent before initialize.
const codeServerNotInitialized jsonrpc2.Code = -32002

// codec marshals payloads with protocol's union-aware JSON (what
// protocol.NewServer installs, which this package cannot reuse because it
// wires its own handler chain).
type codec struct{}

func (codec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case jsonrpc2.RawMessage:
		if m == nil {
			return []byte("null"), nil
		}
		return m, nil
	case *jsonrpc2.RawMessage:
		if m == nil || *m == nil {
			return []byte("null"), nil
		}
		return *m, nil
	}
	return protocol.Marshal(v)
}

func (codec) Unmarshal(data []byte, v any) error {
	if p, ok := v.(*jsonrpc2.RawMessage); ok {
		*p = append(jsonrpc2.RawMessage(nil), data...)
		return nil
	}
	return protocol.Unmarshal(data, v)
}

// handler is the chain a connection serves:
//
//	notification errors logged, not returned → $/cancelRequest → calls
//	released to run concurrently (notifications stay in order on the read
//	loop) → guard (panics recovered, nothing before initialize) →
//	protocol's dispatcher → s.
func (s *Server) handler() jsonrpc2.Handler {
	h := protocol.ServerHandler(s, jsonrpc2.MethodNotFoundHandler)
	if s.testDispatch != nil {
		h = s.testDispatch(h)
	}
	h = s.guard(h)
	h = concurrentCalls(h)
	h = protocol.CancelHandler(h)
	// jsonrpc2 closes the connection on a notification's error (a bad
	// $/cancelRequest fails in CancelHandler itself): log it instead.
	return func(ctx context.Context, req *jsonrpc2.Request) (any, error) {
		res, err := h(ctx, req)
		if err != nil && !req.IsCall() {
			s.log.Warn("notification failed", "method", req.Method(), "err", err)
			return nil, nil
		}
		return res, err
	}
}

// concurrentCalls releases calls from the read loop so that a long question
// does not hold up a completion, while notifications (document changes)
// are applied in the order they came.
func concurrentCalls(h jsonrpc2.Handler) jsonrpc2.Handler {
	return func(ctx context.Context, req *jsonrpc2.Request) (any, error) {
		if req.IsCall() {
			jsonrpc2.Async(ctx)
		}
		return h(ctx, req)
	}
}

// guard keeps one bad message from taking the server down: a panic is
// logged and answered as an internal error; requests before initialize are
// refused as the specification says.
func (s *Server) guard(h jsonrpc2.Handler) jsonrpc2.Handler {
	return func(ctx context.Context, req *jsonrpc2.Request) (result any, err error) {
		method := strings.Clone(req.Method())
		call := req.IsCall()
		t0 := time.Now()
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("handler panicked; the server goes on", "method", method, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				result, err = nil, jsonrpc2.NewError(jsonrpc2.InternalError, fmt.Sprintf("cartlsp: internal error in %s: %v", method, p))
			}
			s.log.Debug("handled", "method", method, "call", call, "ms", time.Since(t0).Milliseconds(), "err", err)
		}()
		if !s.acceptsBeforeInit(method) {
			if !call {
				return nil, nil
			}
			if s.shutDown() {
				return nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "cartlsp: the server is shut down: only exit is accepted")
			}
			return nil, jsonrpc2.NewError(codeServerNotInitialized, "cartlsp: the server is not initialized yet: send initialize first")
		}
		if method == methodConfig && call {
			return s.effectiveConfig(), nil // it takes no params, which protocol's dispatcher would refuse
		}
		result, err = h(ctx, req)
		switch {
		case err == nil || !call:
		case errors.Is(err, context.Canceled):
			err = protocol.ErrRequestCancelled
		case errors.Is(err, jsonrpc2.ErrParse):
			// The message parsed (boundedStream checks that): its params did
			// not decode.
			err = jsonrpc2.NewError(jsonrpc2.InvalidParams, fmt.Sprintf("cartlsp: %s: invalid params: %v", method, err))
		default:
			var je *jsonrpc2.Error
			if !errors.As(err, &je) {
				// A plain error is an internal one (-32603), not code 0.
				err = jsonrpc2.NewError(jsonrpc2.InternalError, err.Error())
			}
		}
		return result, err
	}
}

// stdio is the server's transport on the process's standard streams.
// Closing it closes both, which is what unblocks the connection's read
// loop when the server exits.
type stdio struct {
	in  io.ReadCloser
	out io.WriteCloser
}

func (s stdio) Read(p []byte) (int, error)  { return s.in.Read(p) }
func (s stdio) Write(p []byte) (int, error) { return s.out.Write(p) }
func (s stdio) Close() error {
	return errors.Join(s.in.Close(), s.out.Close())
}

// Stdio is a transport over in and out (os.Stdin and os.Stdout for
// `cartlsp serve`).
func Stdio(in io.ReadCloser, out io.WriteCloser) io.ReadWriteCloser { return stdio{in, out} }

// discardLogger drops everything (a Server without a logger).
var discardLogger = slog.New(slog.DiscardHandler)
