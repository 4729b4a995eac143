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
	"github.com/cartlsp/cartlsp/runtime/tokenizer"
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

// chatLoop reads user lines from in and streams answers to out. The whole
// conversation is re-encoded each turn and the cache keeps the longest common
// prefix, so earlier turns are not recomputed.
func chatLoop(ctx context.Context, l *loaded, g genFlags, system string, in io.Reader, out, errw io.Writer) error {
	var msgs []tokenizer.Message
	if system != "" {
		msgs = append(msgs, tokenizer.Message{Role: "system", Content: system})
	}
	cache := l.m.NewCache(1, g.ctxLen)
	var cached []int // tokens held in the cache
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
		msgs = append(msgs, tokenizer.Message{Role: "user", Content: line})
		prompt, err := l.tok.ApplyChat(msgs, true)
		if err != nil {
			return err
		}
		ids := l.tok.Encode(prompt, true)
		keep := commonPrefix(cached, ids)
		if keep == len(ids) { // always feed at least one token to get logits
			keep--
		}
		cache.Truncate(0, keep)
		cached = cached[:keep]
		turnCtx, stop := signal.NotifyContext(ctx, os.Interrupt)
		res, err := generate.Run(turnCtx, l.m, l.tok, cache, 0, ids[keep:], g.options(), func(s string) error {
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
		cached = append(append(cached, ids[keep:]...), res.Tokens...)
		// The cache holds what was fed; the last sampled token was never fed.
		cached = cached[:cache.Len(0)]
		msgs = append(msgs, tokenizer.Message{Role: "assistant", Content: res.Text})
		if ctx.Err() != nil {
			return nil
		}
	}
}

func commonPrefix(a, b []int) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
