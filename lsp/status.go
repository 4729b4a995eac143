package lsp

import (
	"fmt"

	"github.com/cartlsp/cartlsp/follow"
	"github.com/cartlsp/cartlsp/indexer"
)

// methodStatus is the server's status notification.
const methodStatus = "cartridge/status"

// Status is the body of cartridge/status and the result of cartlsp.status.
type Status struct {
	// State: "starting", "training", "ready", "idle" (no Cartridge and no
	// training: automatic training is off, or not a git repository),
	// "stopped" (a training was cancelled) or "error".
	State           string `json:"state"`
	Message         string `json:"message"`
	Percentage      *int   `json:"percentage,omitempty"`
	Stage           string `json:"stage,omitempty"`
	Commit          string `json:"commit,omitempty"`
	Branch          string `json:"branch,omitempty"`
	Source          string `json:"source"` // what answers now: cartridge, in-context, none
	Cartridge       string `json:"cartridge,omitempty"`
	CartridgeCommit string `json:"cartridgeCommit,omitempty"`
	Error           string `json:"error,omitempty"`
	// Dependencies are the entries of the dependencies setting: which
	// Cartridges answers compose before the repository's.
	Dependencies []DependencyStatus `json:"dependencies,omitempty"`
}

// trainingPercent maps a training's stage and progress to 0–100:
// synthesis is the first 40 %, the distillation steps the rest.
func trainingPercent(stage string, done, total int) int {
	if total <= 0 {
		return 0
	}
	f := float64(min(max(done, 0), total)) / float64(total)
	switch stage {
	case "synthesis":
		return int(40 * f)
	case "training":
		return 40 + int(60*f)
	}
	return 0
}

// statusOf describes a follower state; source is what answers meanwhile.
func statusOf(st follow.State, source string) Status {
	s := Status{State: st.Phase, Commit: st.Commit, Branch: st.Branch, Source: source}
	where := indexer.ShortHash(st.Commit)
	if st.Branch != "" {
		where += " on " + st.Branch
	}
	if c := st.Current; c != nil {
		s.Cartridge, s.CartridgeCommit = c.Path, c.Commit.Hash
	}
	meanwhile := "answering with the corpus in context"
	switch {
	case source == sourceNone:
		meanwhile = "answering without the repository"
	case st.Current != nil:
		meanwhile = "answering with the Cartridge of " + indexer.ShortHash(st.Current.Commit.Hash)
	}
	switch st.Phase {
	case "training":
		pct := trainingPercent(st.Stage, st.Done, st.Total)
		s.Percentage, s.Stage = &pct, st.Stage
		if st.Stage == "" {
			s.Message = fmt.Sprintf("training the Cartridge of %s (%s meanwhile)", where, meanwhile)
		} else {
			s.Message = fmt.Sprintf("training %d%% (%s %d/%d) for %s; %s meanwhile", pct, st.Stage, st.Done, st.Total, where, meanwhile)
		}
	case "ready":
		s.Message = "ready: the Cartridge of " + where
	case "idle":
		s.Message = fmt.Sprintf("%s has no Cartridge and automatic training is off (the command cartlsp.train trains it); %s", where, meanwhile)
	case "stopped":
		s.Message = fmt.Sprintf("the training of %s was stopped (cartlsp.train resumes it); %s", where, meanwhile)
	case "error":
		s.Error = fmt.Sprint(st.Err)
		s.Message = fmt.Sprintf("training %s failed: %v; %s", where, st.Err, meanwhile)
	}
	return s
}
