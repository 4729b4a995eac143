#!/usr/bin/env python3
"""Latency of the language server (`cartlsp serve`) as an editor sees it.

Starts the real server as a subprocess speaking LSP over stdio, for two
conditions on the same repository and the same questions and positions:

  cartridge   initializationOptions {"store": STORE, "autoTrain": false}, where
              STORE holds HEAD's Cartridge (cartridge/status says source
              "cartridge");
  in-context  {"store": <an empty temporary store>, "autoTrain": false}: the
              server answers with the corpus in context (inContextTokens).

and measures, per condition:
  - cartridge/ask time to first token, client side (from sending the request
    to the first $/progress text of its partialResultToken), next to the
    server's timings.firstTokenMs and totalMs; the first question after start
    (sent as soon as cartridge/status leaves "starting": it waits for the
    Cartridge to load or the corpus to be prefilled) apart from the others;
  - textDocument/completion latency (send -> response) at seeded-random
    positions in the repository's .go files: ends of non-blank lines, and
    "typing" runs where each request is one character further in the same
    line (the server reuses the cache of the last completion), with
    completion.latencyMs set high so that latency is measured, not cut off.

The conditions alternate (A, B, A, B, ...; one server alive at a time) for
ROUNDS rounds. Writes OUT/lsp-latency.json and OUT/lsp-latency.md.

Usage (from the repository root; settings also from the environment):
  python3 scripts/lsp_latency.py [--rounds R] [--questions Q.jsonl] [--nq N] ...
  BIN=bin/cartlsp OUT=bin/lsp-latency REPO=... STORE=... ROUNDS=3 NQ=5 NC=20

Without REPO/STORE it clones bin/incremental/repo into OUT/repo (commit
0e97ed3) and copies bin/incremental/store-inc to OUT/store (both made by
scripts/incremental.sh; note that the server does not find those Cartridges,
trained with --exclude '*_test.go'); without them it says what to do. --train
clones github.com/google/uuid when there is no repository and runs `cartlsp
train --store STORE REPO` (10-15 min on 2 cores when HEAD's Cartridge is
missing, a no-op otherwise). --loose-objects (LOOSE_OBJECTS=1) clones into
OUT/repo-loose with every object loose, around the server's start-up race on
go-git's pack index (docs/BENCHMARKS.md). A server whose first status is
not what its condition needs is started again (--start-tries) and recorded.
Python 3 standard library only.
"""
import argparse
import datetime
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_COMMIT = "0e97ed3"
UPSTREAM = "https://github.com/google/uuid"


def log(*a):
    print("[lsp-latency]", *a, file=sys.stderr, flush=True)


def sh(argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kw).stdout.strip()


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def uptime():
    try:
        return sh(["uptime"])
    except Exception:
        return "load average: %.2f, %.2f, %.2f" % tuple(loadavg())


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def utf16len(s):
    return len(s.encode("utf-16-le")) // 2


def file_uri(path):
    return "file://" + os.path.abspath(path)


# ---------------------------------------------------------------- LSP client


