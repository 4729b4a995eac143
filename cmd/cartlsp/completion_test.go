package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestComplete(t *testing.T) {
	for _, c := range []struct {
		words []string
		want  string
	}{
		{[]string{"tr"}, "train"},
		{[]string{"deps", "p"}, "pull push"},
		{[]string{"deps", "push", "--si"}, "--sign-key"},
		{[]string{"ask", "--dep-"}, "--dep-tokens"},
		{[]string{"inspect", "x."}, ""},
		{[]string{"__c"}, ""},
	} {
		code, stdout, _ := runCLI(t, append([]string{"__complete"}, c.words...)...)
		if got := strings.Join(strings.Fields(stdout), " "); code != 0 || got != c.want {
			t.Errorf("%v: %q, want %q", c.words, got, c.want)
		}
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if code, stdout, _ := runCLI(t, "completion", sh); code != 0 || !strings.Contains(stdout, "cartlsp __complete") {
			t.Errorf("completion %s: exit %d", sh, code)
		}
	}
	if code, _, _ := runCLI(t, "completion", "tcsh"); code != 2 {
		t.Errorf("completion tcsh: exit %d, want 2", code)
	}
}

// TestCompletionBash runs the bash script the way bash runs it.
func TestCompletionBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	buildCLI(t, dir)
	script := `eval "$(cartlsp completion bash)"; COMP_WORDS=(cartlsp deps pu); COMP_CWORD=2; _cartlsp; echo "${COMPREPLY[@]}"`
	cmd := exec.Command(bash, "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+dir+string(filepath.ListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "pull push" {
		t.Errorf("bash completion of `cartlsp deps pu`: %q %v", out, err)
	}
}
