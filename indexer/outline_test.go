package indexer

import (
	"strings"
	"testing"
)

const outlineGoSrc = `// Copyright 2024 The Authors. All rights reserved.

// Package shapes draws shapes.
package shapes

import "math"

// Pi is the ratio of a circle's circumference to its diameter.
const Pi = math.Pi

// A Circle is a round shape.
// Its zero value is a point.
type Circle struct {
	R float64 // radius
}

// Area returns the circle's area.
// It is never negative.
func (c Circle) Area() float64 {
	return Pi * c.R * c.R
}

func helper(x int) int { return x * 2 }

type point struct{ x, y int }
`

const outlinePySrc = `import os

# Shape is the base of every shape.
class Shape:
    # area of the shape
    def area(self):
        return 0

x = 1
def free(a, b):
    return a + b
`

const outlineMdSrc = "# Title\n\nSome text.\n\n```go\n# not a heading\n```\n\n## Usage\n"

func outlineCorpus() *Corpus {
	return &Corpus{Files: []File{
		{Path: "README.md", Text: outlineMdSrc},
		{Path: "LICENSE", Text: "MIT License\n"},
		{Path: "shapes.go", Text: outlineGoSrc},
		{Path: "shapes.py", Text: outlinePySrc},
	}}
}

func TestOutlineLevels(t *testing.T) {
	c := outlineCorpus()
	all := func(string) bool { return true }
	tests := []struct {
		name      string
		fits      func(string) bool
		want, not []string
	}{
		{"everything fits: whole docs", all,
			[]string{"### Outline\n```\n// README.md\n# Title\n## Usage\n// shapes.go\n",
				"// Package shapes draws shapes.\npackage shapes\n",
				"// Pi is the ratio of a circle's circumference to its diameter.\nconst Pi = math.Pi\n",
				"// A Circle is a round shape.\n// Its zero value is a point.\ntype Circle struct {\n\tR float64 // radius\n}\n",
				"// Area returns the circle's area.\n// It is never negative.\nfunc (c Circle) Area() float64\n",
				"func helper(x int) int\n", "type point struct{ x, y int }\n",
				"// shapes.py\n# Shape is the base of every shape.\nclass Shape:\n    # area of the shape\n    def area(self):\ndef free(a, b):\n```\n\n"},
			[]string{"Copyright", "import", "return Pi", "return 0", "not a heading", "LICENSE", "x = 1"}},
		{"first lines of docs", func(s string) bool { return len(s) < len(joinOutline(c, outlineFiles(c, OutlineDocs), -1)) },
			[]string{"// A Circle is a round shape.\ntype Circle struct", "// Area returns the circle's area.\nfunc (c Circle) Area() float64\n"},
			[]string{"Its zero value", "never negative"}},
		{"signatures", func(s string) bool { return !strings.Contains(s, "// Area") && !strings.Contains(s, "# Shape") },
			[]string{"const Pi = math.Pi\ntype Circle struct {\n\tR float64 // radius\n}\nfunc (c Circle) Area() float64\nfunc helper(x int) int\n"},
			[]string{"package shapes", "// A Circle"}},
		{"exported names", func(s string) bool { return !strings.Contains(s, "helper") },
			[]string{"// shapes.go\ntype Circle struct\nfunc (c Circle) Area() float64\n// shapes.py\nclass Shape:\n"},
			[]string{"Pi", "helper", "point", "radius"}},
		{"a line of each file", func(s string) bool { return !strings.Contains(s, "Area") && !strings.Contains(s, "Usage") },
			[]string{"// README.md\n# Title\n// shapes.go\ntype Circle struct\n// shapes.py\nclass Shape:\n```\n\n"},
			[]string{"Area", "Usage", "def area"}},
		{"nothing fits", func(string) bool { return false }, nil, []string{"Outline"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Outline(c, tt.fits)
			if tt.want == nil && got != "" {
				t.Fatalf("got %q, want nothing", got)
			}
			if !tt.fits(got) && got != "" {
				t.Errorf("the outline does not fit")
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in\n%s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("%q should not be in\n%s", n, got)
				}
			}
		})
	}
}

func TestOutlineBrokenGo(t *testing.T) {
	c := &Corpus{Files: []File{{Path: "bad.go", Text: "package x\n\n// Do does.\nfunc Do() {\n\treturn (\n"}}}
	got := Outline(c, func(string) bool { return true })
	if want := "// bad.go\n// Do does.\nfunc Do()\n"; !strings.Contains(got, want) {
		t.Errorf("got %q, want it to hold %q (the line heuristic)", got, want)
	}
	if got := Outline(&Corpus{}, func(string) bool { return true }); got != "" {
		t.Errorf("empty corpus: %q", got)
	}
}
