#!/usr/bin/env python3
"""The incremental-training table of docs/RESULTS.md from scripts/incremental.sh's output:
per commit, the wall time and the eval NLL/MC of the incremental and the from-scratch Cartridge.

    scripts/incremental_table.py OUT COMMIT...
"""
import json
import os
import sys


def summary(path, cond):
    if not os.path.exists(path):
        return None
    for s in json.load(open(path))["summary"]:
        if s["condition"] == cond:
            return s
    return None


def main(out, commits):
    times = {}
    if os.path.exists(os.path.join(out, "times.tsv")):
        for line in open(os.path.join(out, "times.tsv")):
            st, c, sec = line.split("\t")
            times[(st, c)] = float(sec)
    none = summary(os.path.join(out, "none.json"), "none")
    if none:
        print(f"No Cartridge: NLL/token {none['nll_per_token']:.3f}, MC {100 * none['mc_accuracy']:.1f}%.\n")
    print("| commit | incremental: time | scratch: time | time ratio | incremental NLL | scratch NLL | NLL ratio | incremental MC | scratch MC |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for c in commits:
        ti, ts = times.get(("store-inc", c)), times.get(("store-scratch", c))
        si = summary(os.path.join(out, f"store-inc-{c}.json"), "cartridge")
        ss = summary(os.path.join(out, f"store-scratch-{c}.json"), "cartridge")
        f = lambda t: f"{t:.0f} s" if t is not None else "—"
        ratio = f"{ti / ts:.2f}" if ti and ts else "—"
        nll = lambda s: f"{s['nll_per_token']:.3f}" if s else "—"
        mc = lambda s: f"{100 * s['mc_accuracy']:.1f}%" if s else "—"
        nr = f"{si['nll_per_token'] / ss['nll_per_token']:.3f}" if si and ss else "—"
        print(f"| {c} | {f(ti)} | {f(ts)} | {ratio} | {nll(si)} | {nll(ss)} | {nr} | {mc(si)} | {mc(ss)} |")
    hist = [("none", summary(os.path.join(out, "hist-none.json"), "none")),
            ("icl", summary(os.path.join(out, "hist-none.json"), "icl")),
            ("incremental", summary(os.path.join(out, "hist-store-inc.json"), "cartridge")),
            ("scratch", summary(os.path.join(out, "hist-store-scratch.json"), "cartridge"))]
    if any(s for _, s in hist):
        print(f"\nQuestions about the changes (uuid-history.jsonl) at {commits[-1]}:\n")
        print("| condition | NLL/token | MC | MC (per-token LL) |")
        print("|---|--:|--:|--:|")
        for name, s in hist:
            if s:
                note = " (truncated)" if s.get("truncated") else ""
                print(f"| {name}{note} | {s['nll_per_token']:.3f} | {100 * s['mc_accuracy']:.1f}% | {100 * s['mc_accuracy_norm']:.1f}% |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
