package lsp

import (
	"context"
	"fmt"
	"sync/atomic"

	"go.lsp.dev/protocol"
)

// workDone reports one piece of work to the client as work-done progress
// ($/progress begin, report, end) on a token the server created.
type workDone struct {
	s     *Server
	token protocol.ProgressToken
	last  int // the last percentage reported
	ended bool
}

var progressSeq atomic.Int64

// beginWork creates a token and sends begin; nil when the client does not
// take work-done progress or refuses the token.
func (s *Server) beginWork(ctx context.Context, title, message string, pct int, cancellable bool) *workDone {
	if !s.clientProgress() {
		return nil
	}
	tok := protocol.String(fmt.Sprintf("cartlsp/%d", progressSeq.Add(1)))
	if err := s.client.WorkDoneProgressCreate(ctx, &protocol.WorkDoneProgressCreateParams{Token: tok}); err != nil {
		s.log.Debug("the client refused a progress token", "err", err)
		return nil
	}
	p := uint32(pct)
	s.progress(ctx, tok, &protocol.WorkDoneProgressBegin{Kind: "begin", Title: title, Cancellable: &cancellable, Message: &message, Percentage: &p})
	return &workDone{s: s, token: tok, last: pct}
}

func (s *Server) progress(ctx context.Context, tok protocol.ProgressToken, value any) {
	raw, err := protocol.Marshal(value)
	if err != nil {
		s.log.Error("progress value", "err", err)
		return
	}
	if err := s.client.Progress(ctx, &protocol.ProgressParams{Token: tok, Value: raw}); err != nil {
		s.log.Debug("sending progress", "err", err)
	}
}

// report sends a report when the percentage moved or the message changed.
func (w *workDone) report(ctx context.Context, message string, pct int) {
	if w == nil || w.ended {
		return
	}
	pct = max(pct, w.last) // percentages only rise
	w.last = pct
	p := uint32(pct)
	w.s.progress(ctx, w.token, &protocol.WorkDoneProgressReport{Kind: "report", Message: &message, Percentage: &p})
}

// end sends end; the context is detached from cancellation so that a
// cancelled piece of work still closes its progress in the client.
func (w *workDone) end(ctx context.Context, message string) {
	if w == nil || w.ended {
		return
	}
	w.ended = true
	w.s.progress(context.WithoutCancel(ctx), w.token, &protocol.WorkDoneProgressEnd{Kind: "end", Message: &message})
}

// is says whether tok is this work's token.
func (w *workDone) is(tok protocol.ProgressToken) bool {
	return w != nil && tokenString(w.token) == tokenString(tok)
}

func tokenString(t protocol.ProgressToken) string {
	switch t := t.(type) {
	case protocol.String:
		return "s:" + string(t)
	case protocol.Integer:
		return fmt.Sprintf("i:%d", int32(t))
	}
	return ""
}
