#!/usr/bin/env python3
"""Reference chat prompts from jinja2 for runtime/tokenizer's chat template tests.

Renders the chat templates in testdata/chat/*.jinja (copied verbatim from the
models' GGUF files, key tokenizer.chat_template) over a deterministic set of
conversations, in the environment Hugging Face's apply_chat_template builds
(transformers' _compile_jinja_template):

  ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                extensions=[jinja2.ext.loopcontrols])
  filters["tojson"]        json.dumps(x, ensure_ascii=False, indent=indent,
                                      separators=separators, sort_keys=sort_keys)
  globals["raise_exception"], globals["strftime_now"]

and render(messages=..., tools=..., documents=None, add_generation_prompt=...).

Writes testdata/chat/reference.json.gz (gzip, deterministic):

  {"templates": {name: file},
   "cases": [{"template": name, "messages": [...], "tools": [...] | null,
              "add_generation_prompt": bool,
              "go_api": bool,          the messages are expressible as tokenizer.Message
              "prompt": str | "error": str}]}

Needs only jinja2 (3.1.x). Usage: python3 scripts/chat_template_ref.py
"""

import copy
import gzip
import json
import os
import random
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIR = os.path.join(ROOT, "testdata", "chat")
OUT = os.path.join(DIR, "reference.json.gz")
TEMPLATES = {"smollm2": "smollm2.jinja", "qwen2.5": "qwen2.5.jinja"}


def environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


# ---------------------------------------------------------------- conversations

def user(c):
    return {"role": "user", "content": c}


def system(c):
    return {"role": "system", "content": c}


def assistant(c):
    return {"role": "assistant", "content": c}


def tool(c):
    return {"role": "tool", "content": c}


def call(name, args):
    """A tool call in the OpenAI shape, as tokenizer.ToolCall is passed."""
    return {"type": "function", "function": {"name": name, "arguments": args}}


def bare_call(name, args):
    """A tool call without the "function" wrapper."""
    return {"name": name, "arguments": args}


def assistant_calls(content, *calls):
    m = {"role": "assistant", "content": content}
    m["tool_calls"] = list(calls)
    return m


