package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cartlsp/cartlsp/runtime/cartridge"
)

// Report is the outcome of an evaluation, as JSON and as Markdown.
type Report struct {
	Created      time.Time        `json:"created"`
	Model        ModelRef         `json:"model"`
	QuestionFile string           `json:"question_file,omitempty"`
	NumQuestions int              `json:"num_questions"`
	Corpus       *CorpusRef       `json:"corpus,omitempty"`
	Settings     Settings         `json:"settings"`
	Summary      []Summary        `json:"summary"`   // one per condition, in run order
	Questions    []QuestionReport `json:"questions"` // one per question, in file order
}

// ModelRef names the model evaluated.
type ModelRef struct {
	Path        string `json:"path,omitempty"`
	Fingerprint string `json:"fingerprint"`
	Arch        string `json:"arch"`
	Layers      int    `json:"layers"`
	KVHeads     int    `json:"kv_heads"`
	HeadDim     int    `json:"head_dim"`
	ContextLen  int    `json:"context_len"`
}

// CorpusRef describes the corpus the questions are about.
type CorpusRef struct {
	Kind        string `json:"kind,omitempty"`
	Source      string `json:"source"`
	Commit      string `json:"commit,omitempty"`
	Fingerprint string `json:"fingerprint"`
	Files       int    `json:"files"`
	Tokens      int    `json:"tokens"` // tokens the whole corpus takes in a system turn
}

// Settings are the knobs of the run.
type Settings struct {
	Conditions []string `json:"conditions"`
	Gen        int      `json:"gen_tokens"` // most tokens generated per answer (0: none)
	Window     int      `json:"window"`     // tokens a prefix and a question must fit together
	Limit      int      `json:"limit,omitempty"`
	Exclude    []string `json:"exclude,omitempty"`
	Threads    int      `json:"threads,omitempty"`
	Command    string   `json:"command,omitempty"`
}

// Summary is one condition's figures over all questions.
type Summary struct {
	Condition      string  `json:"condition"`
	Kind           Kind    `json:"kind"`
	Source         string  `json:"source,omitempty"` // the Cartridge file
	PrefixTokens   int     `json:"prefix_tokens"`    // tokens in the KV cache before each question (p for a Cartridge)
	KVBytes        int64   `json:"kv_bytes"`         // the prefix's KV cache at 2 bytes per element (F16)
	NLLPerToken    float64 `json:"nll_per_token"`    // total answer NLL / total answer tokens (nats)
	AnswerTokens   int     `json:"answer_tokens"`
	MCAccuracy     float64 `json:"mc_accuracy"`      // answer has the highest total log-likelihood
	MCAccuracyNorm float64 `json:"mc_accuracy_norm"` // … the highest mean per-token log-likelihood
	MCCorrect      int     `json:"mc_correct"`
	MCCorrectNorm  int     `json:"mc_correct_norm"`
	DecodeTokS     float64 `json:"decode_tok_s"` // generated tokens after the first / their decode time
	PrefillSeconds float64 `json:"prefill_seconds"`
	Seconds        float64 `json:"seconds"` // the whole condition
	Truncated      bool    `json:"truncated"`
	// ICL: corpus tokens and whole files kept, and the file cut short.
	CorpusTokensKept int      `json:"corpus_tokens_kept,omitempty"`
	CorpusFilesKept  int      `json:"corpus_files_kept,omitempty"`
	CutFile          string   `json:"cut_file,omitempty"`
	Notes            []string `json:"notes,omitempty"`
}

// QuestionReport is one question with every condition's result.
type QuestionReport struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind,omitempty"`
	Source   string   `json:"source,omitempty"`
	Question string   `json:"question"`
	Answer   string   `json:"answer"`
	Results  []Result `json:"results"` // in the order of Summary
}

// Result is one question under one condition.
type Result struct {
	Condition     string                      `json:"condition"`
	NLL           float64                     `json:"nll"`    // of the reference answer, summed over its tokens (nats)
	Tokens        int                         `json:"tokens"` // the reference answer's tokens
	MCCorrect     bool                        `json:"mc_correct"`
	MCCorrectNorm bool                        `json:"mc_correct_norm"`
	OptionLL      [NumDistractors + 1]float64 `json:"option_ll"` // total log-likelihood: answer, then distractors
	OptionTokens  [NumDistractors + 1]int     `json:"option_tokens"`
	Generated     string                      `json:"generated"`
	GenTokens     int                         `json:"gen_tokens"`
	Stop          string                      `json:"stop,omitempty"` // why generation ended (answer.StopReason)
	// GenIDs are the generated answer's tokens (answer.Answer.Tokens), for
	// comparing with what the language server answers; not in the report.
	GenIDs []int `json:"-"`
}

// NLLPerToken is the mean NLL per token of the reference answer.
func (r Result) NLLPerToken() float64 {
	if r.Tokens == 0 {
		return 0
	}
	return r.NLL / float64(r.Tokens)
}

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// ReadJSON reads a report written by WriteJSON.
func ReadJSON(rd io.Reader) (*Report, error) {
	var r Report
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("eval report: %w", err)
	}
	return &r, nil
}

