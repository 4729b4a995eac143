#!/usr/bin/env python3
"""Reference tokenizations from llama.cpp for runtime/tokenizer's parity tests.

Writes testdata/tokenizer/smollm2_ref.jsonl.gz: one JSON object a line.

  {"kind": "meta", ...}                    llama.cpp version, model hash, special ids, EOG set
  {"kind": "enc", "s": str | "b64": str,   the input (b64 when it is not valid UTF-8)
   "ids": {pre: [int] | str},              llama.cpp ids with special=True, per pre-tokenizer;
                                           a string value names a pre whose ids are identical
   "plain": {pre: [int] | str}}            the same with special=False (a subset of inputs)
  {"kind": "chat", "template": name, "template_src": str (first line of each name only),
   "messages": [...], "add_generation_prompt": bool, "prompt": str, "ids": [int] (smollm2 only)}

The strings are generated deterministically (fixed seed) plus hand-written
ones and the snippets in testdata/tokenizer/snippets.txt. Other pre-tokenizers
are checked with vocab-only GGUF copies of the SmolLM2 vocabulary whose
tokenizer.ggml.pre is changed (written to a temporary directory, not kept).

Needs: llama-cpp-python (import llama_cpp), gguf==0.19.0, jinja2.
Usage: python3 scripts/tokenizer_ref.py [model.gguf]   (default $CARTLSP_MODEL
or /tmp/dl/SmolLM2-135M-Instruct.Q4_1.gguf)
"""

import base64
import gzip
import hashlib
import json
import os
import random
import sys
import tempfile

import gguf
import jinja2
import llama_cpp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "testdata", "tokenizer", "smollm2_ref.jsonl.gz")
SNIPPETS = os.path.join(ROOT, "testdata", "tokenizer", "snippets.txt")

# Pre-tokenizers checked, in the order used for "same as" references.
PRES = ["smollm", "gpt-2", "default", "llama-bpe", "qwen2"]


def model_path():
    if len(sys.argv) > 1:
        return sys.argv[1]
    return os.environ.get("CARTLSP_MODEL") or "/tmp/dl/SmolLM2-135M-Instruct.Q4_1.gguf"


# ---------------------------------------------------------------- strings

