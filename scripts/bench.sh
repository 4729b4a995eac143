#!/usr/bin/env bash
# cartlsp against llama.cpp's own llama-bench, side by side in one run, same
# model files, same threads: prefill 512 and 8192 tokens, decode 128 tokens
# after 512 and after 8192, llama.cpp with flash attention off and on, on
# SmolLM2-135M and Qwen2.5-Coder-0.5B (the official Q4_K_M file). The
# engines alternate (ROUNDS rounds; each figure is the best round) so machine
# noise hits both alike. Peak RSS is each process's own (getrusage of the
# child), for the same context: the 8192 + 128 token run.
#
# Usage: scripts/bench.sh [OUT.md]    env: THREADS (2), ROUNDS (2), MODELS
# (default "smollm2-135m qwen2.5-coder-0.5b"), LONG (8192)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-2}
rounds=${ROUNDS:-2}
long=${LONG:-8192}
models=${MODELS:-"smollm2-135m qwen2.5-coder-0.5b"}
out=${1:-/dev/stdout}
go build -o bin/cartlsp ./cmd/cartlsp
lb=$(scripts/llama_bench_build.sh)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# rss CMD…: runs CMD, its stdout to stdout, and its peak RSS (MiB) to fd 3.
rss() {
  python3 -c 'import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=sys.stdout)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, file=sys.stderr)
sys.exit(r.returncode)' "$@" 2>&3
}
for name in $models; do
  bin/cartlsp model pull --quiet "$name" >/dev/null
  m=$(bin/cartlsp model path "$name")
  for round in $(seq "$rounds"); do
    echo "bench: $name round $round/$rounds" >&2
    for fa in 0 1; do
      "$lb" -m "$m" -t "$threads" -fa "$fa" -p 512,"$long" -n 0 -r 1 -o jsonl >>"$tmp/$name.llama.jsonl"
      "$lb" -m "$m" -t "$threads" -fa "$fa" -p 0 -n 128 -d 512 -r 1 -o jsonl >>"$tmp/$name.llama.jsonl"
      rss "$lb" -m "$m" -t "$threads" -fa "$fa" -p 0 -n 128 -d "$long" -r 1 -o jsonl >>"$tmp/$name.llama.jsonl" \
        3>>"$tmp/$name.llama-rss.fa$fa"
    done
    bin/cartlsp bench --model "$m" --threads "$threads" --prompt 512 --gen 128 --reps 1 --json >>"$tmp/$name.cartlsp.jsonl"
    rss bin/cartlsp bench --model "$m" --threads "$threads" --prompt "$long" --gen 128 --reps 1 --json \
      >>"$tmp/$name.cartlsp.jsonl" 3>>"$tmp/$name.cartlsp-rss"
  done
done
python3 scripts/bench_table.py "$tmp" "$long" "$threads" "$rounds" $models >"$out"
