package jinja

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Values are Go values standing for Python ones:
//
//	nil          None
//	Undefined    jinja2's Undefined (a missing variable, key or attribute)
//	bool         bool
//	int64        int (*big.Int when it does not fit, from JSON only)
//	float64      float
//	string       str
//	[]any        list
//	Tuple        tuple
//	*Dict        dict with string keys, in insertion order
//	*Namespace   namespace()
//	*Callable    a function, macro or bound method
//	*loopInfo    a for loop's "loop"
//
// Lists, tuples and dicts are never modified once built (the templates run
// in an ImmutableSandboxedEnvironment), so they may be shared.

// Undefined is a missing value. It prints as "", is false, iterates as
// empty and is an error when used otherwise (jinja2's default Undefined).
type Undefined struct{ hint string }

func (u Undefined) err() error {
	h := u.hint
	if h == "" {
		h = "value is undefined"
	}
	return &RenderError{Kind: "UndefinedError", Msg: h}
}

// undefVar is the Undefined of a missing variable.
func undefVar(name string) Undefined { return Undefined{fmt.Sprintf("'%s' is undefined", name)} }

// undefAttr is the Undefined of a missing attribute or key of obj.
func undefAttr(obj any, name any) Undefined {
	if s, ok := name.(string); ok {
		return Undefined{fmt.Sprintf("'%s' has no attribute '%s'", objectName(obj), s)}
	}
	return Undefined{fmt.Sprintf("%s has no element %s", objectName(obj), repr(name))}
}

// objectName is jinja2's object_type_repr.
func objectName(v any) string {
	switch v.(type) {
	case nil:
		return "None"
	}
	return typeName(v) + " object"
}

// Tuple is a Python tuple.
type Tuple []any

// Dict is a Python dict with string keys, in insertion order.
type Dict struct {
	keys []string
	m    map[string]any
}

// NewDict returns an empty dict.
func NewDict() *Dict { return &Dict{m: map[string]any{}} }

// Set sets d[k] = v; a new key goes last.
func (d *Dict) Set(k string, v any) {
	if _, ok := d.m[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.m[k] = v
}

// Get returns d[k].
func (d *Dict) Get(k string) (any, bool) {
	v, ok := d.m[k]
	return v, ok
}

// Len is the number of keys.
func (d *Dict) Len() int { return len(d.keys) }

// Keys are the keys in insertion order.
func (d *Dict) Keys() []string { return d.keys }

// Namespace is the mutable object namespace() returns.
type Namespace struct{ d *Dict }

// Callable is a function value.
type Callable struct {
	name  string
	fn    func(st *state, args []any, kw []kwarg) (any, error)
	macro bool
}

type kwarg struct {
	name string
	val  any
}

// typeName is Python's type(v).__name__.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case Undefined:
		return "Undefined"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []any:
		return "list"
	case Tuple:
		return "tuple"
	case *Dict:
		return "dict"
	case *Namespace:
		return "Namespace"
	case *Callable:
		return "function"
	case *loopInfo:
		return "LoopContext"
	}
	return fmt.Sprintf("%T", v)
}

// truthy is Python's bool(v).
func truthy(v any) bool {
	switch x := v.(type) {
	case nil, Undefined:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case *big.Int:
		return x.Sign() != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case Tuple:
		return len(x) > 0
	case *Dict:
		return x.Len() > 0
	}
	return true
}

// str is Python's str(v) (jinja2 prints an Undefined as "").
func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case Undefined:
		return ""
	}
	var b strings.Builder
	writeRepr(&b, v, false, 0)
	return b.String()
}

// repr is Python's repr(v).
func repr(v any) string {
	var b strings.Builder
	writeRepr(&b, v, true, 0)
	return b.String()
}

// maxValueDepth bounds the nesting of lists and dicts that are printed,
// encoded or compared (Python would raise RecursionError about there).
const maxValueDepth = 1000

func writeRepr(b *strings.Builder, v any, quote bool, depth int) {
	if depth > maxValueDepth {
		b.WriteString("...")
		return
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case Undefined:
		if quote {
			b.WriteString("Undefined")
		}
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case *big.Int:
		b.WriteString(x.String())
	case float64:
		b.WriteString(pyFloat(x))
	case string:
		if quote {
			b.WriteString(pyStrRepr(x))
		} else {
			b.WriteString(x)
		}
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e, true, depth+1)
		}
		b.WriteByte(']')
	case Tuple:
		b.WriteByte('(')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e, true, depth+1)
		}
		if len(x) == 1 {
			b.WriteByte(',')
		}
		b.WriteByte(')')
	case *Dict:
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyStrRepr(k))
			b.WriteString(": ")
			writeRepr(b, x.m[k], true, depth+1)
		}
		b.WriteByte('}')
	case *Namespace:
		b.WriteString("<Namespace ")
		writeRepr(b, x.d, true, depth+1)
		b.WriteByte('>')
	case *Callable:
		if x.macro {
			fmt.Fprintf(b, "<Macro '%s'>", x.name)
		} else {
			fmt.Fprintf(b, "<function %s>", x.name)
		}
	case *loopInfo:
		fmt.Fprintf(b, "<LoopContext %d/%d>", x.i+1, len(x.items))
	default:
		fmt.Fprintf(b, "%v", x)
	}
}

