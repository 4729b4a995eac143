package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cartlsp/cartlsp/hooks"
	"github.com/cartlsp/cartlsp/trainer"
)

func hookUsage(w io.Writer) {
	fmt.Fprintf(w, "%s\n\nUsage:\n", commands["hook"].summary)
	fmt.Fprintf(w, "  cartlsp hook install [--repo DIR] [--budget B] [--model M.gguf]\n")
	fmt.Fprintf(w, "                                        add post-commit, post-merge, post-rewrite and post-checkout hooks\n")
	fmt.Fprintf(w, "                                        that run `cartlsp train --background`; existing hooks are kept and chained\n")
	fmt.Fprintf(w, "  cartlsp hook uninstall [--repo DIR]   remove them and restore the hooks they chained\n")
	fmt.Fprintf(w, "  cartlsp hook status [--repo DIR]      say which hooks are installed\n")
	fmt.Fprintf(w, "\nThe hooks directory is core.hooksPath when set, else the repository's .git/hooks (shared by its worktrees).\n")
	fmt.Fprintf(w, "Set CARTLSP_SKIP_HOOK=1 in a git command's environment to skip the training once.\n")
}

func runHook(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		hookUsage(stderr)
		return errUsage
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		hookUsage(stdout)
		return nil
	}
	sub := args[0]
	if sub != "install" && sub != "uninstall" && sub != "status" {
		fmt.Fprintf(stderr, "cartlsp hook: unknown subcommand %q (want install, uninstall or status)\n", sub)
		return errUsage
	}
	fs := newFlags("hook", "hook "+sub+" [--repo DIR]", stderr)
	repo := fs.String("repo", ".", "the repository: its work tree, a directory inside it, or a linked worktree")
	budget := fs.String("budget", "", "install: the training budget the hooks use (default: train's, small)")
	modelPath := fs.String("model", "", "install: the model file the hooks train for (default: train's)")
	outside := fs.Bool("outside", false, "install: write into a hooks directory outside the repository (a shared core.hooksPath), whose hooks run for every repository using it")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	force := fs.Bool("force", false, "replace (install) or remove (uninstall) cartlsp hooks edited by hand")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "cartlsp hook %s: unexpected argument %q (the repository is --repo DIR)\n", sub, pos[0])
		return errUsage
	}
	loc, err := hooks.Find(*repo)
	if err != nil {
		return err
	}
	var r *hooks.Report
	switch sub {
	case "install":
		var extra []string
		if *budget != "" {
			if _, err := trainer.LookupBudget(*budget); err != nil {
				return err
			}
			extra = append(extra, "--budget", *budget)
		}
		if *modelPath != "" {
			abs, err := filepath.Abs(*modelPath)
			if err != nil {
				return err
			}
			extra = append(extra, "--model", abs)
		}
		exe, xerr := os.Executable()
		if xerr == nil {
			exe, xerr = filepath.Abs(exe)
		}
		if xerr != nil {
			return fmt.Errorf("locate the cartlsp binary: %w", xerr)
		}
		r, err = hooks.Install(loc, exe, extra, hooks.Options{Outside: *outside, Force: *force})
	case "uninstall":
		r, err = hooks.Uninstall(loc, hooks.Options{Force: *force})
	default:
		r, err = hooks.Status(loc)
	}
	if r != nil {
		if *asJSON {
			if jerr := printJSON(stdout, r); jerr != nil {
				return jerr
			}
		} else {
			r.Write(stdout)
		}
	}
	return err
}
