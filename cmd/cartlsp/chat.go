package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/cartlsp/cartlsp/runtime/generate"
)

func runChat(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("chat", "chat [flags]   (type a message and Enter; Ctrl-C stops an answer, Ctrl-D quits)", stderr)
	var mf modelFlags
	var g genFlags
	mf.register(fs)
	g.register(fs, 0.6)
	system := fs.String("system", "", "system message (default: the chat template's own)")
	if err := parse(fs, args); err != nil {
		return err
	}
	l, err := mf.load()
	if err != nil {
		return err
	}
	defer l.Close()
	return chatLoop(ctx, l, g, *system, os.Stdin, stdout, stderr)
}

// chatLoop reads user lines from in and streams answers to out.
func chatLoop(ctx context.Context, l *loaded, g genFlags, system string, in io.Reader, out, errw io.Writer) error {
	chat := generate.NewChat(l.m, l.tok, g.ctxLen, system)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	fmt.Fprintf(errw, "cartlsp chat — %s. Ctrl-C stops an answer, Ctrl-D quits.\n", l.path)
	for {
		fmt.Fprint(out, "> ")
		if !sc.Scan() {
			fmt.Fprintln(out)
			return sc.Err()
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		turnCtx, stop := signal.NotifyContext(ctx, os.Interrupt)
		res, err := chat.Say(turnCtx, line, g.options(), func(s string) error {
			_, err := io.WriteString(out, s)
			return err
		})
		stop()
		if err != nil {
			return err
		}
		fmt.Fprintln(out)
		if res.Reason == generate.StopCancelled {
			fmt.Fprintln(errw, "[stopped]")
		}
		if g.stats {
			printStats(errw, res)
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}
