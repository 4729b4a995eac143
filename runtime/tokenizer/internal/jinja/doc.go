// Package jinja renders Hugging Face chat templates: a Jinja interpreter
// with jinja2 3.1's semantics in the environment transformers'
// apply_chat_template builds (ImmutableSandboxedEnvironment with
// trim_blocks and lstrip_blocks, loopcontrols, {% generation %},
// raise_exception, strftime_now, and tojson as
// json.dumps(x, ensure_ascii=False, indent=indent, separators=separators,
// sort_keys=sort_keys)). Values behave as their Python counterparts:
// dicts keep insertion order, a missing key or attribute is Undefined
// (false, prints "", "is defined" is false, any other use is an error),
// None + "x" is a TypeError, floats print as Python's repr.
//
// Why not a library. Two maintained Go engines were tried on SmolLM2's and
// Qwen2.5's templates against jinja2 (464 conversations, the same ones as
// testdata/chat/reference.json.gz):
//
//   - github.com/nikolalohinski/gonja/v2 v2.9.1: 256/464 matched. Its
//     tojson is json.Marshal (compact separators, HTML escaping, "'" as
//     \u0027); a replacement filter cannot fix the order of keys, which is
//     lost in Go maps (map[string]any), so every Qwen prompt with tools
//     differs. It also pulls in five dependencies (logrus, json-iterator,
//     …) and a file-system loader.
//   - github.com/ardanlabs/jinja v1.8.0: 374/464 matched. Its tojson is
//     built in and cannot be replaced: floats print the Go way ("1" for
//     1.0, "1.23456789e+08"), U+2028/U+2029 are escaped, ints beyond int64
//     lose digits; None + str and messages[0] of an empty list render
//     instead of failing.
//
// Both crash the process with a fatal (unrecoverable) stack overflow on a
// recursive macro, and ardanlabs/jinja took 100 s over an empty loop on
// range(300000000). Templates come from model files, so rendering must be
// bounded: here a render has a work budget, an output limit and a macro
// depth limit (see Limits in eval.go), and parsing has a nesting limit.
//
// Not supported (an error, never a guess): template inheritance, include,
// import, call blocks, recursive loops, *args/**kwargs in calls, printf-style
// "%" formatting, and the filters and tests not listed in builtins.go.
package jinja