class Server:
    """One `cartlsp serve` process and a JSON-RPC client for it."""

    def __init__(self, argv, cwd, stderr_path):
        self.err = open(stderr_path, "ab")
        self.t_spawn = time.monotonic()
        self.p = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err)
        self.wlock = threading.Lock()
        self.cond = threading.Condition()
        self.next_id = 0
        self.responses = {}  # id -> (t, msg)
        self.progress = {}  # token -> [(t, text)]
        self.statuses = []  # (t, params)
        self.server_requests = []  # (method, params)
        self.notes = []  # (t, method) of other notifications
        self.closed = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _write(self, msg):
        body = json.dumps(msg, separators=(",", ":")).encode()
        with self.wlock:
            self.p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.p.stdin.flush()

    def _read(self):
        out = self.p.stdout
        try:
            while True:
                n = None
                while True:
                    line = out.readline()
                    if not line:
                        raise EOFError
                    line = line.strip()
                    if not line:
                        break
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        n = int(v)
                body = out.read(n)
                t = time.monotonic()
                if len(body) < n:
                    raise EOFError
                self._dispatch(t, json.loads(body))
        except (EOFError, ValueError, OSError):
            pass
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def _dispatch(self, t, msg):
        method = msg.get("method")
        if method is not None and "id" in msg:  # a request from the server
            result = None
            if method == "workspace/configuration":
                result = [None for _ in (msg.get("params") or {}).get("items", [])]
            self.server_requests.append(method)
            self._write({"jsonrpc": "2.0", "id": msg["id"], "result": result})
            return
        with self.cond:
            if method is None:
                self.responses[msg.get("id")] = (t, msg)
            elif method == "$/progress":
                prm = msg.get("params") or {}
                val = prm.get("value")
                if isinstance(val, dict) and "text" in val:
                    self.progress.setdefault(json.dumps(prm.get("token")), []).append((t, val["text"]))
            elif method == "cartridge/status":
                self.statuses.append((t, msg.get("params") or {}))
            else:
                self.notes.append((t, method))
            self.cond.notify_all()

    def request(self, method, params):
        """Sends a request; returns (id, send time)."""
        self.next_id += 1
        i = self.next_id
        t = time.monotonic()
        self._write({"jsonrpc": "2.0", "id": i, "method": method, "params": params})
        return i, t

    def notify(self, method, params):
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    def wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                v = pred()
                if v:
                    return v
                if self.closed:
                    raise RuntimeError(f"server closed its output while waiting for {what} (see {self.err.name})")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {what} in {timeout:.0f} s")
                self.cond.wait(left)

    def response(self, i, timeout, what):
        t, msg = self.wait(lambda: self.responses.get(i), timeout, what)
        if "error" in msg:
            raise RuntimeError(f"{what}: error {msg['error']}")
        return t, msg.get("result")

    def close(self, timeout=60):
        """shutdown + exit; returns the exit code."""
        try:
            i, _ = self.request("shutdown", None)
            self.response(i, timeout, "shutdown response")
            self.notify("exit", None)
            self.p.stdin.close()
        except (OSError, RuntimeError, TimeoutError) as e:
            log("shutdown failed:", e)
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            log(f"server {self.p.pid} did not exit in {timeout} s; killing it")
            self.p.kill()
            rc = self.p.wait()
        self.reader.join(5)
        self.err.close()
        return rc


# ------------------------------------------------------------ the workload


class StartError(RuntimeError):
    """The server's first status is not what the condition needs."""


def read_questions(path, n):
    qs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                qs.append(json.loads(line)["question"])
            if len(qs) >= n:
                break
    if not qs:
        sys.exit(f"no questions in {path}")
    return qs


def completion_positions(repo, files, seed, n_end, n_typing, typing_len):
    """Seeded positions: line ends, and typing runs (one character further
    each time in the same line). Returns a list of groups, each a list of
    dicts {file, line, character, kind}."""
    rng = random.Random(seed)
    lines = {}
    for f in files:
        with open(os.path.join(repo, f), encoding="utf-8", errors="replace") as fh:
            lines[f] = fh.read().split("\n")
    groups = []
    for _ in range(n_end):
        while True:
            f = rng.choice(files)
            i = rng.randrange(len(lines[f]))
            if lines[f][i].strip():
                break
        groups.append([{"file": f, "line": i, "character": utf16len(lines[f][i]), "kind": "line-end"}])
    for _ in range(n_typing):
        while True:
            f = rng.choice(files)
            i = rng.randrange(len(lines[f]))
            text = lines[f][i]
            indent = len(text) - len(text.lstrip())
            if text.isascii() and len(text) - indent >= typing_len + 2:
                break
        c0 = rng.randrange(indent + 1, len(text) - typing_len + 1)
        groups.append([{"file": f, "line": i, "character": c0 + k, "kind": "typing-first" if k == 0 else "typing-next"}
                       for k in range(typing_len)])
    rng.shuffle(groups)
    return groups


