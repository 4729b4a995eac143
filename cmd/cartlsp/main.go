// Command cartlsp is a language server that trains Cartridges — small trained
// KV caches — for a git repository and answers questions with them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/cartlsp/cartlsp/trainer/eval"
	"io"
	"log/slog"
	"maps"
	"os"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/cartlsp/cartlsp/runtime/modelfile"
)

// command is one subcommand: a name, a one-line summary and its body.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"model":      {"fetch, list, locate and describe models (model pull | ls | path | info)", runModel},
		"generate":   {"continue a prompt with the model, streaming the text", runGenerate},
		"chat":       {"talk to the model in the terminal (ChatML)", runChat},
		"bench":      {"measure prefill and decode speed and peak memory", runBench},
		"inspect":    {"describe a Cartridge (model, size, corpus, recipe, metrics) or a synthesized dataset", runInspect},
		"train":      {"train a Cartridge for a repository or directory (self-study), resuming where it stopped", runTrain},
		"ask":        {"answer a question with a Cartridge, streaming the answer", runAsk},
		"deps":       {"find, train, share and fetch the Cartridges of a repository's dependencies (deps ls | train | push | pull)", runDeps},
		"compose":    {"concatenate Cartridges into one (a.cart b.cart -o ab.cart)", runCompose},
		"eval":       {"measure answers with and without a Cartridge on a question set (Markdown + JSON report)", runEval},
		"hook":       {"install or remove the git hooks that train a Cartridge after each commit (hook install | uninstall | status)", runHook},
		"store":      {"list and clean the Cartridge store (store ls | store gc)", runStore},
		"serve":      {"run the language server on stdin/stdout (for editors)", runServe},
		"completion": {"print the shell completion script (completion bash | zsh | fish)", runCompletion},
		"__complete": {"", runComplete},
		"config":     {"show the effective configuration (.cartlsp.toml, the user's config.toml, defaults) and where each value comes from", runConfig},
		"env":        {"list the environment variables cartlsp reads, their values and what they do", runEnv},
		"version":    {"print the version, the commit it was built from, Go and the platform", runVersion},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "cartlsp: a language server that answers questions about your repository with a trained Cartridge.\n\n")
	fmt.Fprintf(w, "Usage: cartlsp <command> [flags] [args]\n\nCommands:\n")
	for _, n := range slices.Sorted(maps.Keys(commands)) {
		if !strings.HasPrefix(n, "__") { // internal: what completion scripts call
			fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
		}
	}
	fmt.Fprintf(w, "\nRun `cartlsp <command> --help` for a command's flags.\n")
	fmt.Fprintf(w, "The default model (%s) is fetched by `cartlsp model pull`; every command accepts --model PATH.gguf or a model name (`cartlsp model ls`).\n", modelfile.Default.Name)
}

// gcPercent is the garbage collector's target unless $GOGC says otherwise.
// The heap is mostly the model's weights, which live as long as the process
// and hold no pointers (cheap to mark); Go's default of 100 would let
// garbage grow to their size again before a collection — hundreds of MiB of
// resident memory for nothing.
const gcPercent = 25

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run executes a command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "cartlsp: unknown command %q", args[0])
		if near := closest(args[0], slices.Collect(maps.Keys(commands))); near != "" {
			fmt.Fprintf(stderr, " (did you mean %q?)", near)
		}
		fmt.Fprintf(stderr, "\n\n")
		usage(stderr)
		return 2
	}
	errOut := stderr
	if asksHelp(args[1:]) {
		errOut = stdout // help asked for is output, not an error
	}
	err := c.run(ctx, args[1:], stdout, errOut)
	var code exitCode
	switch {
	case errors.As(err, &code):
		return int(code)
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "cartlsp %s: %v\n", args[0], err)
		return 1
	}
}

// asksHelp reports whether a command's arguments ask for its help (-h,
// -help, --help or help before any "--").
func asksHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help", "help":
			return true
		}
	}
	return false
}

// closest is the name nearest to s by edit distance when it is near
// enough to be a typo (two edits, or a third of its letters), else "".
func closest(s string, names []string) string {
	best, bestD := "", max(3, len(s)/3+1)
	slices.Sort(names)
	for _, n := range names {
		if d := eval.EditDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// exitCode is an exit status a command chose (serve: 1 when the client
// exits without shutdown), with nothing more to print.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// errUsage marks a usage error whose message was already printed.
var errUsage = errors.New("usage")

// usageErrorf returns a function that prints "cartlsp CMD: message" and the
// flags' usage to stderr, and returns errUsage (exit 2).
func usageErrorf(fs *flag.FlagSet, stderr io.Writer, cmd string) func(format string, a ...any) error {
	return func(format string, a ...any) error {
		fmt.Fprintf(stderr, "cartlsp "+cmd+": "+format+"\n\n", a...)
		fs.Usage()
		return errUsage
	}
}

// newFlags makes a FlagSet whose --help prints the summary, usage line and flags.
func newFlags(name, usageLine string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\n\nUsage: cartlsp %s\n\nFlags:\n", commands[name].summary, usageLine)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, turning bad flags into errUsage.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments (`inspect a.cart --json`), which flag.Parse alone does
// not allow; everything after "--" is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
