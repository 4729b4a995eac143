package jinja

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The lexer follows jinja2 3.1's (jinja2/lexer.py) with the settings of
// Hugging Face's apply_chat_template: trim_blocks and lstrip_blocks on,
// keep_trailing_newline off, no line statements.

type tokKind uint8

const (
	tData tokKind = iota
	tVarBegin
	tVarEnd
	tBlockBegin
	tBlockEnd
	tName
	tString
	tInt
	tFloat
	tOp
	tEOF
)

var tokNames = [...]string{"text", "'{{'", "'}}'", "'{%'", "'%}'", "name", "string", "integer", "float", "operator", "end of template"}

type token struct {
	kind tokKind
	val  string // text, name, decoded string literal, number text (without '_') or operator
	line int
}

func (t token) String() string {
	switch t.kind {
	case tName, tOp, tInt, tFloat:
		return strconv.Quote(t.val)
	}
	return tokNames[t.kind]
}

// SyntaxError is a template that does not lex or parse.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: syntax error: %s", e.Line, e.Msg) }

// normalizeNewlines turns "\r\n" and "\r" into "\n" and drops one trailing
// newline (keep_trailing_newline=False).
func normalizeNewlines(src string) string {
	if strings.ContainsRune(src, '\r') {
		src = strings.ReplaceAll(src, "\r\n", "\n")
		src = strings.ReplaceAll(src, "\r", "\n")
	}
	return strings.TrimSuffix(src, "\n")
}

// isPySpace reports whether r is whitespace for Python's str.isspace and
// re's \s.
func isPySpace(r rune) bool {
	switch {
	case r == ' ' || r >= '\t' && r <= '\r' || r >= 0x1c && r <= 0x1f || r == 0x85 || r == 0xa0:
		return true
	case r < 0x1680:
		return false
	}
	return r == 0x1680 || r >= 0x2000 && r <= 0x200a || r == 0x2028 || r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000
}

func pyRstrip(s string) string {
	return strings.TrimRightFunc(s, isPySpace)
}

// skipSpace returns the length of the run of whitespace at the start of s.
func skipSpace(s string) int {
	return len(s) - len(strings.TrimLeftFunc(s, isPySpace))
}

func allSpace(s string) bool {
	return s != "" && skipSpace(s) == len(s)
}

type lexer struct {
	src          string
	pos          int
	line         int
	lineStarting bool // the last match ended with a newline (jinja2's line_starting)
	toks         []token
}

func (l *lexer) fail(format string, args ...any) error {
	return &SyntaxError{Line: l.line, Msg: fmt.Sprintf(format, args...)}
}

func (l *lexer) emit(k tokKind, val string) {
	l.toks = append(l.toks, token{k, val, l.line})
}

// advance moves past n bytes, counting lines, and records whether they
// ended with a newline.
func (l *lexer) advance(n int) {
	s := l.src[l.pos : l.pos+n]
	l.line += strings.Count(s, "\n")
	l.pos += n
	if n > 0 {
		l.lineStarting = s[n-1] == '\n'
	}
}

// lex splits a template into tokens.
func lex(src string) ([]token, error) {
	l := &lexer{src: normalizeNewlines(src), line: 1, lineStarting: true}
	for l.pos < len(l.src) {
		rest := l.src[l.pos:]
		i := tagStart(rest)
		if i < 0 {
			l.emit(tData, rest)
			l.advance(len(rest))
			break
		}
		text := rest[:i]
		kind := rest[i+1]
		n := 2 // the opener with its sign
		var sign byte
		if i+2 < len(rest) && (rest[i+2] == '-' || rest[i+2] == '+') {
			sign = rest[i+2]
			n = 3
		}
		rawLen := 0
		if kind == '%' {
			rawLen = matchRaw(rest[i:])
		}
		switch {
		case sign == '-':
			text = pyRstrip(text)
		case sign != '+' && kind != '{':
			// lstrip_blocks: blanks between a line start and a block tag.
			lpos := strings.LastIndexByte(text, '\n') + 1
			if (lpos > 0 || l.lineStarting) && allSpace(text[lpos:]) {
				text = text[:lpos]
			}
		}
		if text != "" {
			l.emit(tData, text)
		}
		if rawLen > 0 {
			l.advance(i + rawLen)
			if err := l.raw(); err != nil {
				return nil, err
			}
			continue
		}
		l.advance(i + n)
		var err error
		switch kind {
		case '#':
			err = l.comment()
		case '%':
			l.emit(tBlockBegin, "")
			err = l.tag(true)
		case '{':
			l.emit(tVarBegin, "")
			err = l.tag(false)
		}
		if err != nil {
			return nil, err
		}
	}
	l.emit(tEOF, "")
	return l.toks, nil
}

// tagStart returns the index of the first "{{", "{%" or "{#" in s, or -1.
func tagStart(s string) int {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '{' && (s[i+1] == '{' || s[i+1] == '%' || s[i+1] == '#') {
			return i
		}
	}
	return -1
}