def run_session(a, cond, rnd, store, repo, questions, groups, logdir):
    opts = {"store": store, "autoTrain": False, "completion": {"latencyMs": a.latency_ms}}
    argv = [a.bin, "serve", "--threads", str(a.threads)]
    load0 = loadavg()
    srv = Server(argv, cwd=repo, stderr_path=os.path.join(logdir, f"{cond}-r{rnd}.log"))
    sess = {"condition": cond, "round": rnd, "store": store, "load_start": load0}
    try:
        caps = {"window": {"workDoneProgress": True},
                "textDocument": {"completion": {"completionItem": {"snippetSupport": False}}}}
        i, t = srv.request("initialize", {"processId": os.getpid(), "rootUri": file_uri(repo),
                                          "workspaceFolders": [{"uri": file_uri(repo), "name": os.path.basename(repo)}],
                                          "capabilities": caps, "initializationOptions": opts})
        srv.response(i, 60, "initialize response")
        srv.notify("initialized", {})
        t_init = time.monotonic()
        # Ready: the first status past "starting" (model loaded, store looked up).
        t_ready, st = srv.wait(lambda: next(((t, s) for t, s in srv.statuses if s.get("state") != "starting"), None),
                               a.timeout, "cartridge/status past starting")
        sess["ready_ms"] = (t_ready - srv.t_spawn) * 1e3
        sess["status"] = st
        log(f"  {cond} r{rnd}: ready in {sess['ready_ms']:.0f} ms: state={st.get('state')} source={st.get('source')}"
            f" cartridgeCommit={st.get('cartridgeCommit', '')[:12]}: {st.get('message')}")
        want = "cartridge" if cond == "cartridge" else "in-context"
        sess["status_error"] = st.get("state") == "error"
        if st.get("state") == "error" and st.get("source") == want == "in-context":
            # What answers is the same as in state "idle" (the corpus in
            # context); the error is kept in the results.
            log(f"  {cond} r{rnd}: status error, but answering {want} as it should: measuring")
        elif st.get("state") == "error":
            raise StartError(f"cartridge/status state error: {json.dumps(st)}")
        if st.get("source") != want:
            hint = ""
            if cond == "cartridge":
                hint = (" (the server looks HEAD's Cartridge up by model, corpus and recipe: the corpus is every tracked text"
                        " file, so a Cartridge trained with `cartlsp train --exclude ...` or another budget/p is not found;"
                        " --train trains the one it looks for)")
            raise StartError(f"{cond}: cartridge/status says source {st.get('source')!r}, want {want!r}: {json.dumps(st)}{hint}")

        asks = []
        for qi, q in enumerate(questions):
            tok = f"ask-{cond}-{rnd}-{qi}"
            i, t0 = srv.request("cartridge/ask", {"question": q, "partialResultToken": tok})
            t1, res = srv.response(i, a.timeout, f"cartridge/ask {qi}")
            pieces = srv.progress.get(json.dumps(tok), [])
            ttft = (pieces[0][0] - t0) * 1e3 if pieces else None
            tm = res.get("timings", {})
            row = {"i": qi, "first": qi == 0, "ttft_ms": ttft, "client_total_ms": (t1 - t0) * 1e3,
                   "server_first_token_ms": tm.get("firstTokenMs"), "server_total_ms": tm.get("totalMs"),
                   "prompt_tokens": tm.get("promptTokens"), "generated_tokens": tm.get("generatedTokens"),
                   "pieces": len(pieces), "source": res.get("source"), "commit": res.get("commit"),
                   "stop": res.get("stopReason"), "note": res.get("note"), "answer": res.get("answer")}
            asks.append(row)
            log(f"  {cond} r{rnd} ask {qi}: ttft {ttft if ttft is None else round(ttft)} ms (server "
                f"{tm.get('firstTokenMs', 0):.0f}), total {tm.get('totalMs', 0):.0f} ms, "
                f"{tm.get('generatedTokens')} tokens, source {res.get('source')}")
            if res.get("source") != want:
                raise (StartError if qi == 0 else RuntimeError)(f"{cond}: cartridge/ask answered from {res.get('source')!r}, want {want!r}: note {res.get('note')!r}")
        sess["asks"] = asks

        comps = []
        opened = set()
        for g in groups:
            for pos in g:
                f = pos["file"]
                u = file_uri(os.path.join(repo, f))
                if f not in opened:
                    with open(os.path.join(repo, f), encoding="utf-8", errors="replace") as fh:
                        srv.notify("textDocument/didOpen", {"textDocument": {"uri": u, "languageId": "go", "version": 1, "text": fh.read()}})
                    opened.add(f)
                i, t0 = srv.request("textDocument/completion", {"textDocument": {"uri": u},
                                                                 "position": {"line": pos["line"], "character": pos["character"]}})
                t1, res = srv.response(i, a.timeout, "textDocument/completion")
                items = res.get("items", []) if isinstance(res, dict) else (res or [])
                label = items[0].get("label") if items else ""
                detail = items[0].get("detail") if items else ""
                comps.append(dict(pos, latency_ms=(t1 - t0) * 1e3, nonempty=bool(items), label=label, detail=detail))
        sess["completions"] = comps
        ne = sum(c["nonempty"] for c in comps)
        log(f"  {cond} r{rnd}: {len(comps)} completions, {ne} non-empty, median "
            f"{pct([c['latency_ms'] for c in comps], 50):.0f} ms")
    finally:
        rc = srv.close()
        sess["exit_code"] = rc
        sess["server_requests"] = sorted(set(srv.server_requests))
        sess["load_end"] = loadavg()
        if rc != 0:
            log(f"  {cond} r{rnd}: server exit code {rc}")
    return sess


