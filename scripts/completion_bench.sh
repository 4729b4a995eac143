#!/usr/bin/env bash
# Code completion on held-out lines (issue 18, item 3): the test files of github.com/google/uuid v1.6.0,
# which the Cartridge never saw (it is trained on the non-test root, as scripts/quality.sh trains uuid),
# completed as the language server completes them, with and without the Cartridge and fill-in-the-middle.
#
#   scripts/completion_bench.sh            # CART=bin/quality/uuid-amx.cart (scripts/quality.sh run uuid-amx uuid)
#
# Two runs: the model's quality with no latency cap (exact match, edit similarity, NLL of the true rest of
# the line), then the server's defaults (completion.promptMs 500, completion.latencyMs 1500) for what an
# editor shows in time. Writes $OUT/uncapped.{md,json} and $OUT/capped.{md,json}.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/cartlsp}
GO=${GO:-go}
OUT=${OUT:-bin/completion}
CART=${CART:-bin/quality/uuid-amx.cart}
CASES=${CASES:-60}
SEED=${SEED:-1}
[ -f "$CART" ] || { echo "no Cartridge at $CART: train it with scripts/quality.sh run uuid-amx uuid, or set CART" >&2; exit 2; }
mod=$($GO mod download -json github.com/google/uuid@v1.6.0 | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
mkdir -p "$OUT"
common=(eval --completion "$mod" --include '*_test.go' --cart "$CART" --cases "$CASES" --seed "$SEED")
"$BIN" "${common[@]}" --out "$OUT/uncapped"
"$BIN" "${common[@]}" --prompt-ms 500 --latency-ms 1500 --out "$OUT/capped"