// matchRaw returns the length of "{% raw %}" (any sign and spacing) at the
// start of s, or 0.
func matchRaw(s string) int {
	i := 2
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	i += skipSpace(s[i:])
	if !strings.HasPrefix(s[i:], "raw") {
		return 0
	}
	i += 3
	i += skipSpace(s[i:])
	switch {
	case strings.HasPrefix(s[i:], "-%}"):
		i += 3
		i += skipSpace(s[i:])
	case strings.HasPrefix(s[i:], "%}"):
		i += 2
	default:
		return 0
	}
	return i
}

// blockEnd returns the length of a block end ("+%}", "-%}" and blanks, or
// "%}" and with trim_blocks one newline) at the start of s, or 0.
func blockEnd(s string, end string) int {
	switch {
	case strings.HasPrefix(s, "+"+end):
		return 3
	case strings.HasPrefix(s, "-"+end):
		return 3 + skipSpace(s[3:])
	case strings.HasPrefix(s, end):
		if strings.HasPrefix(s[2:], "\n") {
			return 3
		}
		return 2
	}
	return 0
}

func (l *lexer) comment() error {
	rest := l.src[l.pos:]
	for k := 0; k < len(rest); k++ {
		if rest[k] != '#' && rest[k] != '+' && rest[k] != '-' {
			continue
		}
		if n := blockEnd(rest[k:], "#}"); n > 0 {
			l.advance(k + n)
			return nil
		}
	}
	return l.fail("missing end of comment tag")
}

// raw lexes the text of a raw block up to and including {% endraw %}.
func (l *lexer) raw() error {
	rest := l.src[l.pos:]
	for k := 0; k+1 < len(rest); k++ {
		if rest[k] != '{' || rest[k+1] != '%' {
			continue
		}
		j := k + 2
		var sign byte
		if j < len(rest) && (rest[j] == '-' || rest[j] == '+') {
			sign = rest[j]
			j++
		}
		j += skipSpace(rest[j:])
		if !strings.HasPrefix(rest[j:], "endraw") {
			continue
		}
		j += 6
		j += skipSpace(rest[j:])
		n := blockEnd(rest[j:], "%}")
		if n == 0 {
			continue
		}
		text := rest[:k]
		switch {
		case sign == '-':
			text = pyRstrip(text)
		case sign != '+':
			lpos := strings.LastIndexByte(text, '\n') + 1
			if (lpos > 0 || l.lineStarting) && allSpace(text[lpos:]) {
				text = text[:lpos]
			}
		}
		if text != "" {
			l.emit(tData, text)
		}
		l.advance(j + n)
		return nil
	}
	return l.fail("missing end of raw directive")
}

// tag lexes the inside of {% … %} (block) or {{ … }}.
func (l *lexer) tag(block bool) error {
	var balance []byte
	for {
		rest := l.src[l.pos:]
		if rest == "" {
			if block {
				return l.fail("unexpected end of template, expected '%%}'")
			}
			return l.fail("unexpected end of template, expected '}}'")
		}
		if len(balance) == 0 {
			if block {
				if n := blockEnd(rest, "%}"); n > 0 {
					l.emit(tBlockEnd, "")
					l.advance(n)
					return nil
				}
			} else {
				n := 0
				if strings.HasPrefix(rest, "-}}") {
					n = 3 + skipSpace(rest[3:])
				} else if strings.HasPrefix(rest, "}}") {
					n = 2
				}
				if n > 0 {
					l.emit(tVarEnd, "")
					l.advance(n)
					return nil
				}
			}
		}
		if n := skipSpace(rest); n > 0 {
			l.advance(n)
			continue
		}
		c := rest[0]
		switch {
		case c >= '0' && c <= '9':
			if n := matchFloat(rest); n > 0 && (l.pos == 0 || l.src[l.pos-1] != '.') {
				l.emit(tFloat, strings.ReplaceAll(rest[:n], "_", ""))
				l.advance(n)
				continue
			}
			n := matchInt(rest)
			l.emit(tInt, strings.ReplaceAll(rest[:n], "_", ""))
			l.advance(n)
			continue
		case c == '\'' || c == '"':
			n, s, err := lexString(rest)
			if err != nil {
				return l.fail("%s", err)
			}
			l.emit(tString, s)
			l.advance(n)
			continue
		}
		if n := matchName(rest); n > 0 {
			l.emit(tName, rest[:n])
			l.advance(n)
			continue
		}
		op := ""
		for _, o := range operators {
			if strings.HasPrefix(rest, o) {
				op = o
				break
			}
		}
		if op == "" {
			r, _ := utf8.DecodeRuneInString(rest)
			return l.fail("unexpected char %q", r)
		}
		switch op {
		case "{", "(", "[":
			balance = append(balance, map[string]byte{"{": '}', "(": ')', "[": ']'}[op])
		case "}", ")", "]":
			if len(balance) == 0 {
				return l.fail("unexpected '%s'", op)
			}
			if want := balance[len(balance)-1]; want != op[0] {
				return l.fail("unexpected '%s', expected '%c'", op, want)
			}
			balance = balance[:len(balance)-1]
		}
		l.emit(tOp, op)
		l.advance(len(op))
	}
}

