package lsp

import (
	"bytes"
	"context"
	"log/slog"
	"sync"

	"go.lsp.dev/protocol"
)

// clientLog is a slog.Handler that passes records to the server's own
// handler (stderr) and, at info level and above, to the client as
// window/logMessage. Messages are sent from one goroutine, in order; when the
// client falls behind they are dropped rather than blocking the server.
type clientLog struct {
	inner slog.Handler
	text  slog.Handler // renders the message for the client
	buf   *logBuffer
	queue chan protocol.LogMessageParams
}

// logBuffer is where text renders a record; it is shared by the handler's
// derived copies, hence the lock.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) { return l.b.Write(p) }

func newClientLog(inner slog.Handler) *clientLog {
	buf := &logBuffer{}
	return &clientLog{
		inner: inner,
		text: slog.NewTextHandler(buf, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
				return slog.Attr{} // the client shows its own time and the type
			}
			return a
		}}),
		buf:   buf,
		queue: make(chan protocol.LogMessageParams, 256),
	}
}

// run sends queued messages until ctx is done.
func (h *clientLog) run(ctx context.Context, client protocol.Client) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-h.queue:
			_ = client.LogMessage(ctx, &m) // the transport is gone: nothing to tell
		}
	}
}

func (h *clientLog) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l) || l >= slog.LevelInfo
}

func (h *clientLog) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.inner.Enabled(ctx, r.Level) {
		err = h.inner.Handle(ctx, r)
	}
	if r.Level < slog.LevelInfo {
		return err
	}
	h.buf.mu.Lock()
	h.buf.b.Reset()
	_ = h.text.Handle(ctx, r)
	msg := string(bytes.TrimSpace(h.buf.b.Bytes()))
	h.buf.mu.Unlock()
	typ := protocol.MessageTypeInfo
	switch {
	case r.Level >= slog.LevelError:
		typ = protocol.MessageTypeError
	case r.Level >= slog.LevelWarn:
		typ = protocol.MessageTypeWarning
	}
	select {
	case h.queue <- protocol.LogMessageParams{Type: typ, Message: msg}:
	default:
	}
	return err
}

func (h *clientLog) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.inner, c.text = h.inner.WithAttrs(as), h.text.WithAttrs(as)
	return &c
}

func (h *clientLog) WithGroup(name string) slog.Handler {
	c := *h
	c.inner, c.text = h.inner.WithGroup(name), h.text.WithGroup(name)
	return &c
}