// pyFloat is Python's repr of a float.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // [-]d[.ddd]e±XX, shortest round trip
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	e := strings.IndexByte(s, 'e')
	exp, _ := strconv.Atoi(s[e+1:])
	digits := strings.Replace(s[:e], ".", "", 1)
	decpt := exp + 1
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	switch {
	case decpt > 16 || decpt < -3:
		b.WriteByte(digits[0])
		if len(digits) > 1 {
			b.WriteByte('.')
			b.WriteString(digits[1:])
		}
		sign := byte('+')
		if exp < 0 {
			sign, exp = '-', -exp
		}
		fmt.Fprintf(&b, "e%c%02d", sign, exp)
	case decpt <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -decpt))
		b.WriteString(digits)
	case decpt >= len(digits):
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", decpt-len(digits)))
		b.WriteString(".0")
	default:
		b.WriteString(digits[:decpt])
		b.WriteByte('.')
		b.WriteString(digits[decpt:])
	}
	return b.String()
}

// pyStrRepr is Python's repr of a str.
func pyStrRepr(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == ' ' || unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// ---------------------------------------------------------------- numbers

// num returns v as a number: an int64 (bools count), a float64, or ok=false.
func num(v any) (i int64, f float64, isFloat, ok bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, 0, false, true
		}
		return 0, 0, false, true
	case int64:
		return x, 0, false, true
	case float64:
		return 0, x, true, true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return 0, f, true, true
	}
	return 0, 0, false, false
}

func isNumber(v any) bool {
	_, _, _, ok := num(v)
	return ok
}

func toFloat(v any) float64 {
	i, f, isF, _ := num(v)
	if isF {
		return f
	}
	return float64(i)
}

// ---------------------------------------------------------------- equality and order

// equal is Python's ==.
func equal(a, b any) bool { return equalDepth(a, b, 0) }

func equalDepth(a, b any, depth int) bool {
	if depth > maxValueDepth {
		return false
	}
	if isNumber(a) && isNumber(b) {
		ba, aBig := a.(*big.Int)
		bb, bBig := b.(*big.Int)
		if aBig && bBig {
			return ba.Cmp(bb) == 0
		}
		ia, _, af, _ := num(a)
		ib, _, bf, _ := num(b)
		if !af && !bf {
			return ia == ib
		}
		return toFloat(a) == toFloat(b)
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case Undefined:
		_, ok := b.(Undefined)
		return ok
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		return ok && equalSeq(x, y, depth)
	case Tuple:
		y, ok := b.(Tuple)
		return ok && equalSeq(x, y, depth)
	case *Dict:
		y, ok := b.(*Dict)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for _, k := range x.keys {
			w, ok := y.m[k]
			if !ok || !equalDepth(x.m[k], w, depth+1) {
				return false
			}
		}
		return true
	}
	return a == b
}

func equalSeq(a, b []any, depth int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equalDepth(a[i], b[i], depth+1) {
			return false
		}
	}
	return true
}

// compare is Python's ordering of a and b: -1, 0 or 1, or a TypeError.
func compare(a, b any, op string) (int, error) { return compareDepth(a, b, op, 0) }

func compareDepth(a, b any, op string, depth int) (int, error) {
	if depth > maxValueDepth {
		return 0, &RenderError{Kind: "RecursionError", Msg: "values nested too deeply to compare"}
	}
	if u, ok := a.(Undefined); ok {
		return 0, u.err()
	}
	if u, ok := b.(Undefined); ok {
		return 0, u.err()
	}
	if isNumber(a) && isNumber(b) {
		ia, _, af, _ := num(a)
		ib, _, bf, _ := num(b)
		if !af && !bf {
			return cmp3(ia < ib, ia > ib), nil
		}
		fa, fb := toFloat(a), toFloat(b)
		return cmp3(fa < fb, fa > fb), nil
	}
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), nil
		}
	case []any:
		if y, ok := b.([]any); ok {
			return compareSeq(x, y, op, depth)
		}
	case Tuple:
		if y, ok := b.(Tuple); ok {
			return compareSeq(x, y, op, depth)
		}
	}
	return 0, typeError("'%s' not supported between instances of '%s' and '%s'", op, typeName(a), typeName(b))
}

