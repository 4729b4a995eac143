package trainer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/cartlsp/cartlsp/answer"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/sample"
	"github.com/cartlsp/cartlsp/runtime/student"
)

// Self-study synthesis (docs/ARCHITECTURE.md, "Self-study"). One model plays both sides of a
// conversation about a chunk of the corpus: A sees system(chunk) +
// user(seed prompt) and writes the user's message (sampled, temperature
// ~0.6); B sees system(chunk) + user(A's message) and answers (greedy).
// While B reads A's message and answers, the teacher's top-k
// log-probabilities at every position are recorded: the student, which
// sees only the Cartridge, learns to match them.
//
// Several conversations run at once: each tick is one forward pass over
// every active sequence (prefills and single decode tokens together). A
// sequence's results do not depend on the others in its batch, so
// conversation i depends only on the seed and i: synthesis resumes where
// it stopped and gives the same dataset as an uninterrupted run.

// SynthConfig says how conversations are synthesized. It is recorded in
// the dataset's header.
type SynthConfig struct {
	Conversations int        `json:"conversations"`
	ChunkMin      int        `json:"chunk_min"`  // chunk length in tokens, uniform in [ChunkMin, ChunkMax]
	ChunkMax      int        `json:"chunk_max"`  //
	MaxUser       int        `json:"max_user"`   // A's message, at most this many tokens
	MaxAnswer     int        `json:"max_answer"` // B's answer, at most this many tokens
	UserTemp      float64    `json:"user_temp"`  // A's sampling temperature (B is greedy)
	TopK          int        `json:"top_k"`      // teacher log-probabilities kept per position
	SeedTypes     []SeedType `json:"seed_types"`
	Description   string     `json:"description,omitempty"` // a one-line description of the corpus, shown to both sides
	Spread        bool       `json:"spread,omitempty"`      // chunk i is placed at SpreadPoint(Seed, i) (even coverage) instead of at random
	PerChunk      int        `json:"per_chunk,omitempty"`   // consecutive conversations that share one chunk, prefilled once (0, 1: each its own)
	Seed          uint64     `json:"seed"`
}

func (c SynthConfig) check() error {
	switch {
	case c.Conversations < 1:
		return fmt.Errorf("synthesis: %d conversations; want at least 1", c.Conversations)
	case c.ChunkMin < 16 || c.ChunkMax < c.ChunkMin:
		return fmt.Errorf("synthesis: chunk length [%d, %d] tokens is not valid (min ≥ 16, max ≥ min)", c.ChunkMin, c.ChunkMax)
	case c.MaxUser < 8 || c.MaxAnswer < 8:
		return fmt.Errorf("synthesis: user message ≤ %d and answer ≤ %d tokens; want at least 8 each", c.MaxUser, c.MaxAnswer)
	case c.TopK < 1 || c.TopK > 255:
		return fmt.Errorf("synthesis: top-k %d; want 1..255", c.TopK)
	case c.UserTemp < 0 || c.UserTemp > 2:
		return fmt.Errorf("synthesis: user temperature %g; want 0..2", c.UserTemp)
	case c.PerChunk < 0 || c.PerChunk > 64:
		return fmt.Errorf("synthesis: %d conversations per chunk; want 1..64", c.PerChunk)
	}
	_, err := ParseSeedTypes(joinSeedTypes(c.SeedTypes))
	return err
}

// Synthesizer makes conversations about a corpus with the inference model.
type Synthesizer struct {
	Model *model.Model
	Chat  *answer.Chat
	Lines *Lines
	Cfg   SynthConfig
	Batch int // conversations in flight at once
	// Progress, when set, is called after each finished conversation with
	// the number done (including those found in the dataset) and the total.
	Progress func(done, total int)

	prefillShared bool // tests: prefill a shared chunk for every conversation instead of copying it
}

// phases of a conversation in flight.
const (
	phaseUser   = iota // A: prefill system(chunk)+user(seed), then sample the user's message
	phaseAnswer        // B: prefill user(message), then answer greedily, recording targets
)

// flight is one conversation being synthesized in a cache sequence.
type flight struct {
	conv    *Conversation
	rng     *rand.Rand
	sampler *sample.Sampler
	attempt int
	phase   int
	sysLen  int   // tokens of system(chunk) in the sequence
	pending []int // tokens to feed at the next tick
	mode    model.LogitsMode
	gen     []int // tokens generated in this phase
	prompt  []int // B's prompt: the user turn and the assistant header
	stem    string
	lead    *chunkKV // the shared chunk this conversation prefills for its group
	wait    *chunkKV // the shared chunk it waits for (its user turn in user)
	user    []int
}

