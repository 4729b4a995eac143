#!/usr/bin/env python3
"""The Markdown table of scripts/bench.sh from its raw results.

Usage: bench_table.py TMPDIR LONG THREADS ROUNDS MODEL...

TMPDIR holds, per model NAME: NAME.llama.jsonl (llama-bench -o jsonl lines),
NAME.llama-rss.fa0/.fa1 (peak RSS MiB of its LONG-context decode runs),
NAME.cartlsp.jsonl (cartlsp bench --json lines) and NAME.cartlsp-rss.
Every figure is the best round; the ratio is cartlsp over llama.cpp's better
flash-attention setting.
"""
import json
import os
import platform
import sys


def lines(path):
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.strip().startswith("{")]


def floats(path):
    if not os.path.exists(path):
        return []
    return [float(l) for l in open(path) if l.strip()]


def main():
    tmp, long, threads, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    names = sys.argv[5:]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
               platform.machine())
    print(f"Machine: {cpu}, {os.cpu_count()} CPUs; {threads} threads; best of {rounds} alternating rounds.\n")
    print("| model | figure | cartlsp | llama.cpp FA off | llama.cpp FA on | ratio |")
    print("|---|---|--:|--:|--:|--:|")
    for name in names:
        ll = lines(f"{tmp}/{name}.llama.jsonl")
        cl = lines(f"{tmp}/{name}.cartlsp.jsonl")

        def llama(fa, p, n, d):
            ts = [r["avg_ts"] for r in ll if bool(r.get("flash_attn")) == bool(fa) and r["n_prompt"] == p
                  and r["n_gen"] == n and r.get("n_depth", 0) == d]
            return max(ts) if ts else float("nan")

        def ours(prompt, key):
            ts = [r[key] for r in cl if r["prompt_tokens"] == prompt]
            return max(ts) if ts else float("nan")

        rows = [
            ("prefill 512 tok/s", ours(512, "prefill_tok_per_s"), llama(0, 512, 0, 0), llama(1, 512, 0, 0)),
            (f"prefill {long} tok/s", ours(long, "prefill_tok_per_s"), llama(0, long, 0, 0), llama(1, long, 0, 0)),
            ("decode 128 after 512, tok/s", ours(512, "decode_tok_per_s"), llama(0, 0, 128, 512), llama(1, 0, 128, 512)),
            (f"decode 128 after {long}, tok/s", ours(long, "decode_tok_per_s"), llama(0, 0, 128, long),
             llama(1, 0, 128, long)),
        ]
        for fig, c, off, on in rows:
            print(f"| {name} | {fig} | {c:.1f} | {off:.1f} | {on:.1f} | {c / max(off, on):.2f}× |")
        rss_c = min(floats(f"{tmp}/{name}.cartlsp-rss") or [float("nan")])
        rss_off = min(floats(f"{tmp}/{name}.llama-rss.fa0") or [float("nan")])
        rss_on = min(floats(f"{tmp}/{name}.llama-rss.fa1") or [float("nan")])
        print(f"| {name} | peak RSS MiB, {long}+128 tokens | {rss_c:.0f} | {rss_off:.0f} | {rss_on:.0f} | "
              f"{rss_c / min(rss_off, rss_on):.2f}× |")


if __name__ == "__main__":
    main()
