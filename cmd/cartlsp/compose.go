package main

import (
	"context"
	"fmt"
	"io"

	"github.com/cartlsp/cartlsp/runtime/cartridge"
)

func runCompose(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compose", "compose A.cart B.cart [...] -o OUT.cart [--rerotate] [--dtype f16|bf16|f32]", stderr)
	out := fs.String("o", "", "the composed Cartridge to write (required)")
	rerotate := fs.Bool("rerotate", false, "re-rotate each later part's keys to its new positions (default: plain concatenation, as the Cartridges paper composes)")
	dtypeName := fs.String("dtype", "", "dtype of the output: f16, bf16 or f32 (default: the inputs' dtype when they agree, else f32)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 || *out == "" {
		fs.Usage()
		return errUsage
	}
	var dtype cartridge.DType
	if *dtypeName != "" {
		if dtype, err = cartridge.ParseDType(*dtypeName); err != nil {
			return err
		}
	}
	c, dtype, err := cartridge.ComposeFiles(cartridge.ComposeOptions{Rerotate: *rerotate}, dtype, pos...)
	if err != nil {
		return err
	}
	if err := cartridge.Write(*out, c, dtype); err != nil {
		return err
	}
	how := "plain concatenation"
	if *rerotate {
		how = "later parts' keys re-rotated"
	}
	fmt.Fprintf(stdout, "wrote %s: %d parts, p = %d (%d frozen), %s, %s, %s\n",
		*out, len(pos), c.Meta.P, c.Meta.Frozen, dtype, cartridge.FormatSize(c.Bytes(dtype)), how)
	return nil
}
