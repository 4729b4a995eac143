package eval

import (
	"fmt"
	"io"
	"strings"
)

// CompletionReport is one cartlsp eval --completion run: its settings, the
// cases and each condition's results.
type CompletionReport struct {
	Command    string              `json:"command"`
	Model      string              `json:"model"`
	Threads    int                 `json:"threads"`
	Dir        string              `json:"dir"`
	Include    []string            `json:"include,omitempty"`
	Files      int                 `json:"files"`
	Seed       uint64              `json:"seed"`
	Options    CompletionOptions   `json:"options"`
	Cases      []CompletionCase    `json:"cases"`
	Conditions []CompletionSummary `json:"conditions"`
}

// WriteTable writes the summary, one row per condition (Markdown).
func (r CompletionReport) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "| condition | prefix | exact match | edit similarity | NLL / token | empty | total ms p50 / p95 | prompt ms p50 / p95 | predict ms p50 / p95 |\n")
	fmt.Fprintf(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, s := range r.Conditions {
		cut := ""
		if s.Cut > 0 {
			cut = fmt.Sprintf(" (%d cut by the latency budget)", s.Cut)
		}
		if s.PromptCut > 0 {
			cut += fmt.Sprintf(" (%d prompts cut, by %.0f tokens on average)", s.PromptCut, s.CutTokens)
		}
		if _, err := fmt.Fprintf(w, "| %s | %d | %.1f%% | %.3f | %.3f | %d of %d%s | %.0f / %.0f | %.0f / %.0f | %.0f / %.0f |\n",
			s.Name, s.Prefix, 100*s.ExactMatch, s.EditSim, s.NLLPerToken, s.Empty, s.Cases, cut,
			s.TotalP50, s.TotalP95, s.PromptP50, s.PromptP95, s.PredictP50, s.PredictP95); err != nil {
			return err
		}
	}
	return nil
}

// WriteMarkdown writes the table, the settings and the first completions of
// each condition.
func (r CompletionReport) WriteMarkdown(w io.Writer) error {
	fmt.Fprintf(w, "# Completion on held-out lines\n\n`%s`\n\nModel %s, %d threads; %d lines from %d files of %s (seed %d).\n\n",
		r.Command, r.Model, r.Threads, len(r.Cases), r.Files, r.Dir, r.Seed)
	if err := r.WriteTable(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n## The first completions\n\n| line | reference |")
	for _, s := range r.Conditions {
		fmt.Fprintf(w, " %s |", s.Name)
	}
	fmt.Fprintf(w, "\n|---|---|%s\n", strings.Repeat("---|", len(r.Conditions)))
	for i, c := range r.Cases[:min(20, len(r.Cases))] {
		fmt.Fprintf(w, "| %s:%d | %s |", c.File, c.Line, cellCode(c.Want))
		for _, s := range r.Conditions {
			fmt.Fprintf(w, " %s |", cellCode(s.Results[i].Got))
		}
		fmt.Fprintln(w)
	}
	return nil
}

// cellCode is a completion in a table cell: a code span, "—" when empty.
func cellCode(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return mdCode(s)
}
