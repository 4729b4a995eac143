package answer

import (
	"context"
	"fmt"
	"time"

	"github.com/cartlsp/cartlsp/runtime/generate"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/sample"
)

// RepeatBytes is the shortest line whose repetition ends an answer: the
// small model often loops, repeating a line until MaxTokens, and its answer
// ends after the first repeated line instead (generate.Options.StopRepeats).
const RepeatBytes = 24

// DefaultMaxTokens is an answer's length when Options.MaxTokens is 0.
const DefaultMaxTokens = 256

// MaxQuestionBytes bounds a question's text (about 16k tokens of code): a
// longer one is refused before it is tokenized, with an error wrapping
// ErrNoRoom, so that no question costs more than its bound in time or
// memory.
const MaxQuestionBytes = 64 << 10

// Options configure one answer.
type Options struct {
	// MaxTokens is the most answer tokens (0: DefaultMaxTokens); it is cut
	// to the room the window leaves after the prefix and the question.
	MaxTokens int
	// Window is the context window (see Window; 0: the model's).
	Window int
	// Sample is the sampling; the zero value is greedy, the house's.
	Sample sample.Params
}

// StopReason says why an answer ended.
type StopReason string

const (
	StopEndOfTurn StopReason = "eog"       // the model ended its turn
	StopRepeat    StopReason = "repeat"    // a line repeated an earlier one (RepeatBytes)
	StopLength    StopReason = "length"    // Options.MaxTokens reached
	StopContext   StopReason = "context"   // the window is full
	StopCancelled StopReason = "cancelled" // ctx was cancelled: the answer is what came before
)

// Timings are an answer's latencies, from Ask's call.
type Timings struct {
	Prefill    time.Duration // the question's prefill (the prefix is built before)
	FirstToken time.Duration // until the first piece of text
	Decode     time.Duration // from the first answer token to the last
	Total      time.Duration
}

// Answer is a decoded answer and how it came about.
type Answer struct {
	Text         string // as decoded, white space included
	Tokens       []int  // the answer's tokens, without the one that ended it
	Stop         StopReason
	Source       Source // what the prefix held
	PromptTokens int    // the question's tokens (its user turn and the assistant's header)
	Timings      Timings
}

// DecodeRate is answer tokens per second after the first.
func (a Answer) DecodeRate() float64 {
	if len(a.Tokens) < 2 || a.Timings.Decode <= 0 {
		return 0
	}
	return float64(len(a.Tokens)-1) / a.Timings.Decode.Seconds()
}

// Ask answers question after p (nil: no prefix): the question goes in a
// user turn of the chat template, followed by the assistant's header, in
// a cache of its own holding p; the answer is decoded with o.Sample
// (greedy by default) and ends at the end of the assistant's turn, at its
// first repeated line, at o.MaxTokens or where the window is full. onText
// (nil: none) receives the answer's text as it is decided; an error it
// returns ends the answer and is returned. A question that does not fit
// the window after p is refused with an error wrapping ErrNoRoom. A
// cancelled ctx ends the answer with StopCancelled and a nil error.
func Ask(ctx context.Context, m *model.Model, chat *Chat, p *Prefix, question string, o Options, onText func(string) error) (Answer, error) {
	t0 := time.Now()
	a := Answer{Source: p.source()}
	if len(question) > MaxQuestionBytes {
		return a, fmt.Errorf("answer: the question is %d bytes, over the %d a question may take; ask a shorter question: %w",
			len(question), MaxQuestionBytes, ErrNoRoom)
	}
	prompt, err := chat.User(question)
	if err != nil {
		return a, fmt.Errorf("answer: the question's turn: %w", err)
	}
	a.PromptTokens = len(prompt)
	w := Window(m, o.Window)
	room := w - p.Len() - len(prompt)
	if room < 1 {
		return a, fmt.Errorf("answer: the question takes %d tokens and the prefix %d, which leaves no room for an answer in the %d-token window; ask a shorter question: %w",
			len(prompt), p.Len(), w, ErrNoRoom)
	}
	maxTokens := o.MaxTokens
	if maxTokens <= 0 {
		maxTokens = DefaultMaxTokens
	}
	cut := maxTokens > room
	maxTokens = min(maxTokens, room)
	cache, err := p.NewCache(m, len(prompt)+maxTokens)
	if err != nil {
		return a, err
	}
	text := func(s string) error {
		if a.Timings.FirstToken == 0 {
			a.Timings.FirstToken = time.Since(t0)
		}
		if onText != nil {
			return onText(s)
		}
		return nil
	}
	res, err := generate.Run(ctx, m, chat.Tokenizer(), cache, 0, prompt, generate.Options{
		MaxTokens:   maxTokens,
		Sample:      o.Sample,
		StopTokens:  []int{chat.EndOfTurn()},
		StopRepeats: RepeatBytes,
	}, text)
	a.Text, a.Tokens = res.Text, res.Tokens
	a.Timings.Prefill, a.Timings.Decode = res.Prefill, res.Decode
	a.Timings.Total = time.Since(t0)
	switch res.Reason {
	case generate.StopEOG, generate.StopToken:
		a.Stop = StopEndOfTurn
	case generate.StopRepeat:
		a.Stop = StopRepeat
	case generate.StopCancelled:
		a.Stop = StopCancelled
	case generate.StopContext:
		a.Stop = StopContext
	default:
		a.Stop = StopLength
		if cut {
			a.Stop = StopContext
		}
	}
	return a, err
}
