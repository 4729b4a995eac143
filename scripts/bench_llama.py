#!/usr/bin/env python3
"""Prefill and decode speed of llama.cpp (llama-cpp-python) on a GGUF model,
measured the way `cartlsp bench` measures: a pseudo-random prompt prefilled in
one batch, then tokens decoded one at a time greedily after it. Prints one
JSON object like `cartlsp bench --json`.

Usage: python3 scripts/bench_llama.py MODEL.gguf THREADS [PROMPT=512] [GEN=128] [REPS=3]
"""
import json
import random
import resource
import sys
import time

import numpy as np
import llama_cpp


def main():
    model, threads = sys.argv[1], int(sys.argv[2])
    n_prompt = int(sys.argv[3]) if len(sys.argv) > 3 else 512
    n_gen = int(sys.argv[4]) if len(sys.argv) > 4 else 128
    reps = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    llm = llama_cpp.Llama(model_path=model, n_ctx=n_prompt + n_gen + 16, n_batch=n_prompt, n_ubatch=n_prompt,
                          n_threads=threads, n_threads_batch=threads, logits_all=False, flash_attn=False,
                          verbose=False)
    vocab = llm.n_vocab()
    rng = random.Random(1)
    prompt = [rng.randrange(llm.n_vocab()) for _ in range(n_prompt)]
    pre, dec = [], []
    for _ in range(reps):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        t1 = time.perf_counter()
        for _ in range(n_gen):
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(vocab,))
            nxt = int(np.argmax(logits))
            llm.eval([nxt])
        t2 = time.perf_counter()
        pre.append(n_prompt / (t1 - t0))
        dec.append(n_gen / (t2 - t1))
    pre.sort()
    dec.sort()
    print(json.dumps({
        "backend": "llama.cpp " + llama_cpp.__version__,
        "threads": threads, "prompt_tokens": n_prompt, "gen_tokens": n_gen,
        "prefill_tok_per_s": pre[len(pre) // 2], "decode_tok_per_s": dec[len(dec) // 2],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "reps": reps,
    }))


if __name__ == "__main__":
    main()
