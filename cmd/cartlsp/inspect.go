package main

import (
	"context"
	"encoding/json"
	"io"

	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/trainer"
)

func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", "inspect FILE.cart|dataset.bin [--json] [--verify] [--show N]", stderr)
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	verify := fs.Bool("verify", false, "read every value too (slower), not just the header")
	show := fs.Int("show", 3, "for a dataset: how many conversations to print")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errUsage
	}
	if trainer.IsDataset(pos[0]) {
		d, err := trainer.DescribeDataset(pos[0])
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, d)
		}
		d.WriteText(termSafe(stdout), *show)
		return nil
	}
	d, err := cartridge.Describe(pos[0], *verify)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, d)
	}
	d.WriteText(termSafe(stdout))
	return nil
}

// printJSON prints v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
