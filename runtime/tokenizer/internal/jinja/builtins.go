package jinja

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Filters, tests, global functions and methods: jinja2 3.1's that chat
// templates use, with jinja2's semantics, plus Hugging Face's tojson,
// raise_exception and strftime_now.

type builtin func(st *state, v any, args []any, kw []kwarg) (any, error)

// missing marks an argument that was not passed.
type missing struct{}

// bind matches args and kw to the parameters names (Python's rules);
// parameters not passed are missing{}.
func bind(fn string, args []any, kw []kwarg, names ...string) ([]any, error) {
	if len(args) > len(names) {
		return nil, typeError("%s() takes at most %d argument(s) (%d given)", fn, len(names), len(args))
	}
	out := make([]any, len(names))
	for i := range out {
		out[i] = missing{}
	}
	copy(out, args)
	for _, k := range kw {
		i := indexOf(names, k.name)
		if i < 0 {
			return nil, typeError("%s() got an unexpected keyword argument '%s'", fn, k.name)
		}
		if i < len(args) {
			return nil, typeError("%s() got multiple values for argument '%s'", fn, k.name)
		}
		out[i] = k.val
	}
	return out, nil
}

func given(v any) bool { _, m := v.(missing); return !m }

func or(v, def any) any {
	if given(v) {
		return v
	}
	return def
}

func asInt(fn string, v any) (int64, error) {
	if _, ok := v.(bool); ok {
		v, _, _, _ = num(v)
	}
	i, ok := v.(int64)
	if !ok {
		return 0, typeError("%s(): an integer is required, not '%s'", fn, typeName(v))
	}
	return i, nil
}

func asString(fn string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", typeError("%s(): a string is required, not '%s'", fn, typeName(v))
	}
	return s, nil
}

var filters map[string]builtin

var tests map[string]builtin

var globals *scope

func init() {
	filters = map[string]builtin{
		"abs":        fAbs,
		"attr":       fAttr,
		"capitalize": strFilter(pyCapitalize),
		"count":      fLength,
		"d":          fDefault,
		"default":    fDefault,
		"dictsort":   fDictsort,
		"e":          fEscape,
		"escape":     fEscape,
		"first":      fFirst,
		"float":      fFloat,
		"indent":     fIndent,
		"int":        fInt,
		"items":      fItems,
		"join":       fJoin,
		"last":       fLast,
		"length":     fLength,
		"list":       fList,
		"lower":      strFilter(strings.ToLower),
		"map":        fMap,
		"max":        fMinMax(1),
		"min":        fMinMax(-1),
		"reject":     fSelect(false, false),
		"rejectattr": fSelect(false, true),
		"replace":    fReplace,
		"reverse":    fReverse,
		"round":      fRound,
		"safe":       func(st *state, v any, args []any, kw []kwarg) (any, error) { return v, nil },
		"select":     fSelect(true, false),
		"selectattr": fSelect(true, true),
		"sort":       fSort,
		"string":     func(st *state, v any, args []any, kw []kwarg) (any, error) { return str(v), nil },
		"sum":        fSum,
		"title":      strFilter(jinjaTitle),
		"tojson":     fToJSON,
		"trim":       fTrim,
		"unique":     fUnique,
		"upper":      strFilter(strings.ToUpper),
		"wordcount": func(st *state, v any, args []any, kw []kwarg) (any, error) {
			return int64(len(strings.FieldsFunc(str(v), notWord))), nil
		},
	}
	tests = map[string]builtin{
		"boolean":     test1(func(v any) bool { _, ok := v.(bool); return ok }),
		"callable":    test1(func(v any) bool { _, ok := v.(*Callable); return ok }),
		"defined":     test1(func(v any) bool { _, ok := v.(Undefined); return !ok }),
		"undefined":   test1(func(v any) bool { _, ok := v.(Undefined); return ok }),
		"none":        test1(func(v any) bool { return v == nil }),
		"true":        test1(func(v any) bool { b, ok := v.(bool); return ok && b }),
		"false":       test1(func(v any) bool { b, ok := v.(bool); return ok && !b }),
		"integer":     test1(func(v any) bool { _, ok := v.(int64); _, big := v.(*big.Int); return ok || big }),
		"float":       test1(func(v any) bool { _, ok := v.(float64); return ok }),
		"number":      test1(isNumber),
		"string":      test1(func(v any) bool { _, ok := v.(string); return ok }),
		"mapping":     test1(func(v any) bool { _, ok := v.(*Dict); return ok }),
		"iterable":    test1(func(v any) bool { _, err := iterate(v); return err == nil }),
		"sequence":    test1(func(v any) bool { return length(v) >= 0 }),
		"escaped":     test1(func(v any) bool { return false }),
		"lower":       test1(func(v any) bool { return pyIsCase(str(v), unicode.IsLower) }),
		"upper":       test1(func(v any) bool { return pyIsCase(str(v), unicode.IsUpper) }),
		"odd":         tParity(1),
		"even":        tParity(0),
		"divisibleby": tDivisible,
		"eq":          tCompare("=="),
		"equalto":     tCompare("=="),
		"==":          tCompare("=="),
		"ne":          tCompare("!="),
		"!=":          tCompare("!="),
		"lt":          tCompare("<"),
		"lessthan":    tCompare("<"),
		"<":           tCompare("<"),
		"le":          tCompare("<="),
		"<=":          tCompare("<="),
		"gt":          tCompare(">"),
		"greaterthan": tCompare(">"),
		">":           tCompare(">"),
		"ge":          tCompare(">="),
		">=":          tCompare(">="),
		"in":          tIn,
		"sameas":      tSameas,
		"filter":      test1(func(v any) bool { s, ok := v.(string); _, f := filters[s]; return ok && f }),
		"test":        test1(func(v any) bool { s, ok := v.(string); _, t := tests[s]; return ok && t }),
	}
	globals = &scope{vars: map[string]any{
		"range":           &Callable{name: "range", fn: gRange},
		"namespace":       &Callable{name: "namespace", fn: gNamespace},
		"dict":            &Callable{name: "dict", fn: gDict},
		"raise_exception": &Callable{name: "raise_exception", fn: gRaise},
		"strftime_now":    &Callable{name: "strftime_now", fn: gStrftimeNow},
	}}
}

