// Package hooks owns the git hooks that keep a repository's Cartridge fresh:
// where git looks for hooks (core.hooksPath or the common git directory),
// the POSIX sh script that runs `cartlsp train --background`, and installing
// it in front of a hook the user already had (chained, then restored on
// uninstall, byte for byte). `cartlsp hook` only parses flags and prints the
// Report these functions return.
package hooks

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Names are the git hooks cartlsp installs: each runs once HEAD may have
// moved to a new commit.
var Names = []string{"post-commit", "post-merge", "post-rewrite", "post-checkout"}

const (
	// Marker is the line that makes a hook file cartlsp's own.
	Marker = "# cartlsp hook v1"
	// markerPrefix recognises every version of the marker.
	markerPrefix = "# cartlsp hook v"
	// PreCartlsp is the suffix of the user's previous hook, which ours runs first.
	PreCartlsp = ".pre-cartlsp"
)

// notRebasing is true in sh unless a rebase is replaying commits.
const notRebasing = ` && [ ! -d "$(git rev-parse --git-path rebase-merge 2>/dev/null)" ] && [ ! -d "$(git rev-parse --git-path rebase-apply 2>/dev/null)" ]`

// guards are the extra conditions under which a hook trains: a branch
// checkout (not a file checkout); not an amend, for post-commit already ran;
// not a checkout or commit made while a rebase replays, for post-rewrite
// follows it with the final HEAD.
var guards = map[string]string{
	"post-checkout": ` && [ "$3" = 1 ]` + notRebasing,
	"post-rewrite":  ` && [ "$1" != amend ]`,
	"post-commit":   notRebasing,
}

// Script is the POSIX sh hook `name` that runs the previous hook, if any,
// then `cartlsp train --background` and exits with the previous hook's status.
// exe is the cartlsp binary; trainArgs are extra `cartlsp train` flags
// (--budget, --model) baked into it.
func Script(name, exe string, trainArgs []string) string {
	body := scriptBody(name, exe, trainArgs)
	head, rest, _ := strings.Cut(body, "\n")
	head2, rest, _ := strings.Cut(rest, "\n")
	return head + "\n" + head2 + "\n" + sumPrefix + bodySum(body) + "\n" + rest
}

// sumPrefix starts the line that records a hook's checksum (of the hook
// without that line), so that uninstall can tell a hook the user edited.
const sumPrefix = "# cartlsp-sum: "

// bodySum is the hex sha256 of a hook's text without its checksum line.
func bodySum(body string) string {
	h := sha256.Sum256([]byte(body))
	return hex.EncodeToString(h[:])
}

// edited reports whether hook text b (cartlsp's) was changed since it was
// written: its checksum line does not match the rest. A hook from before
// checksums (no such line) counts as unedited.
func edited(b []byte) bool {
	lines := strings.SplitAfter(string(b), "\n")
	for i, l := range lines[:min(len(lines), 5)] {
		if sum, ok := strings.CutPrefix(strings.TrimRight(l, "\n"), sumPrefix); ok {
			rest := strings.Join(append(append([]string(nil), lines[:i]...), lines[i+1:]...), "")
			return sum != bodySum(rest)
		}
	}
	return false
}

// scriptBody is the hook without its checksum line.
func scriptBody(name, exe string, trainArgs []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\n%s\n", Marker)
	fmt.Fprintf(&b, "# Installed by `cartlsp hook install`; `cartlsp hook uninstall` removes it and restores\n")
	fmt.Fprintf(&b, "# the hook it chains (%s%s). It refreshes the repository's Cartridge in the\n", name, PreCartlsp)
	fmt.Fprintf(&b, "# background and never fails the git command; CARTLSP_SKIP_HOOK=1 skips the training.\n")
	fmt.Fprintf(&b, "status=0\n")
	fmt.Fprintf(&b, "previous=\"$(dirname \"$0\")/%s%s\"\n", name, PreCartlsp)
	fmt.Fprintf(&b, "if [ -f \"$previous\" ] && [ -x \"$previous\" ]; then\n")
	fmt.Fprintf(&b, "\t\"$previous\" \"$@\"\n")
	fmt.Fprintf(&b, "\tstatus=$?\n")
	fmt.Fprintf(&b, "fi\n")
	fmt.Fprintf(&b, "if [ \"${CARTLSP_SKIP_HOOK:-}\" != 1 ]%s; then\n", guards[name])
	fmt.Fprintf(&b, "\tcartlsp=%s\n", ShQuote(exe))
	fmt.Fprintf(&b, "\t[ -x \"$cartlsp\" ] || cartlsp=cartlsp\n")
	fmt.Fprintf(&b, "\ttop=$(git rev-parse --show-toplevel 2>/dev/null) &&\n")
	extra := ""
	for _, a := range trainArgs {
		extra += ShQuote(a) + " "
	}
	fmt.Fprintf(&b, "\t\t\"$cartlsp\" train --background --quiet %s\"$top\" </dev/null >/dev/null 2>&1 || true\n", extra)
	fmt.Fprintf(&b, "fi\n")
	fmt.Fprintf(&b, "exit $status\n")
	return b.String()
}

// ShQuote quotes s for sh.
func ShQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// isOurs says whether a hook file carries cartlsp's marker line near its top.
func isOurs(b []byte) bool {
	lines := strings.SplitN(string(b), "\n", 6)
	for _, l := range lines[:min(len(lines), 5)] {
		if strings.HasPrefix(strings.TrimSpace(l), markerPrefix) {
			return true
		}
	}
	return false
}
