#!/usr/bin/env bash
# Side-by-side speed of cartlsp and llama.cpp on the same model and machine,
# in one run, alternating the two so machine noise hits both alike.
# Needs: python3 -m pip install llama-cpp-python (it compiles llama.cpp).
# Usage: scripts/bench.sh [MODEL.gguf]   (prints a Markdown table)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-$(go run ./cmd/cartlsp model pull --quiet)}
go build -o bin/cartlsp ./cmd/cartlsp
python3 -c 'import llama_cpp' 2>/dev/null || { echo "llama-cpp-python is missing: python3 -m pip install llama-cpp-python" >&2; exit 1; }
tmp=$(mktemp -d)
for t in 1 2; do
  for round in 1 2; do
    bin/cartlsp bench --model "$model" --threads "$t" --json >>"$tmp/go.$t"
    python3 scripts/bench_llama.py "$model" "$t" >>"$tmp/llama.$t"
  done
done
python3 - "$tmp" <<'PY'
import json, sys, platform, os
tmp = sys.argv[1]
def best(path):
    rows = [json.loads(l) for l in open(path)]
    return max(rows, key=lambda r: r["prefill_tok_per_s"]), max(rows, key=lambda r: r["decode_tok_per_s"]), max(r["peak_rss_mib"] for r in rows)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
print(f"Machine: {cpu}, {os.cpu_count()} cores. Best of 2 runs of median-of-3 each.\n")
print("| threads | engine | prefill 512 tok/s | decode 128 @512 tok/s | peak RSS MiB | prefill ratio | decode ratio |")
print("|---|---|---|---|---|---|---|")
for t in (1, 2):
    gp, gd, gm = best(f"{tmp}/go.{t}")
    lp, ld, lm = best(f"{tmp}/llama.{t}")
    print(f"| {t} | {lp['backend']} | {lp['prefill_tok_per_s']:.1f} | {ld['decode_tok_per_s']:.1f} | {lm:.0f} | 1.00 | 1.00 |")
    print(f"| {t} | cartlsp {gp['backend']} | {gp['prefill_tok_per_s']:.1f} | {gd['decode_tok_per_s']:.1f} | {gm:.0f} | "
          f"{gp['prefill_tok_per_s']/lp['prefill_tok_per_s']:.2f} | {gd['decode_tok_per_s']/ld['decode_tok_per_s']:.2f} |")
PY
rm -rf "$tmp"
