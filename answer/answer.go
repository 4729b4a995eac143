// Package answer is how cartlsp answers a question about a repository, in
// one place for every caller: the language server (questions, hovers, and
// the prefix completions decode after), `cartlsp ask` and `cartlsp eval`,
// so that eval measures what an editor gets (docs/ARCHITECTURE.md follows
// a question through it).
//
// It owns:
//
//   - the prompt format: the model's chat template (Chat), the system
//     prompt, and the corpus rendered in a system turn and truncated to a
//     token budget (CorpusInContext); the trainer renders its
//     conversations with the same format;
//   - the prefix a question decodes after (Prefix): a Cartridge, several
//     composed (LoadCartridges), or a corpus prefilled in chunks of
//     PrefillChunk tokens after them (CorpusPrefix);
//   - the budget of the model's context window: a prefix, a question and
//     its answer must fit it together; a corpus is cut to fit, a question
//     that cannot fit is refused with an error wrapping ErrNoRoom, and the
//     answer's length is cut to the room left — nothing is allocated for
//     more than the window;
//   - the decoding policy (Ask): greedy unless told otherwise, ending at the
//     end of the assistant's turn, at the first repeated line (RepeatBytes),
//     at Options.MaxTokens or at the end of the window;
//   - the answer's metadata (Answer): its source, stop reason and timings.
//
// A Prefix is built once and read by any number of questions, one after
// another or at once:
//
//	chat, _ := answer.NewChat(tok)
//	p, _ := answer.LoadCartridges(m, "deps.cart", "repo.cart") // or CorpusPrefix
//	a, _ := answer.Ask(ctx, m, chat, p, "What does Open return?", answer.Options{MaxTokens: 256}, nil)
package answer

import (
	"errors"

	"github.com/cartlsp/cartlsp/runtime/model"
)

// Source says what an answer's prefix holds.
type Source string

const (
	SourceCartridge Source = "cartridge"  // a Cartridge (or several composed)
	SourceInContext Source = "in-context" // the corpus in a system turn (after any Cartridges)
	SourceNone      Source = "none"       // nothing: the model alone
)

// PrefillChunk is the most tokens one forward pass of a corpus's prefill
// takes: a long corpus never needs the activations of all its tokens at
// once, and cancellation is noticed (and progress reported) between
// chunks.
const PrefillChunk = 512

// ErrNoRoom is wrapped by the errors of a prefix, question or corpus that
// does not fit the model's context window.
var ErrNoRoom = errors.New("not enough room in the model's context window")

// Window is the context window a prefix, a question and its answer must
// fit together: w, or the model's trained context length when w is 0 or
// more than that.
func Window(m *model.Model, w int) int {
	if m.ContextLen > 0 && (w <= 0 || w > m.ContextLen) {
		return m.ContextLen
	}
	return w
}
