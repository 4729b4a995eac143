package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
)

// TestMalformedMessages: malformed frames and bodies get the JSON-RPC
// error the framing allows (or a log line) and the connection goes on; the
// lifecycle's errors carry the specification's codes.
func TestMalformedMessages(t *testing.T) {
	s := New(Options{Config: withModel(tinyModel(t), t.TempDir()), Training: testTraining{budget: testBudget}})
	s.maxMessage = 1 << 10
	c2sR, c2sW := io.Pipe()
	s2cR, s2cW := io.Pipe()
	code := make(chan int, 1)
	go func() { code <- s.Serve(context.Background(), pipeRWC{c2sR, s2cW}) }()
	responses := make(chan map[string]any, 16)
	go func() {
		st := jsonrpc2.NewHeaderStream(pipeRWC{s2cR, nopWriteCloser{}})
		for {
			b, _, err := st.(interface {
				ReadFrame(context.Context) ([]byte, int64, error)
			}).ReadFrame(context.Background())
			if err != nil {
				close(responses)
				return
			}
			var m map[string]any
			if json.Unmarshal(b, &m) == nil && m["method"] == nil {
				responses <- m
			}
		}
	}()
	send := func(raw string) {
		t.Helper()
		if _, err := io.WriteString(c2sW, raw); err != nil {
			t.Fatal(err)
		}
	}
	frame := func(body string) string { return fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body) }
	next := func(what string) map[string]any {
		t.Helper()
		select {
		case m, ok := <-responses:
			if !ok {
				t.Fatalf("%s: the connection ended", what)
			}
			return m
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: no answer", what)
		}
		return nil
	}
	errCode := func(m map[string]any) (float64, any) {
		e, _ := m["error"].(map[string]any)
		if e == nil {
			return 0, m["id"]
		}
		c, _ := e["code"].(float64)
		return c, m["id"]
	}
	for _, c := range []struct {
		name, raw string
		code      float64
		id        any
	}{
		{"not JSON", "Content-Length: 11\r\n\r\nhello world", -32700, nil},
		{"not a request", frame(`{"jsonrpc":"2.0","id":7}`), -32600, float64(7)},
		{"a batch", frame(`[{"jsonrpc":"2.0","id":6,"method":"x"}]`), -32600, nil},
		{"too large", frame(`{"jsonrpc":"2.0","id":8,"method":"x","params":"` + strings.Repeat("a", 2000) + `"}`), -32600, nil},
		{"before initialize", frame(`{"jsonrpc":"2.0","id":9,"method":"textDocument/hover","params":{}}`), -32002, float64(9)},
	} {
		send(c.raw)
		if got, id := errCode(next(c.name)); got != c.code || fmt.Sprint(id) != fmt.Sprint(c.id) {
			t.Errorf("%s: code %v id %v, want %v id %v", c.name, got, id, c.code, c.id)
		}
	}
	// A header without a colon, one without Content-Length: skipped, logged.
	send("Content-Lenght 3\r\n\r\n")
	send("X-Nothing: 1\r\n\r\n")
	send(frame(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}`))
	if m := next("initialize after the bad headers"); m["result"] == nil || fmt.Sprint(m["id"]) != "1" {
		t.Fatalf("initialize: %v", m)
	}
	send(frame(`{"jsonrpc":"2.0","method":"initialized","params":{}}`))
	for _, c := range []struct {
		name, body string
		code       float64
	}{
		{"unknown method", `{"jsonrpc":"2.0","id":2,"method":"cartlsp/nope","params":{}}`, -32601},
		{"invalid params", `{"jsonrpc":"2.0","id":3,"method":"textDocument/hover","params":"x"}`, -32602},
	} {
		send(frame(c.body))
		if got, _ := errCode(next(c.name)); got != c.code {
			t.Errorf("%s: code %v, want %v", c.name, got, c.code)
		}
	}
	send(frame(`{"jsonrpc":"2.0","id":4,"method":"shutdown"}`))
	next("shutdown")
	send(frame(`{"jsonrpc":"2.0","id":5,"method":"textDocument/hover","params":{"textDocument":{"uri":"file:///x.go"},"position":{"line":0,"character":0}}}`))
	if got, _ := errCode(next("after shutdown")); got != -32600 {
		t.Errorf("a request after shutdown: code %v, want -32600", got)
	}
	send(frame(`{"jsonrpc":"2.0","method":"exit"}`))
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit code %d after shutdown and exit", c)
		}
	case <-time.After(30 * time.Second):
		t.Error("the server did not exit")
	}
}

type nopWriteCloser struct{}

func (nopWriteCloser) Write(p []byte) (int, error) { return len(p), nil }
func (nopWriteCloser) Close() error                { return nil }

// rwBuffer is a stream over fixed input whose output is kept.
type rwBuffer struct {
	in  *strings.Reader
	out strings.Builder
}

func (b *rwBuffer) Read(p []byte) (int, error)  { return b.in.Read(p) }
func (b *rwBuffer) Write(p []byte) (int, error) { return b.out.Write(p) }
func (b *rwBuffer) Close() error                { return nil }

// FuzzFrames: any bytes from a client are read as messages, answered as
// errors, or skipped, never with a panic or without end; the reader ends at
// the input's end.
func FuzzFrames(f *testing.F) {
	for _, s := range []string{
		"Content-Length: 11\r\n\r\nhello world",
		"Content-Length: 23\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":7}",
		"Content-Length: 45\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{\"jsonrpc\":\"2.0\",\"method\":\"initialized\"}",
		"Content-Lenght 3\r\n\r\nabc",
		"Content-Length: 99999999999999999999\r\n\r\n",
		"Content-Length: 2000\r\n\r\n" + strings.Repeat("a", 2000),
		"\r\n\r\nContent-Length: 2\r\n\r\n[]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rw := &rwBuffer{in: strings.NewReader(string(b))}
		s := newBoundedStream(rw, 1<<10, discardLogger)
		for i := 0; i < 1<<12; i++ {
			if _, _, err := s.Read(context.Background()); err != nil {
				return
			}
		}
		t.Fatal("the reader did not reach the end of its input")
	})
}