// ---------------------------------------------------------------- filters

func strFilter(f func(string) string) builtin {
	return func(st *state, v any, args []any, kw []kwarg) (any, error) {
		s := f(str(v))
		return s, st.chargeBytes(len(s))
	}
}

func fAbs(st *state, v any, args []any, kw []kwarg) (any, error) {
	switch x := v.(type) {
	case bool, int64:
		i, _, _, _ := num(x)
		if i == math.MinInt64 {
			return nil, overflow()
		}
		if i < 0 {
			i = -i
		}
		return i, nil
	case float64:
		return math.Abs(x), nil
	case *big.Int:
		return new(big.Int).Abs(x), nil
	}
	return nil, typeError("bad operand type for abs(): '%s'", typeName(v))
}

func fAttr(st *state, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("attr", args, kw, "name")
	if err != nil {
		return nil, err
	}
	name, err := asString("attr", a[0])
	if err != nil {
		return nil, err
	}
	if u, ok := v.(Undefined); ok {
		return nil, u.err()
	}
	return getattr(v, name), nil
}

func fDefault(st *state, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("default", args, kw, "default_value", "boolean")
	if err != nil {
		return nil, err
	}
	_, undef := v.(Undefined)
	if undef || given(a[1]) && truthy(a[1]) && !truthy(v) {
		return or(a[0], ""), nil
	}
	return v, nil
}

func fDictsort(st *state, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("dictsort", args, kw, "case_sensitive", "by", "reverse")
	if err != nil {
		return nil, err
	}
	d, ok := v.(*Dict)
	if !ok {
		return nil, &RenderError{Kind: "FilterArgumentError", Msg: "dictsort: can only sort a mapping"}
	}
	pos := 0
	if by := or(a[1], "key"); by == "value" {
		pos = 1
	} else if by != "key" {
		return nil, &RenderError{Kind: "FilterArgumentError", Msg: "You can only sort by either 'key' or 'value'"}
	}
	items := dictItems(d)
	err = sortValues(items, func(x any) any {
		k := x.(Tuple)[pos]
		if s, ok := k.(string); ok && !truthy(or(a[0], false)) {
			return strings.ToLower(s)
		}
		return k
	}, truthy(or(a[2], false)))
	return items, err
}

func dictItems(d *Dict) []any {
	items := make([]any, d.Len())
	for i, k := range d.keys {
		items[i] = Tuple{k, d.m[k]}
	}
	return items
}

// sortValues sorts l stably by key(x) with Python's ordering.
func sortValues(l []any, key func(any) any, reverse bool) error {
	var err error
	sort.SliceStable(l, func(i, j int) bool {
		a, b := key(l[i]), key(l[j])
		if reverse {
			a, b = b, a
		}
		c, e := compare(a, b, "<")
		if e != nil && err == nil {
			err = e
		}
		return c < 0
	})
	return err
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")

func fEscape(st *state, v any, args []any, kw []kwarg) (any, error) {
	s := htmlEscaper.Replace(str(v))
	return s, st.chargeBytes(len(s))
}

func fFirst(st *state, v any, args []any, kw []kwarg) (any, error) {
	l, err := iterate(v)
	if err != nil {
		return nil, err
	}
	if len(l) == 0 {
		return Undefined{"no first item, sequence was empty"}, nil
	}
	return l[0], nil
}

func fLast(st *state, v any, args []any, kw []kwarg) (any, error) {
	l, err := iterate(v)
	if err != nil {
		return nil, err
	}
	if len(l) == 0 {
		return Undefined{"no last item, sequence was empty"}, nil
	}
	return l[len(l)-1], nil
}

func fFloat(st *state, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("float", args, kw, "default")
	if err != nil {
		return nil, err
	}
	if isNumber(v) {
		return toFloat(v), nil
	}
	if s, ok := v.(string); ok {
		if f, ok := pyParseFloat(s); ok {
			return f, nil
		}
	}
	return or(a[0], 0.0), nil
}

// pyParseFloat is Python's float(s) for a str.
func pyParseFloat(s string) (float64, bool) {
	s = strings.ReplaceAll(strings.TrimFunc(s, isPySpace), "_", "")
	switch strings.ToLower(strings.TrimLeft(s, "+-")) {
	case "inf", "infinity", "nan":
	default:
		if strings.ContainsAny(strings.ToLower(s), "xpn") {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func fInt(st *state, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("int", args, kw, "default", "base")
	if err != nil {
		return nil, err
	}
	def := or(a[0], int64(0))
	switch x := v.(type) {
	case bool, int64:
		i, _, _, _ := num(x)
		return i, nil
	case *big.Int:
		return x, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) >= 1<<63 {
			return def, nil
		}
		return int64(x), nil
	case string:
		base, err := asInt("int", or(a[1], int64(10)))
		if err != nil {
			return nil, err
		}
		t := strings.ReplaceAll(strings.TrimFunc(x, isPySpace), "_", "")
		if i, err := strconv.ParseInt(t, int(base), 64); err == nil {
			return i, nil
		}
		if f, ok := pyParseFloat(x); ok && !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) < 1<<63 {
			return int64(f), nil
		}
	}
	return def, nil
}

func fIndent(st *state, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("indent", args, kw, "width", "first", "blank")
	if err != nil {
		return nil, err
	}
	ind := "    "
	switch w := or(a[0], int64(4)).(type) {
	case string:
		ind = w
	default:
		n, err := asInt("indent", w)
		if err != nil {
			return nil, err
		}
		ind = strings.Repeat(" ", int(max(0, min(n, 1024))))
	}
	s := str(v) + "\n"
	lines := pySplitlines(s)
	var rv string
	if truthy(or(a[2], false)) {
		rv = strings.Join(lines, "\n"+ind)
	} else {
		rv = lines[0]
		if len(lines) > 1 {
			rest := make([]string, len(lines)-1)
			for i, l := range lines[1:] {
				if l != "" {
					l = ind + l
				}
				rest[i] = l
			}
			rv += "\n" + strings.Join(rest, "\n")
		}
	}
	if truthy(or(a[1], false)) {
		rv = ind + rv
	}
	return rv, st.chargeBytes(len(rv))
}

// pySplitlines is Python's str.splitlines().
func pySplitlines(s string) []string {
	var lines []string
	start := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			lines = append(lines, s[start:i])
			if r == '\r' && i+1 < len(s) && s[i+1] == '\n' {
				n++
			}
			start = i + n
		}
		i += n
	}
	if start < len(s) {
		lines = append(lines, s[start:])
	}
	return lines
}

