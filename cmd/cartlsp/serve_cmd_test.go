package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCLIServe runs the real binary over stdio: stdout carries nothing but
// protocol frames, the exit codes follow the specification (0 after
// shutdown and exit, 1 for exit alone), and bad flags are refused.
func TestCLIServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the cartlsp binary")
	}
	dir := t.TempDir()
	modelPath := writeChatModel(t, dir)
	bin := buildCLI(t, dir)
	repo := committedRepo(t)

	for _, c := range []struct {
		name     string
		shutdown bool
		code     int
	}{{"shutdown and exit", true, 0}, {"exit alone", false, 1}} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, "serve", "--model", modelPath, "--store", filepath.Join(dir, "store"), "--auto-train=false", "--threads", "1")
			in, _ := cmd.StdinPipe()
			outPipe, _ := cmd.StdoutPipe()
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			out := bufio.NewReader(outPipe)
			send := func(m map[string]any) {
				m["jsonrpc"] = "2.0"
				b, _ := json.Marshal(m)
				fmt.Fprintf(in, "Content-Length: %d\r\n\r\n%s", len(b), b)
			}
			// recv reads frames until the response to id, failing on anything
			// on stdout that is not a frame.
			recv := func(id int) map[string]any {
				for {
					line, err := out.ReadString('\n')
					if err != nil {
						t.Fatalf("reading stdout: %v; stderr:\n%s", err, stderr.String())
					}
					n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "Content-Length:")))
					if !strings.HasPrefix(line, "Content-Length:") || err != nil {
						t.Fatalf("stdout holds %q, not a protocol frame", line)
					}
					if l, _ := out.ReadString('\n'); l != "\r\n" {
						t.Fatalf("a frame header ends with %q", l)
					}
					body := make([]byte, n)
					if _, err := io.ReadFull(out, body); err != nil {
						t.Fatal(err)
					}
					var m map[string]any
					if err := json.Unmarshal(body, &m); err != nil {
						t.Fatalf("frame %q: %v", body, err)
					}
					if v, ok := m["id"].(float64); ok && int(v) == id && m["method"] == nil {
						return m
					}
					if m["method"] != nil && m["id"] != nil { // a request from the server
						send(map[string]any{"id": m["id"], "result": nil})
					}
				}
			}
			send(map[string]any{"id": 1, "method": "initialize", "params": map[string]any{"processId": nil, "rootUri": "file://" + repo, "capabilities": map[string]any{}}})
			if r := recv(1); r["result"] == nil {
				t.Fatalf("initialize: %v", r)
			}
			send(map[string]any{"method": "initialized", "params": map[string]any{}})
			send(map[string]any{"id": 2, "method": "workspace/executeCommand", "params": map[string]any{"command": "cartlsp.status"}})
			if r := recv(2); r["result"] == nil {
				t.Fatalf("status: %v", r)
			}
			if c.shutdown {
				send(map[string]any{"id": 3, "method": "shutdown"})
				recv(3)
			}
			send(map[string]any{"method": "exit"})
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("the server did not exit; stderr:\n%s", stderr.String())
			}
			if got := cmd.ProcessState.ExitCode(); got != c.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", got, c.code, stderr.String())
			}
		})
	}
	if out, err := exec.Command(bin, "serve", "--log-level", "loud").CombinedOutput(); err == nil || !strings.Contains(string(out), "--log-level") {
		t.Errorf("a bad --log-level: %v\n%s", err, out)
	}
}
