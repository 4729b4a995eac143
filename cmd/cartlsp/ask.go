package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/cartlsp/cartlsp/answer"
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
	chat, err := answer.NewChat(l.tok)
	if err != nil {
		return err
	}
	var p *answer.Prefix // none: the model alone
	if len(carts) > 0 {
		if p, err = answer.LoadCartridges(l.m, carts...); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(stderr, "(no --cart: the model answers without knowing the repository)")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	o := g.options()
	a, err := answer.Ask(ctx, l.m, chat, p, q, answer.Options{MaxTokens: max(o.MaxTokens, 1), Sample: o.Sample}, func(s string) error {
		_, err := io.WriteString(stdout, s)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	if g.stats {
		fmt.Fprintf(stderr, "\n[%d prompt tokens in %s; %d generated at %.1f tok/s; first text after %s; stop: %s]\n",
			a.PromptTokens, a.Timings.Prefill.Round(time.Millisecond), len(a.Tokens), a.DecodeRate(),
			a.Timings.FirstToken.Round(time.Millisecond), a.Stop)
	}
	if a.Stop == answer.StopCancelled {
		fmt.Fprintln(stderr, "[stopped]")
	}
	return nil
}