# ------------------------------------------------------------ statistics


def pct(xs, p):
    """Percentile with linear interpolation between closest ranks."""
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def metrics(sessions, cond):
    ss = [s for s in sessions if s["condition"] == cond]
    asks = [a for s in ss for a in s.get("asks", [])]
    comps = [c for s in ss for c in s.get("completions", [])]
    first = [a for a in asks if a["first"]]
    rest = [a for a in asks if not a["first"]]

    def decode_rate(a):
        g, ft, tot = a["generated_tokens"], a["server_first_token_ms"], a["server_total_ms"]
        if not g or g < 2 or tot is None or ft is None or tot <= ft:
            return None
        return (g - 1) / ((tot - ft) / 1e3)

    m = {
        "server ready (spawn → status), ms": [s["ready_ms"] for s in ss if "ready_ms" in s],
        "ask, first question: TTFT (client), ms": [a["ttft_ms"] for a in first],
        "ask, first question: firstTokenMs (server), ms": [a["server_first_token_ms"] for a in first],
        "ask, first question: totalMs (server), ms": [a["server_total_ms"] for a in first],
        "ask, next questions: TTFT (client), ms": [a["ttft_ms"] for a in rest],
        "ask, next questions: firstTokenMs (server), ms": [a["server_first_token_ms"] for a in rest],
        "ask, next questions: totalMs (server), ms": [a["server_total_ms"] for a in rest],
        "ask, all: generated tokens": [a["generated_tokens"] for a in asks],
        "ask, all: decode tok/s (after the first token)": [decode_rate(a) for a in asks],
        "completion, all, ms": [c["latency_ms"] for c in comps],
        "completion, line end, ms": [c["latency_ms"] for c in comps if c["kind"] == "line-end"],
        "completion, typing: first of a run, ms": [c["latency_ms"] for c in comps if c["kind"] == "typing-first"],
        "completion, typing: next keystroke, ms": [c["latency_ms"] for c in comps if c["kind"] == "typing-next"],
    }
    out = {}
    for k, xs in m.items():
        xs = [x for x in xs if x is not None]
        out[k] = {"n": len(xs), "p50": pct(xs, 50), "p95": pct(xs, 95), "values": [round(x, 1) for x in xs]}
    nonempty = {}
    for kind in ("all", "line-end", "typing-first", "typing-next"):
        cs = [c for c in comps if kind == "all" or c["kind"] == kind]
        nonempty[kind] = [sum(c["nonempty"] for c in cs), len(cs)]
    return out, nonempty


