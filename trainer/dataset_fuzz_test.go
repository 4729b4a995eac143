package trainer

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadDataset: any bytes as a dataset file are read or refused with an
// error, never a panic or an unbounded allocation; what is read is sound
// (tokens within the vocabulary, targets inside their sequence, finite
// log-probabilities).
func FuzzReadDataset(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.bin")
	h := DatasetHeader{Model: "sha256:m", Corpus: "sha256:c", Synth: SynthConfig{Conversations: 2, ChunkMin: 64, ChunkMax: 128, MaxUser: 16, MaxAnswer: 32, TopK: 2, SeedTypes: SeedTypes}}
	ds, err := OpenDataset(path, h, 49152)
	if err != nil {
		f.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := ds.Append(testConv(i)); err != nil {
			f.Fatal(err)
		}
	}
	ds.Close()
	seed, _ := os.ReadFile(path)
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte{})
	p := filepath.Join(dir, "ds.bin") // one file per fuzzing process, rewritten each time
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, convs, err := ReadDataset(p, 49152)
		if err != nil {
			return
		}
		for _, c := range convs {
			n := len(c.Tokens)
			for _, id := range c.Tokens {
				if id < 0 || id >= 49152 {
					t.Fatalf("token %d outside the vocabulary", id)
				}
			}
			for _, tg := range c.Targets {
				if tg.Pos < 0 || tg.Pos >= n || len(tg.IDs) != len(tg.LogProbs) {
					t.Fatalf("target %+v in a sequence of %d", tg, n)
				}
				for _, lp := range tg.LogProbs {
					if math.IsNaN(float64(lp)) || math.IsInf(float64(lp), 0) {
						t.Fatalf("log-probability %v", lp)
					}
				}
			}
		}
	})
}
