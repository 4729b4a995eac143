package lsp

import (
	"context"
	"encoding/json"
	"fmt"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// The commands of workspace/executeCommand.
const (
	cmdAsk    = "cartlsp.ask"
	cmdTrain  = "cartlsp.train"
	cmdStatus = "cartlsp.status"
)

var commands = []string{cmdAsk, cmdTrain, cmdStatus, cmdPullDependencies}

// TrainResult is cartlsp.train's result.
type TrainResult struct {
	Started bool   `json:"started"`
	Message string `json:"message"`
}

// ExecuteCommand runs cartlsp.ask, cartlsp.train and cartlsp.status.
func (s *Server) ExecuteCommand(ctx context.Context, p *protocol.ExecuteCommandParams) (protocol.LSPAny, error) {
	var result any
	var err error
	switch p.Command {
	case cmdAsk:
		var ap AskParams
		if err := askArgs(p.Arguments, &ap); err != nil {
			return nil, err
		}
		if p.WorkDoneToken != nil && ap.WorkDoneToken == nil {
			ap.WorkDoneToken, _ = protocol.Marshal(p.WorkDoneToken)
		}
		result, err = s.ask(ctx, &ap)
	case cmdTrain:
		result, err = s.train(ctx)
	case cmdStatus:
		result = s.status()
	case cmdPullDependencies:
		result, err = s.pullDependencies(ctx)
	default:
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, fmt.Sprintf("cartlsp: unknown command %q (commands: %v)", p.Command, commands))
	}
	if err != nil {
		return nil, err
	}
	raw, err := protocol.Marshal(result)
	if err != nil {
		return nil, err
	}
	return raw, nil
}

// askArgs reads cartlsp.ask's arguments: ["question"] or [{params}].
func askArgs(args []protocol.LSPAny, ap *AskParams) error {
	if len(args) != 1 {
		return jsonrpc2.NewError(jsonrpc2.InvalidParams, `cartlsp.ask takes one argument: "question" or {"question", "textDocument", "range"}`)
	}
	var q string
	if err := json.Unmarshal(args[0], &q); err == nil {
		ap.Question = q
		return nil
	}
	if err := json.Unmarshal(args[0], ap); err != nil {
		return jsonrpc2.NewError(jsonrpc2.InvalidParams, "cartlsp.ask: "+err.Error())
	}
	return nil
}

// train starts training HEAD's Cartridge when it is missing.
func (s *Server) train(ctx context.Context) (*TrainResult, error) {
	select {
	case <-s.engReady:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	ws, engErr := s.ws, s.engErr
	s.mu.Unlock()
	if ws == nil {
		msg := "the repository is not followed yet; try again in a moment"
		if engErr != nil {
			msg = "cannot train: the model did not load: " + engErr.Error()
		}
		return &TrainResult{Message: msg}, nil
	}
	r, err := ws.train(ctx)
	if err != nil {
		return nil, err
	}
	return &TrainResult{Started: r.Done, Message: r.Message}, nil
}
