#!/usr/bin/env bash
# Reproduces the self-study results in docs/RESULTS.md: Cartridges for two
# real Go libraries trained with the small budget, compared with no context,
# the corpus in context (truncated to the 8192-token window) and the ntp
# baseline, plus ablations on p, the number of conversations, the
# initialisation and the frozen sink. Hours on 2 CPU cores; every stage
# resumes from its work directory when re-run.
#
#   scripts/selfstudy.sh [stage...]   stages: uuid toml ntp ablations mixed table (default: all)
set -euo pipefail
BIN=${BIN:-bin/cartlsp}
GO=${GO:-go}
OUT=${OUT:-bin/selfstudy}
GEN=${GEN:-48}
mkdir -p "$OUT"

moddir() { $GO mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'; }
UUID=$(moddir github.com/google/uuid@v1.6.0)
# toml: the module root's non-test files only (cmd/, internal/ and testdata/ left out).
TOMLMOD=$(moddir github.com/BurntSushi/toml@v1.3.2)
TOML=$OUT/_toml-corpus # "_": go ./... patterns skip it
if [ ! -d "$TOML" ]; then
	mkdir -p "$TOML"
	for f in "$TOMLMOD"/*.go; do case "$f" in *_test.go) ;; *) cp "$f" "$TOML/" ;; esac; done
	chmod -R u+w "$TOML"
fi

train() { # name corpus [flags...]
	local name=$1 corpus=$2
	shift 2
	"$BIN" train --budget small --exclude '*_test.go' --quiet -o "$OUT/$name.cart" "$@" "$corpus"
}
evalq() { # name questions corpus [flags...]
	local name=$1 q=$2 corpus=$3
	shift 3
	"$BIN" eval --questions "$q" --corpus "$corpus" --exclude '*_test.go' --out "$OUT/$name" "$@"
}

stages=${*:-uuid toml ntp ablations mixed table}
for s in $stages; do
	case $s in
	uuid) # the small budget on uuid (timed: synthesis and training); its dataset is shared by the ablations
		TIME=""
		[ -x /usr/bin/time ] && TIME="/usr/bin/time -f %e-s-wall,%M-KiB-peak-RSS"
		$TIME "$BIN" train --budget small --exclude '*_test.go' --quiet --data "$OUT/uuid.ds" -o "$OUT/uuid.cart" "$UUID"
		evalq uuid-eval testdata/questions/uuid.jsonl "$UUID" --cart "$OUT/uuid.cart" --conditions none,icl,cartridge --gen "$GEN"
		;;
	ntp)
		train uuid.ntp "$UUID" --method ntp
		evalq uuid-ntp-eval testdata/questions/uuid.jsonl "$UUID" --ntp "$OUT/uuid.ntp.cart" --conditions ntp --gen "$GEN"
		;;
	ablations)
		for a in "p64 --p 64" "p1024 --p 1024" "conv32 --conversations 32" "conv64 --conversations 64" \
			"random-tokens --init random-tokens" "random-vectors --init random-vectors" "nosink --frozen 0"; do
			set -- $a
			name=uuid-$1
			shift
			train "$name" "$UUID" --data "$OUT/uuid.ds" "$@"
			evalq "$name-eval" testdata/questions/uuid.jsonl "$UUID" --cart "$OUT/$name.cart" --conditions cartridge --gen 0
		done
		;;
	mixed) # self-study conversations + ntp windows together (reuses both datasets)
		train uuid.mixed "$UUID" --method mixed --data "$OUT/uuid.ds"
		evalq uuid-mixed-eval testdata/questions/uuid.jsonl "$UUID" --cart "$OUT/uuid.mixed.cart" --conditions cartridge --gen 0
		train toml.mixed "$TOML" --method mixed --data "$OUT/toml.work/dataset.bin"
		evalq toml-mixed-eval testdata/questions/toml.jsonl "$TOML" --cart "$OUT/toml.mixed.cart" --conditions cartridge --gen 0
		;;
	toml)
		train toml "$TOML"
		evalq toml-eval testdata/questions/toml.jsonl "$TOML" --cart "$OUT/toml.cart" --conditions none,icl,cartridge --gen "$GEN"
		;;
	table)
		python3 scripts/eval_table.py "$OUT"/*-eval.json
		;;
	*) echo "unknown stage $s" >&2; exit 2 ;;
	esac
done
