package trainer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// Budget is a named set of synthesis and training settings, scaled to the
// machine: tiny for tests and a first look, small for a laptop CPU, full
// for a GPU at the paper's scale.
type Budget struct {
	Name       string
	Method     string // how it trains unless told otherwise: MethodSelfStudy, MethodNTP or MethodMixed
	Synth      SynthConfig
	SynthBatch int // conversations synthesized at once
	Train      TrainConfig
}

// Budgets are the named budgets. Explicit flags override single fields.
//
// small trains by the measurements of docs/RESULTS.md ("Cartridges on
// Qwen2.5-Coder-0.5B"): self-study conversations and next-token windows of
// the corpus together (mixed beat either alone), four conversations per
// chunk (synthesis 1.9× faster, same quality) placed evenly over the
// corpus, 32 synthesized at once; a Cartridge of up to 384 tokens (at least
// 24× below the corpus) started from an outline of the corpus, Adam's rate
// relative to each layer's scale (an absolute 0.04 diverged), and a guard
// that undoes a diverging start and halves the rate (0.02 relative diverged
// on Qwen2.5-Coder-1.5B: step losses 1.2 → 4.6 → 9.1; healthy runs peak
// below 1.7× the held-out loss before training, the guard trips at 2.5×). With the
// default model it takes about 21 minutes on 2 CPU cores with Intel AMX for
// a ~12k-token repository (6 synthesis, 14 training; bf16 teacher and
// student weights), about 32 without AMX (7 + 24, docs/RESULTS.md "Sixth session"). full follows the paper (65k conversations, chunks of
// 512–4096 tokens, p = 2048) and wants a GPU.
var Budgets = map[string]Budget{
	"tiny": {
		Name:       "tiny",
		Synth:      SynthConfig{Conversations: 12, ChunkMin: 192, ChunkMax: 384, MaxUser: 48, MaxAnswer: 96, UserTemp: 0.6, TopK: 20},
		SynthBatch: 4,
		Train:      TrainConfig{P: 64, Frozen: 1, Init: InitFirstTokens, LR: 2e-2, Epochs: 1, Batch: 4, MicroTokens: 1024},
	},
	"small": {
		Name:       "small",
		Method:     MethodMixed,
		Synth:      SynthConfig{Conversations: 128, ChunkMin: 256, ChunkMax: 768, MaxUser: 64, MaxAnswer: 160, UserTemp: 0.6, TopK: 20, PerChunk: 4, Spread: true},
		SynthBatch: 32,
		Train:      TrainConfig{P: 384, Compress: 24, Frozen: 1, Init: InitOutline, LR: 2e-2, RelativeLR: true, Epochs: 2, Batch: 4, MicroTokens: 1024, Holdout: 8, EvalEvery: 8, Guard: 2.5},
	},
	"full": {
		Name:       "full",
		Synth:      SynthConfig{Conversations: 65536, ChunkMin: 512, ChunkMax: 4096, MaxUser: 512, MaxAnswer: 1024, UserTemp: 0.6, TopK: 20},
		SynthBatch: 64,
		Train:      TrainConfig{P: 2048, Frozen: 1, Init: InitFirstTokens, LR: 2e-2, Epochs: 1, Batch: 64, MicroTokens: 8192, Holdout: 256, EvalEvery: 100},
	},
}

// BudgetNames lists the budgets from smallest to largest.
var BudgetNames = []string{"tiny", "small", "full"}

// DefaultSeed is the random seed of a budget unless told otherwise: every
// command that trains (cartlsp train, its hooks, the language server) must
// make the same recipe, hence the same store key, from the same budget.
const DefaultSeed = 1

// LookupBudget returns the named budget, with all seed types and the
// default seed.
func LookupBudget(name string) (Budget, error) {
	b, ok := Budgets[strings.ToLower(name)]
	if !ok {
		return Budget{}, fmt.Errorf("unknown budget %q (want %s)", name, strings.Join(BudgetNames, ", "))
	}
	b.Synth.SeedTypes = append([]SeedType(nil), SeedTypes...)
	b.Train.Seed = DefaultSeed
	return b, nil
}

// RecipeHash identifies how a Cartridge is made — the method and every
// synthesis and training setting that changes the result — for the store
// to key Cartridges by. How fast it runs (synthesis batch, micro-batch
// size) is left out, and so is whether it was trained incrementally: that
// is a Cartridge's history, not its recipe.
func RecipeHash(method string, b Budget) string {
	s, t := b.Synth, b.Train
	t.MicroTokens = 0
	v := struct {
		Version int         `json:"v"`
		Method  string      `json:"method"`
		Synth   SynthConfig `json:"synth"`
		Train   TrainConfig `json:"train"`
	}{1, method, s, t}
	j, _ := json.Marshal(v)
	h := sha256.Sum256(j)
	return "sha256:" + hex.EncodeToString(h[:])
}

// DefaultMethod is the budget's method, self-study when it names none.
func (b Budget) DefaultMethod() string {
	if b.Method == "" {
		return MethodSelfStudy
	}
	return b.Method
}