func fItems(st *state, v any, args []any, kw []kwarg) (any, error) {
	switch x := v.(type) {
	case Undefined:
		return []any{}, nil
	case *Dict:
		return dictItems(x), nil
	}
	return nil, typeError("Can only get item pairs from a mapping.")
}

func fJoin(st *state, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("join", args, kw, "d", "attribute")
	if err != nil {
		return nil, err
	}
	l, err := iterate(v)
	if err != nil {
		return nil, err
	}
	sep := str(or(a[0], ""))
	parts := make([]string, len(l))
	n := 0
	for i, e := range l {
		if given(a[1]) && a[1] != nil {
			e = attrPath(e, a[1])
		}
		parts[i] = str(e)
		n += len(parts[i]) + len(sep)
	}
	if err := st.chargeBytes(n); err != nil {
		return nil, err
	}
	return strings.Join(parts, sep), nil
}

// attrPath is jinja2's make_attrgetter: a dotted path of attributes or
// integer indexes.
func attrPath(v any, path any) any {
	if i, ok := path.(int64); ok {
		return getitem(v, i)
	}
	for _, part := range strings.Split(str(path), ".") {
		if i, err := strconv.ParseInt(part, 10, 64); err == nil {
			v = getitem(v, i)
		} else {
			v = getitem(v, part)
		}
	}
	return v
}

func fLength(st *state, v any, args []any, kw []kwarg) (any, error) {
	n := length(v)
	if n < 0 {
		return nil, typeError("object of type '%s' has no len()", typeName(v))
	}
	return int64(n), nil
}

func fList(st *state, v any, args []any, kw []kwarg) (any, error) {
	l, err := iterate(v)
	if err != nil {
		return nil, err
	}
	return append([]any{}, l...), st.chargeBytes(len(l))
}

