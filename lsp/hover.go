package lsp

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/indexer"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// hoverTokens bounds a hover's answer: a sentence or two.
const hoverTokens = 80

// maxIdentifierBytes bounds the identifier a hover asks about: a longer run
// of identifier characters (minified code, data) gets no hover.
const maxIdentifierBytes = 256

// Hover says what the identifier under the cursor is in this repository.
func (s *Server) Hover(ctx context.Context, p *protocol.HoverParams) (*protocol.Hover, error) {
	if !s.config().Hover.Enable {
		return nil, nil // hover.enable is off (the default)
	}
	text, err := s.docs.text(p.TextDocument.URI, s.workspaceDir())
	if err != nil {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, fmt.Sprintf("cartlsp: reading %s: %v", p.TextDocument.URI, err))
	}
	off, err := offset(text, p.Position)
	if err != nil {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, "cartlsp: "+err.Error())
	}
	start, end := identifierAt(text, off)
	if start == end || end-start > maxIdentifierBytes {
		return nil, nil // not on an identifier (or a run too long to be one): nothing to say
	}
	word := text[start:end]
	ss, done, err := s.session(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	q := fmt.Sprintf("In this codebase, what is `%s`? Answer in one or two sentences.", word)
	res, pre, err := s.answer(ctx, ss, q, hoverTokens, nil)
	if err != nil {
		return nil, err
	}
	if res.Stop == answer.StopCancelled {
		return nil, protocol.ErrRequestCancelled
	}
	src := "the model alone"
	switch pre.source {
	case sourceCartridge:
		src = "the Cartridge of " + indexer.ShortHash(pre.commit)
	case sourceInContext:
		src = "the corpus in context (no Cartridge yet)"
	}
	md := fmt.Sprintf("**%s** — %s\n\n---\n*cartlsp: answered from %s*", word, strings.TrimSpace(res.Text), src)
	r := protocol.Range{Start: position(text, start), End: position(text, end)}
	return &protocol.Hover{Contents: &protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: md}, Range: &r}, nil
}

// identifierAt is the identifier around byte offset off (empty when there
// is none); a dotted name (pkg.Name) is taken whole. It looks no further
// than maxIdentifierBytes+1 bytes each way, so a longer run is returned
// longer than maxIdentifierBytes, not whole.
func identifierAt(text string, off int) (start, end int) {
	isID := func(r rune) bool { return r == '_' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r) }
	start, end = off, off
	for start > 0 && off-start <= maxIdentifierBytes {
		r, size := utf8.DecodeLastRuneInString(text[:start])
		if !isID(r) {
			break
		}
		start -= size
	}
	for end < len(text) && end-off <= maxIdentifierBytes {
		r, size := utf8.DecodeRuneInString(text[end:])
		if !isID(r) {
			break
		}
		end += size
	}
	for start < end && text[start] == '.' {
		start++
	}
	for end > start && text[end-1] == '.' {
		end--
	}
	return start, end
}
