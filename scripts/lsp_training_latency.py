#!/usr/bin/env python3
"""Questions asked while a Cartridge trains: `cartlsp serve` with the training
pausing for requests (the default) and with --train-alongside, side by side.

Each round starts one server of each kind on google/uuid at d55c313 with an
empty store (so it trains, budget small, and answers with the corpus in
context meanwhile), waits until the training is synthesizing, then asks
NQ questions one after the other and records time to first token and total
time; servers alternate so that machine noise hits both. A third, idle
server (autoTrain off) gives the baseline.

  scripts/lsp_training_latency.py     env: BIN (bin/cartlsp), OUT (bin/lsp-training),
                                      ROUNDS (3), NQ (4), URL (https://github.com/google/uuid)
"""
import json, os, shutil, statistics, subprocess, sys, threading, time

BIN = os.path.abspath(os.environ.get("BIN", "bin/cartlsp"))
OUT = os.path.abspath(os.environ.get("OUT", "bin/lsp-training"))
ROUNDS, NQ = int(os.environ.get("ROUNDS", "3")), int(os.environ.get("NQ", "4"))
URL = os.environ.get("URL", "https://github.com/google/uuid")
COMMIT = "d55c313"


def serve(flags, store, repo, auto):
    p = subprocess.Popen([BIN, "serve", "--threads", "2"] + flags, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=open(os.path.join(OUT, "server.log"), "a"))
    msgs, lock = [], threading.Lock()

    def send(m):
        m["jsonrpc"] = "2.0"
        b = json.dumps(m).encode()
        p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(b) + b)
        p.stdin.flush()

    def reader():
        while True:
            h = p.stdout.readline()
            if not h:
                return
            n = int(h.split(b":")[1])
            p.stdout.readline()
            m = json.loads(p.stdout.read(n))
            with lock:
                msgs.append((time.time(), m))
            if "id" in m and "method" in m:
                send({"id": m["id"], "result": None})

    threading.Thread(target=reader, daemon=True).start()

    def wait(pred, timeout=900):
        end = time.time() + timeout
        while time.time() < end:
            with lock:
                for t, m in msgs:
                    if pred(m):
                        return t, m
            time.sleep(0.01)
        raise SystemExit("timed out; see %s/server.log" % OUT)

    send({"id": 1, "method": "initialize", "params": {"processId": None, "rootUri": "file://" + repo,
          "capabilities": {"window": {"workDoneProgress": True}},
          "initializationOptions": {"budget": "small", "store": store, "autoTrain": auto}}})
    wait(lambda m: m.get("id") == 1)
    send({"method": "initialized", "params": {}})
    if auto:
        wait(lambda m: m.get("method") == "cartridge/status" and m["params"].get("stage") == "synthesis")
    else:
        wait(lambda m: m.get("method") == "cartridge/status" and m["params"]["state"] == "idle")
    time.sleep(5)
    return p, send, wait


def run(name, flags, auto, repo, questions):
    store = os.path.join(OUT, "store-" + name)
    shutil.rmtree(store, ignore_errors=True)
    p, send, wait = serve(flags, store, repo, auto)
    out = []
    for i, q in enumerate(questions):
        tok = "q%d" % i
        t0 = time.time()
        send({"id": 100 + i, "method": "cartridge/ask", "params": {"question": q, "maxTokens": 48, "partialResultToken": tok}})
        tf, _ = wait(lambda m: m.get("method") == "$/progress" and m["params"]["token"] == tok)
        te, r = wait(lambda m: m.get("id") == 100 + i)
        out.append({"first": i == 0, "ttft": tf - t0, "total": te - t0, "source": r["result"]["source"],
                    "tokens": r["result"]["timings"]["generatedTokens"]})
    send({"id": 99, "method": "shutdown"})
    wait(lambda m: m.get("id") == 99)
    send({"method": "exit"})
    if p.wait(timeout=120) != 0:
        raise SystemExit("%s: exit code %d" % (name, p.returncode))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    repo = os.path.join(OUT, "repo")
    if not os.path.isdir(os.path.join(repo, ".git")):
        local = "bin/incremental/repo"
        subprocess.run(["git", "clone", "-q", local if os.path.isdir(local) else URL, repo], check=True)
    subprocess.run(["git", "-C", repo, "checkout", "-q", COMMIT], check=True)
    questions = [json.loads(l)["question"] for l in open("testdata/questions/uuid.jsonl")][:NQ]
    kinds = [("pausing", [], True), ("alongside", ["--train-alongside"], True), ("idle", [], False)]
    res = {k: [] for k, _, _ in kinds}
    load0 = open("/proc/loadavg").read().split()[0]
    for rnd in range(ROUNDS):
        for name, flags, auto in kinds:
            r = run(name, flags, auto, repo, questions)
            res[name] += r
            print(name, rnd, ["%.2f/%.2f" % (x["ttft"], x["total"]) for x in r], file=sys.stderr, flush=True)
    med = lambda xs: statistics.median(xs) if xs else float("nan")
    rows = []
    for name, _, _ in kinds:
        first = [x for x in res[name] if x["first"]]
        nxt = [x for x in res[name] if not x["first"]]
        rows.append((name, med([x["ttft"] for x in first]), med([x["total"] for x in first]),
                     med([x["ttft"] for x in nxt]), med([x["total"] for x in nxt]), len(first), len(nxt),
                     sorted({x["source"] for x in res[name]})))
    lines = ["%d rounds, %d questions (48 tokens) per server; load %s at start, %s at end; medians, seconds." % (
        ROUNDS, NQ, load0, open("/proc/loadavg").read().split()[0]), "",
        "| server | first question TTFT | first question total | next questions TTFT | next questions total | n (first, next) | source |",
        "|---|--:|--:|--:|--:|--:|---|"]
    for r in rows:
        lines.append("| %s | %.2f | %.2f | %.2f | %.2f | %d, %d | %s |" % (r[0], r[1], r[2], r[3], r[4], r[5], r[6], ", ".join(r[7])))
    md = "\n".join(lines) + "\n"
    open(os.path.join(OUT, "training-latency.md"), "w").write(md)
    json.dump(res, open(os.path.join(OUT, "training-latency.json"), "w"), indent=1)
    print(md)


if __name__ == "__main__":
    main()
