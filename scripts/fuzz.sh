#!/usr/bin/env bash
# Runs every fuzz target (func Fuzz… in a _test.go file) for FUZZTIME each (default 60s), one after the
# other, and prints one line per target: its package, name, executions and whether it found anything.
# A finding is kept by Go under the package's testdata/fuzz/<Target>/ (commit it: it then runs in
# `make test` as a seed). `make fuzz` runs this; docs/SECURITY.md records the last run.
#
#   scripts/fuzz.sh [PATTERN]      only targets whose name matches PATTERN (grep -E)
# FUZZPARALLEL=N runs N fuzzing workers per target (default: GOMAXPROCS).
set -uo pipefail
GO=${GO:-go}
T=${FUZZTIME:-60s}
pat=${1:-.}
status=0
printf '%-40s %-24s %14s  %s\n' package target executions result
while IFS=: read -r file _ line; do
	name=$(sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/' <<<"$line")
	grep -Eq "$pat" <<<"$name" || continue
	pkg=./$(dirname "$file")
	log=$(mktemp)
	$GO test -run '^$' -fuzz "^${name}\$" -fuzztime "$T" ${FUZZPARALLEL:+-parallel "$FUZZPARALLEL"} "$pkg" >"$log" 2>&1
	rc=$?
	execs=$(grep -Eo 'execs: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+')
	result=ok
	if [ $rc -ne 0 ]; then
		result="FAILED (see $(grep -Eo 'testdata/fuzz/[^ ]+' "$log" | head -1))"
		status=1
		tail -20 "$log" >&2
	fi
	printf '%-40s %-24s %14s  %s\n' "${pkg#./}" "$name" "${execs:-?}" "$result"
	rm -f "$log"
done < <(grep -rn --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' --exclude-dir=node_modules --exclude-dir=tools . | sed 's#^\./##' | sort)
exit $status
