package lsp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/modelfile"
)

// Config is what a client can set through initializationOptions and
// workspace/didChangeConfiguration (docs/LSP.md lists every field).
type Config struct {
	Model             string   `json:"model"`
	Budget            string   `json:"budget"`
	P                 int      `json:"p"`
	Device            string   `json:"device"`
	Dependencies      []string `json:"dependencies"`
	Registry          string   `json:"registry"`
	RegistryPlainHTTP bool     `json:"registryPlainHttp"`
	// RegistryVerifyKey, when set, is a public key (cosign.pub) that every
	// pulled dependency Cartridge must carry a signature of.
	RegistryVerifyKey string `json:"registryVerifyKey"`
	// DependencyTokens caps the virtual tokens the dependency Cartridges
	// take together: entries past it are skipped, in the setting's order.
	DependencyTokens int `json:"dependencyTokens"`
	// TrainBeside trains the repository's Cartridge behind the loaded
	// dependency Cartridges that come with their dataset (train --beside
	// with --replay), so that it learns to answer composed after them
	// without drowning them out; on by default (docs/RESULTS.md,
	// "Composing dependency Cartridges").
	TrainBeside bool `json:"trainBesideDependencies"`
	// Method is the training method (self-study, ntp or mixed); "": the
	// budget's.
	Method          string           `json:"method"`
	Exclude         []string         `json:"exclude"`
	AutoTrain       bool             `json:"autoTrain"`
	Store           string           `json:"store"`
	Threads         int              `json:"threads"`
	InContextTokens int              `json:"inContextTokens"`
	Ask             AskConfig        `json:"ask"`
	Completion      CompletionConfig `json:"completion"`
	Hover           HoverConfig      `json:"hover"`
}

// HoverConfig: whether hovering an identifier asks the model about it. Off
// by default: a hover decodes on the CPU every time the pointer rests.
type HoverConfig struct {
	Enable bool `json:"enable"`
}

// AskConfig sizes answers to questions.
type AskConfig struct {
	MaxTokens int `json:"maxTokens"`
}

// CompletionConfig sizes completions and bounds their latency.
type CompletionConfig struct {
	// Enable: completions and inline completions are offered (an empty
	// list when false, without touching the model).
	Enable bool `json:"enable"`
	// DisabledLanguages are languageIds (as the editor names them:
	// "markdown", "plaintext") whose documents get no completions.
	DisabledLanguages []string `json:"disabledLanguages"`
	MaxTokens         int      `json:"maxTokens"`
	LatencyMs         int      `json:"latencyMs"`
	ContextTokens     int      `json:"contextTokens"`
	// Cartridge: completions decode after the Cartridge (or the corpus in
	// context) as answers do; false: after nothing, the model alone.
	Cartridge bool `json:"cartridge"`
	// FIM: the prompt holds up to SuffixTokens tokens of the text after the
	// cursor as well (fill-in-the-middle), when the model has FIM tokens.
	FIM          bool `json:"fim"`
	SuffixTokens int  `json:"suffixTokens"`
	// PromptMs caps the prefill of a completion's prompt: once the server
	// knows the machine's prefill rate, a prompt that would take longer is
	// cut from its start (answer.CompleteOptions.PromptTime). 0: no cap.
	PromptMs int `json:"promptMs"`
	// DebounceMs: a completion the editor asked for as you type waits this
	// long first, and does not run when the next keystroke's supersedes it.
	DebounceMs int `json:"debounceMs"`
}

// DefaultDependencyTokens is dependencyTokens' default: room for ten of the
// small budget's 384-token Cartridges in front of the repository's, a tenth
// of the default model's window (48 MiB of KV in f16 on it).
const DefaultDependencyTokens = 4096

// DefaultConfig is the configuration before the client says anything.
func DefaultConfig() Config {
	return Config{
		Budget:           "small",
		Device:           modelfile.DeviceAuto,
		AutoTrain:        true,
		InContextTokens:  2048,
		DependencyTokens: DefaultDependencyTokens,
		TrainBeside:      true,
		Ask:              AskConfig{MaxTokens: 256},
		Completion: CompletionConfig{Enable: true, MaxTokens: 48, LatencyMs: 1500, ContextTokens: 384,
			FIM: true, SuffixTokens: 64, PromptMs: 500, DebounceMs: 100},
	}
}

// merge returns c with the fields present in raw (a JSON object: the
// settings themselves, or {"cartlsp": settings}) replaced and validated,
// and the names of the fields it does not know (a client sends its own
// settings in the same section: they are ignored); c is unchanged when raw
// is invalid. t (nil: none) checks the budget's name. A field that is null
// takes base's value (the defaults and configuration files under the
// editor's settings): an editor says so for a setting the user took out.
func (c Config) merge(raw []byte, t Training, base ...Config) (Config, []string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return c, nil, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return c, nil, fmt.Errorf("settings must be a JSON object: %w", err)
	}
	if sec, ok := obj["cartlsp"]; ok {
		return c.merge(sec, t, base...)
	}
	next := c
	next.Dependencies = slices.Clone(c.Dependencies)
	next.Exclude = slices.Clone(c.Exclude)
	next.Completion.DisabledLanguages = slices.Clone(c.Completion.DisabledLanguages)
	from := DefaultConfig()
	if len(base) > 0 {
		from = base[0]
	}
	raw, err := resetNulls(obj, reflect.ValueOf(&next).Elem(), reflect.ValueOf(from))
	if err != nil {
		return c, nil, fmt.Errorf("settings: %w", err)
	}
	// Decoding into a copy keeps the fields that are absent.
	if err := json.Unmarshal(raw, &next); err != nil {
		return c, nil, fmt.Errorf("settings: %w", err)
	}
	if err := next.validate(t); err != nil {
		return c, nil, err
	}
	return next, unknownFields(obj, reflect.TypeOf(c), ""), nil
}