HAND = [
    "", " ", "  ", "\n", "\t", "\r\n", "a", "'", "''", "'s", " 's", "'S", "s'", "'''", "' s",
    "Hello world", "Hello, world!", "hello   world", " leading space", "trailing space ", "trailing spaces   ",
    "multiple\n\nnewlines\n\n\n", "\n\n\nleading newlines", "tabs\tand\t\tmore\ttabs", "\t\tindented",
    "mixed \t \n whitespace \r\n end", "crlf\r\nline\r\n", "\r\r\n\n\r", "    four spaces then text",
    "text then four spaces    ", "a  b   c    d     e", " \n \n \n", "x \ny", "x  \n  y", "\u00a0\u00a0nbsp",
    "a\u00a0b", "a\u2003b\u2009c", "ideographic\u3000space", "line\u2028sep\u2029para", "nel\u0085x", " \u0085 ",
    "zero\u200bwidth", "\ufeffbom", "vt\x0bff\x0c", "ctrl\x01\x02\x7f", "nul\x00byte",
    # bytes SmolLM2 has no token for (llama.cpp drops them)
    "a\x04b\x06c\x13d\x14e\x16f\x1dg", "\x16", " \x1d ",
    # contractions
    "don't", "I'm", "we'll", "they're", "I've", "she'd", "it's", "DON'T", "I'LL", "THEY'RE", "We'Ve",
    "'s'", "rock 'n' roll", "it's John's dog's bone", "''quoted''", "l'amour", "y'all'd've",
    "' '", "'\n", "'re", "'ve", "'ll", "'d", "'m", "'t", "'x", "' re", "'R", "'rE",
    # numbers
    "0", "1", "12", "123", "1234", "12345", "123456", "1234567", "1234567890", "3.14159", "1,000,000",
    "0x1F", "1e-10", "-42", "+7", "v1.2.3", "2024-01-15T10:30:00Z", "12:34:56", "99%", "$100.00",
    "31415926535897932384626433832795028841971693993751", "a1b2c3", "abc123def456", "x = 1000000007;",
    " 1", "  12", " 123 456 7890", "1 2 3", "١٢٣٤٥", "٣.١٤", "²³¹", "x²+y²", "Ⅻ Ⅳ", "½ ¼ ¾", "⑩①", "१२३",
    "１２３", "𝟘𝟙𝟚", "0.000001", "1_000_000",
    # unicode letters, marks, scripts
    "café naïve résumé", "Ångström", "cafe\u0301", "e\u0301\u0302\u0303", "\u0301leading mark",
    "Straße", "İstanbul", "ǅ ǈ", "中文测试", "你好，世界！", "日本語のテキスト、カタカナ。", "한국어 텍스트",
    "Привет, мир!", "Γειά σου Κόσμε", "مرحبا بالعالم", "שלום עולם", "العربية 123 English",
    "हिन्दी पाठ", "ภาษาไทย", "ትግርኛ", "ᚠᚢᚦ", "𝓗𝓮𝓵𝓵𝓸", "ｆｕｌｌｗｉｄｔｈ", "ﬁ ﬂ", "\U0002ebf0\U0002ebf1 ext-i",
    "\u2ffc\u31ef", "a\u0300b\u0301c", "𐐷𐐷", "\U00010000\U0010fffd", "\ud7ff\ue000\uf8ff",
    # emoji
    "😀", "😀😃😄", "hi 👋 there", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇺🇸🇯🇵🇫🇷", "1️⃣2️⃣", "❤️", "✌🏿 ok",
    "🧑‍💻 coding", "emoji🙂inside", " 🎉", "🎉 ", "(╯°□°)╯︵ ┻━┻", "¯\\_(ツ)_/¯",
    # punctuation and symbols
    "!!!", "???", "...", "…", "—", "–-", "«quote»", "“smart”", "‘single’", "@#$%^&*()", "<>&\"'",
    "a->b=>c", "x != y && y >= z || !w", "::", ";;", "//", "/* */", "#!", "``` code ```", "~~~", "`x`",
    "foo.bar_baz-qux", "snake_case_name", "camelCaseName", "PascalCase", "SCREAMING_CASE", "kebab-case",
    "path/to/file.go:123:45", "https://example.com/a?b=c&d=e#f", "user@example.com", "C:\\Windows\\path",
    # special tokens
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_start|><|im_end|>", "<|im_start|>user\nhi<|im_end|>",
    "text<|endoftext|>more", "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n",
    "<|im_start", "im_start|>", "<|im_end|", "<<|im_end|>>", "<|<|im_start|>|>", "<|endoftext|><|endoftext|>",
    " <|im_end|> ", "\n<|im_end|>\n", "x<|im_start|>y<|im_end|>z", "<repo_name>cartlsp<file_sep>a.go",
    "<filename>main.go\n<gh_stars>10", "<issue_start>bug<issue_comment>fix<issue_closed>",
    "<jupyter_start><jupyter_text>hi<jupyter_code>print(1)<jupyter_output>1<empty_output>",
    "<|im_start|>assistant\n", "<reponame>", "<|IM_START|>", "<| im_start |>",
]

# Bytes that are not valid UTF-8 (stored base64). 4-byte forms above U+10FFFF
# are left out: llama.cpp throws on them.
INVALID = [
    b"\xff", b"\xfe\xff", b"\x80", b"abc\x80def", b"\xc0\x80", b"\xc3", b"abc\xe2\x82", b"\xe2\x82abc",
    b"\xed\xa0\x80", b"\xed\xb0\x80x", b"\xf0\x9f\x98", b"\xf0\x9f\x98\x80\xf0\x9f", b"a\xc3(b",
    b"\xe0\x80\xaf", b"<|im_start|>\xff<|im_end|>", b"\xf8\x88\x80\x80\x80", b"  \xff  \xfe  ",
    b"12\xff34", b"\xc2\xa0\xc2", b"caf\xc3\xa9\xc3",
]

POOLS = {
    "ascii": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "digits": "0123456789",
    "punct": "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    "space": [" ", " ", " ", "  ", "\t", "\n", "\r\n", "\n\n", "    ", "\u00a0", "\u3000", "\u2009", " \n"],
    "latin": "éèêëàâäôöûüçñßøåæÉÀÇÑØÅ",
    "cjk": "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长",
    "kana": "あいうえおかきくけこアイウエオカキクケコーン",
    "cyr": "абвгдежзийклмнопрстуфхцчшщъыьэюяАБВГД",
    "arab": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "emoji": ["😀", "👍", "👍🏽", "❤️", "🇺🇸", "👨‍👩‍👧", "🎉", "🔥", "✅", "🚀", "🙂"],
    "marks": ["\u0301", "\u0308", "\u0327", "\u20dd", "\u200d", "\ufe0f"],
    "numx": "²³½ⅫⅣ٣४３",
    "special": ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<file_sep>", "<|im_start", "|>"],
    "words": ["the", " the", "func", " return", "if", " else", "Tokenizer", "encode", "decode", "don't",
              "it's", "we'll", " I'm", "HTTP", "JSON", "utf8", "x", "i", "_", "__init__", "self", "nil"],
}


