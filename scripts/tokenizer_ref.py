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

With --qwen it writes testdata/tokenizer/qwen2.5_ref.jsonl.gz instead, for
Qwen2.5-Coder's own vocabulary (tokenizer.ggml.pre = qwen2, unchanged): the
same inputs (ids under "qwen2" only), then inputs aimed at that vocabulary
(each added token alone and inside text, FIM and repository prompts, digit
runs, CJK, whitespace-heavy code, prompts of the model's chat template), and

  {"kind": "meta", ...}                    as above, plus the FIM token ids
  {"kind": "chat", "template": "qwen2.5", ...}   the model's template, with ids
  {"kind": "pieces", "ids": [int],         llama_token_to_piece (special=True)
   "b64": [str],                           of every non-normal token, base64,
   "block": int, "digests": [str]}         and of all tokens: per block of ids,
                                           sha256 (first 16 hex digits) of each
                                           piece as 4-byte LE length + bytes

Needs: llama-cpp-python (import llama_cpp), gguf==0.19.0, jinja2.
Usage: python3 scripts/tokenizer_ref.py [model.gguf]   (default $CARTLSP_MODEL
or /tmp/dl/SmolLM2-135M-Instruct.Q4_1.gguf)
       python3 scripts/tokenizer_ref.py --qwen [model.gguf]   (default
~/.cache/cartlsp/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf)
"""

import base64
import ctypes
import gzip
import hashlib
import json
import os
import random
import struct
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


# ---------------------------------------------------------------- Qwen2.5

QWEN_OUT = os.path.join(ROOT, "testdata", "tokenizer", "qwen2.5_ref.jsonl.gz")
QWEN_DEFAULT = os.path.join(os.path.expanduser("~"), ".cache", "cartlsp", "models",
                            "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
QWEN_PIECE_BLOCK = 4096


def qwen_strings(added, unused, snippets):
    """Inputs aimed at Qwen2.5's vocabulary. added: the texts of its control
    and user-defined tokens; unused: some texts of its unused tokens."""
    rng = random.Random(20250708)
    out = []
    # every added token alone, and inside text
    for tok in added:
        out += [tok, "x" + tok + "y", " " + tok + " ", "\n" + tok + "\n", tok + tok, "a" + tok + "b" + tok + "c",
                tok[:-1], tok[1:], tok.upper(), "<" + tok + ">", tok + "\n\n", "  " + tok + "  text"]
    for tok in unused:
        out += [tok, "x" + tok + "y", "<|im_start|>" + tok + "<|im_end|>"]
    out += ["[PAD]", "[PAD1]", "[PAD151936]", "<|fim_prefix", "fim_prefix|>", "<|fim_prefix|",
            "<| fim_prefix |>", "<|fim_pre|>", "<|repo_name|", "<file_sep>", "<|file_sep|>>", "<<|file_sep|>",
            "<|endoftext|><|endoftext|><|endoftext|>", "<|im_start|><|im_start|>", "<tool_call", "</tool_call",
            "<tool_call></tool_call>", "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>",
            "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get\", \"arguments\": {\"x\": 1}}\n</tool_call><|im_end|>\n",
            "<|im_start|>user\n<tool_response>\n42\n</tool_response><|im_end|>",
            "<|vision_start|><|image_pad|><|image_pad|><|vision_end|>", "<|box_start|>(1,2),(3,4)<|box_end|>",
            "<|object_ref_start|>the cat<|object_ref_end|>", "<|quad_start|><|quad_end|>"]
    # FIM prompts: fixed ones and snippets cut at random points
    out += [
        "<|fim_prefix|>func add(a, b int) int {\n\treturn <|fim_suffix|>\n}\n<|fim_middle|>",
        "<|fim_prefix|>def f(x):\n    <|fim_suffix|>\n    return y\n<|fim_middle|>y = x * 2",
        "<|fim_prefix|><|fim_suffix|><|fim_middle|>",
        "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>c<|endoftext|>",
        "<|fim_suffix|>tail<|fim_prefix|>head<|fim_middle|>",
        "<|fim_prefix|>  \n\t<|fim_suffix|>\t\n  <|fim_middle|>",
        "<|fim_prefix|>x := 1234567890<|fim_suffix|> // 中文注释\n<|fim_middle|>",
        "<|repo_name|>r\n<|file_sep|>a.go\npackage a\n",
        "<|repo_name|>cartlsp\n<|file_sep|>runtime/tokenizer/bpe.go\npackage tokenizer\n\n"
        "<|file_sep|>runtime/tokenizer/pretok.go\npackage tokenizer\n\nfunc split() {}\n",
        "<|repo_name|>github.com/cartlsp/cartlsp\n<|file_sep|>go.mod\nmodule github.com/cartlsp/cartlsp\n\ngo 1.24\n"
        "<|file_sep|>main.go\n<|fim_prefix|>package main\n\nfunc main() {\n\t<|fim_suffix|>\n}\n<|fim_middle|>",
        "<|repo_name|><|file_sep|><|file_sep|>",
        "<|file_sep|>a.py\nimport os\n<|file_sep|>b.py\n<|fim_pad|><|fim_pad|>",
    ]
    for _ in range(24):
        sn = rng.choice(snippets)
        i = rng.randrange(len(sn))
        j = rng.randrange(i, min(len(sn), i + 120) + 1)
        fim = "<|fim_prefix|>" + sn[:i] + "<|fim_suffix|>" + sn[j:] + "<|fim_middle|>"
        if rng.random() < 0.5:
            fim += sn[i:j]
        if rng.random() < 0.3:
            fim = "<|repo_name|>demo\n<|file_sep|>" + rng.choice(["a.go", "src/x.py", "lib.rs"]) + "\n" + fim
        out.append(fim)
    # digits: qwen2 splits them one by one
    for k in list(range(1, 25)) + [31, 32, 33, 64, 100, 257]:
        out.append("7" * k)
    for _ in range(16):
        out.append("".join(rng.choice("0123456789") for _ in range(rng.randint(10, 300))))
    out += ["12 34 567 8901", "x1234567y", "v123456789012345678901234567890", "0x7FFFFFFFFFFFFFFF",
            "1234567890" * 10, "3.14159265358979323846", "1e100000", "-0.000000000001", "١٢٣٤٥٦٧٨٩٠١٢٣",
            "１２３４５６７８９０", "123\n456\n789", "1,234,567,890.123", "i = 1000000000000000000007;",
            "2024年1月15日", "第123456章", "⁰¹²³⁴⁵⁶⁷⁸⁹", "𝟎𝟏𝟐𝟑𝟒𝟓"]
    # CJK
    out += [
        "这是一个测试。", "函数返回一个错误，如果模板失败。", "你好世界你好世界你好世界你好世界你好世界",
        "// 计算两个数的和\nfunc add(a, b int) int { return a + b }", "# 注释：处理用户输入\ndef handle(x):\n    pass",
        "中文English混合text测试123", "「引号」『书名』《标题》【括号】", "，。！？；：、", "一二三四五六七八九十百千万亿",
        "日本語とEnglishの混在テキスト", "ｶﾀｶﾅ半角", "ひらがなカタカナ漢字", "한국어와 English 혼합", "中\u3000文", "中 文 字",
        "繁體中文測試，臺灣", "𠀀𠀁𠀂 ext-b", "䶵䶶 ext-a", "\u2e80\u2e81 radicals", "〇〡〢〣",
        "\"错误\": \"文件不存在\"", "用户名 = \"张三\"", "printf(\"结果: %d\\n\", x);",
    ]
    cjk = POOLS["cjk"] + POOLS["kana"]
    for _ in range(12):
        out.append("".join(rng.choice(cjk + "，。 \n") for _ in range(rng.randint(5, 80))))
    # whitespace-heavy code
    for k in [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 100]:
        out += [" " * k, " " * k + "x", "x" + " " * k, "\t" * k, "\t" * k + "return", "\n" + " " * k + "}",
                " " * k + "\n" + " " * k]
    out += [
        "\n\n\n\n\n\n\n\n", "\n \n  \n   \n    \n", "\t \t \t", " \t\n\t \n", "x\t\t\t= 1\ny\t\t\t= 2",
        "if x {\n\t\tif y {\n\t\t\t\treturn\n\t\t}\n}", "def f():\n        return 1\n\n\n\n    ",
        "    \n    \n    pass", "a   =   b   +   c", "|  col  |  col  |\n|-------|-------|",
        "        // deeply indented comment\n                x++", "\r\n    \r\n\tx\r\n", "x    \t    y",
        "struct {\n\tA    int    `json:\"a\"`\n\tBBBB string `json:\"bbbb\"`\n}",
        "\t" * 10 + "}\n" + "\t" * 9 + "}\n", "    " * 12 + "x", "x" + "  " * 40 + "y",
    ]
    for _ in range(20):
        lines = []
        for _ in range(rng.randint(2, 8)):
            ind = rng.choice(["", " ", "  ", "   ", "    ", "\t", "\t\t", "\t\t\t", "        ", " \t"]) * rng.randint(1, 3)
            body = rng.choice(["x := 1", "return nil", "}", "{", "// c", "", "if err != nil {", "pass",
                               "foo(a,  b,   c)", "x\t= 2", "   ", "\t"])
            lines.append(ind + body + rng.choice(["", " ", "  ", "\t"]))
        out.append(rng.choice(["\n", "\r\n"]).join(lines) + rng.choice(["", "\n", "\n\n"]))
    # random mixes with Qwen's added tokens
    pools = dict(POOLS)
    pools["special"] = list(added[:12]) + ["<|fim_prefix", "|>", "<|", "[PAD151700]"]
    pools["digits"] = "0123456789" * 3
    names = list(pools)
    for _ in range(80):
        parts = []
        for _ in range(rng.randint(1, 12)):
            pool = pools[rng.choice(names)]
            parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 6))))
        out.append("".join(parts))
    return out


def qwen_main(path):
    with open(path, "rb") as f:
        h = hashlib.sha256()
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    sha = h.hexdigest()
    reader = gguf.GGUFReader(path)
    template = field_value(reader.fields["tokenizer.chat_template"])
    toks = field_value(reader.fields["tokenizer.ggml.tokens"])
    types = field_value(reader.fields["tokenizer.ggml.token_type"])
    added = [t for t, ty in zip(toks, types) if ty in (3, 4)]  # control, user-defined
    unused = [t for t, ty in zip(toks, types) if ty == 5]
    unused = unused[:2] + unused[-1:]

    llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    n = llama_cpp.llama_vocab_n_tokens(vocab)

    chats = []
    for msgs in CONVERSATIONS:
        if not msgs:
            continue  # the template reads messages[0]
        for add_gen in (False, True):
            prompt = render(template, msgs, add_gen)
            chats.append({"kind": "chat", "template": "qwen2.5", "messages": msgs, "add_generation_prompt": add_gen,
                          "prompt": prompt, "ids": llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)})

    strings = build_strings()
    base = [s.encode("utf-8") for s in strings] + INVALID
    seen = set(base)
    extra = []
    for s in qwen_strings(added, unused, read_snippets()) + [c["prompt"] for c in chats]:
        b = s.encode("utf-8")
        if b not in seen:
            seen.add(b)
            extra.append(b)
    inputs = base + extra
    # special=False: the same base subset as for SmolLM2, and every added input that has a '<' or '['
    plain_subset = {i for i in range(len(base)) if b"<" in base[i]} | set(range(0, len(base), 7))
    plain_subset |= {len(base) + i for i, b in enumerate(extra) if b"<" in b or b"[" in b or i % 7 == 0}

    got = [llm.tokenize(b, add_bos=False, special=True) for b in inputs]
    plain = {i: llm.tokenize(inputs[i], add_bos=False, special=False) for i in plain_subset}

    meta = {
        "kind": "meta",
        "llama_cpp_python": llama_cpp.__version__,
        "model_sha256": sha,
        "n_vocab": n,
        "bos": llama_cpp.llama_vocab_bos(vocab),
        "eos": llama_cpp.llama_vocab_eos(vocab),
        "eot": llama_cpp.llama_vocab_eot(vocab),
        "pad": llama_cpp.llama_vocab_pad(vocab),
        "fim": {"pre": llama_cpp.llama_vocab_fim_pre(vocab), "suf": llama_cpp.llama_vocab_fim_suf(vocab),
                "mid": llama_cpp.llama_vocab_fim_mid(vocab), "pad": llama_cpp.llama_vocab_fim_pad(vocab),
                "rep": llama_cpp.llama_vocab_fim_rep(vocab), "sep": llama_cpp.llama_vocab_fim_sep(vocab)},
        "eog": [i for i in range(n) if llama_cpp.llama_vocab_is_eog(vocab, i)],
        "add_bos": bool(llama_cpp.llama_vocab_get_add_bos(vocab)),
        "pres": ["qwen2"],
        "n_base_inputs": len(base),
    }

    buf = ctypes.create_string_buffer(1024)

    def piece(i):
        k = llama_cpp.llama_token_to_piece(vocab, i, buf, len(buf), 0, True)
        if k < 0:
            raise RuntimeError(f"token {i}: piece longer than {len(buf)} bytes")
        return buf.raw[:k]

    pieces = [piece(i) for i in range(n)]
    odd = [i for i in range(n) if types[i] != 1]
    digests = []
    for lo in range(0, n, QWEN_PIECE_BLOCK):
        h = hashlib.sha256()
        for p in pieces[lo:lo + QWEN_PIECE_BLOCK]:
            h.update(struct.pack("<I", len(p)) + p)
        digests.append(h.hexdigest()[:16])
    piece_rec = {"kind": "pieces", "ids": odd, "b64": [base64.b64encode(pieces[i]).decode() for i in odd],
                 "block": QWEN_PIECE_BLOCK, "digests": digests}
    del llm

    lines = [meta]
    for i, b in enumerate(inputs):
        rec = {"kind": "enc"}
        try:
            rec["s"] = b.decode("utf-8")
        except UnicodeDecodeError:
            rec["b64"] = base64.b64encode(b).decode()
        rec["ids"] = {"qwen2": got[i]}
        if i in plain_subset:
            rec["plain"] = {"qwen2": plain[i]}
        lines.append(rec)
    lines += chats
    lines.append(piece_rec)

    data = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in lines).encode()
    with gzip.GzipFile(QWEN_OUT, "wb", mtime=0) as f:
        f.write(data)
    print(f"{len(inputs)} inputs ({len(base)} shared with smollm2_ref, {len(extra)} for Qwen), "
          f"{len(plain_subset)} also with special=False, {len(chats)} chat prompts, {len(odd)} pieces listed")
    print(f"wrote {QWEN_OUT}: {os.path.getsize(QWEN_OUT)} bytes ({len(data)} uncompressed)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--qwen":
        qwen_main(sys.argv[2] if len(sys.argv) > 2 else QWEN_DEFAULT)
    else:
        main()