func fMap(st *state, v any, args []any, kw []kwarg) (any, error) {
	l, err := iterate(v)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(l))
	if len(args) == 0 {
		var attr, def any = missing{}, missing{}
		for _, k := range kw {
			switch k.name {
			case "attribute":
				attr = k.val
			case "default":
				def = k.val
			default:
				return nil, &RenderError{Kind: "FilterArgumentError", Msg: fmt.Sprintf("unexpected keyword argument '%s'", k.name)}
			}
		}
		if !given(attr) {
			return nil, &RenderError{Kind: "FilterArgumentError", Msg: "map requires a filter argument"}
		}
		for _, e := range l {
			x := attrPath(e, attr)
			if _, u := x.(Undefined); u && given(def) {
				x = def
			}
			out = append(out, x)
		}
		return out, nil
	}
	name, err := asString("map", args[0])
	if err != nil {
		return nil, err
	}
	f, ok := filters[name]
	if !ok {
		return nil, &RenderError{Kind: "TemplateRuntimeError", Msg: fmt.Sprintf("no filter named '%s'", name)}
	}
	for _, e := range l {
		x, err := f(st, e, args[1:], kw)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

func fMinMax(sign int) builtin {
	return func(st *state, v any, args []any, kw []kwarg) (any, error) {
		a, err := bind("max", args, kw, "case_sensitive", "attribute")
		if err != nil {
			return nil, err
		}
		l, err := iterate(v)
		if err != nil {
			return nil, err
		}
		if len(l) == 0 {
			return Undefined{"no aggregated item, sequence was empty"}, nil
		}
		key := func(x any) any {
			if given(a[1]) && a[1] != nil {
				x = attrPath(x, a[1])
			}
			if s, ok := x.(string); ok && !truthy(or(a[0], false)) {
				return strings.ToLower(s)
			}
			return x
		}
		best := l[0]
		for _, e := range l[1:] {
			c, err := compare(key(e), key(best), "<")
			if err != nil {
				return nil, err
			}
			if c*sign > 0 {
				best = e
			}
		}
		return best, nil
	}
}

func fSelect(keep, byAttr bool) builtin {
	return func(st *state, v any, args []any, kw []kwarg) (any, error) {
		l, err := iterate(v)
		if err != nil {
			return nil, err
		}
		var attr any
		if byAttr {
			if len(args) == 0 {
				return nil, typeError("missing parameter for attribute name")
			}
			attr, args = args[0], args[1:]
		}
		var t builtin
		if len(args) > 0 {
			name, err := asString("select", args[0])
			if err != nil {
				return nil, err
			}
			if t = tests[name]; t == nil {
				return nil, &RenderError{Kind: "TemplateRuntimeError", Msg: fmt.Sprintf("no test named '%s'", name)}
			}
			args = args[1:]
		}
		var out []any
		for _, e := range l {
			x := e
			if byAttr {
				x = attrPath(e, attr)
			}
			var ok bool
			if t == nil {
				ok = truthy(x)
			} else {
				r, err := t(st, x, args, kw)
				if err != nil {
					return nil, err
				}
				ok = truthy(r)
			}
			if ok == keep {
				out = append(out, e)
			}
		}
		return out, nil
	}
}

func fReplace(st *state, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("replace", args, kw, "old", "new", "count")
	if err != nil {
		return nil, err
	}
	if !given(a[0]) || !given(a[1]) {
		return nil, typeError("replace() missing required arguments")
	}
	n := int64(-1)
	if given(a[2]) && a[2] != nil {
		if n, err = asInt("replace", a[2]); err != nil {
			return nil, err
		}
	}
	return pyReplace(st, str(v), str(a[0]), str(a[1]), n)
}

func pyReplace(st *state, s, old, new string, n int64) (any, error) {
	if n < 0 {
		n = -1
	}
	if old == "" && int64(len(new))*int64(utf8.RuneCountInString(s)+1) > maxOutput || old != "" && int64(len(new)) > int64(len(old)) && int64(len(new))*int64(len(s)) > maxOutput*int64(len(old)) {
		return nil, errOutput
	}
	r := strings.Replace(s, old, new, int(n))
	return r, st.chargeBytes(len(r))
}

func fReverse(st *state, v any, args []any, kw []kwarg) (any, error) {
	if s, ok := v.(string); ok {
		r := []rune(s)
		slices.Reverse(r)
		return string(r), nil
	}
	l, err := iterate(v)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(l)
	slices.Reverse(out)
	return out, nil
}

func fRound(st *state, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("round", args, kw, "precision", "method")
	if err != nil {
		return nil, err
	}
	prec, err := asInt("round", or(a[0], int64(0)))
	if err != nil {
		return nil, err
	}
	method := or(a[1], "common")
	if i, isInt := v.(int64); isInt && method == "common" {
		if prec >= 0 {
			return v, nil
		}
		if prec < -18 {
			return int64(0), nil
		}
		// Python rounds an int half to even at 10**-prec.
		p := int64(math.Pow10(int(-prec)))
		q, r := i/p, i%p
		if r < 0 {
			q, r = q-1, r+p
		}
		if 2*r > p || 2*r == p && q%2 != 0 {
			q++
		}
		return q * p, nil
	}
	if !isNumber(v) {
		return nil, typeError("type %s doesn't define __round__ method", typeName(v))
	}
	f := toFloat(v)
	switch method {
	case "common":
		if prec < -308 || prec > 308 || math.IsInf(f, 0) || math.IsNaN(f) {
			return f, nil
		}
		if prec >= 0 {
			r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', int(prec), 64), 64)
			return r, nil
		}
		p := math.Pow(10, float64(-prec))
		return math.RoundToEven(f/p) * p, nil
	case "floor", "ceil":
		p := math.Pow(10, float64(prec))
		if method == "floor" {
			return math.Floor(f*p) / p, nil
		}
		return math.Ceil(f*p) / p, nil
	}
	return nil, &RenderError{Kind: "FilterArgumentError", Msg: "method must be common, ceil or floor"}
}

func fSort(st *state, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("sort", args, kw, "reverse", "case_sensitive", "attribute")
	if err != nil {
		return nil, err
	}
	l, err := iterate(v)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(l)
	err = sortValues(out, func(x any) any {
		if given(a[2]) && a[2] != nil {
			x = attrPath(x, a[2])
		}
		if s, ok := x.(string); ok && !truthy(or(a[1], false)) {
			return strings.ToLower(s)
		}
		return x
	}, truthy(or(a[0], false)))
	return out, err
}

func fSum(st *state, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("sum", args, kw, "attribute", "start")
	if err != nil {
		return nil, err
	}
	l, err := iterate(v)
	if err != nil {
		return nil, err
	}
	total := or(a[1], int64(0))
	for _, e := range l {
		if given(a[0]) && a[0] != nil {
			e = attrPath(e, a[0])
		}
		if total, err = arith(st, "+", total, e); err != nil {
			return nil, err
		}
	}
	return total, nil
}

func fToJSON(st *state, v any, args []any, kw []kwarg) (any, error) {
	// Hugging Face's tojson: json.dumps(x, ensure_ascii=ensure_ascii,
	// indent=indent, separators=separators, sort_keys=sort_keys).
	a, err := bind("tojson", args, kw, "ensure_ascii", "indent", "separators", "sort_keys")
	if err != nil {
		return nil, err
	}
	o := jsonOpts{ensureASCII: truthy(or(a[0], false)), sortKeys: truthy(or(a[3], false)), itemSep: ", ", keySep: ": "}
	if ind := or(a[1], nil); ind != nil {
		var s string
		switch x := ind.(type) {
		case string:
			s = x
		default:
			n, err := asInt("tojson", x)
			if err != nil {
				return nil, err
			}
			s = strings.Repeat(" ", int(max(0, min(n, 1024))))
		}
		o.indent = &s
		o.itemSep = ","
	}
	if sep := or(a[2], nil); sep != nil {
		l, err := iterate(sep)
		if err != nil || len(l) != 2 {
			return nil, valueError("separators must be a pair of strings")
		}
		is, ok1 := l[0].(string)
		ks, ok2 := l[1].(string)
		if !ok1 || !ok2 {
			return nil, valueError("separators must be a pair of strings")
		}
		o.itemSep, o.keySep = is, ks
	}
	s, err := toJSON(v, o)
	if err != nil {
		return nil, err
	}
	return s, st.chargeBytes(len(s))
}

func fTrim(st *state, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("trim", args, kw, "chars")
	if err != nil {
		return nil, err
	}
	return pyStrip(str(v), or(a[0], nil), true, true)
}

// pyStrip is Python's str.strip / lstrip / rstrip.
func pyStrip(s string, chars any, left, right bool) (any, error) {
	f := isPySpace
	if chars != nil {
		cs, ok := chars.(string)
		if !ok {
			return nil, typeError("strip arg must be None or str")
		}
		f = func(r rune) bool { return strings.ContainsRune(cs, r) }
	}
	if left {
		s = strings.TrimLeftFunc(s, f)
	}
	if right {
		s = strings.TrimRightFunc(s, f)
	}
	return s, nil
}

func fUnique(st *state, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("unique", args, kw, "case_sensitive", "attribute")
	if err != nil {
		return nil, err
	}
	l, err := iterate(v)
	if err != nil {
		return nil, err
	}
	var out, seen []any
	for _, e := range l {
		k := e
		if given(a[1]) && a[1] != nil {
			k = attrPath(e, a[1])
		}
		if s, ok := k.(string); ok && !truthy(or(a[0], false)) {
			k = strings.ToLower(s)
		}
		if containsSeq(seen, k) {
			continue
		}
		if err := st.charge(len(seen)/16 + 1); err != nil {
			return nil, err
		}
		seen = append(seen, k)
		out = append(out, e)
	}
	return out, nil
}

func notWord(r rune) bool { return !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) }

