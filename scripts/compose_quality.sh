#!/usr/bin/env bash
# Does composing a dependency Cartridge with a repository's help? Reproduces the composition runs of
# docs/RESULTS.md ("Composing dependency Cartridges"): a "repository" Cartridge (pkg/errors) and a
# "dependency" Cartridge (google/uuid), both made by `scripts/quality.sh run`, measured on both question
# sets with the repository's Cartridge alone, with plain concatenation ([uuid | errors], as
# `cartlsp compose` and the server compose), and with the repository's Cartridge trained beside the
# dependency's (`train --beside`: the dependency frozen in front, in the arrangement answers use), on the
# same dataset as the one alone.
#
#   scripts/compose_quality.sh            OUT=bin/comp; needs bin/quality/{uuid-amx,errors-small}.cart
#                                         and errors-small.work/dataset.bin (scripts/quality.sh run
#                                         uuid-amx uuid; run errors-small errors), which are the
#                                         baselines alone; ALONE=1 also retrains the repository's
#                                         alone on that dataset (for an errors-small of another session)
set -euo pipefail
BIN=${BIN:-bin/cartlsp}
Q=${Q:-bin/quality}
OUT=${OUT:-bin/comp}
DEP=${DEP:-$Q/uuid-amx.cart}
REPO=${REPO:-$Q/errors-small.cart}
mkdir -p "$OUT"

ev() { # name cart corpus-name
	local name=$1 cart=$2 c=$3 q win dir
	case $c in
	uuid) dir=$Q/_corpus-uuid q=testdata/questions/uuid.jsonl win=32768 ;;
	errors) dir=$Q/_corpus-errors q=testdata/questions/errors.jsonl win=32768 ;;
	esac
	[ -f "$OUT/$name.json" ] || "$BIN" eval --questions "$q" --corpus "$dir" --window "$win" --cart "$cart" \
		--conditions cartridge --gen 0 --out "$OUT/$name"
}

# The repository's Cartridge trained beside the dependency's, on the repository Cartridge's dataset.
[ -f "$OUT/errors-beside.cart" ] || /usr/bin/time -f "%e s wall, %U s user, %M KiB peak RSS" -o "$OUT/errors-beside.time" \
	"$BIN" train --budget small --quiet --dir -o "$OUT/errors-beside.cart" --beside "$DEP" \
	--data "$Q/errors-small.work/dataset.bin" "$Q/_corpus-errors"
[ -f "$OUT/naive.cart" ] || "$BIN" compose "$DEP" "$REPO" -o "$OUT/naive.cart"
[ -f "$OUT/beside.cart" ] || "$BIN" compose "$DEP" "$OUT/errors-beside.cart" -o "$OUT/beside.cart"

ev uuidQ-repo "$REPO" uuid        # dependency questions, the repository's Cartridge alone
ev uuidQ-naive "$OUT/naive.cart" uuid
ev uuidQ-beside "$OUT/beside.cart" uuid
ev errorsQ-naive "$OUT/naive.cart" errors
ev errorsQ-beside "$OUT/beside.cart" errors
# The same recipe alone, trained now (bf16, the guard) on the same dataset, for a like-for-like baseline
# of the run beside (errors-small is the second session's: f32 student): its own questions and
# plain concatenation.
if [ -n "${ALONE:-}" ]; then
	[ -f "$OUT/errors-alone.cart" ] || "$BIN" train --budget small --quiet --dir -o "$OUT/errors-alone.cart" \
		--data "$Q/errors-small.work/dataset.bin" "$Q/_corpus-errors"
	[ -f "$OUT/naive-alone.cart" ] || "$BIN" compose "$DEP" "$OUT/errors-alone.cart" -o "$OUT/naive-alone.cart"
	ev errorsQ-alone "$OUT/errors-alone.cart" errors
	ev errorsQ-naivealone "$OUT/naive-alone.cart" errors
	ev uuidQ-naivealone "$OUT/naive-alone.cart" uuid
fi
ev errorsQ-besidealone "$OUT/errors-beside.cart" errors # the Cartridge trained beside, without its dependency
python3 scripts/eval_table.py "$OUT"/*.json