// chunkKV is a cache sequence holding the system turn (chunk) of group g,
// shared by the PerChunk conversations of the group: the first prefills it,
// the others copy it (KVCache.CopySeq) and prefill only their user turn.
type chunkKV struct {
	seq, g, n int // cache sequence, group (−1: free), system-turn tokens
	ready     bool
	waiters   int
}

// maxAttempts bounds redraws of a conversation whose user message came out
// empty or whose chunk did not fit.
const maxAttempts = 8

// Run synthesizes the conversations the dataset lacks (indices below
// Cfg.Conversations) and appends them to it.
func (s *Synthesizer) Run(ctx context.Context, ds *Dataset) error {
	cfg := s.Cfg
	if err := cfg.check(); err != nil {
		return err
	}
	done := ds.Done()
	var todo []int
	for i := 0; i < cfg.Conversations; i++ {
		if !done[i] {
			todo = append(todo, i)
		}
	}
	finished := cfg.Conversations - len(todo)
	if s.Progress != nil {
		s.Progress(finished, cfg.Conversations)
	}
	if len(todo) == 0 {
		return nil
	}
	userStart, err := s.Chat.UserStart()
	if err != nil {
		return err
	}
	nb := max(1, min(s.Batch, len(todo)))
	// Room per sequence: the system turn of the largest chunk (headers and
	// the introduction included, with slack for tokenization differences),
	// then the longer of A's and B's turns.
	sysMax := cfg.ChunkMax + cfg.ChunkMax/8 + 512 + len(cfg.Description)
	maxLen := sysMax + max(256+cfg.MaxUser, cfg.MaxUser+64+cfg.MaxAnswer)
	per := max(1, cfg.PerChunk)
	var shared []*chunkKV
	if per > 1 {
		for i := 0; i < nb/per+2; i++ {
			shared = append(shared, &chunkKV{seq: nb + i, g: -1})
		}
	}
	cache := s.Model.NewCache(nb+len(shared), maxLen)
	slots := make([]*flight, nb)
	// group returns the shared chunk of group g when it is held, else
	// claims a slot for it (the oldest group nobody waits for), else nil.
	group := func(g int) (kv *chunkKV, held bool) {
		var free *chunkKV
		for _, c := range shared {
			if c.g == g {
				return c, true
			}
			if c.waiters == 0 && (c.g < 0 || c.ready) && (free == nil || c.g < free.g) {
				free = c
			}
		}
		if free != nil {
			free.g, free.ready, free.n = g, false, 0
		}
		return free, false
	}
	next := 0
	lastSync := time.Now()

	start := func(seq int, idx, attempt int) error {
		for ; attempt < maxAttempts; attempt++ {
			f := &flight{conv: &Conversation{Index: idx}, attempt: attempt,
				rng: rand.New(rand.NewPCG(cfg.Seed, uint64(idx)<<8|uint64(attempt)))}
			f.sampler = sample.New(sample.Params{Temperature: float32(cfg.UserTemp), TopP: 0.95, Seed: f.rng.Uint64()})
			seed := DrawSeed(f.rng, cfg.SeedTypes)
			// The chunk: the group's (from the group's own stream) when shared.
			g, share := idx/per, per > 1 && attempt == 0
			rng, place, at := f.rng, idx, -1.0
			if share {
				rng, place = rand.New(rand.NewPCG(cfg.Seed, uint64(g)<<8|0xff)), g
			}
			if cfg.Spread && attempt == 0 {
				at = SpreadPoint(cfg.Seed, place)
			}
			ch := s.Lines.SampleAt(rng, cfg.ChunkMin, cfg.ChunkMax, at)
			f.conv.Seed, f.conv.Variant, f.conv.ChunkStart, f.conv.ChunkTokens = seed.Type, seed.Variant, ch.Start, ch.Tokens
			f.conv.Sources = s.Lines.sources(ch)
			text := ch.Text
			if cfg.Description != "" {
				text = cfg.Description + "\n\n" + text
			}
			sys, err := s.Chat.System(answer.SystemPrompt(text))
			if err != nil {
				return err
			}
			user, err := s.Chat.User(seed.Instruction)
			if err != nil {
				return err
			}
			user = append(user, s.Chat.Tokenizer().Encode(seed.Stem, false)...)
			f.stem = seed.Stem
			if len(sys)+len(user)+cfg.MaxUser > maxLen || len(sys)+cfg.MaxUser+64+cfg.MaxAnswer > maxLen {
				continue // a chunk whose lines tokenize much longer than counted; draw another
			}
			cache.Truncate(seq, 0)
			f.sysLen = len(sys)
			f.pending = append(sys, user...)
			f.mode = model.LogitsLast
			f.phase = phaseUser
			slots[seq] = f
			if share && !s.prefillShared {
				switch kv, held := group(g); {
				case held && kv.ready && kv.n == len(sys):
					if err := cache.CopySeq(seq, kv.seq, kv.n); err != nil {
						return err
					}
					f.pending = user
				case held && !kv.ready && kv.n == len(sys):
					f.wait, f.user, f.pending = kv, user, nil
					kv.waiters++
				case kv != nil && !held:
					kv.n, f.lead = len(sys), kv
				}
			}
			return nil
		}
		return fmt.Errorf("synthesis: conversation %d: no usable conversation in %d attempts (chunks too long for the context, or empty user messages)", idx, maxAttempts)
	}
	for seq := range slots {
		if err := start(seq, todo[next], 0); err != nil {
			return err
		}
		next++
	}

	V := s.Model.Vocab
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var batch model.Batch
		waiting := 0
		for seq, f := range slots {
			if f != nil && f.wait != nil && f.wait.ready {
				if err := cache.CopySeq(seq, f.wait.seq, f.wait.n); err != nil {
					return err
				}
				f.wait.waiters--
				f.pending, f.wait, f.user = f.user, nil, nil
			}
			if f != nil && f.wait != nil {
				waiting++
			}
			if f != nil && len(f.pending) > 0 {
				batch = append(batch, model.SeqTokens{Seq: seq, Tokens: f.pending, Logits: f.mode})
			}
		}
		if len(batch) == 0 {
			if waiting > 0 {
				return errors.New("synthesis: conversations wait for a shared chunk nobody prefills")
			}
			break
		}
		logits, err := s.Model.Forward(ctx, cache, batch)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("synthesis: %w", err)
		}
		for _, st := range batch { // chunks prefilled for a group: keep a copy for the others
			if f := slots[st.Seq]; f.lead != nil {
				if err := cache.CopySeq(f.lead.seq, st.Seq, f.lead.n); err != nil {
					return err
				}
				f.lead.ready, f.lead = true, nil
			}
		}
		row := 0
		for _, st := range batch {
			f := slots[st.Seq]
			n := 1
			if st.Logits == model.LogitsAll {
				n = len(st.Tokens)
			}
			rows := logits[row*V : (row+n)*V]
			row += n
			finishedConv, redo, err := s.step(cache, st.Seq, f, rows, userStart)
			if err != nil {
				return err
			}
			if redo {
				if err := start(st.Seq, f.conv.Index, f.attempt+1); err != nil {
					return err
				}
				continue
			}
			if finishedConv {
				if err := ds.Append(f.conv); err != nil {
					return err
				}
				finished++
				if s.Progress != nil {
					s.Progress(finished, cfg.Conversations)
				}
				slots[st.Seq] = nil
				if next < len(todo) {
					if err := start(st.Seq, todo[next], 0); err != nil {
						return err
					}
					next++
				}
			}
		}
		if time.Since(lastSync) > 10*time.Second {
			if err := ds.Sync(); err != nil {
				return err
			}
			lastSync = time.Now()
		}
	}
	return ds.Sync()
}

