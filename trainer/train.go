package trainer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"time"

	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/student"
)

// The distillation loop (docs/ARCHITECTURE.md, "Self-study"): the model is frozen, only the
// Cartridge learns. Each step takes a batch of conversations (split into
// micro-batches that bound memory), computes the mean top-k distillation
// loss of the student — Cartridge + user message + answer, without the
// chunk — against the teacher's log-probabilities, and takes an Adam step.
// Epochs walk the conversations in a seeded order, so a run that resumes
// from a checkpoint continues exactly where it stopped.

// Init methods for a Cartridge's first values.
const (
	InitFirstTokens   = "first-tokens"   // the KV of the corpus's first p tokens (the paper's best)
	InitRandomTokens  = "random-tokens"  // the KV of p random tokens
	InitRandomVectors = "random-vectors" // random vectors scaled like real keys and values
	// InitOutline is the KV of the first p tokens of the corpus's system
	// turn with an outline of its declarations in front (indexer.Outline,
	// as detailed as fits in p): what the files define, rather than their
	// first lines' license headers and imports.
	InitOutline = "outline"
	// InitSelected is the KV of the corpus tokens that the corpus's later
	// tokens attend to most, chosen per layer and KV head from windows
	// covering the whole corpus, behind the system turn's opening
	// (student.InitSelected).
	InitSelected = "selected"
)

// TrainConfig says how a Cartridge is trained.
type TrainConfig struct {
	P int `json:"p"` // virtual tokens
	// Compress, when set, lowers p for a small corpus to keep at least this
	// many corpus tokens per Cartridge token (FitP), so that the Cartridge
	// stays that many times smaller than the corpus in context.
	Compress int     `json:"compress,omitempty"`
	Frozen   int     `json:"frozen"` // leading tokens not trained (the attention sink); 0 trains all
	Init     string  `json:"init"`
	LR       float64 `json:"lr"`
	// RelativeLR makes LR relative to each layer's key and value scale
	// (student.Adam.Relative).
	RelativeLR  bool   `json:"relative_lr,omitempty"`
	Epochs      int    `json:"epochs"`
	Batch       int    `json:"batch"`        // conversations per step
	MicroTokens int    `json:"micro_tokens"` // student tokens per micro-batch (memory bound)
	Holdout     int    `json:"holdout"`      // conversations kept out of training to measure the loss on
	EvalEvery   int    `json:"eval_every"`   // steps between held-out evaluations (0: at the end only)
	Seed        uint64 `json:"seed"`
	// Guard, when set, catches a diverging run: a step whose loss exceeds
	// Guard × the reference (the held-out loss before training, else the
	// first step's loss), or is not finite, undoes the update before it
	// and the step's own, and halves the learning rate. 0 turns it off.
	Guard float64 `json:"guard,omitempty"`
}

func (c TrainConfig) check() error {
	switch {
	case c.P < 1:
		return fmt.Errorf("training: p = %d; want at least 1", c.P)
	case c.Frozen < 0 || c.Frozen >= c.P:
		return fmt.Errorf("training: %d frozen tokens of p = %d; want 0 ≤ frozen < p", c.Frozen, c.P)
	case c.Compress < 0:
		return fmt.Errorf("training: compress %d; want 0 (off) or more", c.Compress)
	case c.LR <= 0 || c.LR > 1:
		return fmt.Errorf("training: learning rate %g; want 0 < lr ≤ 1", c.LR)
	case c.Guard < 0 || c.Guard > 0 && c.Guard <= 1:
		return fmt.Errorf("training: guard %g; want 0 (off) or more than 1", c.Guard)
	case c.Epochs < 1:
		return fmt.Errorf("training: %d epochs; want at least 1", c.Epochs)
	case c.Batch < 1:
		return fmt.Errorf("training: batch of %d; want at least 1", c.Batch)
	case c.Holdout < 0:
		return fmt.Errorf("training: %d held-out conversations", c.Holdout)
	}
	switch c.Init {
	case InitFirstTokens, InitOutline, InitSelected, InitRandomTokens, InitRandomVectors:
	default:
		return fmt.Errorf("training: init %q; want %s, %s, %s, %s or %s", c.Init, InitFirstTokens, InitOutline, InitSelected, InitRandomTokens, InitRandomVectors)
	}
	return nil
}

