#!/usr/bin/env python3
"""Reference chat prompts from jinja2 for runtime/tokenizer's chat template tests.

Renders the chat templates in testdata/chat/*.jinja (copied verbatim from the
models' GGUF files, key tokenizer.chat_template) over a deterministic set of
conversations, in the environment Hugging Face's apply_chat_template builds
(transformers' _compile_jinja_template):

  ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                extensions=[AssistantTracker, jinja2.ext.loopcontrols])
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

It also writes testdata/chat/engine.json.gz, small templates that exercise
the Jinja engine itself (whitespace control, expressions, filters, tests,
scoping, errors) rendered in the same environment:

  {"vars": {...}, "cases": [{"template": str, "output": str | "error": str}]}

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
ENGINE_OUT = os.path.join(DIR, "engine.json.gz")
TEMPLATES = {"smollm2": "smollm2.jinja", "qwen2.5": "qwen2.5.jinja"}


def environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    class AssistantTracker(jinja2.ext.Extension):
        # transformers' {% generation %} … {% endgeneration %}: renders its body.
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

        def _generation_support(self, caller):
            return caller()

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[AssistantTracker, jinja2.ext.loopcontrols])
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


# ---------------------------------------------------------------- engine cases

D = {"b": 1, "a": [1, 2.5, None, True, "s"], "items": "key named items", "n": {"x": {"y": "deep"}}}
MSGS = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}, {"role": "assistant", "content": "A"}]

# Templates rendered with the variables d, messages, s, n, f and l (engine_cases).
ENGINE = [
    # output and literals
    "{{ 1 }}|{{ -1 }}|{{ 1.5 }}|{{ 1e3 }}|{{ 1_000 }}|{{ 0x1F }}|{{ 0o17 }}|{{ 0b101 }}|{{ 2.5e-3 }}|{{ 1E5 }}",
    "{{ 'a' 'b' \"c\" }}|{{ '\\n\\t\\\\\\'\\\"\\x41\\u00e9\\U0001F600\\101\\q\\é' }}",
    "{{ true }}{{ True }}{{ false }}{{ none }}{{ None }}|{{ x }}|{{ [] }}|{{ {} }}|{{ () }}|{{ (1,) }}|{{ (1, 2) }}",
    "{{ [1, 'a', None, True, 1.0, {'k': 'v'}, ('t',), [\"it's\"], 'q\"', 'both \\' \"'] }}",
    "{{ ['\\x01é\\xa0\\u200d\\u2028\\t\\n\\r\\\\', '\\U0001F600', '\\x7f\\x80'] }}",
    "{{ 1.0 }} {{ 1e16 }} {{ 1e15 }} {{ 1e-5 }} {{ 0.0001 }} {{ 123456789.0 }} {{ 0.1 + 0.2 }} {{ -0.0 }} {{ 1e100 }} {{ 1.5e300 * 1e10 }} {{ 2.5e-300 }}",
    "{{ d }}|{{ d.a }}|{{ d['b'] }}|{{ d.n.x.y }}|{{ d['n']['x']['y'] }}|{{ d['items'] }}",
    "{{ d.zz }}|{{ d.zz is defined }}|{{ d.a.0 }}|{{ d.a[-1] }}|{{ d.a[9] is defined }}|{{ s[0] }}{{ s[-1] }}|{{ s.nope is defined }}",
    "{{ d.zz.b }}",
    "{{ x.y }}",
    "{{ x['y'] }}",
    "{{ x() }}",
    "{{ d.update }}|{{ d.keys is defined }}|{{ l.append is defined }}",
    "{{ messages[0].role }}{{ messages[-1]['content'] }}{{ messages | length }}",
    # arithmetic and operators
    "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 10 - 2 - 3 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }}",
    "{{ 7.5 // 2 }} {{ 7.5 % 2 }} {{ -7.5 % 2 }} {{ 2 ** -1 }} {{ 10 / 4 }} {{ 3 * 1.0 }} {{ 1 + True }} {{ True + True }}",
    "{{ 'ab' * 2 }} {{ 3 * 'ab' }} {{ [1, 2] * 2 }} {{ [1] + [2] }} {{ (1,) + (2,) }} {{ 'a' ~ 1 ~ 1.0 ~ none ~ true ~ x ~ [1] }}",
    "{{ 'a' + 1 }}", "{{ 1 + 'a' }}", "{{ none + 'a' }}", "{{ x + 1 }}", "{{ 1 / 0 }}", "{{ 1 // 0 }}", "{{ 1.0 % 0 }}", "{{ -x }}", "{{ [1] - [1] }}",
    "{{ 9223372036854775807 }}",
    "{{ not 1 == 2 }} {{ not x is defined }} {{ 1 and 2 }} {{ 0 and 2 }} {{ 0 or '' }} {{ '' or 'z' }} {{ none or [] }} {{ x or 'u' }} {{ x and 1 }}",
    "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'b' > 'a' }} {{ [1, 2] < [1, 3] }} {{ (1, 2) == (1, 2) }} {{ [1] == (1,) }} {{ x == x }} {{ x != none }}",
    "{{ 'ab' in 'cabd' }} {{ 1 in [1.0] }} {{ 'a' in d }} {{ 'zz' not in d }} {{ 'a' in x }} {{ x in [1] }} {{ none in [none] }}",
    "{{ 1 in 'abc' }}", "{{ 1 < 'a' }}", "{{ x < 1 }}", "{{ 'a' in 3 }}",
    "{{ 'yes' if 1 else 'no' }} {{ 'yes' if 0 else 'no' }} [{{ 'yes' if 0 }}] {{ 1 if 0 else 2 if 0 else 3 }} {{ x.y if x is defined else 'nd' }}",
    "{{ [1, 2, 3][1:] }} {{ [1, 2, 3][:-1] }} {{ [1, 2, 3][::-1] }} {{ s[::2] }} {{ s[7:] }} {{ s[-5:-1] }} {{ s[100:] }} {{ l[1:2] }} {{ (1, 2, 3)[::2] }} {{ 'héllo'[1:3] }}",
    "{{ [1, 2][::0] }}",
    "{{ {'a': 1, 'b': [1, {'c': 2}]} }} {{ {'a': 1}.a }} {{ {'a': 1}['a'] }} {{ [1, 2,] }} {{ {'x': 1,} }}",
    # statements and scoping
    "{% for i in [1, 2, 3] %}[{{ x }}]{% set x = i %}{% endfor %}{{ x }}",
    "{% set x = 5 %}{% for i in [1, 2] %}[{{ x }}]{% set x = i %}{% endfor %}{{ x }}",
    "{% if true %}{% set y = 1 %}{% endif %}{{ y }}",
    "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set (c, d) = [3, 4] %}{{ c }}{{ d }}",
    "{% set a, b = [1] %}",
    "{% set s2 %}hello {{ 1 }}{% endset %}[{{ s2 }}]{% set t | upper %}abc{% endset %}{{ t }}",
    "{% set ns = namespace(a=1, b='x') %}{% for i in [1, 2] %}{% set ns.a = ns.a + i %}{% endfor %}{{ ns.a }} {{ ns.b }} {{ ns.zz is defined }} {{ ns }}",
    "{% set nn = 1 %}{% set nn.a = 2 %}",
    "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
    "{% for x in s %}{{ loop.index }}{{ x }}{% endfor %}|{% for k in d %}{{ k }},{% endfor %}|{% for x in x %}never{% else %}empty{% endfor %}",
    "{% for x in [] %}{% else %}E{% endfor %}{% for x in [1, 2] if x > 5 %}{% else %}F{% endfor %}",
    "{% for x in [1, 2, 3, 4] if x is even %}{{ x }}/{{ loop.length }}/{{ loop.index0 }}{% endfor %}",
    "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.previtem }}{{ loop.nextitem }}{{ loop.cycle('o', 'e') }};{% endfor %}",
    "{% for x in [1, 2] %}{% for y in [3] %}{{ loop.index }}{{ x }}{{ y }}{% endfor %}{{ loop.index }}{% endfor %}",
    "{% set x = [1, 2] %}{% for x in x %}{{ x }}{% endfor %}{{ x }}",
    "{% for i in range(5) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}",
    "{{ loop }}|{% for a in [1] %}{{ loop.nope }}{% endfor %}",
    "{% for a, b in [[1, 2], (3, 4)] %}{{ a }}{{ b }}{% endfor %}",
    "{% for a, b in [1] %}{% endfor %}",
    "{% for a in none %}{% endfor %}",
    "{% for a in 5 %}{% endfor %}",
    "{% macro f(a, b='B', c=none) %}<{{ a }}{{ b }}{{ c }}>{% endmacro %}{{ f(1) }}{{ f(1, 2) }}{{ f(1, c=3) }}{{ f() }}{{ f }}",
    "{% macro f(a) %}{{ a }}{% endmacro %}{{ f(1, 2) }}",
    "{% macro f(a) %}{{ a }}{% endmacro %}{{ f(b=2) }}",
    "{% macro m() %}{{ x }}{% endmacro %}{% set x = 1 %}{{ m() }}",
    "{% set x = 1 %}{% macro m() %}{{ x }}{% endmacro %}{% set x = 2 %}{{ m() }}",
    "{% for a in [1, 2] %}{% set y = a * 3 %}{% macro m() %}{{ y }}{% endmacro %}{{ m() }}{% endfor %}",
    "{% macro outer(n) %}{% if n > 0 %}{{ n }}{{ outer(n - 1) }}{% endif %}{% endmacro %}{{ outer(3) }}",
    "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}{{ a }}",
    "{% filter upper %}abc {{ s }}{% endfilter %}",
    "{% generation %}gen {{ 1 }}{% endgeneration %}",
    "{% raw %}{{ not rendered }}{% if %}{% endraw %}",
    "{{ raise_exception('boom') }}",
    "{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversation must start with user') }}{% endif %}",
    "{% frob %}", "{% if x %}", "{% endif %}", "{{ }}", "{{ 1 + }}", "{% for %}{% endfor %}", "{{ 'unterminated }}", "{# comment", "{{ (1 }}", "{{ 1) }}",
    "{% break %}", "{{ x | nosuchfilter }}", "{{ x is nosuchtest }}",
    "{% if x is defined %}{{ x | nosuchfilter }}{% endif %}ok",
    # filters
    "{{ ' a ' | trim }}|{{ 'xxaxx' | trim('x') }}|{{ 'abc' | length }}|{{ [1, 2] | join(',') }}|{{ 'x' | upper }}|{{ 'X' | lower }}|{{ l | join }}|{{ d | length }}",
    "{{ x | default('d') }} {{ '' | default('d') }} {{ '' | default('d', true) }} {{ none | default('d') }} {{ x | d }}|{{ 0 | default('z', boolean=true) }}",
    "{{ 'abc' | first }} {{ [3, 4] | last }} {{ [] | first }}|{{ d | first }} {{ d | items | list }} {{ x | items | list }}",
    "{{ 3 | abs }} {{ -3.5 | abs }} {{ 2.5 | round }} {{ 3.5 | round }} {{ 2.567 | round(2) }} {{ 2.675 | round(2) }} {{ 5 | round }} {{ 2.4 | round(method='ceil') }} {{ 2.6 | round(0, 'floor') }} {{ 1234 | round(-2) }}",
    "{{ 2.5 | int }} {{ '12' | int }} {{ 'x' | int }} {{ '3.7' | int }} {{ ' 42 ' | int }} {{ 'ff' | int(base=16) }} {{ 'x' | int(7) }} {{ '1.5' | float }} {{ 'z' | float }} {{ 3 | float }} {{ true | int }}",
    "{{ messages | map(attribute='role') | join(',') }} {{ messages | map(attribute='nope', default='-') | list }} {{ ['a', 'b'] | map('upper') | list }}",
    "{{ messages | selectattr('role', 'equalto', 'user') | list }} {{ messages | rejectattr('role', 'in', ['user', 'system']) | map(attribute='content') | list }}",
    "{{ [{'x': 1}, {'x': 0}, {}] | selectattr('x') | list }} {{ [{'x': 1}, {'x': 0}, {}] | rejectattr('x') | list }} {{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3] | reject('gt', 1) | list }} {{ [0, 1, '', 'a'] | select | list }}",
    "{{ [3, 1, 2] | sort }} {{ [3, 1, 2] | sort(reverse=true) }} {{ ['b', 'A', 'c'] | sort }} {{ ['b', 'A', 'c'] | sort(case_sensitive=true) }} {{ messages | sort(attribute='role') | map(attribute='role') | list }}",
    "{{ [1, 1, 2, 'a', 'A'] | unique | list }} {{ [1, 2] | reverse | list }} {{ 'ab' | reverse }} {{ l | max }} {{ l | min }} {{ [] | max }} {{ l | sum }} {{ [1.5, 2] | sum }} {{ messages | map(attribute='role') | list | length }}",
    "{{ d | dictsort }} {{ {'b': 1, 'A': 2, 'a': 3} | dictsort }} {{ {'b': 1, 'a': 2} | dictsort(by='value', reverse=true) }}",
    "{{ 'a b' | title }} {{ 'hello-world foo(bar' | title }} {{ 'aBC dEF' | capitalize }} {{ 'x' | string }} {{ 5 | string + 'a' }} {{ [1] | string }} {{ none | string }}",
    "{{ x | string }}|{{ x | trim }}|{{ x | length }}|{{ x | list }}|{{ x | join }}|{{ x | upper }}|{{ x | first }}|{{ x | default(1) }}",
    "{{ 'a\nb' | indent(2) }}|{{ 'a\n\nb' | indent(2, true) }}|{{ 'a\n\nb' | indent(2, blank=true) }}|{{ 'a\nb' | indent('> ') }}|{{ 'a\r\nb\n' | indent }}",
    "{{ '<a href=\"x\">\\'&' | e }} {{ '<b>' | escape }} {{ '<i>' | safe }}",
    "{{ 'aaa' | replace('a', 'b') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ 'ab' | replace('', '-') }} {{ s | wordcount }} {{ 'x' | attr('upper') is defined }}",
    "{{ d | tojson }} {{ 'x' | tojson }} {{ messages | tojson }} {{ [1.0, 0.5, 1e20, -0.0, 1e-7] | tojson }} {{ none | tojson }} {{ true | tojson }} {{ 'é✓😀\x7f\u2028\x00\x1f\b\f</' | tojson }}",
    "{{ {'a': [1, {'b': 2}], 'c': {}, 'e': []} | tojson(indent=2) }}|{{ [1, [2, 3]] | tojson(indent='\t') }}|{{ [] | tojson(indent=2) }}|{{ [1] | tojson(indent=0) }}",
    "{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }} {{ [1, {'a': 2}] | tojson(separators=(',', ':')) }} {{ 'é😀' | tojson(ensure_ascii=true) }} {{ {'é': 1} | tojson(ensure_ascii=true) }}",
    "{{ x | tojson }}", "{{ namespace(a=1) | tojson }}",
    "{{ 1 | length }}", "{{ none | length }}", "{{ 5 | join }}", "{{ 1 | items | list }}",
    # tests
    "{{ 'Abc' is lower }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(2) }} {{ 'x' is string }} {{ d is mapping }} {{ l is mapping }}",
    "{{ [] is iterable }} {{ x is iterable }} {{ 1 is iterable }} {{ 's' is sequence }} {{ 1 is number }} {{ true is number }} {{ 1.0 is number }} {{ true is boolean }} {{ 1.0 is integer }} {{ true is integer }} {{ 1 is integer }} {{ 1.0 is float }}",
    "{{ none is none }} {{ x is none }} {{ x is undefined }} {{ 1 is defined }} {{ true is true }} {{ 1 is true }} {{ false is false }} {{ 0 is false }} {{ 'x' is sameas 'x' }} {{ none is sameas none }}",
    "{{ 1 is eq 1 }} {{ 1 is equalto 2 }} {{ 1 is ne 2 }} {{ 1 is lt 2 }} {{ 2 is le 2 }} {{ 3 is gt 2 }} {{ 2 is ge 3 }} {{ 2 is in [1, 2] }} {{ 'a' is in 'abc' }} {{ 'upper' is filter }} {{ 'odd' is test }} {{ 'zz' is filter }}",
    "{{ range is callable }} {{ d is callable }} {{ d.get is callable }} {{ x is not defined }} {{ 1 is not none }} {{ not x is defined and true }}",
    # methods and globals
    "{{ 'a,b'.split(',') }} {{ ' a  b '.split() }} {{ 'a-b-c'.split('-', 1) }} {{ 'a-b-c'.rsplit('-', 1) }} {{ ' a b '.rsplit() }} {{ 'a\nb\r\nc'.splitlines() }}",
    "{{ ' x '.strip() }}|{{ 'xax'.strip('x') }}|{{ ' x '.lstrip() }}|{{ ' x '.rstrip() }}|{{ 'abc'.startswith('a') }} {{ 'abc'.endswith(('x', 'c')) }} {{ 'aXb'.upper() }} {{ 'aXb'.lower() }} {{ 'hello world'.title() }} {{ 'hELLO'.capitalize() }}",
    "{{ 'x'.join(['a', 'b']) }} {{ 'abc'.replace('b', '') }} {{ 'abab'.replace('a', 'c', 1) }} {{ 'ab'.find('b') }} {{ 'ab'.find('z') }} {{ 'abab'.rfind('a') }} {{ 'abab'.count('a') }} {{ '12'.isdigit() }} {{ 'ab'.isalpha() }} {{ ' '.isspace() }}",
    "{{ 'prefix-x'.removeprefix('prefix-') }} {{ 'x.py'.removesuffix('.py') }} {{ 'ABC'.isupper() }} {{ 'abc'.islower() }} {{ 'a1'.isalnum() }}",
    "{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'dflt') }} {{ d.keys() | list }} {{ d.values() | list }} {{ d.items() | list }} {{ l.index(1) }} {{ l.count(3) }}",
    "{{ range(3) | list }} {{ range(2, 10, 3) | list }} {{ range(5, 0, -2) | list }} {{ range(0) | list }} {{ dict(a=1, b=2) }} {{ dict({'x': 1}, y=2) }} {{ namespace(a=1).a }} {{ namespace({'q': 2}).q }}",
    "{{ 'abc'.nope() }}",
    "{{ d.update({}) }}",
    # constructs of other models' templates
    "{% set ns = namespace(last=-1) %}{% for m in messages[::-1] %}{% set i = (messages | length - 1) - loop.index0 %}"
    "{% if ns.last == -1 and m.role == 'user' %}{% set ns.last = i %}{% endif %}{% endfor %}{{ ns.last }}",
    "{% set c = 'pre<think>\nreason\n</think>\n\nanswer' %}{{ c.split('</think>')[-1].lstrip('\n') }}|"
    "{{ c.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') }}|{{ '</think>' in c }}",
    "{% for m in messages %}{% if (m.role == 'user') != (loop.index0 % 2 == 1) %}{{ raise_exception('roles must alternate') }}{% endif %}{% endfor %}",
    "{% for m in messages[1:] %}{{ m.role | trim }}:{{ m.content | trim }};{% endfor %}{{ messages[0]['content'] | tojson(indent=4) }}",
    "{%- for m in messages -%}{%- if m.content is string -%}{{ m.content }}{%- else -%}{%- for c in m.content -%}{{ c.text }}{%- endfor -%}{%- endif -%}{%- endfor -%}",
    "{{ messages | selectattr('role', 'eq', 'system') | map(attribute='content') | first }}",
    "{{ (messages | last).role }} {{ messages[-1].content.startswith('A') }} {{ (messages | map(attribute='content') | join('\n')) | length }}",
    "{%- set tools_in_user = true -%}{%- if tools_in_user and not d.zz is defined -%}u{%- endif -%}{{- d.get('b', 0) + 1 -}}",
    "{{ '%s' | format(1) if false else 'f' }}",
]

WS_PIECES = ["", " ", "  ", "\n", "\t", " \n", "\n  ", "x", "a b", "\n\n", " \t\n\t ", "\u3000", "\xa0\n", "\r\n", "y\n  "]


def random_template(rng, depth=0):
    """A random mix of text and tags with random whitespace control, for the
    lexer's trim_blocks / lstrip_blocks / "-" / "+" handling."""
    out = []
    for _ in range(rng.randint(1, 5)):
        r = rng.random()
        sign = lambda: rng.choice(["", "", "-", "+"])
        if r < 0.3:
            out.append(rng.choice(WS_PIECES))
        elif r < 0.45:
            out.append("{{" + rng.choice(["", "-"]) + " 'v' " + rng.choice(["", "-"]) + "}}")
        elif r < 0.55:
            out.append("{#" + sign() + " c " + sign() + "#}")
        elif r < 0.62:
            out.append("{%" + sign() + " raw " + rng.choice(["", "-"]) + "%}" + rng.choice(WS_PIECES) + "{{ r }}"
                       + rng.choice(WS_PIECES) + "{%" + sign() + " endraw " + sign() + "%}")
        elif depth < 3:
            kind = rng.choice(["if", "for", "set"])
            if kind == "if":
                open_, close = " if true ", " endif "
            elif kind == "for":
                open_, close = " for i in [1, 2] ", " endfor "
            else:
                open_, close = " set z ", " endset "
            out.append("{%" + sign() + open_ + sign() + "%}" + rng.choice(WS_PIECES) + random_template(rng, depth + 1)
                       + rng.choice(WS_PIECES) + "{%" + sign() + close + sign() + "%}" + ("{{ z }}" if kind == "set" else ""))
        out.append(rng.choice(WS_PIECES))
    return "".join(out)


def engine_cases(env):
    rng = random.Random(7)
    base = {"d": D, "messages": MSGS, "s": "Hello, World", "n": 7, "f": 2.5, "l": [3, 1, 2]}
    templates = list(ENGINE) + [random_template(rng) for _ in range(300)]
    cases = []
    for src in templates:
        case = {"template": src}
        try:
            case["output"] = env.from_string(src).render(**copy.deepcopy(base))
        except Exception as e:  # noqa: BLE001 — the Go side must fail too
            case["error"] = f"{type(e).__name__}: {e}"
        cases.append(case)
    return {"vars": base, "cases": cases}


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

    ecases = engine_cases(env)
    data = json.dumps(ecases, ensure_ascii=False, indent=0) + "\n"
    with open(ENGINE_OUT, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as z:
        z.write(data.encode("utf-8"))
    errs = sum("error" in c for c in ecases["cases"])
    print(f"{len(ecases['cases'])} engine cases ({errs} errors) -> {os.path.relpath(ENGINE_OUT, ROOT)}")


if __name__ == "__main__":
    main()
