package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadQuestions(t *testing.T) {
	good := `{"id":"q1","question":"What port?","answer":"7341","distractors":["80","8080","443"],"kind":"fact","source":"config.go"}

{"id":"q2","question":"Who calls Open?","answer":"main","distractors":["init","Close","run"]}
`
	dir := t.TempDir()
	path := filepath.Join(dir, "q.jsonl")
	if err := os.WriteFile(path, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	qs, err := ReadQuestions(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 2 || qs[0].ID != "q1" || qs[0].Kind != "fact" || qs[0].Source != "config.go" || qs[1].Answer != "main" ||
		strings.Join(qs[1].Options(), ",") != "main,init,Close,run" {
		t.Fatalf("got %+v", qs)
	}

	line := func(s string) string { return s + "\n" }
	ok := `{"id":"a","question":"q?","answer":"x","distractors":["b","c","d"]}`
	cases := []struct {
		name, text, want string
	}{
		{"empty file", "\n\n", "no questions"},
		{"not an object", line(`["a"]`), ":1: not a JSON object"},
		{"bad JSON", line(`{"id":"a",`), ":1: bad JSON"},
		{"unknown field", line(`{"id":"a","question":"q?","answer":"x","distractors":["b","c","d"],"hint":"h"}`), `unknown field "hint"`},
		{"missing id", line(`{"question":"q?","answer":"x","distractors":["b","c","d"]}`), `:1: "id" is missing`},
		{"missing question", line(`{"id":"a","answer":"x","distractors":["b","c","d"]}`), `"question" is missing`},
		{"blank answer", line(`{"id":"a","question":"q?","answer":"  ","distractors":["b","c","d"]}`), `"answer" is missing or empty`},
		{"two distractors", line(`{"id":"a","question":"q?","answer":"x","distractors":["b","c"]}`), "has 2 entries, want exactly 3"},
		{"no distractors", line(`{"id":"a","question":"q?","answer":"x"}`), "has 0 entries"},
		{"four distractors", line(`{"id":"a","question":"q?","answer":"x","distractors":["b","c","d","e"]}`), "has 4 entries"},
		{"empty distractor", line(`{"id":"a","question":"q?","answer":"x","distractors":["b","","d"]}`), "distractor 2 is empty"},
		{"distractor is answer", line(`{"id":"a","question":"q?","answer":"x","distractors":["b","x","d"]}`), "distractor 2 is the answer"},
		{"same distractors", line(`{"id":"a","question":"q?","answer":"x","distractors":["b","c","b"]}`), "distractors 1 and 3 are the same"},
		{"wrong type", line(`{"id":7,"question":"q?","answer":"x","distractors":["b","c","d"]}`), `field "id" must be a string`},
		{"distractors not array", line(`{"id":"a","question":"q?","answer":"x","distractors":"b"}`), `field "distractors" must be an array of strings`},
		{"two objects", line(ok + ` {"id":"b"}`), ":1: extra text after the JSON object"},
		{"duplicate id", line(ok) + "\n" + line(ok), ":3: id \"a\" is already used on line 1"},
	}
	for _, c := range cases {
		_, err := ParseQuestions(strings.NewReader(c.text), "q.jsonl")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "q.jsonl") {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := ReadQuestions(filepath.Join(dir, "none.jsonl")); err == nil || !strings.Contains(err.Error(), "none.jsonl") {
		t.Errorf("missing file: %v", err)
	}
}
