package follow

import (
	"context"
	"testing"
)

// TestFollowerStopAndTrain: StopTraining cancels the training in flight
// (state "stopped", the last good Cartridge stays) and Train starts it
// again; Train with nothing to do says so.
func TestFollowerStopAndTrain(t *testing.T) {
	r, c1, f, sc, st := scriptedFollower(t, false)
	st.wait(t, "c1 ready", func(s State) bool { return s.Phase == "ready" && s.Commit == c1 })
	ctx := context.Background()
	if rep, err := f.Train(ctx); err != nil || rep.Done {
		t.Errorf("Train when up to date: %+v, %v", rep, err)
	}

	c2 := r.Commit("slow two", map[string]string{"a.go": "package a // 2\n"})
	st.wait(t, "c2 training", func(s State) bool { return s.Phase == "training" && s.Commit == c2 })
	await(t, sc.started, "slow two", "c2's first build")
	if rep, err := f.Train(ctx); err != nil || rep.Done {
		t.Errorf("Train while training: %+v, %v", rep, err)
	}
	if rep, err := f.StopTraining(ctx); err != nil || !rep.Done {
		t.Fatalf("StopTraining: %+v, %v", rep, err)
	}
	s := st.wait(t, "c2 stopped", func(s State) bool { return s.Commit == c2 && s.Phase != "training" })
	if s.Phase != "stopped" || s.Current == nil || s.Current.Commit.Hash != c1 {
		t.Fatalf("after StopTraining: %+v", s)
	}
	if rep, err := f.StopTraining(ctx); err != nil || rep.Done {
		t.Errorf("StopTraining with nothing running: %+v, %v", rep, err)
	}
	if rep, err := f.Train(ctx); err != nil || !rep.Done {
		t.Fatalf("Train after a stop: %+v, %v", rep, err)
	}
	st.wait(t, "c2 training again", func(s State) bool { return s.Phase == "training" && s.Commit == c2 })
	await(t, sc.started, "slow two", "c2's second build")
	if n, _ := sc.count("slow two"); n != 2 {
		t.Errorf("c2 was built %d times, want 2", n)
	}
}

// TestFollowerManual: with Manual set a new HEAD is only looked up (state
// "idle"), and Train trains it.
func TestFollowerManual(t *testing.T) {
	r, c1, f, sc, st := scriptedFollower(t, true)
	st.wait(t, "c1 idle", func(s State) bool { return s.Phase == "idle" && s.Commit == c1 })
	if n, _ := sc.count("one"); n != 0 {
		t.Fatalf("Manual trained on its own (%d builds)", n)
	}
	if rep, err := f.Train(context.Background()); err != nil || !rep.Done {
		t.Fatalf("Train: %+v, %v", rep, err)
	}
	st.wait(t, "c1 ready", func(s State) bool { return s.Phase == "ready" && s.Commit == c1 })
	r.Commit("two", map[string]string{"a.go": "package a // 2\n"})
	st.wait(t, "c2 idle", func(s State) bool { return s.Phase == "idle" })
	if c := f.Current(); c == nil || c.Commit.Hash != c1 {
		t.Errorf("current after an untrained commit: %+v, want c1's", c)
	}
}