def fmt(x, unit_ms=True):
    if x != x:  # nan
        return "–"
    if unit_ms and x >= 100:
        return f"{x:,.0f}"
    return f"{x:.1f}" if x < 100 else f"{x:.0f}"


def start_summary(res):
    out = []
    for cond in ("cartridge", "in-context"):
        fails = [f for f in res["start_failures"] if f["condition"] == cond]
        n = sum(1 for x in res["sessions"] if x["condition"] == cond)
        errs = sum(1 for x in res["sessions"] if x["condition"] == cond and x.get("status_error"))
        kinds = sorted({f["error"].split(":", 1)[0] if "state error" not in f["error"] else
                        "status error: " + json.loads(f["error"].split(": ", 1)[1]).get("error", "")[:90]
                        for f in fails})
        line = f"{cond}: {n} servers measured, {len(fails)} starts retried"
        if kinds:
            line += " (" + "; ".join(kinds) + ")"
        if errs:
            line += f", {errs} measured with cartridge/status state \"error\" (answering in context as intended)"
        out.append(line)
    return "Server starts: " + "; ".join(out) + "."


def markdown(res):
    mc, mi = res["summary"]["cartridge"], res["summary"]["in-context"]
    env = res["environment"]
    lines = [
        f"Measured {res['started'][:16].replace('T', ' ')} UTC; {env['nproc']} cores ({env['cpu']}); "
        f"server `--threads {res['config']['threads']}`; model {os.path.basename(env['model'])}; "
        f"repository {res['config']['repo_commit'][:7]} ({res['config']['repo_files']} .go files); "
        f"cartlsp {env['cartlsp_commit'][:7]}{' (+ uncommitted changes)' if any(env['cartlsp_changes']) else ''}.",
        f"{res['config']['rounds']} rounds × (cartridge, in-context), {len(res['config']['questions'])} questions "
        f"and {res['config']['completions_per_round']} completions per server; p50 / p95 (n).",
        f"Load at start: `{env['uptime_start']}`; at end: `{env['uptime_end']}`.",
        start_summary(res),
        "",
        "| metric | Cartridge (p=%s) | in-context (%s tokens) | in-context / Cartridge (p50) |"
        % (res["cartridge_p"] or "?", res["in_context_tokens"] or "?"),
        "|---|--:|--:|--:|",
    ]
    for k in mc:
        a, b = mc[k], mi[k]
        if not a["n"] and not b["n"]:
            continue
        ratio = b["p50"] / a["p50"] if a["n"] and b["n"] and a["p50"] else float("nan")
        lines.append(f"| {k} | {fmt(a['p50'])} / {fmt(a['p95'])} ({a['n']}) | {fmt(b['p50'])} / {fmt(b['p95'])} ({b['n']}) "
                     f"| {'–' if ratio != ratio else f'{ratio:.2f}'} |")
    nc, ni = res["summary_nonempty"]["cartridge"], res["summary_nonempty"]["in-context"]
    for kind in ("all", "line-end", "typing-first", "typing-next"):
        lines.append(f"| completion, non-empty items ({kind}) | {nc[kind][0]} of {nc[kind][1]} | {ni[kind][0]} of {ni[kind][1]} | |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------ setup


def unpack_objects(repo):
    """Turns the clone's packs into loose objects (see --loose-objects)."""
    pack_dir = os.path.join(repo, ".git", "objects", "pack")
    packs = [f for f in os.listdir(pack_dir) if f.endswith(".pack")]
    tmp = tempfile.mkdtemp(prefix="packs-")
    try:
        for f in os.listdir(pack_dir):
            shutil.move(os.path.join(pack_dir, f), os.path.join(tmp, f))
        for f in packs:
            with open(os.path.join(tmp, f), "rb") as fh:
                subprocess.run(["git", "-C", repo, "unpack-objects", "-q"], stdin=fh, check=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ensure_repo(a):
    if a.repo:
        return os.path.abspath(a.repo)
    repo = os.path.join(a.out, "repo-loose" if a.loose_objects else "repo")
    if os.path.isdir(os.path.join(repo, ".git")):
        return repo
    src = os.path.join(ROOT, "bin", "incremental", "repo")
    if os.path.isdir(os.path.join(src, ".git")):
        log(f"cloning {src} into {repo} at {a.commit}")
    elif a.train:
        src = UPSTREAM
        log(f"cloning {src} into {repo} at {a.commit}")
    else:
        sys.exit(missing_help(a))
    sh(["git", "clone", "-q", src, repo])
    sh(["git", "-C", repo, "checkout", "-q", a.commit])
    if a.loose_objects:
        log(f"unpacking the objects of {repo}")
        unpack_objects(repo)
    return repo


def ensure_store(a, repo):
    """The store with HEAD's Cartridge: STORE, else OUT/store (a copy of
    bin/incremental/store-inc when there is one). With --train, `cartlsp
    train --store S REPO` puts HEAD's Cartridge there as the server keys it
    (it does nothing when the store has it already)."""
    store = os.path.abspath(a.store) if a.store else os.path.join(a.out, "store")
    if not os.path.isdir(store):
        src = os.path.join(ROOT, "bin", "incremental", "store-inc")
        if a.store:
            sys.exit(f"STORE {store} does not exist")
        if os.path.isdir(src):
            log(f"copying {src} to {store}")
            shutil.copytree(src, store, symlinks=True)
        elif a.train:
            os.makedirs(store)
        else:
            sys.exit(missing_help(a))
    if a.train:
        log(f"{a.bin} train --store {store} {repo} (when HEAD's Cartridge is missing: about 10-15 min on 2 cores)")
        t0 = time.monotonic()
        subprocess.run([a.bin, "train", "--quiet", "--store", store, "--threads", str(a.threads), repo], check=True)
        log(f"train took {time.monotonic() - t0:.0f} s")
    return store


def missing_help(a):
    return (f"no repository/store: {os.path.join(ROOT, 'bin', 'incremental')} is missing (scripts/incremental.sh makes it).\n"
            f"Either run this script with --train (it clones {UPSTREAM}, checks out {a.commit} and runs "
            f"`{a.bin} train --store {os.path.join(a.out, 'store')} REPO`, about 10-15 min on 2 cores), or by hand:\n"
            f"  git clone {UPSTREAM} R && git -C R checkout {a.commit}\n"
            f"  {a.bin} train --store S R\n"
            f"  REPO=R STORE=S python3 scripts/lsp_latency.py")


def wait_for_load(a):
    if a.wait_load <= 0:
        return
    deadline = time.monotonic() + a.wait_max
    while True:
        l1 = loadavg()[0]
        if l1 < a.wait_load:
            log(f"load {l1:.2f} < {a.wait_load}: starting")
            return
        if time.monotonic() >= deadline:
            log(f"load {l1:.2f} still ≥ {a.wait_load} after {a.wait_max:.0f} s: starting anyway")
            return
        log(f"load {l1:.2f} ≥ {a.wait_load}: waiting 60 s")
        time.sleep(60)


def main():
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=env("BIN", "bin/cartlsp"))
    ap.add_argument("--out", default=env("OUT", "bin/lsp-latency"))
    ap.add_argument("--repo", default=env("REPO"), help="the git repository (default: OUT/repo, cloned)")
    ap.add_argument("--store", default=env("STORE"), help="a store holding HEAD's Cartridge (default: OUT/store, copied)")
    ap.add_argument("--commit", default=env("COMMIT", DEFAULT_COMMIT), help="commit checked out when cloning")
    ap.add_argument("--train", action="store_true",
                    help="clone upstream when there is no repository, and train HEAD's Cartridge into the store when it is missing")
    ap.add_argument("--loose-objects", action="store_true", default=env("LOOSE_OBJECTS", "") not in ("", "0"),
                    help="clone into OUT/repo-loose with every object loose (no pack): works around the server's "
                         "start-up race on go-git's pack index, which makes it miss HEAD's Cartridge (docs/BENCHMARKS.md)")
    ap.add_argument("--rounds", type=int, default=int(env("ROUNDS", "3")))
    ap.add_argument("--questions", default=env("QUESTIONS", "testdata/questions/uuid.jsonl"))
    ap.add_argument("--nq", type=int, default=int(env("NQ", "5")), help="questions per server (the first N)")
    ap.add_argument("--nc", type=int, default=int(env("NC", "20")), help="completions per server (about)")
    ap.add_argument("--typing-len", type=int, default=int(env("TYPING_LEN", "4")), help="requests per typing run")
    ap.add_argument("--conditions", default=env("CONDITIONS", "cartridge,in-context"),
                    help="comma-separated, in the order each round runs them")
    ap.add_argument("--seed", type=int, default=int(env("SEED", "1")))
    ap.add_argument("--threads", type=int, default=int(env("THREADS", "2")))
    ap.add_argument("--latency-ms", type=int, default=60000, help="completion.latencyMs")
    ap.add_argument("--start-tries", type=int, default=20, help="server starts tried per session (a failed one is recorded)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds to wait for any one response")
    ap.add_argument("--wait-load", type=float, default=float(env("WAIT_LOAD", "1.0")),
                    help="wait for the 1-minute load average to fall below this first (0: do not wait)")
    ap.add_argument("--wait-max", type=float, default=float(env("WAIT_MAX", "900")))
    a = ap.parse_args()
    os.chdir(ROOT)
    a.bin = os.path.abspath(a.bin)
    a.out = os.path.abspath(a.out)
    os.makedirs(a.out, exist_ok=True)
    logdir = os.path.join(a.out, "logs")
    os.makedirs(logdir, exist_ok=True)
    if not os.access(a.bin, os.X_OK):
        sys.exit(f"{a.bin} is missing: go build -o bin/cartlsp ./cmd/cartlsp")

    repo = ensure_repo(a)
    store = ensure_store(a, repo)
    questions = read_questions(a.questions, a.nq)
    files = sorted(f for f in sh(["git", "-C", repo, "ls-files", "*.go"]).split("\n") if f)
    n_typing = (a.nc + 2 * a.typing_len - 1) // (2 * a.typing_len)  # about half the requests in typing runs
    n_end = max(0, a.nc - n_typing * a.typing_len)

    started = datetime.datetime.now(datetime.timezone.utc).isoformat()
    wait_for_load(a)
    res = {
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "command": " ".join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]),
        "environment": {
            "nproc": os.cpu_count(), "cpu": cpu_model(), "uptime_start": uptime(), "load_start": loadavg(),
            "model": sh([a.bin, "model", "path"]),
            "cartlsp_commit": sh(["git", "-C", ROOT, "rev-parse", "HEAD"]),
            "cartlsp_changes": sh(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"]).split("\n"),
            "invoked": started,
        },
        "config": {"bin": a.bin, "repo": repo, "loose_objects": a.loose_objects, "repo_commit": sh(["git", "-C", repo, "rev-parse", "HEAD"]),
                   "repo_files": len(files), "store": store, "rounds": a.rounds, "questions_file": a.questions,
                   "questions": questions, "completions_per_round": n_end + n_typing * a.typing_len,
                   "line_ends": n_end, "typing_runs": n_typing, "typing_len": a.typing_len, "seed": a.seed,
                   "threads": a.threads, "completion_latency_ms": a.latency_ms},
        "sessions": [],
        "start_failures": [],
    }
    try:
        res["environment"]["nproc_cmd"] = int(sh(["nproc"]))
    except Exception:
        pass
    log(f"repo {repo} @ {res['config']['repo_commit'][:12]}, store {store}, {len(questions)} questions, "
        f"{n_end} line ends + {n_typing}×{a.typing_len} typing per server, {a.rounds} rounds; {res['environment']['uptime_start']}")

    failed = None
    for rnd in range(1, a.rounds + 1):
        groups = completion_positions(repo, files, f"{a.seed}:{rnd}", n_end, n_typing, a.typing_len)
        for cond in a.conditions.split(","):
            empty = None
            st = store
            if cond == "in-context":
                empty = tempfile.mkdtemp(prefix="store-empty-", dir=a.out)
                st = empty
            log(f"round {rnd}/{a.rounds}: {cond}")
            try:
                for attempt in range(a.start_tries):
                    try:
                        sess = run_session(a, cond, rnd, st, repo, questions, groups, logdir)
                        break
                    except StartError as e:
                        # The server did not come up as it should (recorded; an
                        # intermittent start-up error is retried, a missing
                        # Cartridge fails every time).
                        res["start_failures"].append({"condition": cond, "round": rnd, "attempt": attempt + 1, "error": str(e)})
                        log(f"  start failed (attempt {attempt + 1} of {a.start_tries}): {e}")
                        if attempt + 1 == a.start_tries:
                            raise
                res["sessions"].append(sess)
                if sess["exit_code"] != 0:
                    failed = f"{cond} round {rnd}: server exit code {sess['exit_code']}"
            except Exception as e:  # keep what was measured, then stop
                failed = f"{cond} round {rnd}: {e}"
                log("FAILED:", failed)
            finally:
                if empty:
                    shutil.rmtree(empty, ignore_errors=True)
            if failed:
                break
        if failed:
            break

    res["environment"]["uptime_end"] = uptime()
    res["environment"]["load_end"] = loadavg()
    res["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
    res["failed"] = failed
    res["summary"], res["summary_nonempty"] = {}, {}
    for cond in ("cartridge", "in-context"):
        res["summary"][cond], res["summary_nonempty"][cond] = metrics(res["sessions"], cond)
    cart = next((s for s in res["sessions"] if s["condition"] == "cartridge"), None)
    res["cartridge_p"] = None
    if cart and cart.get("status", {}).get("cartridge"):
        res["cartridge_file"] = cart["status"]["cartridge"]
        try:
            m = re.search(r"p = (\d+) virtual tokens", sh([a.bin, "inspect", res["cartridge_file"]]))
            res["cartridge_p"] = int(m.group(1)) if m else None
        except Exception:
            pass
    res["in_context_tokens"] = None
    ic = next((q for s in res["sessions"] if s["condition"] == "in-context" for q in s.get("asks", [])), None)
    if ic and ic.get("note"):
        res["in_context_note"] = ic["note"]
        m = re.search(r"(\d+) of its (\d+) tokens", ic["note"]) or re.search(r"\((\d+) tokens in", ic["note"])
        res["in_context_tokens"] = int(m.group(1)) if m else None
    js = os.path.join(a.out, "lsp-latency.json")
    md = os.path.join(a.out, "lsp-latency.md")
    with open(js, "w") as f:
        json.dump(res, f, indent=1)
    table = markdown(res)
    with open(md, "w") as f:
        f.write(table)
    print(table)
    log(f"wrote {js} and {md}")
    if failed:
        sys.exit(f"failed: {failed}")


if __name__ == "__main__":
    main()
