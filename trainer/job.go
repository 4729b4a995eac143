package trainer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/student"
)

// A Job turns a corpus into a Cartridge: synthesis into a dataset file,
// distillation with checkpoints, then the .cart file with its recipe and
// metrics, and the loss curve as CSV and PNG. Every stage resumes from
// what an interrupted run left in the work directory.

// Methods of training.
const (
	MethodSelfStudy = "self-study" // synthetic conversations + context distillation (the paper's)
	MethodNTP       = "ntp"        // next-token prediction on windows of the corpus (the baseline)
	MethodMixed     = "mixed"      // both: the self-study conversations and as many ntp windows, shuffled together
)

// CheckMethod refuses a name that is not a method ("" is the budget's).
func CheckMethod(name string) error {
	switch name {
	case "", MethodSelfStudy, MethodNTP, MethodMixed:
		return nil
	}
	return fmt.Errorf("unknown method %q: want %s, %s or %s", name, MethodSelfStudy, MethodNTP, MethodMixed)
}

// Files in a job's work directory.
const (
	DatasetFile    = "dataset.bin"
	CheckpointFile = "checkpoint.ckpt"
	LossCSVFile    = "loss.csv"
	LossPNGFile    = "loss.png"
)

// Event reports a job's progress.
type Event struct {
	Phase       string // "corpus", "resume", "synthesis", "training", "done"
	Done, Total int
	Loss        float64 // training: this step's loss
	EvalLoss    float64 // training: the last held-out loss (NaN before one)
	Message     string
}

// Job is one Cartridge to make.
type Job struct {
	Corpus  *indexer.Corpus
	Infer   *model.Model
	Chat    *answer.Chat
	Student func() (*student.Model, error) // made when training starts (it holds float32 weights)
	Method  string
	Budget  Budget
	WorkDir string // dataset, checkpoint and loss curve; created when missing
	Dataset string // the dataset file, when not the work directory's (shared by runs that differ only in training)
	Out     string // the .cart file
	Events  func(Event)
	// Yield, when set, is called between the layers of every forward and
	// backward pass (backend.WithYield); it may block to let interactive
	// work (an editor's question) go first.
	Yield func(ctx context.Context) error
	// CheckpointEvery is how often training saves its state (default 1 min).
	CheckpointEvery time.Duration
	// Teacher, when set, makes the model that synthesizes the conversations
	// (self-study's teacher) in place of Infer: Infer's weights in bf16 on a
	// matrix unit, say (cpu.Backend.WithBF16Weights). It must be the same model
	// file; it is made when synthesis has work to do and dropped after.
	// TeacherName says what it is ("bf16") in the dataset's header.
	Teacher     func() (*model.Model, error)
	TeacherName string
	// Warm, when set, makes the job incremental: it starts from the parent
	// commit's Cartridge and learns the changed files (incremental.go).
	Warm *Warm
	// Beside are Cartridge files (the dependency Cartridges) the Cartridge
	// is trained behind, frozen, in the order it will be composed after
	// them (Trainer.Beside): it learns to answer beside them.
	Beside []string
	// Replay are dataset files of those dependencies (their self-study
	// conversations): with Beside, ReplayFraction × the training examples
	// are drawn from them and mixed in, so that the Cartridge learns to
	// answer beside the dependencies without drowning them out on their
	// own questions. Held-out examples stay the repository's.
	Replay []string
	// ReplayFraction is how many replayed examples per training example
	// (DefaultReplayFraction when 0).
	ReplayFraction float64
}

// JobResult is a finished job.
type JobResult struct {
	Cartridge     *cartridge.Cartridge
	CorpusTokens  int
	Conversations int
	SynthSeconds  float64 // this run's synthesis time (the teacher's loading included)
	// SynthConversations is how many conversations this run synthesized.
	SynthConversations int
	Train              *TrainResult
	DatasetPath        string
	LossCSV            string
	LossPNG            string
	UsedDataset        bool // the dataset was already complete
	DepReplayed        int  // examples replayed from the dependencies' datasets (Job.Replay)
	ResumedAtStep      int
	StudentTokens      int // per epoch
	StudentTargets     int // per epoch
	// Incremental jobs: the new examples, the replayed ones and the tokens
	// of the changed files.
	NewExamples, Replayed, ChangedTokens int
}