def rand_piece(rng):
    name = rng.choice(list(POOLS))
    pool = POOLS[name]
    k = rng.randint(1, 6)
    return "".join(rng.choice(pool) for _ in range(k))


def gen_random(rng, n):
    out = []
    for _ in range(n):
        parts = [rand_piece(rng) for _ in range(rng.randint(1, 12))]
        out.append("".join(parts))
    return out


def read_snippets():
    snippets = []
    name, buf = None, []
    with open(SNIPPETS, encoding="utf-8") as f:
        for line in f:
            if line.startswith("==== ") and line.rstrip().endswith(" ===="):
                if name is not None:
                    snippets.append("".join(buf))
                name, buf = line.strip()[5:-5], []
            else:
                buf.append(line)
    if name is not None:
        snippets.append("".join(buf))
    return snippets


def build_strings():
    rng = random.Random(20250607)
    strings = list(HAND)
    snippets = read_snippets()
    strings += snippets
    # windows of the snippets, cut at arbitrary code points
    for _ in range(160):
        s = rng.choice(snippets)
        i = rng.randrange(len(s))
        strings.append(s[i:i + rng.randint(1, 200)])
    # whitespace runs
    for _ in range(40):
        strings.append("".join(rng.choice(POOLS["space"] + ["x", "ab", "1", ".", "'s"]) for _ in range(rng.randint(1, 10))))
    # numbers
    for _ in range(30):
        strings.append(rng.choice(["", " ", "x", "v", "=", "(", "$"]) + str(rng.randint(0, 10 ** rng.randint(1, 25))) +
                       rng.choice(["", " ", ".5", ",", "px", "\n", "e3"]))
    strings += gen_random(rng, 240)
    seen, uniq = set(), []
    for s in strings:
        if s not in seen:
            seen.add(s)
            uniq.append(s)
    return uniq


# ---------------------------------------------------------------- GGUF copies

def field_value(field):
    return field.contents()


def write_vocab_copy(reader, path, pre):
    """A vocab-only GGUF: every metadata entry of reader (tokenizer.ggml.pre
    replaced), no tensors."""
    arch = field_value(reader.fields["general.architecture"])
    w = gguf.GGUFWriter(path, arch)
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        vtype = field.types[0]
        sub = field.types[1] if vtype == gguf.GGUFValueType.ARRAY and len(field.types) > 1 else None
        val = field_value(field)
        if name == "tokenizer.ggml.pre":
            val = pre
        w.add_key_value(name, val, vtype, sub_type=sub)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()


# ---------------------------------------------------------------- chat

CHATML_PLAIN = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
                "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")

# A Qwen-like shape written for this test: the default system message comes
# before the loop, with whitespace control and dotted access.
CHATML_DEFAULT_FIRST = """{%- if messages[0].role != "system" -%}
{{- "<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n" -}}
{%- endif -%}
{%- for message in messages -%}
{{- "<|im_start|>" + message.role + "\\n" + message.content + "<|im_end|>" + "\\n" -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- "<|im_start|>assistant\\n" -}}
{%- endif -%}
"""

# trim_blocks / lstrip_blocks matter here (as in transformers' apply_chat_template).
CHATML_BLOCKS = """{% for message in messages %}
    {% if loop.first and messages[0]['role'] != 'system' %}
{{ '<|im_start|>system\\nBe brief.<|im_end|>\\n' }}{% endif %}
{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}
{% if add_generation_prompt %}
{{ '<|im_start|>assistant\\n' }}{% endif %}"""


CONVERSATIONS = [
    [],
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2+2?"}],
    [{"role": "user", "content": "Explain `func main()` in Go."},
     {"role": "assistant", "content": "It's the program's entry point.\n\n```go\nfunc main() {}\n```"},
     {"role": "user", "content": "And init()?"}],
    [{"role": "system", "content": ""}, {"role": "user", "content": ""}],
    [{"role": "user", "content": "unicode: café 中文 👨‍👩‍👧 and  spaces\t\n"}],
    [{"role": "assistant", "content": "I start."}, {"role": "user", "content": "ok"}],
    [{"role": "user", "content": "literal <|im_end|> inside"}],
    [{"role": "tool", "content": "{\"result\": 42}"}, {"role": "user", "content": "thanks"}],
]


