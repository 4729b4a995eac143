package main

import (
	"context"
	"fmt"
	"github.com/cartlsp/cartlsp/config"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/cartlsp/cartlsp/follow"
	"github.com/cartlsp/cartlsp/lsp"
	"github.com/cartlsp/cartlsp/runtime/modelfile"
	"github.com/cartlsp/cartlsp/trainer"
	"github.com/cartlsp/cartlsp/trainer/storetrain"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", `serve [flags]

Speaks the Language Server Protocol on stdin/stdout (editors start it; see docs/LSP.md).
Logs go to stderr and to the editor (window/logMessage). The flags set the defaults that
the configuration files (the user's config.toml, the repository's .cartlsp.toml: cartlsp config)
override, and the editor's initializationOptions and settings override those.`, stderr)
	cfg := lsp.DefaultConfig()
	var level string
	var stdio, alongside bool
	fs.StringVar(&cfg.Model, "model", "", "model file (GGUF); default: $CARTLSP_MODEL, else the pulled default model")
	fs.StringVar(&cfg.Store, "store", "", "Cartridge store (default: $CARTLSP_STORE, else the user cache directory)")
	fs.IntVar(&cfg.Threads, "threads", modelfile.DefaultThreads(), "compute threads")
	fs.StringVar(&cfg.Budget, "budget", cfg.Budget, "training budget: tiny, small or full")
	fs.StringVar(&cfg.Device, "device", cfg.Device, "where the model runs: auto or cpu")
	fs.BoolVar(&cfg.AutoTrain, "auto-train", cfg.AutoTrain, "train HEAD's Cartridge when the store lacks it and after each commit")
	fs.BoolVar(&alongside, "train-alongside", false, "let the background training share the cores with questions and completions instead of pausing for them")
	fs.StringVar(&level, "log-level", "info", "stderr log level: debug, info, warn or error")
	fs.BoolVar(&stdio, "stdio", true, "use stdin/stdout (the only transport; accepted because some clients pass it)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "cartlsp serve: unexpected arguments %q\n", fs.Args())
		return errUsage
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	if err := lsp.ValidateConfig(cfg, serveTraining{}); err != nil {
		return err
	}
	if f, ok := stdout.(*os.File); !ok || f != os.Stdout {
		return fmt.Errorf("serve speaks on the process's standard output only")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	s := lsp.New(lsp.Options{
		Config:  cfg,
		Log:     slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}),
		Version: version(),

		Training:       serveTraining{},
		TrainAlongside: alongside,
		ConfigFiles:    config.Load,
	})
	if code := s.Serve(ctx, lsp.Stdio(pollableStdin(), os.Stdout)); code != 0 {
		return exitCode(code)
	}
	return nil
}

// serveTraining is how the language server trains: self-study into the
// store with the named budget, keyed as `cartlsp train` and its hooks key
// what they train.
type serveTraining struct{}

func (serveTraining) CheckBudget(name string) error {
	_, err := trainer.LookupBudget(name)
	return err
}

func (serveTraining) CheckMethod(name string) error { return trainer.CheckMethod(name) }

func (serveTraining) Builder(s lsp.TrainingSettings) (follow.Builder, error) {
	b, err := storetrain.ForServer(s.Model, s.Store, s.Budget, s.P, s.Filter, s.Yield, s.Log)
	if err != nil {
		return nil, err // not a nil *Builder in the interface
	}
	b.Method = s.Method
	b.TrainBesideReplayable(s.Beside)
	return b, nil
}

func (serveTraining) Dependencies(s lsp.TrainingSettings) (lsp.Dependencies, error) {
	b, err := storetrain.ForServer(s.Model, s.Store, s.Budget, s.P, s.Filter, s.Yield, s.Log)
	if err != nil {
		return nil, err
	}
	return storetrain.Dependencies{B: b}, nil
}

// version is the module version the binary was built from.
