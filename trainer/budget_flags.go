package trainer

import (
	"flag"
	"fmt"
)

// BudgetFlags registers on fs the flags that choose a training's Budget:
// --budget (the preset) and one flag per knob that overrides it. The
// function it returns resolves them once fs is parsed: the preset, with
// only the flags given on the command line overriding it; --chunk-max
// follows a larger --chunk-min, and a hold-out that would take every
// conversation becomes an eighth of them.
func BudgetFlags(fs *flag.FlagSet) func() (Budget, error) {
	var v struct {
		budget, init, seedTypes                                     string
		p, frozen, conversations, epochs, batch, chunkMin, chunkMax int
		maxUser, maxAnswer, holdout, synthBatch, perChunk           int
		lr                                                          float64
		absLR                                                       bool
		seed                                                        uint64
		chunks                                                      string
	}
	fs.StringVar(&v.budget, "budget", "small", "preset: tiny (a minute or two, for a first look), small (~20 min on 2 CPU cores with Intel AMX, ~32 without, for a ~12k-token repository with the default model), full (the paper's scale, for a GPU)")
	fs.IntVar(&v.p, "p", 0, "Cartridge size in virtual tokens, exactly (budget default: its p, less for a small corpus so the Cartridge stays 24× smaller than the corpus)")
	fs.IntVar(&v.frozen, "frozen", 1, "leading Cartridge tokens kept frozen (the attention sink); 0 trains all")
	fs.StringVar(&v.init, "init", "", "initialisation: selected (the tokens of the whole corpus the model attends to most, per layer and head), outline (an outline of the corpus's declarations, then the corpus: its first p tokens), first-tokens (the corpus's first p tokens), random-tokens or random-vectors (budget default)")
	fs.IntVar(&v.conversations, "conversations", 0, "synthetic conversations (budget default)")
	fs.IntVar(&v.epochs, "epochs", 0, "passes over the conversations (budget default)")
	fs.IntVar(&v.batch, "batch", 0, "conversations per optimiser step (budget default)")
	fs.Float64Var(&v.lr, "lr", 0, "Adam learning rate (budget default); relative to each layer's key and value scale unless --absolute-lr")
	fs.BoolVar(&v.absLR, "absolute-lr", false, "the learning rate is absolute, the same for every layer (the budget's rate is relative)")
	fs.IntVar(&v.chunkMin, "chunk-min", 0, "shortest corpus chunk shown to the teacher, tokens (budget default)")
	fs.IntVar(&v.chunkMax, "chunk-max", 0, "longest corpus chunk, tokens (budget default)")
	fs.IntVar(&v.maxUser, "max-user", 0, "longest synthetic user message, tokens (budget default)")
	fs.IntVar(&v.maxAnswer, "max-answer", 0, "longest synthetic answer, tokens (budget default)")
	fs.IntVar(&v.holdout, "holdout", -1, "conversations held out to measure the loss on (budget default)")
	fs.IntVar(&v.synthBatch, "synth-batch", 0, "conversations synthesized at once (budget default)")
	fs.IntVar(&v.perChunk, "per-chunk", 0, "conversations about each corpus chunk, which is prefilled once for them (budget default)")
	fs.StringVar(&v.seedTypes, "seed-types", "all", "seed prompt types: structuring,summarization,question,use_case,creative")
	fs.StringVar(&v.chunks, "chunks", "", "where chunks are drawn: spread (evenly over the corpus, every file covered) or random (independent uniform draws) (budget default)")
	fs.Uint64Var(&v.seed, "seed", DefaultSeed, "random seed (chunks, seed prompts, sampling, data order, init)")
	return func() (Budget, error) {
		b, err := LookupBudget(v.budget)
		if err != nil {
			return b, err
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		override := func(name string, dst *int, val int) {
			if set[name] {
				*dst = val
			}
		}
		override("p", &b.Train.P, v.p)
		if set["p"] {
			b.Train.Compress = 0 // the size asked for, whatever the corpus's
		}
		override("frozen", &b.Train.Frozen, v.frozen)
		override("conversations", &b.Synth.Conversations, v.conversations)
		override("epochs", &b.Train.Epochs, v.epochs)
		override("batch", &b.Train.Batch, v.batch)
		override("chunk-min", &b.Synth.ChunkMin, v.chunkMin)
		override("chunk-max", &b.Synth.ChunkMax, v.chunkMax)
		override("max-user", &b.Synth.MaxUser, v.maxUser)
		override("max-answer", &b.Synth.MaxAnswer, v.maxAnswer)
		override("holdout", &b.Train.Holdout, v.holdout)
		override("synth-batch", &b.SynthBatch, v.synthBatch)
		override("per-chunk", &b.Synth.PerChunk, v.perChunk)
		if set["chunk-min"] && !set["chunk-max"] && b.Synth.ChunkMax < b.Synth.ChunkMin {
			b.Synth.ChunkMax = b.Synth.ChunkMin
		}
		if set["lr"] {
			b.Train.LR = v.lr
		}
		if set["absolute-lr"] {
			b.Train.RelativeLR = !v.absLR
		}
		if set["init"] {
			b.Train.Init = v.init
		}
		switch v.chunks {
		case "":
		case "spread":
			b.Synth.Spread = true
		case "random":
			b.Synth.Spread = false
		default:
			return b, fmt.Errorf("--chunks %q: want spread or random", v.chunks)
		}
		b.Train.Seed = v.seed
		if b.Synth.SeedTypes, err = ParseSeedTypes(v.seedTypes); err != nil {
			return b, err
		}
		if b.Train.Holdout >= b.Synth.Conversations {
			b.Train.Holdout = b.Synth.Conversations / 8
		}
		return b, nil
	}
}