// step advances one conversation after a forward pass that produced rows
// (one row of logits per requested position). It reports whether the
// conversation is finished, or must be redrawn (an empty user message).
func (s *Synthesizer) step(cache *model.KVCache, seq int, f *flight, rows []float32, userStart int) (finished, redo bool, err error) {
	cfg := s.Cfg
	V := s.Model.Vocab
	tok := s.Chat.Tokenizer()
	switch f.phase {
	case phaseUser:
		// A writes one line after the stem.
		id := f.sampler.Sample(rows[len(rows)-V:])
		if !tok.IsEOG(id) && len(f.gen) < cfg.MaxUser && !strings.Contains(tok.Decode([]int{id}), "\n") {
			f.gen = append(f.gen, id)
			f.pending, f.mode = []int{id}, model.LogitsLast
			return false, false, nil
		}
		if id != tok.EOS() && !tok.IsEOG(id) {
			if piece := tok.Decode([]int{id}); strings.Contains(piece, "\n") {
				f.gen = append(f.gen, id) // keep what comes before the newline
			}
		}
		gen := tok.Decode(f.gen)
		if i := strings.IndexByte(gen, '\n'); i >= 0 {
			gen = gen[:i]
		}
		if len(strings.TrimSpace(gen)) < 3 {
			return false, true, nil // nothing after the stem: draw again
		}
		msg := cleanUserMessage(f.stem + gen)
		f.conv.User = msg
		f.prompt, err = s.Chat.User(msg)
		if err != nil {
			return false, false, err
		}
		cache.Truncate(seq, f.sysLen)
		f.phase, f.gen = phaseAnswer, nil
		f.pending, f.mode = f.prompt, model.LogitsAll
		return false, false, nil
	case phaseAnswer:
		c := f.conv
		if f.mode == model.LogitsAll { // B has read the user turn: targets at the message's positions
			if j0, j1 := userStart-1, len(f.prompt)-1; j1 > j0 {
				ids, lp := s.topK(rows[j0*V:j1*V], cfg.TopK)
				k := len(ids) / (j1 - j0)
				for j := j0; j < j1; j++ {
					r := (j - j0) * k
					c.Targets = append(c.Targets, student.Target{Pos: j, IDs: ids[r : r+k], LogProbs: lp[r : r+k]})
				}
			}
		}
		last := rows[len(rows)-V:]
		pos := len(f.prompt) + len(f.gen) - 1 // the position whose next token last predicts
		ids, lp := s.topK(last, cfg.TopK)
		c.Targets = append(c.Targets, student.Target{Pos: pos, IDs: ids, LogProbs: lp})
		id := sample.Greedy(last)
		if tok.IsEOG(id) || len(f.gen)+1 >= cfg.MaxAnswer {
			c.Tokens = append(append(append([]int(nil), f.prompt...), f.gen...), id)
			c.UserStart, c.AnsStart = userStart, len(f.prompt)
			c.AnsEnd = len(c.Tokens) - 1
			if !tok.IsEOG(id) { // cut at the length limit: the last token is answer text
				c.AnsEnd = len(c.Tokens)
			}
			c.Answer = tok.Decode(c.Tokens[c.AnsStart:c.AnsEnd])
			return true, false, nil
		}
		f.gen = append(f.gen, id)
		if r := repeatStart(f.gen, repeatSpan); r >= 0 {
			// Greedy decoding of a small model loops; keep the answer up to
			// where the loop starts, and the targets before it.
			f.gen = f.gen[:r]
			c.Tokens = append(append([]int(nil), f.prompt...), f.gen...)
			c.UserStart, c.AnsStart, c.AnsEnd = userStart, len(f.prompt), len(c.Tokens)
			keep := c.Targets[:0]
			for _, t := range c.Targets {
				if t.Pos < len(c.Tokens)-1 {
					keep = append(keep, t)
				}
			}
			c.Targets = keep
			c.Answer = tok.Decode(f.gen)
			return true, false, nil
		}
		f.pending, f.mode = []int{id}, model.LogitsLast
		return false, false, nil
	}
	return false, false, errors.New("synthesis: unknown phase")
}

