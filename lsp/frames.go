package lsp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"

	"go.lsp.dev/jsonrpc2"
)

// The base protocol's framing on the read side, made robust: jsonrpc2's
// header stream ends the connection on the first frame it cannot decode, and
// allocates whatever Content-Length a header declares. boundedStream reads
// the frames itself and hands jsonrpc2 only well-formed messages:
//
//   - a malformed header block is skipped and logged (there is no id to
//     answer);
//   - a body over maxMessageBytes is read past without being kept and
//     answered -32600 (id null);
//   - a body that is not JSON is answered -32700 (Parse error, id null);
//   - JSON that is not a JSON-RPC message is answered -32600 (Invalid
//     Request) with its id when it has one, and so is a batch (which LSP
//     does not use);
//
// and the connection goes on. Writes and Close are jsonrpc2's header
// stream's, so every frame written (errors included) goes through its lock.

// maxMessageBytes bounds one message's body: 64 MiB holds any document a
// client opens (documents read from disk are bounded far lower).
const maxMessageBytes = 64 << 20

// Header bounds: a header line, and the lines of one header block.
const (
	maxHeaderLine  = 4 << 10
	maxHeaderLines = 32
)

type frameWriter interface {
	WriteFrame(ctx context.Context, data []byte) (int64, error)
}

type boundedStream struct {
	jsonrpc2.Stream // writes and Close
	in              *bufio.Reader
	max             int
	log             *slog.Logger
}

func newBoundedStream(rwc io.ReadWriteCloser, max int, log *slog.Logger) *boundedStream {
	return &boundedStream{Stream: jsonrpc2.NewHeaderStream(rwc), in: bufio.NewReaderSize(rwc, 64<<10), max: max, log: log}
}

// Read is jsonrpc2.Stream's: the next well-formed message, decoded once,
// after answering or logging the malformed ones before it. (boundedStream
// has no ReadFrame, so jsonrpc2 takes messages from Read rather than
// decoding frames again.) Each body is a buffer of its own, so a message may
// outlive the next read.
func (s *boundedStream) Read(ctx context.Context) (jsonrpc2.Message, int64, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		length, hn, err := s.header()
		var bad badHeader
		switch {
		case errors.As(err, &bad):
			s.log.Warn("skipped a message with a malformed header", "err", err)
			continue
		case err != nil:
			return nil, 0, err
		}
		if length > s.max {
			if _, err := io.CopyN(io.Discard, s.in, int64(length)); err != nil {
				return nil, 0, fmt.Errorf("reading past a %d-byte message: %w", length, err)
			}
			s.log.Warn("dropped a message over the size limit", "bytes", length, "limit", s.max)
			s.reply(ctx, nil, jsonrpc2.InvalidRequest, fmt.Sprintf("cartlsp: the message is %d bytes, over the %d a message may take", length, s.max))
			continue
		}
		body := make([]byte, length)
		if _, err := io.ReadFull(s.in, body); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, 0, err
		}
		msg, err := jsonrpc2.DecodeMessage(body)
		switch {
		case err == nil:
			return msg, int64(hn + length), nil
		case !json.Valid(body):
			s.log.Warn("answered a message that is not JSON", "bytes", length)
			s.reply(ctx, nil, jsonrpc2.ParseError, "cartlsp: the message is not JSON")
		case bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("[")):
			s.log.Warn("answered a batch, which the Language Server Protocol does not use")
			s.reply(ctx, nil, jsonrpc2.InvalidRequest, "cartlsp: batch requests are not supported")
		default:
			var probe struct {
				ID json.RawMessage `json:"id"`
			}
			_ = json.Unmarshal(body, &probe)
			s.log.Warn("answered a message that is not a JSON-RPC request", "err", err)
			s.reply(ctx, idOf(probe.ID), jsonrpc2.InvalidRequest, "cartlsp: not a JSON-RPC 2.0 message: "+err.Error())
		}
	}
}

// idOf is a message's id for an error response: the id when it is a number
// or a string, else null.
func idOf(raw json.RawMessage) json.RawMessage {
	var n int64
	var str string
	if json.Unmarshal(raw, &n) == nil || json.Unmarshal(raw, &str) == nil {
		return raw
	}
	return nil
}

// reply writes an error response (id null when id is nil).
func (s *boundedStream) reply(ctx context.Context, id json.RawMessage, code jsonrpc2.Code, msg string) {
	if id == nil {
		id = json.RawMessage("null")
	}
	b, _ := json.Marshal(struct {
		Version string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   jsonrpc2.Error  `json:"error"`
	}{"2.0", id, jsonrpc2.Error{Code: code, Message: msg}})
	w, ok := s.Stream.(frameWriter)
	if !ok {
		return
	}
	if _, err := w.WriteFrame(ctx, b); err != nil {
		s.log.Debug("answering a malformed message", "err", err)
	}
}

// badHeader is a malformed header block (read to its end, or as far as
// the bounds allow).
type badHeader struct{ why string }

func (b badHeader) Error() string { return "malformed message header: " + b.why }

// header reads one header block and returns its Content-Length and the
// bytes it took. io.EOF before any byte is the client closing.
func (s *boundedStream) header() (length, n int, err error) {
	length = -1
	var problem string
	for lines := 0; ; lines++ {
		line, err := s.in.ReadSlice('\n')
		n += len(line)
		if errors.Is(err, bufio.ErrBufferFull) || len(line) > maxHeaderLine {
			// An endless line: read past it.
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = s.in.ReadSlice('\n')
				n += len(line)
			}
			problem = "a header line too long"
		}
		if err != nil {
			if err == io.EOF && n == 0 {
				return 0, 0, io.EOF
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, n, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if lines == 0 {
				continue // stray line ends between messages
			}
			break
		}
		if lines >= maxHeaderLines {
			problem = "too many header lines"
			continue
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			problem = fmt.Sprintf("a header line without a colon (%.40q)", line)
			continue
		}
		if bytes.EqualFold(bytes.TrimSpace(name), []byte("Content-Length")) {
			v, err := strconv.Atoi(string(bytes.TrimSpace(value)))
			if err != nil || v <= 0 {
				problem = fmt.Sprintf("Content-Length %.40q", bytes.TrimSpace(value))
				continue
			}
			length = v
		}
	}
	if problem == "" && length < 0 {
		problem = "no Content-Length"
	}
	if problem != "" {
		return 0, n, badHeader{problem}
	}
	return length, n, nil
}
