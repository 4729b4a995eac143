#!/usr/bin/env python3
"""Summarise `cartlsp eval` JSON reports as one Markdown table."""
import json
import os
import sys


def human(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def main(paths):
    print("| report | condition | prefix tokens | KV (F16) | NLL/token | MC acc | MC acc (norm) | decode tok/s | note |")
    print("|---|---|--:|--:|--:|--:|--:|--:|---|")
    for p in paths:
        r = json.load(open(p))
        name = os.path.basename(p).removesuffix(".json")
        for s in r["summary"]:
            note = "truncated" if s.get("truncated") else ""
            dec = s.get("decode_tok_s") or 0
            print(f"| {name} | {s['condition']} | {s['prefix_tokens']} | {human(s['kv_bytes'])} | "
                  f"{s['nll_per_token']:.3f} | {100 * s['mc_accuracy']:.1f}% | {100 * s['mc_accuracy_norm']:.1f}% | "
                  f"{dec:.1f} | {note} |")


if __name__ == "__main__":
    main(sys.argv[1:])
