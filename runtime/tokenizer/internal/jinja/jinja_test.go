package jinja

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestJinja2Reference renders the templates of testdata/chat/engine.json.gz
// (expressions, filters, tests, scoping, errors and random whitespace
// control, written by scripts/chat_template_ref.py with jinja2 in Hugging
// Face's environment) and compares with jinja2's output byte for byte, or
// checks that rendering fails where jinja2 fails.
func TestJinja2Reference(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "..", "..", "testdata", "chat", "engine.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Vars  json.RawMessage `json:"vars"`
		Cases []struct {
			Template string  `json:"template"`
			Output   *string `json:"output"`
			Error    string  `json:"error"`
		} `json:"cases"`
	}
	if err := json.NewDecoder(zr).Decode(&ref); err != nil {
		t.Fatal(err)
	}
	v, err := FromJSON(ref.Vars)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{}
	for _, k := range v.(*Dict).Keys() {
		vars[k], _ = v.(*Dict).Get(k)
	}
	fails := 0
	for i, c := range ref.Cases {
		var got string
		tm, err := Compile(c.Template)
		if err == nil {
			got, err = tm.Render(vars)
		}
		switch {
		case c.Output == nil && err == nil:
			t.Errorf("case %d %q: rendered %q; jinja2: %s", i, c.Template, got, c.Error)
		case c.Output != nil && err != nil:
			t.Errorf("case %d %q: %v; jinja2 rendered %q", i, c.Template, err, *c.Output)
		case c.Output != nil && got != *c.Output:
			t.Errorf("case %d %q:\n got %q\nwant %q", i, c.Template, got, *c.Output)
		default:
			continue
		}
		if fails++; fails > 40 {
			t.Fatal("too many failures")
		}
	}
	t.Logf("%d templates", len(ref.Cases))
}

func TestPyFloat(t *testing.T) {
	a, b := 0.1, 0.2
	cases := map[float64]string{
		0: "0.0", 1: "1.0", -1.5: "-1.5", 1e16: "1e+16", 1e15: "1000000000000000.0", 1e-5: "1e-05",
		0.0001: "0.0001", 123456789: "123456789.0", a + b: "0.30000000000000004", 1e100: "1e+100",
		2.5e-300: "2.5e-300", 1.5e16: "1.5e+16", 5e-324: "5e-324",
	}
	for f, want := range cases {
		if got := pyFloat(f); got != want {
			t.Errorf("pyFloat(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestFromJSON(t *testing.T) {
	v, err := FromJSON([]byte(`{"z": 1, "a": [1.0, 12345678901234567890, "x", null, true], "m": {}}`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := toJSON(v, jsonOpts{itemSep: ", ", keySep: ": "})
	if want := `{"z": 1, "a": [1.0, 12345678901234567890, "x", null, true], "m": {}}`; err != nil || s != want {
		t.Errorf("toJSON(FromJSON) = %s, %v; want %s", s, err, want)
	}
	for _, bad := range []string{``, `{`, `[1,]`, `1 2`, `{"a" 1}`} {
		if _, err := FromJSON([]byte(bad)); err == nil {
			t.Errorf("FromJSON(%q): no error", bad)
		}
	}
}

// TestLimits: templates that would run long or build huge strings stop
// with an error.
func TestLimits(t *testing.T) {
	cases := map[string]string{
		"nested loops":    "{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}",
		"recursion":       "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
		"output":          "{% set s = 'x' * 1000000 %}{% for i in range(100000) %}{{ s }}{% endfor %}",
		"doubling":        "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
		"repeat":          "{{ 'x' * 100000000000 }}",
		"range":           "{{ range(10000000000) | length }}",
		"deep expression": strings.Repeat("{{ (", 1) + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000) + ") }}",
		"deep blocks":     strings.Repeat("{% if true %}", 10000) + strings.Repeat("{% endif %}", 10000),
	}
	for name, src := range cases {
		tm, err := Compile(src)
		if err == nil {
			_, err = tm.Render(nil)
		}
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzRender: any template compiles or fails with an error, and renders or
// fails with an error, without an internal error (a recovered panic).
func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"{% for m in messages %}{{ m.role ~ ':' ~ m.content }}{% endfor %}",
		"{%- if tools %}{{ tools | tojson }}{% endif -%}{{ messages[0]['content'][1:] }}",
		"{% set ns = namespace(a=1) %}{% set ns.a = ns.a * 2 %}{{ ns.a }}{{ 'x' is string }}",
		"{% macro f(a, b=2) %}{{ a + b }}{% endmacro %}{{ f(1) }}{{ range(3) | list }}",
		"{# c #}{% raw %}{{ x }}{% endraw %}{{ 1.5e3 | int }}{{ 'a,b'.split(',') | join('-') }}",
	} {
		f.Add(s)
	}
	vars := map[string]any{
		"messages": []any{dictOf("role", "user", "content", "hi"), dictOf("role", "assistant", "content", "")},
		"tools":    []any{dictOf("name", "f", "parameters", NewDict())},
	}
	f.Fuzz(func(t *testing.T, src string) {
		tm, err := Compile(src)
		if err == nil {
			_, err = tm.Render(vars)
		}
		if err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatalf("%q: %v", src, err)
		}
	})
}

func dictOf(kv ...any) *Dict {
	d := NewDict()
	for i := 0; i < len(kv); i += 2 {
		d.Set(kv[i].(string), kv[i+1])
	}
	return d
}

// TestDeepValues: values nested far deeper than any template needs print
// and compare without exhausting the stack.
func TestDeepValues(t *testing.T) {
	tm, err := Compile("{% set ns = namespace(x=[]) %}{% for i in range(200000) %}{% set ns.x = [ns.x] %}{% endfor %}" +
		"{{ (ns.x | string)[:3] }}{{ ns.x == ns.x }}{{ ns.x | tojson }}")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tm.Render(nil); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Errorf("err = %v, want nesting error from tojson", err)
	}
}
