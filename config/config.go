// Package config reads cartlsp's configuration files: a user's defaults
// (config.toml in the user configuration directory) and a repository's
// .cartlsp.toml, so that `cartlsp train`, the hooks, `serve` and both
// editors train and answer with the same model, budget, method, excludes
// and dependencies, and so find the same Cartridges in the store. A file's
// keys are the language server's settings (docs/LSP.md), written in TOML:
//
//	model = "qwen2.5-coder-0.5b"
//	budget = "small"
//	exclude = ["vendor/**", "*.pb.go"]
//	dependencies = ["github.com/google/uuid"]
//
//	[completion]
//	enable = true
//	maxTokens = 48
//
// The package finds and parses the files and turns each into a JSON object
// of settings; what the keys mean, and which are valid, is the language
// server's Config (lsp.Config), which every reader merges them into, in
// order: defaults, the user's file, the repository's, then flags or editor
// settings. docs/CONFIG.md says it for users.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/cartlsp/cartlsp/regular"
)

// RepoFile is a repository's configuration file, at its root (or in the
// folder an editor opens, or any folder between the two).
const RepoFile = ".cartlsp.toml"

// UserEnv names a user configuration file in place of the default one.
const UserEnv = "CARTLSP_CONFIG"

// maxFile bounds a configuration file: far past any real one.
const maxFile = 1 << 20

// File is one configuration file's settings.
type File struct {
	Path string // where it was read
	// Settings is the file as a JSON object with the settings' names
	// (nested tables are nested objects).
	Settings json.RawMessage
	// Keys are the dotted names of the values it sets, sorted
	// ("budget", "completion.maxTokens").
	Keys []string
}

// Files are the configuration files that apply to a directory, in the
// order they apply: the user's, then the repository's. Either may be nil.
type Files struct {
	User, Repo *File
}

// Layers are the files present, in order.
func (f Files) Layers() []*File {
	var out []*File
	for _, l := range []*File{f.User, f.Repo} {
		if l != nil {
			out = append(out, l)
		}
	}
	return out
}

// UserPath is where the user's configuration file is: $CARTLSP_CONFIG, else
// config.toml in cartlsp's folder of the user configuration directory
// (~/.config/cartlsp/config.toml on Linux, ~/Library/Application
// Support/cartlsp/config.toml on macOS, %AppData%\cartlsp\config.toml on
// Windows); "" when there is no such directory.
func UserPath() string {
	if p := os.Getenv(UserEnv); p != "" {
		return p
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "cartlsp", "config.toml")
}

// FindRepo returns the repository configuration file for dir: the first
// RepoFile in dir or a folder above it, up to and including the
// repository's root (the first folder holding .git); "" when there is none.
func FindRepo(dir string) string {
	if dir == "" {
		return ""
	}
	d, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		p := filepath.Join(d, RepoFile)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return "" // the repository's root: no further
		}
		up := filepath.Dir(d)
		if up == d {
			return ""
		}
		d = up
	}
}

// Load reads the user's file and the repository file for dir ("" for
// none). A file that is absent is no error; one that does not parse is,
// naming the file and line, and the other file is still read.
func Load(dir string) (Files, error) {
	var f Files
	var errs []error
	if p := UserPath(); p != "" {
		u, err := Read(p, os.Getenv(UserEnv) != "")
		f.User = u
		errs = append(errs, err)
	}
	if p := FindRepo(dir); p != "" {
		r, err := Read(p, true)
		f.Repo = r
		errs = append(errs, err)
	}
	return f, errors.Join(errs...)
}

// Read parses the configuration file at path; nil when it is absent and
// must is false.
func Read(path string, must bool) (*File, error) {
	fh, err := regular.Open(path)
	if errors.Is(err, os.ErrNotExist) && !must {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("config %s: over %d bytes", path, maxFile)
	}
	return Parse(path, b)
}

// Parse turns a configuration file's text into its settings.
func Parse(path string, text []byte) (*File, error) {
	var v map[string]any
	if _, err := toml.NewDecoder(bytes.NewReader(text)).Decode(&v); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("config %s:%d: %s", path, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := checkValues(v, ""); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	js, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	f := &File{Path: path, Settings: js, Keys: keys(v, "")}
	return f, nil
}

// checkValues refuses what JSON settings cannot hold: dates and times.
func checkValues(v map[string]any, prefix string) error {
	for k, x := range v {
		switch x := x.(type) {
		case map[string]any:
			if err := checkValues(x, prefix+k+"."); err != nil {
				return err
			}
		case []map[string]any:
			return fmt.Errorf("%s%s: an array of tables is not a setting", prefix, k)
		case string, bool, int64, float64, []any:
		default:
			return fmt.Errorf("%s%s: a %T is not a setting (want a string, number, boolean or list)", prefix, k, x)
		}
	}
	return nil
}

// keys are the dotted names of v's leaves, sorted.
func keys(v map[string]any, prefix string) []string {
	var out []string
	for k, x := range v {
		if sub, ok := x.(map[string]any); ok {
			out = append(out, keys(sub, prefix+k+".")...)
			continue
		}
		out = append(out, prefix+k)
	}
	sort.Strings(out)
	return out
}

// Sets reports whether the file sets the dotted key (or any key under it).
func (f *File) Sets(key string) bool {
	if f == nil {
		return false
	}
	for _, k := range f.Keys {
		if k == key || strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

// Value is the file's value of a dotted key, decoded into v (a pointer);
// false when the file does not set it.
func (f *File) Value(key string, v any) (bool, error) {
	if f == nil {
		return false, nil
	}
	var cur any
	if err := json.Unmarshal(f.Settings, &cur); err != nil {
		return false, err
	}
	for _, part := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false, nil
		}
		if cur, ok = m[part]; !ok {
			return false, nil
		}
	}
	b, err := json.Marshal(cur)
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return true, fmt.Errorf("config %s: %s: %w", f.Path, key, err)
	}
	return true, nil
}