// jinjaTitle is jinja2's do_title: each word (split at blanks and "-({[<")
// gets an upper-case first letter and lower-case rest.
func jinjaTitle(s string) string {
	var b strings.Builder
	start := true
	for _, r := range s {
		if isPySpace(r) || strings.ContainsRune("-({[<", r) {
			b.WriteRune(r)
			start = true
			continue
		}
		if start {
			b.WriteRune(unicode.ToTitle(r))
		} else {
			b.WriteRune(unicode.ToLower(r))
		}
		start = false
	}
	return b.String()
}

// pyCapitalize is Python's str.capitalize.
func pyCapitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToTitle(r)) + strings.ToLower(s[n:])
}

// pyTitle is Python's str.title.
func pyTitle(s string) string {
	var b strings.Builder
	prevCased := false
	for _, r := range s {
		cased := unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r)
		switch {
		case cased && !prevCased:
			b.WriteRune(unicode.ToTitle(r))
		case cased:
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
		prevCased = cased
	}
	return b.String()
}

// pyIsCase is Python's str.islower / isupper: some cased character and
// none of the other case.
func pyIsCase(s string, is func(rune) bool) bool {
	seen := false
	for _, r := range s {
		if unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) {
			if !is(r) {
				return false
			}
			seen = true
		}
	}
	return seen
}

// ---------------------------------------------------------------- tests

func test1(f func(any) bool) builtin {
	return func(st *state, v any, args []any, kw []kwarg) (any, error) { return f(v), nil }
}

func tParity(rem int64) builtin {
	return func(st *state, v any, args []any, kw []kwarg) (any, error) {
		r, err := arith(st, "%", v, int64(2))
		if err != nil {
			return nil, err
		}
		return equal(r, rem), nil
	}
}

func tDivisible(st *state, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("divisibleby", args, kw, "num")
	if err != nil {
		return nil, err
	}
	r, err := arith(st, "%", v, a[0])
	if err != nil {
		return nil, err
	}
	return equal(r, int64(0)), nil
}

func tCompare(op string) builtin {
	return func(st *state, v any, args []any, kw []kwarg) (any, error) {
		a, err := bind(op, args, kw, "other")
		if err != nil {
			return nil, err
		}
		if !given(a[0]) {
			return nil, typeError("test %s needs an argument", op)
		}
		c := &compareExpr{first: &constExpr{v}, ops: []string{op}, rest: []expr{&constExpr{a[0]}}}
		return c.eval(st, nil)
	}
}

