package answer

import (
	"reflect"
	"testing"

	"github.com/cartlsp/cartlsp/indexer"
)

func TestCite(t *testing.T) {
	c := &indexer.Corpus{Files: []indexer.File{
		{Path: "uuid.go", Text: "package uuid\n\n// UUID is 16 bytes.\ntype UUID [16]byte\n\nconst (\n\tNil UUID = UUID{}\n\tMaxLen = 36\n)\n\n// Parse decodes s.\nfunc Parse(s string) (UUID, error) {\n\treturn parse(s)\n}\n\nfunc (u UUID) String() string { return \"\" }\n\nfunc hash() {\n\tvar local UUID\n\tconst limit = 3\n}\n"},
		{Path: "web/app.ts", Text: "export function renderPage(x: number) {}\nexport default class Router {}\n"},
		{Path: "tool.py", Text: "class Loader:\n    def load_all(self):\n        pass\n"},
	}}
	d := IndexDeclarations(c)
	for name, want := range map[string]Citation{
		"UUID":       {"uuid.go", 4, "UUID"},
		"MaxLen":     {"uuid.go", 8, "MaxLen"},
		"Parse":      {"uuid.go", 12, "Parse"},
		"String":     {"uuid.go", 16, "String"},
		"renderPage": {"web/app.ts", 1, "renderPage"},
		"Router":     {"web/app.ts", 2, "Router"},
		"Loader":     {"tool.py", 1, "Loader"},
		"load_all":   {"tool.py", 2, "load_all"},
	} {
		if got := d[name]; len(got) != 1 || got[0] != want {
			t.Errorf("declarations of %s: %v; want %v", name, got, want)
		}
	}
	if _, ok := d["local"]; ok {
		t.Error("a function's local variable is indexed")
	}
	if _, ok := d["limit"]; ok {
		t.Error("a function's local constant is indexed")
	}
	if _, ok := d["Nil"]; !ok {
		t.Error("a name of a Go const group is not indexed")
	}
	got := d.Cite("How do I parse a UUID? Call uuid.Parse(s); Parse returns a UUID, or use `Router` … the UUID type.", 3)
	want := []Citation{{"uuid.go", 4, "UUID"}, {"uuid.go", 12, "Parse"}, {"web/app.ts", 2, "Router"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Cite: %v; want %v", got, want)
	}
	if got := d.Cite("nothing declared here", 3); len(got) != 0 {
		t.Errorf("Cite of text naming nothing: %v", got)
	}
}