func cmp3(lt, gt bool) int {
	switch {
	case lt:
		return -1
	case gt:
		return 1
	}
	return 0
}

func compareSeq(a, b []any, op string, depth int) (int, error) {
	for i := 0; i < len(a) && i < len(b); i++ {
		if equalDepth(a[i], b[i], depth+1) {
			continue
		}
		return compareDepth(a[i], b[i], op, depth+1)
	}
	return cmp3(len(a) < len(b), len(a) > len(b)), nil
}

// ---------------------------------------------------------------- JSON

// FromJSON decodes one JSON value, keeping the order of object keys as
// Python's json.loads does. Integers become int64 (or *big.Int), other
// numbers float64.
func FromJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeJSON(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("jinja: trailing data after JSON value")
	}
	return v, nil
}

func decodeJSON(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch x := tok.(type) {
	case json.Delim:
		switch x {
		case '[':
			l := []any{}
			for dec.More() {
				v, err := decodeJSON(dec)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			_, err := dec.Token()
			return l, err
		case '{':
			d := NewDict()
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeJSON(dec)
				if err != nil {
					return nil, err
				}
				d.Set(k.(string), v)
			}
			_, err := dec.Token()
			return d, err
		}
		return nil, fmt.Errorf("jinja: unexpected %v in JSON", x)
	case json.Number:
		return parseJSONNumber(string(x))
	case string, bool, nil:
		return x, nil
	}
	return nil, fmt.Errorf("jinja: unexpected JSON token %v", tok)
}

func parseJSONNumber(s string) (any, error) {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return nil, fmt.Errorf("jinja: bad JSON number %q", s)
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !math.IsInf(f, 0) {
		return nil, fmt.Errorf("jinja: bad JSON number %q", s)
	}
	return f, nil
}

// jsonOpts are json.dumps's arguments.
type jsonOpts struct {
	ensureASCII bool
	indent      *string // nil: no indentation
	itemSep     string
	keySep      string
	sortKeys    bool
}

// toJSON is Python's json.dumps(v, ...).
func toJSON(v any, o jsonOpts) (string, error) {
	var b strings.Builder
	if err := writeJSON(&b, v, o, 0); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeJSON(b *strings.Builder, v any, o jsonOpts, level int) error {
	if level > maxValueDepth {
		return &RenderError{Kind: "ValueError", Msg: "JSON value nested too deeply"}
	}
	newline := func(l int) {
		if o.indent != nil {
			b.WriteByte('\n')
			for range l {
				b.WriteString(*o.indent)
			}
		}
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case *big.Int:
		b.WriteString(x.String())
	case float64:
		switch {
		case math.IsNaN(x):
			b.WriteString("NaN")
		case math.IsInf(x, 1):
			b.WriteString("Infinity")
		case math.IsInf(x, -1):
			b.WriteString("-Infinity")
		default:
			b.WriteString(pyFloat(x))
		}
	case string:
		writeJSONString(b, x, o.ensureASCII)
	case []any, Tuple:
		var l []any
		if t, ok := x.(Tuple); ok {
			l = t
		} else {
			l = x.([]any)
		}
		if len(l) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i, e := range l {
			if i > 0 {
				b.WriteString(o.itemSep)
			}
			newline(level + 1)
			if err := writeJSON(b, e, o, level+1); err != nil {
				return err
			}
		}
		newline(level)
		b.WriteByte(']')
	case *Dict:
		if x.Len() == 0 {
			b.WriteString("{}")
			return nil
		}
		keys := x.keys
		if o.sortKeys {
			keys = append([]string(nil), keys...)
			sort.Strings(keys)
		}
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(o.itemSep)
			}
			newline(level + 1)
			writeJSONString(b, k, o.ensureASCII)
			b.WriteString(o.keySep)
			if err := writeJSON(b, x.m[k], o, level+1); err != nil {
				return err
			}
		}
		newline(level)
		b.WriteByte('}')
	default:
		return typeError("Object of type %s is not JSON serializable", typeName(v))
	}
	return nil
}

// writeJSONString is json.dumps of a str: with ensure_ascii=False only '"',
// '\\' and control characters are escaped; with ensure_ascii=True also
// everything outside ' '…'~'.
func writeJSONString(b *strings.Builder, s string, ensureASCII bool) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || ensureASCII && r > '~':
				if r >= 0x10000 {
					r -= 0x10000
					fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
				} else {
					fmt.Fprintf(b, `\u%04x`, r)
				}
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}