func (j *Job) event(e Event) {
	if j.Events != nil {
		j.Events(e)
	}
}

// Run makes the Cartridge.
func (j *Job) Run(ctx context.Context) (*JobResult, error) {
	if j.Yield != nil {
		ctx = backend.WithYield(ctx, j.Yield)
	}
	b := j.Budget
	if j.Method == "" {
		j.Method = b.DefaultMethod()
	}
	if j.Method != MethodSelfStudy && j.Method != MethodNTP && j.Method != MethodMixed {
		return nil, fmt.Errorf("method %q: want %s, %s or %s", j.Method, MethodSelfStudy, MethodNTP, MethodMixed)
	}
	if err := b.Synth.check(); err != nil {
		return nil, err
	}
	if err := b.Train.check(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(j.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	tok := j.Chat.Tokenizer()
	j.event(Event{Phase: "corpus", Message: fmt.Sprintf("%d files, %d bytes", len(j.Corpus.Files), j.Corpus.Bytes())})
	lines, err := SplitLines(ctx, j.Corpus, tok)
	if err != nil {
		return nil, err
	}
	res := &JobResult{CorpusTokens: lines.Tokens()}
	// The corpus as the teacher would see it whole: the system turn. Its
	// length sizes the Cartridge (FitP) and its first p tokens, after an
	// outline with InitOutline, initialise it.
	corpusText := j.Corpus.Render()
	initTokens, err := j.Chat.System(answer.SystemPrompt(corpusText))
	if err != nil {
		return nil, err
	}
	tcfg := b.Train.FitP(len(initTokens))
	if tcfg.Init == InitOutline && j.Warm == nil {
		if initTokens, err = j.outlineTokens(corpusText, tcfg.P); err != nil {
			return nil, err
		}
	}

	var seedTypes []string
	for _, t := range b.Synth.SeedTypes {
		seedTypes = append(seedTypes, string(t))
	}
	var train, held []student.Example
	if j.Warm != nil {
		if train, held, err = j.incremental(ctx, lines, res); err != nil {
			return nil, err
		}
		tcfg = j.Warm.trainConfig(b)
	} else {
		var examples []student.Example
		cfg := j.synthConfig()
		if j.Method == MethodSelfStudy || j.Method == MethodMixed {
			convs, err := j.synthesize(ctx, lines, cfg, nil, nil, res)
			if err != nil {
				return nil, err
			}
			examples = examplesFrom(convs)
		}
		if j.Method == MethodNTP || j.Method == MethodMixed {
			examples = append(examples, ntpExamples(lines, tok.Encode, cfg)...)
		}
		res.Conversations = len(examples)
		train, held = Split(examples, b.Train.Holdout, b.Train.Seed)
	}
	if j.Method == MethodNTP {
		seedTypes = nil
	}
	if len(j.Replay) > 0 {
		extra, err := j.replayExamples(len(train))
		if err != nil {
			return nil, err
		}
		train = append(train, extra...)
		res.DepReplayed = len(extra)
	}
	for _, ex := range train {
		res.StudentTokens += len(ex.Tokens)
		res.StudentTargets += len(ex.Targets)
	}

	s, err := j.Student()
	if err != nil {
		return nil, err
	}
	header := 0
	if tcfg.Init == InitSelected {
		opening, err := j.Chat.System(answer.SystemPrompt(""))
		if err != nil {
			return nil, err
		}
		for header < min(len(opening), len(initTokens)) && opening[header] == initTokens[header] {
			header++
		}
	}
	tr := &Trainer{Student: s, Infer: j.Infer, InitTokens: initTokens, InitHeader: header, InitModel: j.Teacher, Cfg: tcfg,
		Checkpoint: filepath.Join(j.WorkDir, CheckpointFile), CheckpointEvery: j.CheckpointEvery}
	if j.Warm != nil {
		tr.Start = j.Warm.Prefix
	}
	var besideSources []string
	if len(j.Beside) > 0 {
		c, err := cartridge.Load(j.Infer.Fingerprint(), j.Beside...)
		if err != nil {
			return nil, fmt.Errorf("the Cartridges to train beside: %w", err)
		}
		tr.Beside = &student.Prefix{P: c.Meta.P, Frozen: c.Meta.P, KVHeads: c.Meta.Model.KVHeads, HeadDim: c.Meta.Model.HeadDim, K: c.Keys, V: c.Values}
		for _, p := range j.Beside {
			m, _, err := cartridge.ReadHeader(p)
			if err != nil {
				return nil, err
			}
			besideSources = append(besideSources, m.Corpus.Source)
		}
	}
	if tr.CheckpointEvery == 0 {
		tr.CheckpointEvery = time.Minute
	}
	res.LossCSV = filepath.Join(j.WorkDir, LossCSVFile)
	res.LossPNG = filepath.Join(j.WorkDir, LossPNGFile)
	title := fmt.Sprintf("%s, p=%d, %d examples, lr %g", j.Method, tcfg.P, len(train), tcfg.LR)
	if j.Warm != nil {
		title = "incremental " + title
	}
	tr.Progress = func(p TrainProgress) {
		if p.Resumed > 0 && res.ResumedAtStep == 0 {
			res.ResumedAtStep = p.Resumed
			j.event(Event{Phase: "resume", Message: fmt.Sprintf("training resumed from its checkpoint at step %d of %d", p.Resumed, p.Steps)})
		}
		j.event(Event{Phase: "training", Done: p.Step, Total: p.Steps, Loss: p.Loss, EvalLoss: p.EvalLoss})
	}
	tr.Saved = func(losses []LossPoint) { // a best effort: the final curve below reports errors
		WriteLossCSV(res.LossCSV, losses)
		WriteLossPNG(res.LossPNG, losses, title)
	}
	tres, err := tr.Run(ctx, train, held)
	if err != nil {
		return nil, err
	}
	res.Train = tres
	if err := WriteLossCSV(res.LossCSV, tres.Losses); err != nil {
		return nil, err
	}
	if err := WriteLossPNG(res.LossPNG, tres.Losses, title); err != nil {
		return nil, err
	}

	m := j.Infer
	c := &cartridge.Cartridge{
		Meta: cartridge.Meta{
			FormatVersion: cartridge.FormatVersion,
			Model: cartridge.ModelInfo{Fingerprint: m.Fingerprint(), Arch: m.Arch, Layers: m.NLayers, KVHeads: m.KVHeads,
				HeadDim: m.HeadDim, Dim: m.Dim, RopeLayout: string(m.Rope), RopeBase: float64(m.RopeBase), RopeDims: m.RopeDims},
			P: tres.Prefix.P, Frozen: tres.Prefix.Frozen,
			Corpus: cartridge.CorpusInfo{Kind: j.Corpus.Kind, Source: j.Corpus.Source, Commit: j.Corpus.Commit,
				Tree: j.Corpus.Fingerprint(), Tokens: lines.Tokens(), Files: len(j.Corpus.Files), Description: j.Corpus.Description},
			Recipe: cartridge.Recipe{Method: j.Method, SeedTypes: seedTypes, Conversations: res.Conversations, Steps: tres.Steps,
				Epochs: tcfg.Epochs, LR: tcfg.LR, Init: tcfg.Init, Seed: b.Train.Seed, Budget: b.Name,
				Beside: besideSources, Replayed: res.DepReplayed, TrainSeconds: tres.Seconds},
			Metrics: map[string]float64{
				"student_tokens":  float64(res.StudentTokens),
				"student_targets": float64(res.StudentTargets),
			},
			Created: time.Now().UTC(),
		},
		Keys: tres.Prefix.K, Values: tres.Prefix.V,
	}
	if n := len(tres.Losses); n > 0 {
		if l := meanLosses(tres.Losses, 5, true); !math.IsNaN(l) {
			c.Meta.Metrics["loss_final"] = l
			c.Meta.Metrics["loss_first"] = meanLosses(tres.Losses, 5, false)
		}
	}
	if !math.IsNaN(tres.EvalLoss) {
		c.Meta.Metrics["heldout_loss"] = tres.EvalLoss
		for _, p := range tres.Losses {
			if p.Step == 0 && !math.IsNaN(p.EvalLoss) {
				c.Meta.Metrics["heldout_loss_init"] = p.EvalLoss
			}
		}
	}
	if res.SynthSeconds > 0 {
		c.Meta.Metrics["synth_seconds"] = res.SynthSeconds
	}
	if j.Warm != nil {
		c.Meta.Recipe.Init = "warm-start"
		c.Meta.Metrics["incremental_new"] = float64(res.NewExamples)
		c.Meta.Metrics["incremental_replayed"] = float64(res.Replayed)
		c.Meta.Metrics["incremental_changed_tokens"] = float64(res.ChangedTokens)
	}
	if err := cartridge.Write(j.Out, c, cartridge.F32); err != nil {
		return nil, err
	}
	res.Cartridge = c
	j.event(Event{Phase: "done", Message: j.Out})
	return res, nil
}

// synthesize makes (or finishes) the dataset and returns its conversations
// in index order.
//
// An incremental job's dataset starts with the parent's conversations that
// are still true (indices below len(carried)), so that it is the next
// commit's pool in turn; the new ones follow.
func (j *Job) synthesize(ctx context.Context, lines *Lines, cfg SynthConfig, carried []*Conversation, extra map[string]any, res *JobResult) ([]*Conversation, error) {
	path := j.Dataset
	if path == "" {
		path = filepath.Join(j.WorkDir, DatasetFile)
	}
	res.DatasetPath = path
	if j.TeacherName != "" {
		extra = maps.Clone(extra)
		if extra == nil {
			extra = map[string]any{}
		}
		extra["teacher"] = j.TeacherName
	}
	ds, err := OpenDataset(path, DatasetHeader{Model: j.Infer.Fingerprint(), Corpus: j.Corpus.Fingerprint(), Synth: cfg, Extra: extra}, j.Infer.Vocab)
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	if len(carried) > 0 {
		done := ds.Done()
		for i, c := range carried {
			if done[i] {
				continue
			}
			cc := *c
			cc.Index = i
			if err := ds.Append(&cc); err != nil {
				return nil, err
			}
		}
		if err := ds.Sync(); err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
	}
	if n := len(ds.Done()); n >= cfg.Conversations {
		res.UsedDataset = true
		j.event(Event{Phase: "resume", Message: fmt.Sprintf("dataset %s already holds the %d conversations", path, cfg.Conversations)})
	} else if n > len(carried) {
		j.event(Event{Phase: "resume", Message: fmt.Sprintf("dataset %s: %d of %d conversations already synthesized, resuming", path, n, cfg.Conversations)})
	}
	t0 := time.Now()
	before := len(ds.Done())
	teacher := j.Infer
	if j.Teacher != nil && len(ds.Done()) < cfg.Conversations {
		if teacher, err = j.Teacher(); err != nil {
			return nil, fmt.Errorf("the teacher: %w", err)
		}
		if teacher.File != j.Infer.File {
			return nil, fmt.Errorf("the teacher must be loaded from the model's own file")
		}
	}
	s := &Synthesizer{Model: teacher, Chat: j.Chat, Lines: lines, Cfg: cfg, Batch: j.Budget.SynthBatch,
		Progress: func(done, total int) { j.event(Event{Phase: "synthesis", Done: done, Total: total}) }}
	if err := s.Run(ctx, ds); err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("synthesis interrupted after %d of %d conversations (they are saved; run again to resume): %w",
				len(ds.Done()), cfg.Conversations, err)
		}
		return nil, err
	}
	res.SynthSeconds = time.Since(t0).Seconds()
	res.SynthConversations = len(ds.Done()) - before
	var convs []*Conversation
	for _, c := range ds.Sorted() {
		if c.Index >= len(carried) && c.Index < cfg.Conversations {
			convs = append(convs, c)
		}
	}
	return convs, nil
}