func tIn(st *state, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("in", args, kw, "seq")
	if err != nil {
		return nil, err
	}
	return contains(a[0], v)
}

func tSameas(st *state, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("sameas", args, kw, "other")
	if err != nil {
		return nil, err
	}
	o := a[0]
	switch x := v.(type) {
	case nil, bool, string, int64, float64:
		return typeName(x) == typeName(o) && equal(x, o), nil
	case []any:
		y, ok := o.([]any)
		return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0]), nil
	case Tuple:
		y, ok := o.(Tuple)
		return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0]), nil
	}
	return v == o, nil
}

// ---------------------------------------------------------------- globals

// maxRange is the most items range() may produce.
const maxRange = 1 << 20

func gRange(st *state, args []any, kw []kwarg) (any, error) {
	if len(kw) > 0 || len(args) == 0 || len(args) > 3 {
		return nil, typeError("range expected 1 to 3 integer arguments")
	}
	var n [3]int64
	for i, a := range args {
		var err error
		if n[i], err = asInt("range", a); err != nil {
			return nil, err
		}
	}
	start, stop, step := int64(0), n[0], int64(1)
	if len(args) >= 2 {
		start, stop = n[0], n[1]
	}
	if len(args) == 3 {
		step = n[2]
	}
	if step == 0 {
		return nil, valueError("range() arg 3 must not be zero")
	}
	count := int64(0)
	if step > 0 && stop > start {
		count = (stop - start + step - 1) / step
	} else if step < 0 && stop < start {
		count = (start - stop - step - 1) / -step
	}
	if count > maxRange {
		return nil, &RenderError{Kind: "OverflowError", Msg: fmt.Sprintf("range too big (%d items, at most %d)", count, maxRange)}
	}
	if err := st.chargeBytes(int(count)); err != nil {
		return nil, err
	}
	l := make([]any, count)
	for i := range l {
		l[i] = start + int64(i)*step
	}
	return l, nil
}

func kwDict(fn string, args []any, kw []kwarg) (*Dict, error) {
	d := NewDict()
	if len(args) > 1 {
		return nil, typeError("%s expected at most 1 argument, got %d", fn, len(args))
	}
	if len(args) == 1 {
		switch x := args[0].(type) {
		case *Dict:
			for _, k := range x.keys {
				d.Set(k, x.m[k])
			}
		default:
			l, err := iterate(x)
			if err != nil {
				return nil, err
			}
			for _, e := range l {
				p, err := iterate(e)
				if err != nil || len(p) != 2 {
					return nil, valueError("dictionary update sequence element has wrong length")
				}
				k, ok := p[0].(string)
				if !ok {
					return nil, typeError("only string keys are supported")
				}
				d.Set(k, p[1])
			}
		}
	}
	for _, k := range kw {
		d.Set(k.name, k.val)
	}
	return d, nil
}

func gNamespace(st *state, args []any, kw []kwarg) (any, error) {
	d, err := kwDict("namespace", args, kw)
	if err != nil {
		return nil, err
	}
	return &Namespace{d}, nil
}

func gDict(st *state, args []any, kw []kwarg) (any, error) { return kwDict("dict", args, kw) }

func gRaise(st *state, args []any, kw []kwarg) (any, error) {
	msg := ""
	if len(args) > 0 {
		msg = str(args[0])
	}
	return nil, &RenderError{Kind: "TemplateError", Msg: msg}
}

// Now is the clock strftime_now reads; tests may replace it.
var Now = time.Now

func gStrftimeNow(st *state, args []any, kw []kwarg) (any, error) {
	a, err := bind("strftime_now", args, kw, "format")
	if err != nil {
		return nil, err
	}
	f, err := asString("strftime_now", a[0])
	if err != nil {
		return nil, err
	}
	return strftime(Now(), f), nil
}