// minFitP is the smallest p FitP chooses.
const minFitP = 16

// FitP is the configuration for a corpus of corpusTokens tokens (its
// system turn, as the corpus in context would hold it): p lowered, when
// Compress is set, to at most corpusTokens/Compress, a multiple of 8 and no
// less than minFitP (nor than the frozen tokens + 1).
func (c TrainConfig) FitP(corpusTokens int) TrainConfig {
	if c.Compress <= 0 {
		return c
	}
	p := corpusTokens / c.Compress / 8 * 8
	p = max(p, minFitP, c.Frozen+1)
	c.P = min(c.P, p)
	return c
}

// Trainer trains a Cartridge on examples.
type Trainer struct {
	Student    *student.Model
	Infer      *model.Model // computes the initial KV
	InitTokens []int        // the corpus's first tokens, for InitFirstTokens; its whole system turn for InitSelected
	// InitHeader is how many of InitTokens open the system turn before the
	// corpus (InitSelected keeps them as they are).
	InitHeader int
	// InitModel, when set, makes the model that prefills the corpus for
	// InitSelected in place of Infer (self-study's faster teacher, say:
	// the same file's weights in bf16); it is dropped after.
	InitModel func() (*model.Model, error)
	// Start, when set, is where training starts instead of Cfg.Init: an
	// incremental training warm-starts from the parent commit's Cartridge.
	// It is copied, never changed.
	Start *student.Prefix
	// Beside, when set, is a frozen prefix the Cartridge is trained behind:
	// the dependency Cartridges it will be composed after (plain
	// concatenation, in that order), so that it learns to answer beside
	// them rather than alone. Only the Cartridge's own p tokens train, and
	// the result is those tokens alone.
	Beside *student.Prefix
	Cfg    TrainConfig

	// Checkpoint is the checkpoint file ("" for none): written atomically
	// every CheckpointEvery and at the end, and resumed from when it
	// matches this run (same configuration and examples).
	Checkpoint      string
	CheckpointEvery time.Duration
	// Progress, when set, is called after every step.
	Progress func(TrainProgress)
	// Saved, when set, is called after every checkpoint with the loss
	// history so far (to refresh the loss curve on disk).
	Saved func(losses []LossPoint)
}

// TrainProgress is the state after a step.
type TrainProgress struct {
	Step, Steps int
	Epoch       float64
	Loss        float64 // this step's mean loss
	EvalLoss    float64 // the last held-out loss (NaN before the first)
	Elapsed     time.Duration
	Resumed     int // the step the run resumed from (0 for a fresh run)
}

// TrainResult is a finished training run.
type TrainResult struct {
	Prefix   *student.Prefix
	Losses   []LossPoint
	Steps    int
	Seconds  float64 // training time, all runs of a resumed training together
	EvalLoss float64 // held-out loss at the end (NaN without a hold-out)
	Examples int     // conversations trained on
	Targets  int     // distillation targets per epoch
	// Undone counts the guard's undos (TrainConfig.Guard): each halved the
	// learning rate.
	Undone int
}

// Split separates the last n examples (in a seeded order) as held out.
func Split(examples []student.Example, n int, seed uint64) (train, held []student.Example) {
	if n <= 0 || n >= len(examples) {
		return examples, nil
	}
	perm := rand.New(rand.NewPCG(seed, 0x401d)).Perm(len(examples))
	for i, j := range perm {
		if i < len(examples)-n {
			train = append(train, examples[j])
		} else {
			held = append(held, examples[j])
		}
	}
	return train, held
}

