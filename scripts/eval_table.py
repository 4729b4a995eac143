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


def by_visibility(path):
    """NLL/token and MC accuracy per condition, split by whether a question's
    source files lie wholly inside the truncated ICL prefix (files before the
    cut file, in path order) or not."""
    r = json.load(open(path))
    icl = next((s for s in r["summary"] if s["condition"] == "icl" and s.get("truncated")), None)
    if icl is None:
        return
    cut = icl.get("cut_file", "")
    conds = [s["condition"] for s in r["summary"]]
    groups = {"inside the ICL prefix": {}, "cut or left out": {}}
    for q in r["questions"]:
        srcs = [s.strip() for s in q.get("source", "").split(",") if s.strip()]
        inside = srcs and all(s < cut for s in srcs)
        g = groups["inside the ICL prefix" if inside else "cut or left out"]
        for res in q["results"]:
            a = g.setdefault(res["condition"], [0.0, 0, 0, 0])
            a[0] += res["nll"]
            a[1] += res["tokens"]
            a[2] += 1 if res["mc_correct"] else 0
            a[3] += 1
    name = os.path.basename(path).removesuffix(".json")
    print(f"\n{name}: questions by where their source is (ICL keeps the files before {cut}, cut inside it)\n")
    print("| questions | n | " + " | ".join(f"{c} NLL/tok | {c} MC" for c in conds) + " |")
    print("|---|--:|" + "--:|--:|" * len(conds))
    for gname, g in groups.items():
        if not g:
            continue
        n = next(iter(g.values()))[3]
        cells = []
        for c in conds:
            a = g.get(c, [0, 1, 0, 1])
            cells.append(f"{a[0] / max(a[1], 1):.3f} | {100 * a[2] / max(a[3], 1):.0f}%")
        print(f"| {gname} | {n} | " + " | ".join(cells) + " |")


if __name__ == "__main__" and len(sys.argv) > 1:
    for p in sys.argv[1:]:
        by_visibility(p)