// strftime is C's strftime (glibc, C locale) for the common directives,
// with glibc's "-" flag (no padding).
func strftime(t time.Time, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		pad := true
		if f[i] == '-' && i+1 < len(f) {
			pad = false
			i++
		}
		n := func(v, w int) {
			if pad {
				fmt.Fprintf(&b, "%0*d", w, v)
			} else {
				fmt.Fprintf(&b, "%d", v)
			}
		}
		switch f[i] {
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'b', 'h':
			b.WriteString(t.Month().String()[:3])
		case 'B':
			b.WriteString(t.Month().String())
		case 'd':
			n(t.Day(), 2)
		case 'e':
			if pad {
				fmt.Fprintf(&b, "%2d", t.Day())
			} else {
				n(t.Day(), 1)
			}
		case 'H':
			n(t.Hour(), 2)
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			n(h, 2)
		case 'j':
			n(t.YearDay(), 3)
		case 'm':
			n(int(t.Month()), 2)
		case 'M':
			n(t.Minute(), 2)
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'S':
			n(t.Second(), 2)
		case 'y':
			n(t.Year()%100, 2)
		case 'Y':
			n(t.Year(), 1)
		case 'Z':
			z, _ := t.Zone()
			b.WriteString(z)
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

// ---------------------------------------------------------------- methods

// method returns obj's Python method name bound to obj, or nil. unsafe:
// the attribute is a method that would modify obj, which the sandbox
// refuses.
func method(obj any, name string) (c *Callable, unsafe bool) {
	if m, ok := mutators[typeName(obj)]; ok && slices.Contains(m, name) {
		return nil, true
	}
	var fn func(st *state, args []any, kw []kwarg) (any, error)
	switch x := obj.(type) {
	case string:
		fn = strMethod(x, name)
	case *Dict:
		fn = dictMethod(x, name)
	case []any:
		fn = seqMethod(x, name)
	case Tuple:
		fn = seqMethod(x, name)
	}
	if fn == nil {
		return nil, false
	}
	return &Callable{name: name, fn: fn}, false
}

// mutators are the methods the ImmutableSandboxedEnvironment refuses.
var mutators = map[string][]string{
	"dict": {"clear", "pop", "popitem", "setdefault", "update"},
	"list": {"append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort"},
}

func dictMethod(d *Dict, name string) func(*state, []any, []kwarg) (any, error) {
	switch name {
	case "items":
		return func(st *state, args []any, kw []kwarg) (any, error) {
			return dictItems(d), st.chargeBytes(d.Len())
		}
	case "keys":
		return func(st *state, args []any, kw []kwarg) (any, error) {
			l, _ := iterate(d)
			return l, st.chargeBytes(d.Len())
		}
	case "values":
		return func(st *state, args []any, kw []kwarg) (any, error) {
			l := make([]any, d.Len())
			for i, k := range d.keys {
				l[i] = d.m[k]
			}
			return l, st.chargeBytes(d.Len())
		}
	case "get":
		return func(st *state, args []any, kw []kwarg) (any, error) {
			a, err := bind("get", args, kw, "key", "default")
			if err != nil {
				return nil, err
			}
			if k, ok := a[0].(string); ok {
				if v, ok := d.m[k]; ok {
					return v, nil
				}
			}
			return or(a[1], nil), nil
		}
	case "copy":
		return func(st *state, args []any, kw []kwarg) (any, error) {
			c := NewDict()
			for _, k := range d.keys {
				c.Set(k, d.m[k])
			}
			return c, st.chargeBytes(d.Len())
		}
	}
	return nil
}

func seqMethod(l []any, name string) func(*state, []any, []kwarg) (any, error) {
	switch name {
	case "index":
		return func(st *state, args []any, kw []kwarg) (any, error) {
			if len(args) != 1 {
				return nil, typeError("index() takes exactly one argument")
			}
			for i, e := range l {
				if equal(e, args[0]) {
					return int64(i), nil
				}
			}
			return nil, valueError("%s is not in list", repr(args[0]))
		}
	case "count":
		return func(st *state, args []any, kw []kwarg) (any, error) {
			if len(args) != 1 {
				return nil, typeError("count() takes exactly one argument")
			}
			n := int64(0)
			for _, e := range l {
				if equal(e, args[0]) {
					n++
				}
			}
			return n, nil
		}
	}
	return nil
}

func strMethod(s, name string) func(*state, []any, []kwarg) (any, error) {
	type sfn = func(st *state, args []any, kw []kwarg) (any, error)
	noArgs := func(f func(string) any) sfn {
		return func(st *state, args []any, kw []kwarg) (any, error) {
			if len(args)+len(kw) > 0 {
				return nil, typeError("%s() takes no arguments", name)
			}
			v := f(s)
			if r, ok := v.(string); ok {
				return r, st.chargeBytes(len(r))
			}
			return v, nil
		}
	}
	switch name {
	case "upper":
		return noArgs(func(s string) any { return strings.ToUpper(s) })
	case "lower":
		return noArgs(func(s string) any { return strings.ToLower(s) })
	case "title":
		return noArgs(func(s string) any { return pyTitle(s) })
	case "capitalize":
		return noArgs(func(s string) any { return pyCapitalize(s) })
	case "isdigit":
		return noArgs(func(s string) any {
			return s != "" && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) }) < 0
		})
	case "isalpha":
		return noArgs(func(s string) any {
			return s != "" && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) }) < 0
		})
	case "isalnum":
		return noArgs(func(s string) any {
			return s != "" && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) }) < 0
		})
	case "isspace":
		return noArgs(func(s string) any { return allSpace(s) })
	case "islower":
		return noArgs(func(s string) any { return pyIsCase(s, unicode.IsLower) })
	case "isupper":
		return noArgs(func(s string) any { return pyIsCase(s, unicode.IsUpper) })
	case "strip", "lstrip", "rstrip":
		return func(st *state, args []any, kw []kwarg) (any, error) {
			a, err := bind(name, args, kw, "chars")
			if err != nil {
				return nil, err
			}
			return pyStrip(s, or(a[0], nil), name != "rstrip", name != "lstrip")
		}
	case "split", "rsplit":
		return func(st *state, args []any, kw []kwarg) (any, error) {
			a, err := bind(name, args, kw, "sep", "maxsplit")
			if err != nil {
				return nil, err
			}
			n, err := asInt(name, or(a[1], int64(-1)))
			if err != nil {
				return nil, err
			}
			parts, err := pySplit(s, or(a[0], nil), int(max(-1, min(n, maxRange))), name == "rsplit")
			if err != nil {
				return nil, err
			}
			l := make([]any, len(parts))
			for i, p := range parts {
				l[i] = p
			}
			return l, st.chargeBytes(len(s) + len(l))
		}
	case "splitlines":
		return func(st *state, args []any, kw []kwarg) (any, error) {
			parts := pySplitlines(s)
			l := make([]any, len(parts))
			for i, p := range parts {
				l[i] = p
			}
			return l, st.chargeBytes(len(s) + len(l))
		}
	case "startswith", "endswith":
		return func(st *state, args []any, kw []kwarg) (any, error) {
			if len(args) != 1 || len(kw) > 0 {
				return nil, typeError("%s() takes exactly one argument", name)
			}
			var cands []any
			switch x := args[0].(type) {
			case string:
				cands = []any{x}
			case Tuple:
				cands = x
			default:
				return nil, typeError("%s first arg must be str or a tuple of str, not %s", name, typeName(x))
			}
			for _, c := range cands {
				p, ok := c.(string)
				if !ok {
					return nil, typeError("tuple for %s must only contain str", name)
				}
				if name == "startswith" && strings.HasPrefix(s, p) || name == "endswith" && strings.HasSuffix(s, p) {
					return true, nil
				}
			}
			return false, nil
		}
	case "replace":
		return func(st *state, args []any, kw []kwarg) (any, error) {
			a, err := bind("replace", args, kw, "old", "new", "count")
			if err != nil {
				return nil, err
			}
			old, err := asString("replace", a[0])
			if err != nil {
				return nil, err
			}
			nw, err := asString("replace", a[1])
			if err != nil {
				return nil, err
			}
			n, err := asInt("replace", or(a[2], int64(-1)))
			if err != nil {
				return nil, err
			}
			return pyReplace(st, s, old, nw, n)
		}
	case "find", "rfind", "count":
		return func(st *state, args []any, kw []kwarg) (any, error) {
			if len(args) != 1 || len(kw) > 0 {
				return nil, typeError("%s() takes exactly one argument here", name)
			}
			sub, err := asString(name, args[0])
			if err != nil {
				return nil, err
			}
			switch name {
			case "count":
				if sub == "" {
					return int64(utf8.RuneCountInString(s) + 1), nil
				}
				return int64(strings.Count(s, sub)), nil
			case "find":
				return runeIndex(s, strings.Index(s, sub)), nil
			}
			return runeIndex(s, strings.LastIndex(s, sub)), nil
		}
	case "join":
		return func(st *state, args []any, kw []kwarg) (any, error) {
			if len(args) != 1 || len(kw) > 0 {
				return nil, typeError("join() takes exactly one argument")
			}
			l, err := iterate(args[0])
			if err != nil {
				return nil, err
			}
			parts := make([]string, len(l))
			n := 0
			for i, e := range l {
				p, ok := e.(string)
				if !ok {
					return nil, typeError("sequence item %d: expected str instance, %s found", i, typeName(e))
				}
				parts[i] = p
				n += len(p) + len(s)
			}
			if err := st.chargeBytes(n); err != nil {
				return nil, err
			}
			return strings.Join(parts, s), nil
		}
	case "removeprefix":
		return func(st *state, args []any, kw []kwarg) (any, error) {
			if len(args) != 1 {
				return nil, typeError("removeprefix() takes exactly one argument")
			}
			p, err := asString(name, args[0])
			return strings.TrimPrefix(s, p), err
		}
	case "removesuffix":
		return func(st *state, args []any, kw []kwarg) (any, error) {
			if len(args) != 1 {
				return nil, typeError("removesuffix() takes exactly one argument")
			}
			p, err := asString(name, args[0])
			return strings.TrimSuffix(s, p), err
		}
	}
	return nil
}