// repeatSpan is the length of a repeated token run that ends an answer.
const repeatSpan = 12

// repeatStart reports where a loop starts in toks: when the last n tokens
// already occurred earlier, the index of the second occurrence's start
// (what follows the first occurrence is dropped), else −1. The run from
// the earlier occurrence on is periodic, so the cut keeps one period of a
// short loop and the first copy of a repeated sentence.
func repeatStart(toks []int, n int) int {
	if len(toks) <= n {
		return -1
	}
	tail := toks[len(toks)-n:]
	for i := len(toks) - n - 1; i >= 0; i-- {
		if slices.Equal(toks[i:i+n], tail) {
			return len(toks) - n
		}
	}
	return -1
}

// cleanUserMessage trims A's message and drops the wrappers small models
// like to add (quotes, a "Question:" label).
func cleanUserMessage(s string) string {
	s = strings.TrimSpace(s)
	for _, p := range []string{"Message:", "Question:", "Request:", "User:", "Developer:"} {
		if len(s) > len(p) && strings.EqualFold(s[:len(p)], p) {
			s = strings.TrimSpace(s[len(p):])
		}
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	return s
}

// topK returns, for each row of logits z [rows, V], the k most likely
// tokens and their log-probabilities under the full softmax (the teacher's
// targets), computed by the model's backend: ids and lp are [rows·k].
func (s *Synthesizer) topK(z []float32, k int) ([]int, []float32) {
	be, V := s.Model.Backend, s.Model.Vocab
	return be.TopK(be.FromHost(len(z)/V, V, z), k)
}
