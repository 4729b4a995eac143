package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/runtime/generate"
	"github.com/cartlsp/cartlsp/trainer"
)

func runAsk(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ask", `ask [flags] "question"   (question "-" reads stdin)`, stderr)
	var mf modelFlags
	var g genFlags
	var carts listFlag
	mf.register(fs)
	g.register(fs, 0)
	fs.Var(&carts, "cart", "Cartridge to answer with (repeatable: several are composed in order); none answers without context")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	q := strings.TrimSpace(strings.Join(pos, " "))
	if q == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return err
		}
		q = strings.TrimSpace(string(b))
	}
	if q == "" {
		fmt.Fprintln(stderr, `cartlsp ask: a question is needed, e.g. cartlsp ask --cart repo.cart "What does NewRandom return?"`)
		return errUsage
	}
	l, err := mf.load()
	if err != nil {
		return err
	}
	defer l.Close()
	chat, err := trainer.NewChat(l.tok)
	if err != nil {
		return err
	}
	p := 0
	var c *cartridge.Cartridge
	if len(carts) > 0 {
		if c, err = cartridge.Load(l.m.Fingerprint(), carts...); err != nil {
			return err
		}
		p = c.Meta.P
	} else {
		fmt.Fprintln(stderr, "(no --cart: the model answers without knowing the repository)")
	}
	prompt, err := chat.User(q)
	if err != nil {
		return err
	}
	cache := l.m.NewCache(1, p+len(prompt)+max(g.maxTokens, 1)+1)
	if c != nil {
		k, v := c.CacheKV()
		if err := cache.AppendKV(0, k, v); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	res, err := generate.Run(ctx, l.m, l.tok, cache, 0, prompt, g.options(), func(s string) error {
		_, err := io.WriteString(stdout, s)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	if g.stats {
		printStats(stderr, res)
	}
	if res.Reason == generate.StopCancelled {
		fmt.Fprintln(stderr, "[stopped]")
	}
	return nil
}