// operators, longest first.
var operators = []string{"//", "**", "==", "!=", ">=", "<=",
	"+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digits matches (\d+_)*\d+ at the start of s.
func digits(s string) int {
	i := 0
	for {
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == i {
			return i
		}
		i = j
		if i+1 < len(s) && s[i] == '_' && isDigit(s[i+1]) {
			i++
			continue
		}
		return i
	}
}

// matchFloat matches jinja2's float_re at the start of s (the look-behind
// is checked by the caller).
func matchFloat(s string) int {
	i := digits(s)
	if i == 0 {
		return 0
	}
	exp := func(j int) int {
		if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
			k := j + 1
			if k < len(s) && (s[k] == '+' || s[k] == '-') {
				k++
			}
			if d := digits(s[k:]); d > 0 {
				return k + d
			}
		}
		return 0
	}
	if i < len(s) && s[i] == '.' {
		if d := digits(s[i+1:]); d > 0 {
			j := i + 1 + d
			if e := exp(j); e > 0 {
				return e
			}
			return j
		}
	}
	return exp(i)
}

// matchInt matches jinja2's integer_re at the start of s (s starts with a
// digit).
func matchInt(s string) int {
	if len(s) > 2 && s[0] == '0' {
		var ok func(byte) bool
		switch s[1] | 0x20 {
		case 'b':
			ok = func(c byte) bool { return c == '0' || c == '1' }
		case 'o':
			ok = func(c byte) bool { return c >= '0' && c <= '7' }
		case 'x':
			ok = func(c byte) bool { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }
		}
		if ok != nil {
			i := 2
			for {
				j := i
				if j < len(s) && s[j] == '_' {
					j++
				}
				if j < len(s) && ok(s[j]) {
					i = j + 1
					continue
				}
				break
			}
			if i > 2 {
				return i
			}
		}
	}
	if s[0] == '0' {
		i := 1
		for {
			if i < len(s) && s[i] == '0' {
				i++
			} else if i+1 < len(s) && s[i] == '_' && s[i+1] == '0' {
				i += 2
			} else {
				return i
			}
		}
	}
	i := 1
	for {
		if i < len(s) && isDigit(s[i]) {
			i++
		} else if i+1 < len(s) && s[i] == '_' && isDigit(s[i+1]) {
			i += 2
		} else {
			return i
		}
	}
}

func matchName(s string) int {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == '_' || unicode.IsLetter(r) || i > 0 && (unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)) {
			i += n
			continue
		}
		break
	}
	return i
}

// lexString lexes a quoted literal at the start of s and decodes it as
// jinja2 does: .encode("ascii", "backslashreplace").decode("unicode-escape").
func lexString(s string) (int, string, error) {
	q := s[0]
	i := 1
	for i < len(s) && s[i] != q {
		if s[i] == '\\' {
			i++
		}
		i++
	}
	if i >= len(s) {
		return 0, "", fmt.Errorf("unterminated string literal")
	}
	body := s[1:i]
	if !strings.ContainsRune(body, '\\') {
		return i + 1, body, nil
	}
	var b strings.Builder
	for j := 0; j < len(body); {
		c := body[j]
		if c != '\\' {
			b.WriteByte(c)
			j++
			continue
		}
		j++
		if j >= len(body) {
			return 0, "", fmt.Errorf("\\ at end of string")
		}
		c = body[j]
		if c >= utf8.RuneSelf {
			// backslashreplace turned the character into \xhh, \uhhhh or
			// \Uhhhhhhhh, whose backslash the escaping backslash escapes.
			r, n := utf8.DecodeRuneInString(body[j:])
			b.WriteByte('\\')
			switch {
			case r < 0x100:
				fmt.Fprintf(&b, "x%02x", r)
			case r < 0x10000:
				fmt.Fprintf(&b, "u%04x", r)
			default:
				fmt.Fprintf(&b, "U%08x", r)
			}
			j += n
			continue
		}
		j++
		switch c {
		case '\n':
		case '\\', '\'', '"':
			b.WriteByte(c)
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for k := 0; k < 2 && j < len(body) && body[j] >= '0' && body[j] <= '7'; k++ {
				v = v*8 + int(body[j]-'0')
				j++
			}
			b.WriteRune(rune(v))
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
			if j+n > len(body) {
				return 0, "", fmt.Errorf("truncated \\%cXX escape", c)
			}
			v, err := strconv.ParseUint(body[j:j+n], 16, 32)
			if err != nil {
				return 0, "", fmt.Errorf("truncated \\%cXX escape", c)
			}
			if v > unicode.MaxRune {
				return 0, "", fmt.Errorf("illegal Unicode character")
			}
			b.WriteRune(rune(v)) // a lone surrogate becomes U+FFFD
			j += n
		default:
			// Unknown escapes are kept (\q stays \q); \N{…} is not supported.
			if c == 'N' {
				return 0, "", fmt.Errorf("\\N{...} escapes are not supported")
			}
			b.WriteByte('\\')
			b.WriteByte(c)
		}
	}
	return i + 1, b.String(), nil
}
