#!/usr/bin/env bash
# The main job on the embedded default model: train a Cartridge (small
# budget) for a real public Go library, github.com/google/uuid, then answer
# questions about it with the Cartridge, next to the model's answers
# without it. Re-running resumes or reuses the work in bin/demo/.
set -euo pipefail
BIN=${BIN:-bin/cartlsp}
GO=${GO:-go}
OUT=${OUT:-bin/demo}
BUDGET=${BUDGET:-small}
MOD=github.com/google/uuid@v1.6.0

# The library's source through the Go module proxy (cached after the first time).
DIR=$($GO mod download -json "$MOD" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
if [ -z "$DIR" ] || [ ! -d "$DIR" ]; then
	echo "demo: could not download $MOD with '$GO mod download'" >&2
	exit 1
fi
mkdir -p "$OUT"

echo "== training a Cartridge for $MOD ($BUDGET budget; non-test files)"
"$BIN" train --budget "$BUDGET" --exclude '*_test.go' -o "$OUT/uuid.cart" "$DIR"

echo
echo "== the Cartridge"
"$BIN" inspect "$OUT/uuid.cart"

ask() {
	local q=$1
	echo
	echo "── Q: $q"
	echo "   without the Cartridge:"
	"$BIN" ask --alone -n 80 "$q" 2>/dev/null | sed 's/^/      /'
	echo "   with the Cartridge:"
	"$BIN" ask -n 80 --cart "$OUT/uuid.cart" "$q" 2>/dev/null | sed 's/^/      /'
}
ask "In the Go package github.com/google/uuid, what does the function NewRandom return?"
ask "In github.com/google/uuid, which function parses a UUID from a string, and what formats does it accept?"
ask "In github.com/google/uuid, what does the Version method of a UUID return?"