// synthConfig is the budget's synthesis configuration for this job: the
// training seed, and the corpus's description unless the budget has one.
func (j *Job) synthConfig() SynthConfig {
	cfg := j.Budget.Synth
	cfg.Seed = j.Budget.Train.Seed
	if cfg.Description == "" {
		cfg.Description = j.Corpus.Description
	}
	return cfg
}

// ntpExamples cuts the corpus into windows for next-token prediction: as
// many windows as conversations, drawn by the same chunker, each cut to
// the length of a conversation (MaxUser + MaxAnswer tokens at most).
func ntpExamples(lines *Lines, encode func(string, bool) []int, cfg SynthConfig) []student.Example {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x47b))
	limit := cfg.MaxUser + cfg.MaxAnswer
	var out []student.Example
	for i := 0; i < cfg.Conversations; i++ {
		u := -1.0
		if cfg.Spread {
			u = SpreadPoint(cfg.Seed^0x47b, i)
		}
		ch := lines.SampleAt(rng, min(cfg.ChunkMin, limit), min(cfg.ChunkMax, limit), u)
		toks := encode(ch.Text, false)
		if len(toks) > limit+1 {
			toks = toks[:limit+1]
		}
		if len(toks) >= 2 {
			out = append(out, student.NextToken(toks))
		}
	}
	return out
}

