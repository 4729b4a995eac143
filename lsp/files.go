package lsp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/cartlsp/cartlsp/config"
)

// Source names where an effective setting came from.
const (
	SourceDefault = "default"
	SourceEditor  = "editor"
)

// Setting is one effective setting: its dotted name, its value (JSON) and
// where it came from (SourceDefault, a configuration file's path, or
// SourceEditor).
type Setting struct {
	Key    string          `json:"key"`
	Value  json.RawMessage `json:"value"`
	Source string          `json:"source"`
}

// FileProblem is a configuration file that did not apply whole: keys it
// has that are no setting, or a value refused (then none of it applied).
type FileProblem struct {
	Path    string   `json:"path"`
	Unknown []string `json:"unknown,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// ApplyFiles merges the configuration files into c in order (the user's,
// then the repository's) and says where each setting came from. A file
// whose values are refused is left out whole, and said in the problems; its
// unknown keys are said too (a misspelt key would otherwise pass unseen).
// t (nil: none) checks budget and method names.
func ApplyFiles(c Config, files config.Files, t Training) (Config, map[string]string, []FileProblem) {
	sources := map[string]string{}
	var problems []FileProblem
	for _, f := range files.Layers() {
		next, unknown, err := c.merge(f.Settings, t)
		if err != nil {
			problems = append(problems, FileProblem{Path: f.Path, Error: strings.TrimPrefix(err.Error(), "settings: ")})
			continue
		}
		if len(unknown) > 0 {
			problems = append(problems, FileProblem{Path: f.Path, Unknown: unknown})
		}
		c = next
		for _, k := range f.Keys {
			if !slices.Contains(unknown, k) {
				sources[k] = f.Path
			}
		}
	}
	return c, sources, problems
}

// Settings lists every setting of c with its source: sources' (dotted
// keys, or a table's name for all below it), else SourceDefault.
func Settings(c Config, sources map[string]string) []Setting {
	b, _ := json.Marshal(c)
	var obj map[string]any
	json.Unmarshal(b, &obj)
	var out []Setting
	flatten(obj, "", func(k string, v any) {
		src := SourceDefault
		for part := k; part != ""; {
			if s, ok := sources[part]; ok {
				src = s
				break
			}
			i := strings.LastIndexByte(part, '.')
			if i < 0 {
				break
			}
			part = part[:i]
		}
		js, _ := json.Marshal(v)
		out = append(out, Setting{Key: k, Value: js, Source: src})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func flatten(obj map[string]any, prefix string, f func(string, any)) {
	for k, v := range obj {
		if sub, ok := v.(map[string]any); ok {
			flatten(sub, prefix+k+".", f)
			continue
		}
		f(prefix+k, v)
	}
}

// overrides lists the settings where after (the editor's applied) differs
// from before (defaults and files) for a key a file set: what the editor
// overrides, said in the log so that nobody wonders why the file does not
// apply.
func overrides(before, after Config, sources map[string]string) []string {
	was, now := map[string]Setting{}, map[string]Setting{}
	for _, s := range Settings(before, sources) {
		was[s.Key] = s
	}
	for _, s := range Settings(after, nil) {
		now[s.Key] = s
	}
	var out []string
	for k, w := range was {
		if w.Source == SourceDefault {
			continue
		}
		if n := now[k]; !bytes.Equal(n.Value, w.Value) {
			out = append(out, fmt.Sprintf("%s = %s (the editor's) over %s (%s)", k, n.Value, w.Value, w.Source))
		}
	}
	sort.Strings(out)
	return out
}

// methodConfig returns the effective configuration (ConfigResult).
const methodConfig = "cartlsp/config"

// ConfigResult is cartlsp/config's result: every setting, its value and
// where it came from, the configuration files read and what of them did
// not apply.
type ConfigResult struct {
	Settings []Setting     `json:"settings"`
	Files    []string      `json:"files"`
	Problems []FileProblem `json:"problems,omitempty"`
}

func (s *Server) effectiveConfig() *ConfigResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	base := Settings(s.base, s.sources)
	now := Settings(s.cfg, s.sources)
	for i := range now {
		if i < len(base) && base[i].Key == now[i].Key && !bytes.Equal(base[i].Value, now[i].Value) {
			now[i].Source = SourceEditor
		}
	}
	return &ConfigResult{Settings: now, Files: slices.Clone(s.files), Problems: slices.Clone(s.fileProblems)}
}

// reportFiles tells the user, once the connection is up, which
// configuration files apply, what of them did not, and what the editor's
// settings override.
func (s *Server) reportFiles(ctx context.Context) {
	s.mu.Lock()
	files, problems, o := s.files, s.fileProblems, overrides(s.base, s.cfg, s.sources)
	s.mu.Unlock()
	if len(files) > 0 {
		s.log.Info("configuration files", "files", files)
	}
	for _, p := range problems {
		switch {
		case p.Error != "" && p.Path != "":
			s.showError(ctx, fmt.Sprintf("cartlsp: %s is not applied: %s", p.Path, p.Error))
		case p.Error != "":
			s.showError(ctx, "cartlsp: "+p.Error)
		default:
			s.showError(ctx, fmt.Sprintf("cartlsp: %s: no such settings: %s (see docs/LSP.md)", p.Path, strings.Join(p.Unknown, ", ")))
		}
	}
	if len(o) > 0 {
		s.log.Info("editor settings override the configuration files", "overrides", o)
	}
}