func runeIndex(s string, byteIdx int) int64 {
	if byteIdx < 0 {
		return -1
	}
	return int64(utf8.RuneCountInString(s[:byteIdx]))
}

// pySplit is Python's str.split / rsplit.
func pySplit(s string, sep any, maxsplit int, fromRight bool) ([]string, error) {
	if sep == nil {
		var parts []string
		if !fromRight {
			rest := strings.TrimLeftFunc(s, isPySpace)
			for rest != "" {
				if maxsplit >= 0 && len(parts) == maxsplit {
					parts = append(parts, rest)
					break
				}
				i := strings.IndexFunc(rest, isPySpace)
				if i < 0 {
					parts = append(parts, rest)
					break
				}
				parts = append(parts, rest[:i])
				rest = strings.TrimLeftFunc(rest[i:], isPySpace)
			}
			return parts, nil
		}
		rest := strings.TrimRightFunc(s, isPySpace)
		for rest != "" {
			if maxsplit >= 0 && len(parts) == maxsplit {
				parts = append(parts, rest)
				break
			}
			i := strings.LastIndexFunc(rest, isPySpace)
			if i < 0 {
				parts = append(parts, rest)
				break
			}
			_, n := utf8.DecodeRuneInString(rest[i:])
			parts = append(parts, rest[i+n:])
			rest = strings.TrimRightFunc(rest[:i], isPySpace)
		}
		slices.Reverse(parts)
		return parts, nil
	}
	sp, ok := sep.(string)
	if !ok {
		return nil, typeError("must be str or None, not %s", typeName(sep))
	}
	if sp == "" {
		return nil, valueError("empty separator")
	}
	if maxsplit < 0 {
		return strings.Split(s, sp), nil
	}
	if !fromRight {
		return strings.SplitN(s, sp, maxsplit+1), nil
	}
	var parts []string
	rest := s
	for len(parts) < maxsplit {
		i := strings.LastIndex(rest, sp)
		if i < 0 {
			break
		}
		parts = append(parts, rest[i+len(sp):])
		rest = rest[:i]
	}
	parts = append(parts, rest)
	slices.Reverse(parts)
	return parts, nil
}
