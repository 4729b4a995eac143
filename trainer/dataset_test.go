package trainer

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/student"
)

func testConv(i int) *Conversation {
	c := &Conversation{Index: i, Seed: SeedTypes[i%5], Variant: i % 3, ChunkStart: 10 * i, ChunkTokens: 300,
		User: "What does F" + string(rune('a'+i)) + " return?", Answer: "It returns ✓.",
		Turns: answer.Turns{Tokens: []int{1, 5, 6, 7, 2, 1, 8, 9, 10, 2}, UserStart: 2, AnsStart: 8, AnsEnd: 9}}
	for p := 1; p < 9; p++ {
		c.Targets = append(c.Targets, student.Target{Pos: p, IDs: []int{p + 1, 40000 + p}, LogProbs: []float32{-0.125, -2.5}})
	}
	for s := 0; s < i%3; s++ {
		c.Sources = append(c.Sources, Source{Path: fmt.Sprintf("pkg/f%d.go", s), Hash: ContentHash(fmt.Sprint(i, s))})
	}
	return c
}

func TestDatasetRoundTripAndResume(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ds.bin")
	h := DatasetHeader{Model: "sha256:m", Corpus: "sha256:c", Synth: SynthConfig{Conversations: 5, ChunkMin: 64, ChunkMax: 128, MaxUser: 16, MaxAnswer: 32, TopK: 2, SeedTypes: SeedTypes}}
	ds, err := OpenDataset(path, h, 49152)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := ds.Append(testConv(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := ds.Close(); err != nil {
		t.Fatal(err)
	}
	_, convs, err := ReadDataset(path, 49152)
	if err != nil {
		t.Fatal(err)
	}
	if len(convs) != 3 || !reflect.DeepEqual(convs[1], testConv(1)) {
		t.Fatalf("round trip: %d conversations; #1 = %+v", len(convs), convs[1])
	}

	// A crash in the middle of the third record: the first two survive, the
	// torn tail is cut and appending continues after them.
	st, _ := os.Stat(path)
	if err := os.Truncate(path, st.Size()-7); err != nil {
		t.Fatal(err)
	}
	h.Synth.Conversations = 9 // more conversations later: still the same dataset
	ds, err = OpenDataset(path, h, 49152)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(ds.Done()); got != 2 || ds.Done()[2] {
		t.Fatalf("after a torn tail: %d conversations, done %v", got, ds.Done())
	}
	if err := ds.Append(testConv(7)); err != nil {
		t.Fatal(err)
	}
	ds.Close()
	_, convs, err = ReadDataset(path, 49152)
	if err != nil || len(convs) != 3 || convs[2].Index != 7 {
		t.Fatalf("after resume: %v, %d conversations", err, len(convs))
	}

	// Other settings: refused with a message that says what to do.
	h2 := h
	h2.Synth.MaxAnswer = 99
	if _, err := OpenDataset(path, h2, 49152); err == nil || !strings.Contains(err.Error(), "other settings") {
		t.Errorf("different settings: %v", err)
	}
	// Not a dataset, a damaged record, tokens outside the vocabulary.
	bad := filepath.Join(dir, "bad.bin")
	os.WriteFile(bad, []byte("hello world, not a dataset"), 0o644)
	if _, _, err := ReadDataset(bad, 49152); err == nil || !strings.Contains(err.Error(), "not a cartlsp dataset") {
		t.Errorf("garbage: %v", err)
	}
	if _, _, err := ReadDataset(path, 100); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("small vocabulary: %v", err)
	}
}

func TestDecodeConversationNeverPanics(t *testing.T) {
	p := testConv(3).encode()
	for n := 0; n < len(p); n++ {
		if _, err := decodeConversation(p[:n], 49152, DatasetVersion); err == nil {
			t.Errorf("a payload cut at %d of %d bytes decoded", n, len(p))
		}
	}
	for i := range p {
		q := append([]byte(nil), p...)
		q[i] ^= 0xff
		decodeConversation(q, 49152, DatasetVersion) // errors or not, never a panic
	}
}

// TestReplayExamples: a quarter as many examples as asked for, drawn from
// every replay dataset in turn, the same for the same seed.
func TestReplayExamples(t *testing.T) {
	dir := t.TempDir()
	m := &model.Model{Config: model.Config{Vocab: 49152}, File: &gguf.File{}}
	var paths []string
	for d := 0; d < 3; d++ {
		p := filepath.Join(dir, fmt.Sprintf("dep%d.bin", d))
		fp := m.Fingerprint()
		if d == 2 {
			fp = "sha256:another model"
		}
		h := DatasetHeader{Model: fp, Corpus: fmt.Sprintf("sha256:c%d", d), Synth: SynthConfig{Conversations: 6, ChunkMin: 64, ChunkMax: 128, MaxUser: 16, MaxAnswer: 32, TopK: 2, SeedTypes: SeedTypes}}
		ds, err := OpenDataset(p, h, 49152)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 6; i++ {
			c := testConv(i)
			c.Tokens = append([]int{100 + d}, c.Tokens[1:]...) // which dataset it came from
			if err := ds.Append(c); err != nil {
				t.Fatal(err)
			}
		}
		ds.Close()
		paths = append(paths, p)
	}
	if _, err := CheckDataset(paths[2], m.Fingerprint(), m.Vocab); err == nil || !strings.Contains(err.Error(), "made for model sha256:another model") {
		t.Errorf("CheckDataset of another model's dataset: %v", err)
	}
	if n, err := CheckDataset(paths[0], m.Fingerprint(), m.Vocab); err != nil || n != 6 {
		t.Errorf("CheckDataset: %d, %v; want 6 conversations", n, err)
	}
	j := &Job{Replay: paths, Infer: m}
	if _, err := j.replayExamples(20); err == nil || !strings.Contains(err.Error(), "was made for model") {
		t.Errorf("replaying another model's dataset: %v", err)
	}
	j.Replay = paths[:2]
	j.Budget.Train.Seed = 7
	got, err := j.replayExamples(20) // 0.25 × 20 = 5
	if err != nil {
		t.Fatal(err)
	}
	from := map[int]int{}
	for _, ex := range got {
		from[ex.Tokens[0]]++
	}
	if len(got) != 5 || from[100] != 3 || from[101] != 2 {
		t.Errorf("%d examples, by dataset %v; want 5, 3 and 2", len(got), from)
	}
	again, _ := j.replayExamples(20)
	if !reflect.DeepEqual(got, again) {
		t.Error("the same seed drew other examples")
	}
	if _, err := (&Job{Replay: []string{filepath.Join(dir, "none.bin")}, Infer: j.Infer}).replayExamples(4); err == nil {
		t.Error("a missing dataset to replay: no error")
	}
}