// resetNulls sets the fields of dst that obj gives as null to src's, and
// returns obj without them (JSON), for decoding into dst.
func resetNulls(obj map[string]json.RawMessage, dst, src reflect.Value) ([]byte, error) {
	t := dst.Type()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		v, ok := obj[name]
		if !ok {
			continue
		}
		switch {
		case string(bytes.TrimSpace(v)) == "null":
			dst.Field(i).Set(src.Field(i))
			delete(obj, name)
		case t.Field(i).Type.Kind() == reflect.Struct:
			var sub map[string]json.RawMessage
			if json.Unmarshal(v, &sub) == nil {
				b, err := resetNulls(sub, dst.Field(i), src.Field(i))
				if err != nil {
					return nil, err
				}
				obj[name] = b
			}
		}
	}
	return json.Marshal(obj)
}

// unknownFields lists the keys of obj (and of its objects, for struct
// fields) that t has no field for.
func unknownFields(obj map[string]json.RawMessage, t reflect.Type, prefix string) []string {
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		fields[name] = f.Type
	}
	var out []string
	for k, v := range obj {
		ft, ok := fields[k]
		switch {
		case !ok:
			out = append(out, prefix+k)
		case ft.Kind() == reflect.Struct:
			var sub map[string]json.RawMessage
			if json.Unmarshal(v, &sub) == nil {
				out = append(out, unknownFields(sub, ft, prefix+k+".")...)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (c Config) validate(t Training) error {
	if t != nil {
		if err := t.CheckBudget(c.Budget); err != nil {
			return fmt.Errorf("settings: budget: %w", err)
		}
	}
	if t != nil {
		if err := t.CheckMethod(c.Method); err != nil {
			return fmt.Errorf("settings: method: %w", err)
		}
	}
	if _, err := modelfile.CheckDevice(c.Device); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	checks := []struct {
		name   string
		v, min int
		max    int
	}{
		{"p", c.P, 0, 1 << 16},
		{"threads", c.Threads, 0, 1024},
		{"inContextTokens", c.InContextTokens, 0, 1 << 20},
		{"dependencyTokens", c.DependencyTokens, 0, 1 << 20},
		{"ask.maxTokens", c.Ask.MaxTokens, 1, 1 << 16},
		{"completion.maxTokens", c.Completion.MaxTokens, 1, 1024},
		{"completion.latencyMs", c.Completion.LatencyMs, 1, 600_000},
		{"completion.contextTokens", c.Completion.ContextTokens, 1, 1 << 16},
		{"completion.suffixTokens", c.Completion.SuffixTokens, 0, 1 << 16},
		{"completion.debounceMs", c.Completion.DebounceMs, 0, 10_000},
		{"completion.promptMs", c.Completion.PromptMs, 0, 600_000},
	}
	for _, k := range checks {
		if k.v < k.min || k.v > k.max {
			return fmt.Errorf("settings: %s is %d, want %d to %d", k.name, k.v, k.min, k.max)
		}
	}
	for _, d := range c.Dependencies {
		if strings.TrimSpace(d) == "" {
			return fmt.Errorf("settings: dependencies: an empty entry (want a Cartridge file or module@version)")
		}
	}
	if err := c.filter().Check(); err != nil {
		return fmt.Errorf("settings: exclude: %w", err)
	}
	return nil
}

// filter is the corpus filter of the configuration: the defaults and the
// exclude globs (what `cartlsp train --exclude` takes, so that the server
// finds the Cartridges trained with the same ones).
func (c Config) filter() indexer.Filter {
	return indexer.Filter{Exclude: c.Exclude}
}

// questionTokens is the room kept in the context window for a question's
// turn after the corpus in context; a longer question (a large selection)
// is refused, or its answer cut to the room left.
const questionTokens = 512

// requestTokens is the room the context window keeps after the corpus in
// context for a request: a question and its answer, or a completion's
// context and its continuation.
func (c Config) requestTokens() int {
	return max(questionTokens+max(c.Ask.MaxTokens, hoverTokens), c.Completion.ContextTokens+c.Completion.SuffixTokens+3+c.Completion.MaxTokens)
}

// modelKey is what, when it changes, needs the model loaded again.
func (c Config) modelKey() string {
	d, _ := modelfile.CheckDevice(c.Device)
	return fmt.Sprintf("%s|%s|%d", c.Model, d, c.Threads)
}

// trainKey is what, when it changes, restarts following the repository.
func (c Config) trainKey() string {
	k := fmt.Sprintf("%s|%s|%d|%s|%t|%q|%s", c.Budget, c.Method, c.P, c.Store, c.AutoTrain, c.Exclude, c.modelKey())
	if c.TrainBeside { // the dependencies are part of what trains
		k += fmt.Sprintf("|beside %q", c.Dependencies)
	}
	return k
}

// ValidateConfig checks a configuration made outside the protocol (flags);
// t (nil: none) checks the budget's name.
func ValidateConfig(c Config, t Training) error { return c.validate(t) }
