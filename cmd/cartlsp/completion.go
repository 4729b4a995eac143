package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// subcommands are the commands that take one.
var subcommands = map[string][]string{
	"model": {"pull", "ls", "path", "info"},
	"deps":  {"ls", "train", "push", "pull"},
	"hook":  {"install", "uninstall", "status"},
	"store": {"ls", "path", "gc"},
}

// completionScripts are the shell functions `cartlsp completion SHELL`
// prints; each asks `cartlsp __complete WORDS…` for the candidates of the
// last word and falls back to file names.
var completionScripts = map[string]string{
	"bash": `# bash completion for cartlsp: eval "$(cartlsp completion bash)" (e.g. in ~/.bashrc)
_cartlsp() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	local IFS=$'\n'
	local words=($(cartlsp __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
	if [ ${#words[@]} -gt 0 ]; then
		COMPREPLY=($(compgen -W "${words[*]}" -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}
complete -o filenames -F _cartlsp cartlsp
`,
	"zsh": `#compdef cartlsp
# zsh completion for cartlsp: cartlsp completion zsh > "${fpath[1]}/_cartlsp" (or eval it after compinit)
_cartlsp() {
	local -a words_
	words_=("${(@f)$(cartlsp __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
	if [[ -n "${words_[1]}" ]]; then
		compadd -a words_
	else
		_files
	fi
}
compdef _cartlsp cartlsp
`,
	"fish": `# fish completion for cartlsp: cartlsp completion fish > ~/.config/fish/completions/cartlsp.fish
function __cartlsp_complete
	set -l words (commandline -opc)[2..-1] (commandline -ct)
	cartlsp __complete $words 2>/dev/null
end
complete -c cartlsp -f -a '(__cartlsp_complete)'
complete -c cartlsp -F -n 'test -z "(__cartlsp_complete)"'
`,
}

func runCompletion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	shells := slices.Sorted(maps.Keys(completionScripts))
	if len(args) != 1 || completionScripts[args[0]] == "" {
		fmt.Fprintf(stderr, "Usage: cartlsp completion %s\n\nPrints the shell's completion script: commands, subcommands and flags complete; other words complete as files.\n", strings.Join(shells, "|"))
		if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errUsage
	}
	_, err := io.WriteString(stdout, completionScripts[args[0]])
	return err
}

// flagLine matches a flag in a FlagSet's defaults.
var flagLine = regexp.MustCompile(`(?m)^  -([a-zA-Z0-9][a-zA-Z0-9-]*)`)

// runComplete prints the candidates for the last of words (what the user
// has typed after "cartlsp", the last being the word being completed), one
// a line: commands, subcommands, or the flags a command's --help lists;
// nothing means "complete a file name".
func runComplete(ctx context.Context, words []string, stdout, stderr io.Writer) error {
	if len(words) == 0 {
		words = []string{""}
	}
	cur := words[len(words)-1]
	prev := words[:len(words)-1]
	var out []string
	switch {
	case len(prev) == 0:
		for n := range commands {
			if !strings.HasPrefix(n, "__") {
				out = append(out, n)
			}
		}
	case len(prev) == 1 && subcommands[prev[0]] != nil && !strings.HasPrefix(cur, "-"):
		out = subcommands[prev[0]]
	case strings.HasPrefix(cur, "-"):
		help := []string{prev[0]}
		if len(prev) > 1 && slices.Contains(subcommands[prev[0]], prev[1]) {
			help = append(help, prev[1])
		}
		var buf bytes.Buffer
		run(ctx, append(help, "--help"), &buf, &buf)
		for _, m := range flagLine.FindAllStringSubmatch(buf.String(), -1) {
			out = append(out, "--"+m[1])
		}
	}
	slices.Sort(out)
	for _, w := range slices.Compact(out) {
		if strings.HasPrefix(w, cur) {
			fmt.Fprintln(stdout, w)
		}
	}
	return nil
}