// meanLosses is the mean of the first (or, fromEnd, the last) n finite
// training losses.
func meanLosses(pts []LossPoint, n int, fromEnd bool) float64 {
	var s float64
	k := 0
	for i := range pts {
		p := pts[i]
		if fromEnd {
			p = pts[len(pts)-1-i]
		}
		if k == n {
			break
		}
		if !math.IsNaN(p.Loss) {
			s += p.Loss
			k++
		}
	}
	if k == 0 {
		return math.NaN() // no step measured a loss
	}
	return s / float64(k)
}

// chatSlack is room for the chat template's own tokens around the system
// prompt (<|im_start|>system … <|im_end|>).
const chatSlack = 8

// outlineTokens is the system turn of the corpus with its outline in front:
// the outline as detailed as fits in p tokens, the corpus after it.
func (j *Job) outlineTokens(corpusText string, p int) ([]int, error) {
	tok := j.Chat.Tokenizer()
	intro := len(tok.Encode(answer.SystemPrompt(""), false))
	outline := indexer.Outline(j.Corpus, func(s string) bool {
		return intro+chatSlack+len(tok.Encode(s, false)) <= p
	})
	return j.Chat.System(answer.SystemPrompt(outline + corpusText))
}

// DefaultReplayFraction is Job.ReplayFraction's default: one replayed
// dependency example for every four of the repository's.
const DefaultReplayFraction = 0.25

