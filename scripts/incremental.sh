#!/usr/bin/env bash
# Reproduces the incremental-training result in docs/RESULTS.md: along a
# real history (google/uuid, from v1.6.0 through the next six commits),
# every commit's Cartridge is trained incrementally from its parent's (the
# way `cartlsp train` in a commit hook does it) and, in a second store, from
# scratch; both are timed and evaluated on the same questions.
# About 1.5 hours on 2 CPU cores; every stage skips what its store holds.
#
#   scripts/incremental.sh [stage...]   stages: inc scratch eval history table (default: all)
#
# Env: BIN, OUT (default bin/incremental), URL (the repository to clone),
# COMMITS (the history, oldest first), SCRATCH (commits trained from
# scratch, in that order), BUDGET (default small).
set -euo pipefail
BIN=$(realpath "${BIN:-bin/cartlsp}")
OUT=$(realpath -m "${OUT:-bin/incremental}")
URL=${URL:-https://github.com/google/uuid}
BUDGET=${BUDGET:-small}
COMMITS=${COMMITS:-"0f11ee6 b5b9aeb 6e10cd1 53dda83 e8d82d3 d55c313 0e97ed3"}
SCRATCH=${SCRATCH:-"0e97ed3 e8d82d3 6e10cd1 b5b9aeb 53dda83 d55c313"}
Q=$(realpath testdata/questions/uuid.jsonl)
QH=$(realpath testdata/questions/uuid-history.jsonl) # about what the commits changed
mkdir -p "$OUT"
REPO=$OUT/repo
[ -d "$REPO/.git" ] || git clone -q "$URL" "$REPO"

train() { # store commit [flags...]: trains (or finds) the commit's Cartridge, logs the wall time
	local st=$1 c=$2
	shift 2
	git -C "$REPO" checkout -q "$c"
	local t0 t1 out
	t0=$(date +%s.%N)
	out=$("$BIN" train --budget "$BUDGET" --exclude '*_test.go' --quiet --store "$OUT/$st" "$@" "$REPO")
	t1=$(date +%s.%N)
	echo "$out"
	case "$out" in
	up\ to\ date*) ;;
	*) awk -v s="$st" -v c="$c" -v a="$t0" -v b="$t1" 'BEGIN { printf "%s\t%s\t%.1f\n", s, c, b - a }' >>"$OUT/times.tsv" ;;
	esac
}
cart() { # store commit: the Cartridge's path, when the store has it (never trains)
	"$BIN" store ls --json --store "$OUT/$1" | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e["complete"] and e["meta"].get("commit", "").startswith(sys.argv[1]):
        print(e["dir"] + "/cartridge.cart")
        break' "$2"
}

stages=${*:-inc scratch eval history table}
for s in $stages; do
	case $s in
	inc) for c in $COMMITS; do train store-inc "$c"; done ;;
	scratch) for c in $SCRATCH; do train store-scratch "$c" --scratch; done ;;
	eval)
		[ -f "$OUT/none.json" ] || "$BIN" eval --questions "$Q" --corpus "$REPO" --exclude '*_test.go' --conditions none --gen 0 --out "$OUT/none"
		for c in $COMMITS; do
			for st in store-inc store-scratch; do
				p=$(cart "$st" "$c")
				[ -n "$p" ] && [ ! -f "$OUT/$st-$c.json" ] || continue
				git -C "$REPO" checkout -q "$c"
				"$BIN" eval --questions "$Q" --corpus "$REPO" --exclude '*_test.go' --cart "$p" --conditions cartridge --gen 0 --out "$OUT/$st-$c"
			done
		done
		;;
	history) # the questions about the changes, at the last commit
		last=${COMMITS##* }
		git -C "$REPO" checkout -q "$last"
		[ -f "$OUT/hist-none.json" ] || "$BIN" eval --questions "$QH" --corpus "$REPO" --exclude '*_test.go' --conditions none,icl --gen 0 --out "$OUT/hist-none"
		for st in store-inc store-scratch; do
			p=$(cart "$st" "$last")
			[ -n "$p" ] && [ ! -f "$OUT/hist-$st.json" ] || continue
			git -C "$REPO" checkout -q "$last"
			"$BIN" eval --questions "$QH" --corpus "$REPO" --exclude '*_test.go' --cart "$p" --conditions cartridge --gen 0 --out "$OUT/hist-$st"
		done
		;;
	table) python3 scripts/incremental_table.py "$OUT" $COMMITS ;;
	*) echo "unknown stage $s" >&2; exit 2 ;;
	esac
done
