package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/cartlsp/cartlsp/answer"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// methodAsk is the question request.
const methodAsk = "cartridge/ask"

// AskParams are cartridge/ask's params.
type AskParams struct {
	Question     string          `json:"question"`
	TextDocument *DocumentRef    `json:"textDocument,omitempty"`
	Range        *protocol.Range `json:"range,omitempty"`
	MaxTokens    int             `json:"maxTokens,omitempty"`
	// PartialResultToken streams the answer's text as $/progress
	// {"text": piece}; WorkDoneToken reports begin/report/end.
	PartialResultToken json.RawMessage `json:"partialResultToken,omitempty"`
	WorkDoneToken      json.RawMessage `json:"workDoneToken,omitempty"`
}

// DocumentRef names a document.
type DocumentRef struct {
	URI string `json:"uri"`
}

// AskResult is cartridge/ask's result.
type AskResult struct {
	Answer    string `json:"answer"`
	Source    string `json:"source"`
	Commit    string `json:"commit,omitempty"`
	Cartridge string `json:"cartridge,omitempty"`
	// Dependencies are the dependency Cartridges the answer was decoded
	// against, composed before the repository's (module@version or file).
	Dependencies []string `json:"dependencies,omitempty"`
	Note         string   `json:"note,omitempty"`
	StopReason   string   `json:"stopReason"`
	Timings      Timings  `json:"timings"`
	// References are where the names the question and the answer mention
	// are declared in the repository (at most maxReferences): the files the
	// answer draws on, for the editor to link.
	References []Reference `json:"references,omitempty"`
}

// Reference is a declaration an answer mentions.
type Reference struct {
	URI   uri.URI        `json:"uri"`
	Range protocol.Range `json:"range"`
	Name  string         `json:"name"`
}

// maxReferences bounds an answer's references.
const maxReferences = 5

// references are the declarations text mentions, as locations.
func references(ctx context.Context, pre *prefix, text string) []Reference {
	if pre == nil || pre.root == "" {
		return nil
	}
	var out []Reference
	for _, c := range pre.declarations(ctx).Cite(text, maxReferences) {
		line := uint32(c.Line - 1)
		out = append(out, Reference{
			URI:   uri.File(filepath.Join(pre.root, filepath.FromSlash(c.Path))),
			Range: protocol.Range{Start: protocol.Position{Line: line}, End: protocol.Position{Line: line}},
			Name:  c.Name,
		})
	}
	return out
}

// Timings are an answer's latencies and sizes.
type Timings struct {
	FirstTokenMs    float64 `json:"firstTokenMs"`
	TotalMs         float64 `json:"totalMs"`
	PromptTokens    int     `json:"promptTokens"`
	GeneratedTokens int     `json:"generatedTokens"`
}

// maxAskTokens bounds a request's own maxTokens.
const maxAskTokens = 4096