// Run trains on examples, measuring the loss on held.
func (t *Trainer) Run(ctx context.Context, examples, held []student.Example) (*TrainResult, error) {
	cfg := t.Cfg
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if len(examples) == 0 {
		return nil, errors.New("training: no examples")
	}
	if cfg.MicroTokens <= 0 {
		cfg.MicroTokens = 1024
	}
	perEpoch := (len(examples) + cfg.Batch - 1) / cfg.Batch
	steps := perEpoch * cfg.Epochs
	res := &TrainResult{Steps: steps, Examples: len(examples), EvalLoss: math.NaN()}
	for _, ex := range examples {
		res.Targets += len(ex.Targets)
	}
	id := runID(cfg, examples, held, t.InitTokens, t.Start, t.Beside)

	opt := student.NewAdam(cfg.LR)
	opt.Relative = cfg.RelativeLR
	var pre *student.Prefix
	step := 0
	var spent float64
	if t.Checkpoint != "" {
		ck, err := readCheckpoint(t.Checkpoint)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, err
		case ck.ID != id:
			// Another run's checkpoint (other data or settings): start over.
		default:
			pre, step, spent, res.Losses = ck.Prefix, ck.Step, ck.Seconds, ck.Losses
			if err := opt.Restore(ck.Adam, pre); err != nil {
				return nil, fmt.Errorf("checkpoint %s: %w", t.Checkpoint, err)
			}
			if n := len(res.Losses); n > 0 && res.Losses[n-1].LR > 0 {
				opt.LR = res.Losses[n-1].LR // the guard may have lowered it
			}
		}
	}
	resumed := step
	if pre == nil {
		var err error
		pre, err = t.initPrefix(ctx)
		if err != nil {
			return nil, err
		}
		if t.Beside != nil {
			// Trained as it will be composed (cartridge.Compose): Beside,
			// then the Cartridge without its sink; Beside frozen.
			if pre, err = pre.Slice(cfg.Frozen, cfg.P, 0); err == nil {
				pre, err = student.Concat(t.Beside, pre)
			}
			if err != nil {
				return nil, fmt.Errorf("training beside the dependency Cartridges: %w", err)
			}
		}
	}
	evalLoss := math.NaN()
	for i := len(res.Losses) - 1; i >= 0; i-- {
		if !math.IsNaN(res.Losses[i].EvalLoss) {
			evalLoss = res.Losses[i].EvalLoss
			break
		}
	}
	if resumed > 0 && t.Progress != nil {
		last := math.NaN()
		if n := len(res.Losses); n > 0 {
			last = res.Losses[n-1].Loss
		}
		t.Progress(TrainProgress{Step: step, Steps: steps, Epoch: float64(step) / float64(perEpoch), Loss: last,
			EvalLoss: evalLoss, Elapsed: time.Duration(spent * float64(time.Second)), Resumed: resumed})
	}
	t0 := time.Now()
	lastCk := time.Now()
	elapsed := func() float64 { return spent + time.Since(t0).Seconds() }
	save := func() error {
		if t.Checkpoint == "" {
			return nil
		}
		lastCk = time.Now()
		if err := writeCheckpoint(t.Checkpoint, &checkpoint{ID: id, Step: step, Seconds: elapsed(), Losses: res.Losses, Prefix: pre, Adam: opt.State()}); err != nil {
			return err
		}
		if t.Saved != nil {
			t.Saved(res.Losses)
		}
		return nil
	}
	evaluate := func() error {
		if len(held) == 0 {
			return nil
		}
		l, err := t.meanLoss(ctx, pre, held, cfg.MicroTokens)
		if err != nil {
			return err
		}
		evalLoss = l
		return nil
	}
	if step == 0 && len(held) > 0 {
		if err := evaluate(); err != nil {
			return nil, err
		}
		res.Losses = append(res.Losses, LossPoint{Step: 0, Loss: math.NaN(), EvalLoss: evalLoss, LR: cfg.LR})
	}

	var order []int
	orderEpoch := -1
	grad := student.NewGrad(pre)
	tokensSeen := 0
	// The guard's reference loss, and the states before the last two
	// updates (what an undo goes back to). They are not in checkpoints: a
	// resumed run can undo again from its second step on, so it differs
	// from an uninterrupted one only if the guard trips in its first two.
	ref := math.NaN()
	for _, p := range res.Losses {
		if p.Step == 0 && !math.IsNaN(p.EvalLoss) {
			ref = p.EvalLoss
			break
		}
		if p.Step == 1 {
			ref = p.Loss
			break
		}
	}
	type snapshot struct {
		pre  *student.Prefix
		adam student.AdamState
	}
	var older, newer *snapshot
	for step < steps {
		if err := ctx.Err(); err != nil {
			if e := save(); e != nil {
				return nil, errors.Join(err, e)
			}
			return nil, err
		}
		epoch, at := step/perEpoch, step%perEpoch
		if epoch != orderEpoch {
			order = rand.New(rand.NewPCG(cfg.Seed, uint64(epoch))).Perm(len(examples))
			orderEpoch = epoch
		}
		var batch []student.Example
		for _, j := range order[at*cfg.Batch : min((at+1)*cfg.Batch, len(order))] {
			batch = append(batch, examples[j])
		}
		if cfg.Guard > 0 {
			older, newer = newer, &snapshot{pre.Clone(), opt.State()}
		}
		loss, ntok, err := t.step(ctx, pre, grad, opt, batch, cfg.MicroTokens)
		if err == nil && cfg.Guard > 0 {
			if math.IsNaN(ref) {
				ref = loss
			}
			// loss is at the parameters the previous update made: undo it
			// (and this step's), then go on at half the rate.
			if (math.IsNaN(loss) || math.IsInf(loss, 0) || loss > cfg.Guard*ref) && older != nil {
				pre = older.pre
				if err = opt.Restore(older.adam, pre); err == nil {
					opt.LR /= 2
					res.Undone++
					older, newer = nil, nil
					grad = student.NewGrad(pre)
				}
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				if e := save(); e != nil {
					return nil, errors.Join(ctx.Err(), e)
				}
				return nil, ctx.Err()
			}
			return nil, err
		}
		step++
		tokensSeen += ntok
		pt := LossPoint{Step: step, Epoch: float64(step) / float64(perEpoch), Loss: loss, LR: opt.LR, Tokens: ntok, Seconds: elapsed(), EvalLoss: math.NaN()}
		if len(held) > 0 && (step == steps || cfg.EvalEvery > 0 && step%cfg.EvalEvery == 0) {
			if err := evaluate(); err != nil {
				if ctx.Err() != nil {
					continue // saved at the top of the loop
				}
				return nil, err
			}
			pt.EvalLoss = evalLoss
		}
		res.Losses = append(res.Losses, pt)
		if t.Progress != nil {
			t.Progress(TrainProgress{Step: step, Steps: steps, Epoch: pt.Epoch, Loss: loss, EvalLoss: evalLoss,
				Elapsed: time.Duration(elapsed() * float64(time.Second)), Resumed: resumed})
		}
		if t.CheckpointEvery > 0 && time.Since(lastCk) >= t.CheckpointEvery && step < steps {
			if err := save(); err != nil {
				return nil, err
			}
		}
	}
	if err := save(); err != nil {
		return nil, err
	}
	if t.Beside != nil {
		// The Cartridge alone: a sink (the first Cartridge's, which is the
		// same token's KV at position 0) and its trained tokens.
		sink, err := t.Beside.Slice(0, cfg.Frozen, cfg.Frozen)
		if err == nil {
			var own *student.Prefix
			if own, err = pre.Slice(t.Beside.P, pre.P, 0); err == nil {
				pre, err = student.Concat(sink, own)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	res.Prefix, res.Seconds, res.EvalLoss = pre, elapsed(), evalLoss
	return res, nil
}

// step takes one Adam step on batch, accumulating the gradient of the
// batch's mean loss over micro-batches of at most micro tokens.
func (t *Trainer) step(ctx context.Context, pre *student.Prefix, grad *student.Grad, opt *student.Adam, batch []student.Example, micro int) (loss float64, tokens int, err error) {
	n := 0
	for _, ex := range batch {
		n += len(ex.Targets)
		tokens += len(ex.Tokens)
	}
	if n == 0 {
		return 0, tokens, errors.New("training: a batch without targets")
	}
	grad.Zero()
	var sum float64
	for _, mb := range microBatches(batch, micro) {
		s, _, err := t.Student.Accumulate(ctx, pre, mb, grad, 1/float64(n))
		if err != nil {
			return 0, 0, err
		}
		sum += s
	}
	if err := opt.Step(pre, grad); err != nil {
		return 0, 0, err
	}
	return sum / float64(n), tokens, nil
}

// meanLoss is the mean loss per target over examples (forward only).
func (t *Trainer) meanLoss(ctx context.Context, pre *student.Prefix, examples []student.Example, micro int) (float64, error) {
	var sum float64
	var n int
	for _, mb := range microBatches(examples, micro) {
		s, k, err := t.Student.Eval(ctx, pre, mb)
		if err != nil {
			return 0, err
		}
		sum += s
		n += k
	}
	if n == 0 {
		return math.NaN(), nil
	}
	return sum / float64(n), nil
}

// microBatches splits a batch into runs of at most micro tokens (an
// example longer than that is a micro-batch of its own).
func microBatches(batch []student.Example, micro int) [][]student.Example {
	var out [][]student.Example
	var cur []student.Example
	n := 0
	for _, ex := range batch {
		if len(cur) > 0 && n+len(ex.Tokens) > micro {
			out = append(out, cur)
			cur, n = nil, 0
		}
		cur = append(cur, ex)
		n += len(ex.Tokens)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// initPrefix makes the Cartridge's first values.
func (t *Trainer) initPrefix(ctx context.Context) (*student.Prefix, error) {
	cfg := t.Cfg
	if t.Start != nil {
		if t.Start.P != cfg.P || t.Start.Frozen != cfg.Frozen {
			return nil, fmt.Errorf("training: the warm start has p=%d (%d frozen), the configuration p=%d (%d frozen)",
				t.Start.P, t.Start.Frozen, cfg.P, cfg.Frozen)
		}
		return t.Start.Clone(), nil
	}
	switch cfg.Init {
	case InitFirstTokens, InitOutline, InitSelected:
		if cfg.Init == InitSelected && len(t.InitTokens) > cfg.P && t.InitHeader < cfg.P {
			m := t.Infer
			if t.InitModel != nil {
				var err error
				if m, err = t.InitModel(); err != nil {
					return nil, fmt.Errorf("training: the model that initialises the Cartridge: %w", err)
				}
			}
			return student.InitSelected(ctx, m, t.InitTokens, max(t.InitHeader, cfg.Frozen), cfg.P, cfg.Frozen, student.SelectConfig{})
		}
		toks := t.InitTokens
		if len(toks) == 0 {
			return nil, errors.New("training: no corpus tokens to initialise from")
		}
		for len(toks) < cfg.P { // a corpus shorter than p: repeat it
			toks = append(toks, t.InitTokens...)
		}
		return student.InitFromTokens(ctx, t.Infer, toks, cfg.P, cfg.Frozen)
	case InitRandomTokens:
		return student.InitRandomTokens(ctx, t.Infer, cfg.P, cfg.Frozen, cfg.Seed)
	default:
		return student.InitRandomVectors(ctx, t.Infer, cfg.P, cfg.Frozen, cfg.Seed)
	}
}

// runID identifies a training run: its configuration and data. A
// checkpoint resumes only the run it was made by.
func runID(cfg TrainConfig, examples, held []student.Example, initTokens []int, start, beside *student.Prefix) string {
	h := sha256.New()
	b, _ := json.Marshal(cfg)
	h.Write(b)
	for _, set := range [][]student.Example{examples, held} {
		fmt.Fprintf(h, "|%d", len(set))
		for _, ex := range set {
			fmt.Fprintf(h, "|%d:%d", len(ex.Tokens), len(ex.Targets))
			for _, tk := range ex.Tokens {
				fmt.Fprintf(h, ",%d", tk)
			}
		}
	}
	fmt.Fprintf(h, "|init %d", len(initTokens))
	for _, tk := range initTokens[:min(len(initTokens), 4096)] {
		fmt.Fprintf(h, ",%d", tk)
	}
	for _, p := range []struct {
		name string
		pre  *student.Prefix
	}{{"start", start}, {"beside", beside}} {
		if p.pre == nil {
			continue
		}
		fmt.Fprintf(h, "|%s %d", p.name, p.pre.P)
		for _, layer := range [][][]float32{p.pre.K, p.pre.V} {
			for _, x := range layer {
				for _, v := range x[:min(len(x), 64)] {
					fmt.Fprintf(h, ",%x", math.Float32bits(v))
				}
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// examplesFrom turns conversations into training examples.
func examplesFrom(convs []*Conversation) []student.Example {
	out := make([]student.Example, 0, len(convs))
	for _, c := range convs {
		if len(c.Targets) == 0 {
			continue
		}
		out = append(out, student.Example{Tokens: c.Tokens, Targets: c.Targets})
	}
	return out
}
