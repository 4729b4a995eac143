package trainer

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/cartlsp/cartlsp/runtime/student"
)

// Incremental training: a commit's Cartridge warm-starts from its parent's
// and learns what changed. New conversations are synthesized on chunks
// drawn around the changed files (a chunk keeps its usual length, so it
// shows their neighbours too); a replay sample of the parent's
// conversations whose files are all unchanged keeps the rest from being
// forgotten. Those conversations are still true — their chunks are the
// same bytes — so replay costs no synthesis. The new dataset holds the
// still-true conversations and the new ones: it is the pool the next
// commit replays from.

// Warm is what an incremental job starts from.
type Warm struct {
	Prefix *student.Prefix // the parent's Cartridge (copied, never changed)
	Pool   []*Conversation // the parent's conversations (its dataset)
	// Changed are the files of this corpus that are new or differ from
	// the parent's, each with its changed lines (ChangedLines; nil: a new
	// file, all of it).
	Changed map[string][]int
	From    string // the parent, as recorded in the dataset header (a store entry or a path)
	Cfg     IncrementalConfig
}

// IncrementalConfig sizes an incremental training.
type IncrementalConfig struct {
	// New conversations: Scale × the budget's conversations × the changed
	// share of the corpus's tokens, within [MinNew, MaxNew].
	Scale          float64
	MinNew, MaxNew int
	Replay         float64 // replayed conversations per new one
	Epochs         int
	LR             float64 // 0: the budget's
}

// DefaultIncremental is sized so that a commit changing a file or two
// costs under a third of training from scratch (docs/RESULTS.md).
func DefaultIncremental(b Budget) IncrementalConfig {
	return IncrementalConfig{Scale: 1, MinNew: max(4, b.Synth.Conversations/10), MaxNew: max(4, b.Synth.Conversations/3),
		Replay: 1, Epochs: b.Train.Epochs}
}

// trainConfig is the training configuration of an incremental job.
func (w *Warm) trainConfig(b Budget) TrainConfig {
	c := b.Train
	if w.Cfg.Epochs > 0 {
		c.Epochs = w.Cfg.Epochs
	}
	if w.Cfg.LR > 0 {
		c.LR = w.Cfg.LR
	}
	c.Init = InitFirstTokens // unused: training starts from the warm prefix
	if w.Prefix != nil {     // the parent's size, whatever the corpus's is now
		c.P, c.Compress = w.Prefix.P, 0
	}
	return c
}

// stillTrue are the pool's conversations whose every source file is in
// the corpus with the same content.
func stillTrue(pool []*Conversation, lines *Lines) []*Conversation {
	var out []*Conversation
	for _, c := range pool {
		ok := len(c.Sources) > 0 && len(c.Targets) > 0
		for _, s := range c.Sources {
			if i, in := lines.index[s.Path]; !in || lines.hashes[i] != s.Hash {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, c)
		}
	}
	return out
}

// incremental makes an incremental job's examples: the new ones (some
// held out) and the replayed ones.
func (j *Job) incremental(ctx context.Context, lines *Lines, res *JobResult) (train, held []student.Example, err error) {
	b, w := j.Budget, j.Warm
	focus, changed := lines.Focus(w.Changed)
	res.ChangedTokens = changed
	nNew := int(math.Ceil(w.Cfg.Scale * float64(b.Synth.Conversations) * float64(changed) / float64(max(lines.Tokens(), 1))))
	nNew = min(max(nNew, w.Cfg.MinNew), max(w.Cfg.MaxNew, w.Cfg.MinNew))
	nReplay := int(math.Round(w.Cfg.Replay * float64(nNew)))
	seed := b.Train.Seed
	rng := rand.New(rand.NewPCG(seed, 0x1ac))

	// The still-true part of the pool, cut to leave room for the new
	// conversations in a dataset of the budget's size.
	carried := stillTrue(w.Pool, lines)
	if keep := b.Synth.Conversations - nNew; len(carried) > keep {
		perm := rng.Perm(len(carried))[:max(keep, 0)]
		sort.Ints(perm)
		kept := make([]*Conversation, len(perm))
		for i, k := range perm {
			kept[i] = carried[k]
		}
		carried = kept
	}

	cfg := j.synthConfig()
	var fresh []student.Example
	var replay []student.Example
	if j.Method == MethodSelfStudy || j.Method == MethodMixed {
		cfg.Conversations = len(carried) + nNew
		changedList := make([]string, 0, len(w.Changed))
		for p := range w.Changed {
			changedList = append(changedList, p)
		}
		sort.Strings(changedList)
		extra := map[string]any{"warm_from": w.From, "carried": len(carried), "changed": changedList}
		convs, err := j.synthesize(ctx, focus, cfg, carried, extra, res)
		if err != nil {
			return nil, nil, err
		}
		fresh = examplesFrom(convs)
		old := examplesFrom(carried)
		for _, k := range rng.Perm(len(old))[:min(nReplay, len(old))] {
			replay = append(replay, old[k])
		}
	}
	if j.Method == MethodNTP || j.Method == MethodMixed {
		nc := cfg
		nc.Conversations = nNew
		fresh = append(fresh, ntpExamples(focus, j.Chat.Tokenizer().Encode, nc)...)
		nc.Conversations, nc.Seed = nReplay, seed^0x5eed
		replay = append(replay, ntpExamples(lines, j.Chat.Tokenizer().Encode, nc)...)
	}
	train, held = Split(fresh, min(b.Train.Holdout, len(fresh)/4), seed)
	res.NewExamples, res.Replayed = len(train), len(replay)
	train = append(train, replay...)
	res.Conversations = len(train) + len(held)
	return train, held, nil
}
