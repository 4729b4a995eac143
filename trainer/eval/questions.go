package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Question is one line of a question set (JSONL): a question
// about the corpus, its reference answer, three wrong answers for
// multiple choice, and free-form labels.
type Question struct {
	ID          string   `json:"id"`
	Question    string   `json:"question"`
	Answer      string   `json:"answer"`
	Distractors []string `json:"distractors"`
	Kind        string   `json:"kind,omitempty"`   // e.g. "fact", "api", "behaviour"
	Source      string   `json:"source,omitempty"` // where in the corpus the answer is, e.g. a path
}

// Options returns the multiple-choice options: the answer first, then the
// distractors in file order.
func (q Question) Options() []string {
	return append([]string{q.Answer}, q.Distractors...)
}

// NumDistractors is how many wrong answers every question carries.
const NumDistractors = 3

// ReadQuestions reads a question file: one JSON object per line, blank
// lines allowed. Every line is checked strictly (unknown fields, missing
// id/question/answer, not exactly three distractors, duplicate ids) and
// errors name the file and line.
func ReadQuestions(path string) ([]Question, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("questions: %w", err)
	}
	defer f.Close()
	return ParseQuestions(f, path)
}

// ParseQuestions is ReadQuestions on a reader; name labels errors.
func ParseQuestions(r io.Reader, name string) ([]Question, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var qs []Question
	seen := map[string]int{}
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		q, err := parseLine(b)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if prev, ok := seen[q.ID]; ok {
			return nil, fmt.Errorf("%s:%d: id %q is already used on line %d", name, line, q.ID, prev)
		}
		seen[q.ID] = line
		qs = append(qs, q)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(qs) == 0 {
		return nil, fmt.Errorf("%s: no questions (want one JSON object per line: %s)", name, questionShape)
	}
	return qs, nil
}

const questionShape = `{"id", "question", "answer", "distractors": [3 strings], "kind", "source"}`

func parseLine(b []byte) (Question, error) {
	var q Question
	if b[0] != '{' {
		return q, fmt.Errorf("not a JSON object (want %s)", questionShape)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return q, fmt.Errorf("field %q must be %s, not a JSON %s", te.Field, jsonKind(te.Field), te.Value)
		}
		return q, fmt.Errorf("bad JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return q, fmt.Errorf("extra text after the JSON object")
	}
	for _, f := range []struct{ name, v string }{{"id", q.ID}, {"question", q.Question}, {"answer", q.Answer}} {
		if strings.TrimSpace(f.v) == "" {
			return q, fmt.Errorf("%q is missing or empty", f.name)
		}
	}
	if len(q.Distractors) != NumDistractors {
		return q, fmt.Errorf("%q has %d entries, want exactly %d wrong answers", "distractors", len(q.Distractors), NumDistractors)
	}
	for i, d := range q.Distractors {
		if strings.TrimSpace(d) == "" {
			return q, fmt.Errorf("distractor %d is empty", i+1)
		}
		if d == q.Answer {
			return q, fmt.Errorf("distractor %d is the answer itself", i+1)
		}
		for j := range i {
			if q.Distractors[j] == d {
				return q, fmt.Errorf("distractors %d and %d are the same", j+1, i+1)
			}
		}
	}
	return q, nil
}

func jsonKind(field string) string {
	if field == "distractors" {
		return "an array of strings"
	}
	return "a string"
}