// ask answers a question, streaming it when the request carries tokens.
func (s *Server) ask(ctx context.Context, p *AskParams) (*AskResult, error) {
	t0 := time.Now()
	question, err := s.askText(p)
	if err != nil {
		return nil, err
	}
	partial, err := progressToken(p.PartialResultToken)
	if err != nil {
		return nil, err
	}
	workTok, err := progressToken(p.WorkDoneToken)
	if err != nil {
		return nil, err
	}
	ss, done, err := s.session(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	maxTokens := ss.cfg.Ask.MaxTokens
	if p.MaxTokens > 0 {
		maxTokens = min(p.MaxTokens, maxAskTokens)
	}
	var work *workDone
	if workTok != nil {
		work = &workDone{s: s, token: workTok}
		msg := "thinking"
		s.progress(ctx, workTok, &protocol.WorkDoneProgressBegin{Kind: "begin", Title: "cartlsp: answering", Message: &msg})
		defer func() { work.end(ctx, "done") }()
	}
	var first time.Duration
	var text strings.Builder
	res, pre, err := s.answer(ctx, ss, question, maxTokens, func(piece string) error {
		if first == 0 {
			first = time.Since(t0)
		}
		text.WriteString(piece)
		if partial != nil {
			raw, _ := json.Marshal(map[string]string{"text": piece})
			if err := s.client.Progress(ctx, &protocol.ProgressParams{Token: partial, Value: raw}); err != nil {
				s.log.Debug("streaming an answer", "err", err)
			}
		}
		if work != nil {
			work.report(ctx, tail(text.String(), 80), 0)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if res.Stop == answer.StopCancelled {
		return nil, protocol.ErrRequestCancelled
	}
	// The timings count from the request: waiting for the model and the
	// prefix included.
	return &AskResult{
		Answer: strings.TrimSpace(res.Text), Source: pre.source, Commit: pre.commit, Cartridge: pre.cartridge, Dependencies: pre.dependencies, Note: pre.note,
		StopReason: string(res.Stop),
		Timings: Timings{FirstTokenMs: ms(first), TotalMs: ms(time.Since(t0)),
			PromptTokens: res.PromptTokens, GeneratedTokens: len(res.Tokens)},
		References: references(ctx, pre, question+"\n"+res.Text),
	}, nil
}

// answer answers question after the session's prefix (answer.Ask: the
// prompt, the stop policy and the window's budget are cartlsp eval's too).
func (s *Server) answer(ctx context.Context, ss *session, question string, maxTokens int, onText func(string) error) (answer.Answer, *prefix, error) {
	defer s.prio.hold()() // the training waits at its next step
	spec, err := ss.spec(ctx)
	if err != nil {
		return answer.Answer{}, nil, err
	}
	pre, err := ss.eng.prefixFor(ctx, spec)
	if err != nil {
		return answer.Answer{}, nil, err
	}
	if s.testBeforeDecode != nil {
		s.testBeforeDecode(ctx)
	}
	res, err := answer.Ask(ctx, ss.eng.model(), ss.eng.chat, pre.Prefix, question, answer.Options{MaxTokens: maxTokens}, onText)
	if errors.Is(err, answer.ErrNoRoom) {
		return res, pre, jsonrpc2.NewError(jsonrpc2.InvalidParams, "cartlsp: "+err.Error())
	}
	return res, pre, err
}

// askText is the question with the selected text, if any, before it.
func (s *Server) askText(p *AskParams) (string, error) {
	q := strings.TrimSpace(p.Question)
	if p.TextDocument == nil || p.Range == nil {
		if q == "" {
			return "", jsonrpc2.NewError(jsonrpc2.InvalidParams, "cartlsp: a question is needed (params.question)")
		}
		return q, nil
	}
	u, err := docURI(p.TextDocument.URI)
	if err != nil {
		return "", err
	}
	text, err := s.docs.text(u, s.workspaceDir())
	if err != nil {
		return "", jsonrpc2.NewError(jsonrpc2.InvalidParams, fmt.Sprintf("cartlsp: reading %s: %v", p.TextDocument.URI, err))
	}
	start, err := offset(text, p.Range.Start)
	if err != nil {
		return "", jsonrpc2.NewError(jsonrpc2.InvalidParams, "cartlsp: range: "+err.Error())
	}
	end, err := offset(text, p.Range.End)
	if err != nil {
		return "", jsonrpc2.NewError(jsonrpc2.InvalidParams, "cartlsp: range: "+err.Error())
	}
	if end < start {
		start, end = end, start
	}
	sel := strings.Trim(text[start:end], "\n")
	if q == "" {
		q = "What does this code do?"
	}
	if strings.TrimSpace(sel) == "" {
		return q, nil
	}
	note := ""
	if len(sel) > maxSelectionBytes {
		sel = head(sel, maxSelectionBytes)
		note = fmt.Sprintf("(Only the selection's first %d lines are shown.)\n", strings.Count(sel, "\n")+1)
	}
	return "```\n" + sel + "\n```\n" + note + "\n" + q, nil
}

// progressToken parses a client's progress token (a string or an integer);
// nil when absent.
func progressToken(raw json.RawMessage) (protocol.ProgressToken, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var str string
	if err := json.Unmarshal(raw, &str); err == nil {
		return protocol.String(str), nil
	}
	var n int32
	if err := json.Unmarshal(raw, &n); err == nil {
		return protocol.Integer(n), nil
	}
	return nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, fmt.Sprintf("cartlsp: a progress token is a string or an integer, not %s", raw))
}

// maxSelectionBytes bounds the selected code a question quotes (about 4k
// tokens); a longer selection is cut at a line end.
const maxSelectionBytes = 16 << 10

// head is s cut to at most n bytes at its last line end (or rune boundary)
// before n.
func head(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if i := strings.LastIndexByte(s[:n], '\n'); i > 0 {
		return s[:i]
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// tail is the last n bytes of s, on a rune boundary.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && s[i]&0xC0 == 0x80 {
		i++
	}
	return "…" + s[i:]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
