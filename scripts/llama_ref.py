#!/usr/bin/env python3
"""Reference tokens, logits and greedy continuations from llama.cpp.

Runs a model through llama-cpp-python (pip install llama-cpp-python) and
writes testdata/parity/<model file name without .gguf>.json.gz, which the Go
parity tests in runtime/model compare against (one file per model).

For every prompt it records:
  ids       the token ids llama.cpp's tokenizer gives (special tokens parsed)
  top       at every prompt position, the 40 largest logits and their ids
  full      at a few positions, all vocabulary logits as int16 fixed point
            (value = q * scale; |error| <= scale/2, about 5e-4)
  greedy    the 64-token greedy continuation after the prompt
Attention runs without flash attention and with the default F16 KV cache,
the configuration the Go runtime mimics.

The first prompt is a chat turn in the model's own template: the file's
system prompt (Qwen2.5's default one, or SmolLM2's) and ChatML. Models whose
vocabulary has Qwen's fill-in-the-middle tokens also get a FIM prompt.

Usage: python3 scripts/llama_ref.py [--no-full] MODEL.gguf [OUT]
(--no-full: top-40 logits only, for the requantized variant of a model.)
"""
import base64
import gzip
import json
import sys

import numpy as np
import llama_cpp

SYSTEM = {
    "qwen": "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
    "smollm": "You are a helpful AI assistant named SmolLM, trained by Hugging Face",
}
QUESTION = "What does the function parseConfig in config.go return when the file is missing?"
FIM = ("<|fim_prefix|>package store\n\n// Get returns the value stored under key.\nfunc (s *Store) Get(key string) ([]byte, error) {\n"
       "\ts.mu.RLock()\n<|fim_suffix|>\n\treturn v, nil\n}\n<|fim_middle|>")

PROMPTS = [
    # Go source.
    "package store\n\nimport (\n\t\"errors\"\n\t\"os\"\n)\n\n// ErrNotFound is returned when a key has no value.\n"
    "var ErrNotFound = errors.New(\"store: not found\")\n\n// Get returns the value stored under key.\n"
    "func (s *Store) Get(key string) ([]byte, error) {\n\ts.mu.RLock()\n\tdefer s.mu.RUnlock()\n",
    # Python source.
    "def fibonacci(n: int) -> list[int]:\n    \"\"\"Return the first n Fibonacci numbers.\"\"\"\n    out = [0, 1]\n"
    "    while len(out) < n:\n        out.append(out[-1] + out[-2])\n    return out[:n]\n\n\nif __name__ == \"__main__\":\n",
    # Markdown with numbers and unicode.
    "# cartlsp\n\nA language server that trains a *Cartridge* — a small KV cache — for your repository.\n\n"
    "## Install\n\n1. Run `make demo` (about 93 MB of weights).\n2. Open VS Code 1.91 or newer.\n\nCafé, naïve, 東京, 🚀.\n",
    # Plain prose.
    "The quick brown fox jumps over the lazy dog. In 1969, Apollo 11 landed on the Moon, and Neil Armstrong said that it was",
    # TypeScript.
    "export async function fetchUser(id: string): Promise<User | undefined> {\n  const res = await fetch(`/api/users/${id}`);\n"
    "  if (!res.ok) {\n    return undefined;\n  }\n",
]
FULL_AT = [0.1, 0.5, 1.0]  # fractions of each prompt's length where full logits are kept
FULL_AT_LARGE = [1.0]  # the same for vocabularies over 65536 tokens, to keep the file small
TOPK = 40
GREEDY = 64


def main():
    args = sys.argv[1:]
    no_full = "--no-full" in args
    args = [a for a in args if a != "--no-full"]
    model = args[0]
    name = model.split("/")[-1].removesuffix(".gguf")
    out = args[1] if len(args) > 1 else f"testdata/parity/{name}.json.gz"
    llm = llama_cpp.Llama(model_path=model, n_ctx=1024, n_batch=512, n_threads=2, logits_all=True,
                          flash_attn=False, verbose=False, seed=0)
    vocab = llm.n_vocab()
    template = llm.metadata.get("tokenizer.chat_template", "")
    system = SYSTEM["qwen"] if "You are Qwen" in template else SYSTEM["smollm"]
    prompts = [f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{QUESTION}<|im_end|>\n<|im_start|>assistant\n"]
    prompts += PROMPTS
    if len(llm.tokenize(b"<|fim_middle|>", add_bos=False, special=True)) == 1:
        prompts.append(FIM)
    cases = []
    for text in prompts:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        llm.reset()
        llm.eval(ids)
        scores = np.array(llm.scores[: len(ids)], dtype=np.float32)  # [n, vocab]
        top_ids = np.argsort(-scores, axis=1, kind="stable")[:, :TOPK]
        top_vals = np.take_along_axis(scores, top_ids, axis=1)
        full = []
        for frac in [] if no_full else (FULL_AT if vocab <= 65536 else FULL_AT_LARGE):
            pos = min(len(ids) - 1, int(frac * (len(ids) - 1)))
            row = scores[pos]
            scale = float(np.abs(row).max()) / 32767.0
            q = np.round(row / scale).astype("<i2")
            full.append({"pos": pos, "scale": scale, "q": base64.b64encode(q.tobytes()).decode()})
        greedy = []
        for _ in range(GREEDY):
            nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            greedy.append(nxt)
            llm.eval([nxt])
        cases.append({
            "text": text,
            "ids": ids,
            "top_ids": top_ids.tolist(),
            "top_logits": [[round(float(v), 5) for v in r] for r in top_vals],
            "full": full,
            "greedy": greedy,
            "greedy_text": llm.detokenize(greedy).decode("utf-8", "replace"),
        })
        print(f"{len(ids):4d} tokens; greedy: {cases[-1]['greedy_text'][:60]!r}", file=sys.stderr)
    doc = {"llama_cpp_python": llama_cpp.__version__, "model": model.split("/")[-1], "vocab": vocab,
           "flash_attn": False, "kv_cache": "f16", "cases": cases}
    with gzip.open(out, "wt") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(f"wrote {out}: {sum(len(c['ids']) for c in cases)} positions", file=sys.stderr)


if __name__ == "__main__":
    main()