// WriteMarkdown writes the whole report: what was run, the summary table,
// ratios and notes, then every question with each condition's answer.
func WriteMarkdown(w io.Writer, r *Report) error {
	b := &strings.Builder{}
	b.WriteString("# cartlsp eval\n\n")
	model := r.Model.Path
	if model == "" {
		model = r.Model.Arch
	}
	fmt.Fprintf(b, "- Model: %s (%s, %d layers, fingerprint %s)\n", mdCode(model), r.Model.Arch, r.Model.Layers,
		mdCode(cartridge.ShortFingerprint(r.Model.Fingerprint)))
	qf := ""
	if r.QuestionFile != "" {
		qf = mdCode(r.QuestionFile) + ", "
	}
	fmt.Fprintf(b, "- Questions: %s%d\n", qf, r.NumQuestions)
	if c := r.Corpus; c != nil {
		fmt.Fprintf(b, "- Corpus: %s, %d files, %d tokens (fingerprint %s)\n", mdCode(c.Source), c.Files, c.Tokens,
			mdCode(cartridge.ShortFingerprint(c.Fingerprint)))
	}
	gen := "off"
	if r.Settings.Gen > 0 {
		gen = fmt.Sprintf("greedy, up to %d tokens", r.Settings.Gen)
	}
	fmt.Fprintf(b, "- Generation: %s; window %d tokens\n", gen, r.Settings.Window)
	fmt.Fprintf(b, "- Date: %s\n\n", r.Created.Format(time.RFC3339))
	b.WriteString("## Summary\n\n")
	writeSummary(b, r)
	b.WriteString("\n## Questions\n")
	for i, q := range r.Questions {
		kind := ""
		if q.Kind != "" {
			kind = " (" + mdText(q.Kind, 40) + ")"
		}
		fmt.Fprintf(b, "\n### %d. %s%s\n\n", i+1, mdText(q.ID, 80), kind)
		fmt.Fprintf(b, "**Q:** %s\n\n", mdText(q.Question, 600))
		fmt.Fprintf(b, "**Reference:** %s\n\n", mdText(q.Answer, 600))
		for _, res := range q.Results {
			mc := "✗"
			if res.MCCorrect {
				mc = "✓"
			}
			fmt.Fprintf(b, "- **%s** (NLL %.3f/token, MC %s)", mdText(res.Condition, 40), res.NLLPerToken(), mc)
			if r.Settings.Gen > 0 {
				if g := mdText(res.Generated, 200); g != "" {
					fmt.Fprintf(b, ": %s", g)
				} else {
					b.WriteString(": *(no text)*")
				}
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteSummary writes the summary table, the ratios and the notes: the part
// of the report a terminal shows.
func WriteSummary(w io.Writer, r *Report) error {
	b := &strings.Builder{}
	writeSummary(b, r)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeSummary(b *strings.Builder, r *Report) {
	b.WriteString("| condition | prefix tokens | KV bytes | NLL/token | MC acc | MC acc (norm) | decode tok/s |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|\n")
	n := r.NumQuestions
	for _, s := range r.Summary {
		name := mdText(s.Condition, 40)
		if s.Truncated {
			name += " (truncated)"
		}
		dec := "–"
		if s.DecodeTokS > 0 {
			dec = fmt.Sprintf("%.1f", s.DecodeTokS)
		}
		fmt.Fprintf(b, "| %s | %d | %s | %.3f | %.1f%% (%d/%d) | %.1f%% (%d/%d) | %s |\n",
			name, s.PrefixTokens, cartridge.FormatSize(s.KVBytes), s.NLLPerToken,
			100*s.MCAccuracy, s.MCCorrect, n, 100*s.MCAccuracyNorm, s.MCCorrectNorm, n, dec)
	}
	var ratios []string
	icl := r.find(KindICL)
	for _, s := range r.Summary {
		if s.Kind != KindCartridge || icl == nil {
			continue
		}
		if s.KVBytes > 0 {
			ratios = append(ratios, fmt.Sprintf("ICL / %s KV memory: %.1f× (%s vs %s)", mdText(s.Condition, 40),
				float64(icl.KVBytes)/float64(s.KVBytes), cartridge.FormatSize(icl.KVBytes), cartridge.FormatSize(s.KVBytes)))
		}
		if icl.NLLPerToken > 0 {
			ratios = append(ratios, fmt.Sprintf("%s NLL / ICL NLL: %.3f (%.3f vs %.3f per token)", mdText(s.Condition, 40),
				s.NLLPerToken/icl.NLLPerToken, s.NLLPerToken, icl.NLLPerToken))
		}
		if icl.DecodeTokS > 0 && s.DecodeTokS > 0 {
			ratios = append(ratios, fmt.Sprintf("%s / ICL decode speed: %.2f×", mdText(s.Condition, 40), s.DecodeTokS/icl.DecodeTokS))
		}
	}
	if len(ratios) > 0 {
		b.WriteString("\nRatios:\n\n")
		for _, s := range ratios {
			fmt.Fprintf(b, "- %s\n", s)
		}
	}
	var notes []string
	for _, s := range r.Summary {
		notes = append(notes, s.Notes...)
	}
	if len(notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		for _, s := range notes {
			fmt.Fprintf(b, "- %s\n", mdText(s, 1000))
		}
	}
}

// find is the first condition of kind k, or nil.
func (r *Report) find(k Kind) *Summary {
	for i := range r.Summary {
		if r.Summary[i].Kind == k {
			return &r.Summary[i]
		}
	}
	return nil
}

// mdText makes s safe inline Markdown (also inside a table cell): one line,
// at most limit characters (cut with "…"), Markdown's punctuation escaped.
func mdText(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > limit {
		r := []rune(s)
		s = strings.TrimRight(string(r[:limit]), " ") + "…"
	}
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune("\\`*_[]<>|#~", c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// mdCode is s in a code span (a path, a fingerprint, a line of code) that
// is also safe in a table cell: one line, backticks replaced, pipes escaped.
func mdCode(s string) string {
	s = strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "`", "'")
	return "`" + strings.ReplaceAll(s, "|", `\|`) + "`"
}
