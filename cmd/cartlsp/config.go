package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/cartlsp/cartlsp/config"
	"github.com/cartlsp/cartlsp/lsp"
)

// settingFlags are the settings of the configuration files that commands
// take as flags: the setting's name → the flag's. A command with such a
// flag takes the files' value unless the flag is given.
var settingFlags = []struct{ key, flag string }{
	{"model", "model"}, {"budget", "budget"}, {"method", "method"}, {"p", "p"}, {"exclude", "exclude"},
	{"store", "store"}, {"threads", "threads"}, {"device", "device"}, {"autoTrain", "auto-train"},
	{"registry", "registry"}, {"registryPlainHttp", "plain-http"}, {"registryVerifyKey", "verify-key"},
	{"dependencyTokens", "dep-tokens"},
}

// effectiveConfig is the configuration for dir: the defaults and the
// configuration files, with where each setting came from. A file that does
// not parse, or whose values are refused, is an error; unknown keys are
// said on stderr.
func effectiveConfig(dir string, stderr io.Writer) (lsp.Config, map[string]string, config.Files, error) {
	files, err := config.Load(dir)
	if err != nil {
		return lsp.Config{}, nil, files, err
	}
	cfg, sources, problems := lsp.ApplyFiles(lsp.DefaultConfig(), files, serveTraining{})
	for _, p := range problems {
		if p.Error != "" {
			return cfg, sources, files, fmt.Errorf("config %s: %s", p.Path, p.Error)
		}
		fmt.Fprintf(stderr, "cartlsp: %s: no such settings: %s (cartlsp config lists them)\n", p.Path, strings.Join(p.Unknown, ", "))
	}
	return cfg, sources, files, nil
}

// applyConfig gives the flags of fs that were not set on the command line
// the configuration files' values for dir (settingFlags).
func applyConfig(fs *flag.FlagSet, dir string, stderr io.Writer) error {
	cfg, sources, _, err := effectiveConfig(dir, stderr)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	values := map[string]lsp.Setting{}
	for _, s := range lsp.Settings(cfg, sources) {
		values[s.Key] = s
	}
	for _, m := range settingFlags {
		v, ok := values[m.key]
		if !ok || v.Source == lsp.SourceDefault || set[m.flag] || fs.Lookup(m.flag) == nil {
			continue
		}
		var list []string
		if json.Unmarshal(v.Value, &list) == nil {
			for _, x := range list {
				if err := fs.Set(m.flag, x); err != nil {
					return fmt.Errorf("config %s: %s: %w", v.Source, m.key, err)
				}
			}
			continue
		}
		text := string(v.Value)
		var str string
		if json.Unmarshal(v.Value, &str) == nil {
			text = str
		}
		if err := fs.Set(m.flag, text); err != nil {
			return fmt.Errorf("config %s: %s: %w", v.Source, m.key, err)
		}
	}
	return nil
}

func runConfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("config", `config [--repo DIR] [--json]

Shows the effective configuration for a repository and where each value comes from: the defaults,
the user's file (`+userConfigHint()+`), then the repository's .cartlsp.toml
(found from DIR up to the repository's root). train, ask, deps, the hooks (which run train) and serve
read the same files; flags, and an editor's settings, override them (the editor's show as "editor"
in the server's cartlsp/config answer). A file's keys are the language server's settings
(docs/CONFIG.md), in TOML.`, stderr)
	repo := fs.String("repo", ".", "the repository (or any folder in it)")
	asJSON := fs.Bool("json", false, "print JSON: the settings with their sources, and the files read")
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	cfg, sources, files, err := effectiveConfig(*repo, stderr)
	if err != nil {
		return err
	}
	settings := lsp.Settings(cfg, sources)
	for i := range settings {
		if settings[i].Source != lsp.SourceDefault {
			continue
		}
		// Defaults some settings take from the environment.
		switch env := map[string]string{"model": "CARTLSP_MODEL", "store": "CARTLSP_STORE", "registry": registryEnv, "registryVerifyKey": verifyKeyEnv}[settings[i].Key]; {
		case env != "" && os.Getenv(env) != "":
			settings[i].Value, _ = json.Marshal(os.Getenv(env))
			settings[i].Source = "$" + env
		}
	}
	var read []string
	for _, f := range files.Layers() {
		read = append(read, f.Path)
	}
	if *asJSON {
		return printJSON(stdout, struct {
			Settings []lsp.Setting `json:"settings"`
			Files    []string      `json:"files"`
		}{settings, read})
	}
	if len(read) == 0 {
		fmt.Fprintf(stdout, "no configuration files (user: %s; repository: %s at its root)\n\n", orNone(config.UserPath()), config.RepoFile)
	} else {
		fmt.Fprintf(stdout, "files: %s\n\n", strings.Join(read, ", "))
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, s := range settings {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Key, s.Value, s.Source)
	}
	return tw.Flush()
}

func userConfigHint() string {
	if p := config.UserPath(); p != "" {
		return p
	}
	return "$" + config.UserEnv
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