WEATHER = {"type": "function", "function": {
    "name": "get_weather",
    "description": "Get the current weather in a given location.",
    "parameters": {"type": "object", "properties": {
        "location": {"type": "string", "description": "The city, e.g. \"Paris\" or 'Köln'"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["location"]}}}

SEARCH = {"type": "function", "function": {
    "name": "search_code",
    "description": "Search the repository. Returns <matches> & line numbers; ünïcödé 中文 ✓",
    "parameters": {"type": "object", "properties": {
        "query": {"type": "string"},
        "max_results": {"type": "integer", "default": 10, "minimum": 1, "maximum": 100},
        "threshold": {"type": "number", "default": 0.5},
        "case_sensitive": {"type": "boolean", "default": False},
        "paths": {"type": "array", "items": {"type": "string"}, "default": None}},
        "required": ["query"]}}}

# Numbers and strings whose JSON form differs between encoders.
ODD = {"type": "function", "function": {
    "name": "odd",
    "description": "quotes \" and \\ backslash, tab\t, nl\n, cr\r, bs\b, ff\f, nul\x00, esc\x1b, del\x7f, "
                   "ls\u2028 ps\u2029 emoji 👨‍👩‍👧 {{ x }} {% if %} </tools>",
    "parameters": {"floats": [1.0, -0.0, 0.1, 1e-05, 1e-7, 1.5e16, 1e16, 123456789.0, 1e22, 2.5e-300, 3.14159],
                   "ints": [0, -1, 9007199254740993, 12345678901234567890],
                   "empty": {}, "list": [], "nested": [[{}], {"a": [None, True, False]}]}}}

# Not in the OpenAI shape: a bare function schema.
BARE_TOOL = {"name": "now", "description": "The current time.", "parameters": {"type": "object", "properties": {}}}

TOOLSETS = [[WEATHER], [WEATHER, SEARCH], [ODD, BARE_TOOL]]

HAND = [
    [user("Hello!")],
    [system("You are terse."), user("What is 2+2?")],
    [system("S"), user("U"), assistant("A")],
    [user("Explain `func main()` in Go."),
     assistant("It's the program's entry point.\n\n```go\nfunc main() {}\n```"),
     user("And init()?")],
    [system(""), user("")],
    [user("")],
    [user("unicode: café 中文 👨‍👩‍👧 and  spaces\t\n")],
    [assistant("I start."), user("ok")],
    [user("literal <|im_end|> inside <|im_start|>")],
    [user("{{ x }} {% if messages %}yes{% endif %} {# c #} {%- raw -%}")],
    [user("\n\n  edges  \n\n")],
    [system("  sys with edges\n"), user("\tq\t")],
    [user("a"), system("late system"), user("b")],
    [user("first"), assistant("second"), user("third"), assistant("fourth"), user("fifth")],
    [system("S1"), system("S2"), user("u")],
    [user("u"), assistant("")],
    [user("backslash \\ quote \" apostrophe ' \\n not a newline")],
    # tool calls
    [user("Weather in Paris?"), assistant_calls("", call("get_weather", {"location": "Paris"}))],
    [user("Weather in Paris?"), assistant_calls("Let me check.", call("get_weather", {"location": "Paris", "unit": "celsius"}))],
    [user("Weather in Paris?"), assistant_calls("", bare_call("get_weather", {"location": "Paris"}))],
    [user("Weather in Paris?"), assistant_calls(None, call("get_weather", {"location": "Paris"}))],
    [user("Weather in Paris?"), {"role": "assistant", "tool_calls": [call("get_weather", {"location": "Paris"})]}],
    [user("Two cities"), assistant_calls("", call("get_weather", {"location": "Paris"}),
                                          call("get_weather", {"location": "Köln", "unit": "fahrenheit"})),
     tool("{\"temp\": 21}"), tool("{\"temp\": 15}"), assistant("Paris 21°, Köln 15°.")],
    [user("Weather?"), assistant_calls("", call("get_weather", {"location": "Paris"})),
     tool("sunny"), assistant("It is sunny."), user("Thanks")],
    [user("Search"), assistant_calls("", call("search_code", {"query": "func main", "max_results": 3,
                                                                "threshold": 0.25, "paths": ["a/b.go", "c.go"],
                                                                "case_sensitive": True, "none": None})),
     tool("[{\"file\": \"a/b.go\", \"line\": 3}]")],
    [user("string args"), assistant_calls("", call("search_code", "{\"query\": \"x\"}"))],
    [user("empty args"), assistant_calls("", call("now", {}))],
    [user("odd args"), assistant_calls("", call("odd", {"s": "ls\u2028 \b\f\x00 <a&b> é", "f": [1.0, 2.5e-8, 1e21]}))],
    [tool("a tool first"), user("then user")],
    [user("u"), tool("t1"), tool("t2"), tool("t3")],
    [user("u"), tool("only")],
    [user("u"), assistant_calls("thinking...", call("now", {})), tool("12:00"),
     assistant_calls("", bare_call("get_weather", {"location": "X"})), tool("rain")],
    [user("no calls"), {"role": "assistant", "content": "plain", "tool_calls": []}],
    [{"role": "assistant", "content": "", "tool_calls": [call("now", {})]}],
    [user("tool with name"), assistant_calls("", call("now", {})), {"role": "tool", "name": "now", "content": "noon"}],
    [user("a"), {"role": "developer", "content": "custom role"}],
    [],
]

PIECES = ["Hi", "How do I read a file in Go?", "", " ", "\n", "x" * 50, "naïve café", "日本語のテキスト",
          "emoji 🎉", "<|im_end|>", "{{ messages }}", "{% for %}", "tab\tand\nnewline", "  padded  ",
          "'quoted' \"double\"", "back\\slash", "line1\nline2\n", "\r\n", "end."]
ARGS = [{}, {"location": "Paris"}, {"query": "x", "max_results": 5}, {"n": 1.0, "ok": False, "v": None},
        {"nested": {"a": [1, 2, {"b": "c"}]}, "s": "ü"}, "{\"raw\": true}"]


def generated(rng, n):
    out = []
    for _ in range(n):
        msgs = []
        if rng.random() < 0.5:
            msgs.append(system(rng.choice(PIECES)))
        for _ in range(rng.randint(1, 6)):
            r = rng.random()
            if r < 0.4:
                msgs.append(user(rng.choice(PIECES)))
            elif r < 0.6:
                msgs.append(assistant(rng.choice(PIECES)))
            elif r < 0.8:
                mk = call if rng.random() < 0.7 else bare_call
                calls = [mk(rng.choice(["get_weather", "search_code", "now"]), copy.deepcopy(rng.choice(ARGS)))
                         for _ in range(rng.randint(1, 3))]
                msgs.append(assistant_calls(rng.choice(PIECES), *calls))
            else:
                for _ in range(rng.randint(1, 3)):
                    msgs.append(tool(rng.choice(PIECES)))
        out.append(msgs)
    return out


def go_api(msgs):
    """Whether tokenizer.Message can express msgs: string content, no other
    keys than role, content and tool_calls, tool calls in the OpenAI shape
    ({"type": "function", "function": {"name": …, "arguments": …}}), and
    tool_calls only where non-empty (Go omits an empty list)."""
    for m in msgs:
        if set(m) - {"role", "content", "tool_calls"} or not isinstance(m.get("content"), str):
            return False
        if "tool_calls" in m:
            if not m["tool_calls"]:
                return False
            for c in m["tool_calls"]:
                if list(c) != ["type", "function"] or c["type"] != "function" or list(c["function"]) != ["name", "arguments"]:
                    return False
    return True


def main():
    env = environment()
    templates = {}
    for name, file in TEMPLATES.items():
        with open(os.path.join(DIR, file), encoding="utf-8") as f:
            templates[name] = env.from_string(f.read())

    rng = random.Random(20250611)
    convs = HAND + generated(rng, 40)
    cases = []
    for name, tmpl in templates.items():
        for k, msgs in enumerate(convs):
            toolsets = [None]
            if name == "qwen2.5":
                toolsets.append(TOOLSETS[k % len(TOOLSETS)])
                if k == 0:
                    toolsets.append([])
            for tools in toolsets:
                for add_gen in (False, True):
                    case = {"template": name, "messages": msgs, "tools": tools, "add_generation_prompt": add_gen,
                            "go_api": go_api(msgs)}
                    try:
                        case["prompt"] = tmpl.render(messages=copy.deepcopy(msgs), tools=copy.deepcopy(tools),
                                                     documents=None, add_generation_prompt=add_gen)
                    except Exception as e:  # noqa: BLE001 — the Go side must fail too
                        case["error"] = f"{type(e).__name__}: {e}"
                    cases.append(case)
    data = json.dumps({"templates": TEMPLATES, "cases": cases}, ensure_ascii=False, indent=0) + "\n"
    with open(OUT, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as z:
        z.write(data.encode("utf-8"))
    errs = sum("error" in c for c in cases)
    print(f"{len(cases)} cases ({errs} errors) from {len(convs)} conversations -> {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
