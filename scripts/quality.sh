#!/usr/bin/env bash
# Reproduces the Qwen2.5-Coder quality runs in docs/RESULTS.md: Cartridges trained on real Go
# libraries, measured against no context and the corpus in context, with `cartlsp eval`.
#
#   scripts/quality.sh baseline CORPUS            no context and the corpus in context
#   scripts/quality.sh run NAME CORPUS [FLAGS…]   train a Cartridge with `cartlsp train FLAGS…`
#                                                 (--budget small unless FLAGS say otherwise)
#                                                 and evaluate it
#   scripts/quality.sh table                      every report under $OUT as one Markdown table
#
# CORPUS and its question set and window:
#   uuid    github.com/google/uuid v1.6.0 (root, non-test)   uuid.jsonl    window 32768 (fits)
#   toml    github.com/BurntSushi/toml v1.3.2 (root)         toml.jsonl    window 8192 (≈4× the window)
#   errors  github.com/pkg/errors v0.9.1 (root)              errors.jsonl  window 32768 (held out)
#   pflag   github.com/spf13/pflag v1.0.5 (root)             pflag.jsonl   window 8192 (held out, ≈5×)
# The held-out sets (errors, pflag) were written before any Cartridge was trained on their corpora;
# the recipe is not tuned on them. MODEL=qwen2.5-coder-1.5b (or a GGUF path) runs another model; a
# baseline's report is named CORPUS-baseline, so give such runs their own OUT. An 8192-token window stands for a small memory budget (the model's
# own is 32768). Runs resume: a finished Cartridge or report is not made again. Each run's
# `train` wall time and peak RSS go to $OUT/NAME.time; the split between synthesis and training is in
# the Cartridge (`cartlsp inspect`). Hours on 2 CPU cores.
set -euo pipefail
BIN=${BIN:-bin/cartlsp}
GO=${GO:-go}
OUT=${OUT:-bin/quality}
GEN=${GEN:-0}
MODEL=${MODEL:-} # a model name or GGUF file for train and eval; empty: the default model
MFLAG=()
[ -z "$MODEL" ] || MFLAG=(--model "$MODEL")
mkdir -p "$OUT"

moddir() { $GO mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'; }
rootcopy() { # module → a directory of its root's non-test .go files
	local dir=$OUT/_corpus-$1 mod
	if [ ! -d "$dir" ]; then
		mod=$(moddir "$2")
		mkdir -p "$dir"
		for f in "$mod"/*.go; do case "$f" in *_test.go) ;; *) cp "$f" "$dir/" ;; esac; done
		chmod -R u+w "$dir"
	fi
	echo "$dir"
}
corpus() { # name → "dir questions window"
	case $1 in
	uuid) echo "$(rootcopy uuid github.com/google/uuid@v1.6.0) testdata/questions/uuid.jsonl 32768" ;;
	toml) echo "$(rootcopy toml github.com/BurntSushi/toml@v1.3.2) testdata/questions/toml.jsonl 8192" ;;
	errors) echo "$(rootcopy errors github.com/pkg/errors@v0.9.1) testdata/questions/errors.jsonl 32768" ;;
	pflag) echo "$(rootcopy pflag github.com/spf13/pflag@v1.0.5) testdata/questions/pflag.jsonl 8192" ;;
	*) echo "unknown corpus $1 (uuid, toml, errors, pflag)" >&2; exit 2 ;;
	esac
}

cmd=${1:-}
shift || true
case $cmd in
baseline)
	read -r dir q win <<<"$(corpus "$1")"
	[ -f "$OUT/$1-baseline.json" ] || "$BIN" eval "${MFLAG[@]}" --questions "$q" --corpus "$dir" --window "$win" \
		--conditions none,icl --gen "$GEN" --out "$OUT/$1-baseline"
	;;
run)
	name=$1 c=$2
	shift 2
	read -r dir q win <<<"$(corpus "$c")"
	if [ ! -f "$OUT/$name.cart" ]; then
		/usr/bin/time -f "%e s wall, %U s user, %M KiB peak RSS" -o "$OUT/$name.time" \
			"$BIN" train "${MFLAG[@]}" --budget small --quiet --dir -o "$OUT/$name.cart" "$@" "$dir"
	fi
	[ -f "$OUT/$name.json" ] || "$BIN" eval "${MFLAG[@]}" --questions "$q" --corpus "$dir" --window "$win" \
		--cart "$OUT/$name.cart" --conditions cartridge --gen "$GEN" --out "$OUT/$name"
	;;
table)
	python3 scripts/eval_table.py "$OUT"/*.json
	;;
*)
	sed -n '2,20p' "$0"
	exit 2
	;;
esac