// replayExamples draws ReplayFraction × n examples from the Replay datasets,
// spread evenly over them (a seeded shuffle of each, then round robin).
func (j *Job) replayExamples(n int) ([]student.Example, error) {
	frac := j.ReplayFraction
	if frac <= 0 {
		frac = DefaultReplayFraction
	}
	want := int(frac*float64(n) + 0.5)
	var pools [][]student.Example
	for i, p := range j.Replay {
		h, convs, err := ReadDataset(p, j.Infer.Vocab)
		if err != nil {
			return nil, fmt.Errorf("a dataset to replay: %w", err)
		}
		if fp := j.Infer.Fingerprint(); h.Model != fp {
			return nil, fmt.Errorf("a dataset to replay, %s, was made for model %s, not %s", p, h.Model, fp)
		}
		ex := examplesFrom(convs)
		rng := rand.New(rand.NewPCG(j.Budget.Train.Seed, uint64(i)+1))
		rng.Shuffle(len(ex), func(a, b int) { ex[a], ex[b] = ex[b], ex[a] })
		pools = append(pools, ex)
	}
	var out []student.Example
	for round := 0; len(out) < want; round++ {
		added := false
		for _, pool := range pools {
			if round < len(pool) && len(out) < want {
				out = append(out, pool[round])
				added = true
			}
		}
		if !added {
			break
		}
	}
	return out, nil
}