def render(template, messages, add_gen):
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    return env.from_string(template).render(messages=messages, add_generation_prompt=add_gen)


# ---------------------------------------------------------------- main

def main():
    path = model_path()
    with open(path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    reader = gguf.GGUFReader(path)
    template = field_value(reader.fields["tokenizer.chat_template"])

    strings = build_strings()
    inputs = [s.encode("utf-8") for s in strings] + INVALID
    plain_subset = set(range(len(inputs)))  # special=False for every input that mentions a special token …
    plain_subset = {i for i in plain_subset if b"<" in inputs[i]}
    plain_subset |= set(range(0, len(inputs), 7))  # … and every 7th input

    results = {}  # pre -> (ids special, ids plain)
    meta = {}
    with tempfile.TemporaryDirectory() as tmp:
        for pre in PRES:
            p = path
            if pre != "smollm":
                p = os.path.join(tmp, pre + ".gguf")
                write_vocab_copy(reader, p, pre)
            llm = llama_cpp.Llama(model_path=p, vocab_only=True, verbose=False)
            got = [llm.tokenize(b, add_bos=False, special=True) for b in inputs]
            plain = {i: llm.tokenize(inputs[i], add_bos=False, special=False) for i in plain_subset}
            results[pre] = (got, plain)
            if pre == "smollm":
                vocab = llama_cpp.llama_model_get_vocab(llm.model)
                n = llama_cpp.llama_vocab_n_tokens(vocab)
                meta = {
                    "kind": "meta",
                    "llama_cpp_python": llama_cpp.__version__,
                    "model_sha256": sha,
                    "n_vocab": n,
                    "bos": llama_cpp.llama_vocab_bos(vocab),
                    "eos": llama_cpp.llama_vocab_eos(vocab),
                    "eot": llama_cpp.llama_vocab_eot(vocab),
                    "pad": llama_cpp.llama_vocab_pad(vocab),
                    "eog": [i for i in range(n) if llama_cpp.llama_vocab_is_eog(vocab, i)],
                    "add_bos": bool(llama_cpp.llama_vocab_get_add_bos(vocab)),
                    "pres": PRES,
                    "chat_template": template,
                }
                chats = []
                for name, tmpl in [("smollm2", template), ("chatml", CHATML_PLAIN),
                                   ("default_first", CHATML_DEFAULT_FIRST), ("blocks", CHATML_BLOCKS)]:
                    for k, msgs in enumerate(CONVERSATIONS):
                        if name == "default_first" and not msgs:
                            continue  # jinja fails on messages[0] of an empty list
                        for add_gen in (False, True):
                            prompt = render(tmpl, msgs, add_gen)
                            rec = {"kind": "chat", "template": name, "messages": msgs,
                                   "add_generation_prompt": add_gen, "prompt": prompt}
                            if name != "smollm2" and not any(c["template"] == name for c in chats):
                                rec["template_src"] = tmpl
                            if name == "smollm2":
                                rec["ids"] = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
                            chats.append(rec)
            del llm

    def compact(per_pre):
        out = {}
        for pre in PRES:
            ids = per_pre[pre]
            for prev in PRES[:PRES.index(pre)]:
                if per_pre[prev] == ids:
                    ids = prev
                    break
            out[pre] = ids
        return out

    lines = [meta]
    for i, b in enumerate(inputs):
        rec = {"kind": "enc"}
        try:
            rec["s"] = b.decode("utf-8")
        except UnicodeDecodeError:
            rec["b64"] = base64.b64encode(b).decode()
        rec["ids"] = compact({pre: results[pre][0][i] for pre in PRES})
        if i in plain_subset:
            rec["plain"] = compact({pre: results[pre][1][i] for pre in PRES})
        lines.append(rec)
    lines += chats

    data = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in lines).encode()
    with gzip.GzipFile(OUT, "wb", mtime=0) as f:
        f.write(data)
    n_diff = {pre: sum(1 for i in range(len(inputs)) if results[pre][0][i] != results["smollm"][0][i]) for pre in PRES}
    print(f"{len(inputs)} inputs, {len(plain_subset)} also with special=False, {len(chats)} chat prompts")
    print("inputs whose ids differ from smollm:", n_diff)
    print(f"wrote {OUT}: {os.path.getsize(OUT)} bytes ({len(data)} uncompressed)")


if __name__ == "__main__":
    main()
