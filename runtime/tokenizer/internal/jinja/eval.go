package jinja

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"unicode/utf8"
)

// RenderError is a template that fails while rendering. Kind names the
// Python exception jinja2 raises in the same place (TypeError,
// UndefinedError, TemplateError from raise_exception, …).
type RenderError struct {
	Kind string
	Msg  string
	Line int
}

func (e *RenderError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Kind, e.Msg)
	}
	return e.Kind + ": " + e.Msg
}

func typeError(format string, args ...any) error {
	return &RenderError{Kind: "TypeError", Msg: fmt.Sprintf(format, args...)}
}

func valueError(format string, args ...any) error {
	return &RenderError{Kind: "ValueError", Msg: fmt.Sprintf(format, args...)}
}

// Limits bound a render: a template cannot loop or recurse forever, nor
// build unbounded strings.
const (
	// maxWork is the render's budget: one unit per expression, statement
	// and loop iteration, and one per 64 bytes of strings (or 64 list
	// items) built. Qwen2.5's template spends about 30 units per message
	// plus the bytes.
	maxWork = 1 << 22
	// maxOutput is the most text a render may produce, and the longest
	// string or list it may build.
	maxOutput = 16 << 20
)

var (
	errBreak    = errors.New("break")
	errContinue = errors.New("continue")
	errBudget   = &RenderError{Kind: "LimitError", Msg: "the template does too much work (a loop that does not end?)"}
	errOutput   = &RenderError{Kind: "LimitError", Msg: fmt.Sprintf("the output exceeds %d bytes", maxOutput)}
)

// Template is a compiled template. It is safe for concurrent use.
type Template struct{ body []node }

// Compile parses a template.
func Compile(src string) (t *Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("jinja: internal error compiling the template: %v", r)
		}
	}()
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	body, err := parse(toks)
	if err != nil {
		return nil, err
	}
	return &Template{body: body}, nil
}

// Render runs the template with vars as its global variables (values as
// described at the top of value.go).
func (t *Template) Render(vars map[string]any) (s string, err error) {
	st := &state{work: maxWork, out: &strings.Builder{}}
	defer func() {
		if r := recover(); r != nil {
			s, err = "", fmt.Errorf("jinja: internal error at line %d: %v", st.line, r)
		}
	}()
	root := &scope{vars: make(map[string]any, len(vars)+4), parent: globals}
	for k, v := range vars {
		root.vars[k] = v
	}
	if err := st.exec(root, t.body); err != nil {
		var re *RenderError
		if errors.As(err, &re) && re.Line == 0 {
			c := *re
			c.Line = st.line
			return "", &c
		}
		return "", err
	}
	return st.out.String(), nil
}

type state struct {
	out     *strings.Builder
	written int // bytes written to all outputs
	work    int
	depth   int // macro calls
	line    int
}

// charge spends n units of the budget.
func (st *state) charge(n int) error {
	st.work -= n
	if st.work < 0 {
		return errBudget
	}
	return nil
}

// chargeBytes spends the budget for building n bytes (or items).
func (st *state) chargeBytes(n int) error {
	if n > maxOutput {
		return errOutput
	}
	return st.charge(1 + n/64)
}

func (st *state) write(s string) error {
	st.written += len(s)
	if st.written > maxOutput {
		return errOutput
	}
	if err := st.chargeBytes(len(s)); err != nil {
		return err
	}
	st.out.WriteString(s)
	return nil
}

// capture renders body into a string.
func (st *state) capture(sc *scope, body []node) (string, error) {
	saved := st.out
	st.out = &strings.Builder{}
	err := st.exec(sc, body)
	s := st.out.String()
	st.out = saved
	return s, err
}

type scope struct {
	vars   map[string]any
	parent *scope
}

func newScope(parent *scope) *scope { return &scope{vars: map[string]any{}, parent: parent} }

func (s *scope) lookup(name string) (any, bool) {
	for ; s != nil; s = s.parent {
		if v, ok := s.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

// ---------------------------------------------------------------- statements

func (st *state) exec(sc *scope, body []node) error {
	for _, n := range body {
		if err := st.charge(1); err != nil {
			return err
		}
		if l, ok := n.(*located); ok {
			st.line = l.line
			n = l.n
		}
		var err error
		switch x := n.(type) {
		case *textNode:
			err = st.write(x.s)
		case *outputNode:
			var v any
			if v, err = x.x.eval(st, sc); err == nil {
				err = st.write(str(v))
			}
		case *ifNode:
			err = st.execIf(sc, x)
		case *forNode:
			err = st.execFor(sc, x)
		case *setNode:
			var v any
			if v, err = x.x.eval(st, sc); err == nil {
				err = st.assign(sc, x.target, v)
			}
		case *setBlockNode:
			var v any
			if v, err = st.capture(sc, x.body); err == nil {
				if v, err = st.applyFilters(sc, x.filters, v); err == nil {
					err = st.assign(sc, x.target, v)
				}
			}
		case *macroNode:
			sc.vars[x.name] = st.macro(sc, x)
		case *withNode:
			inner := newScope(sc)
			for i, t := range x.targets {
				var v any
				if v, err = x.values[i].eval(st, sc); err != nil {
					break
				}
				if err = st.assign(inner, t, v); err != nil {
					break
				}
			}
			if err == nil {
				err = st.exec(inner, x.body)
			}
		case *filterBlockNode:
			var v any
			if v, err = st.capture(sc, x.body); err == nil {
				if v, err = st.applyFilters(sc, x.filters, v); err == nil {
					err = st.write(str(v))
				}
			}
		case *breakNode:
			return errBreak
		case *continueNode:
			return errContinue
		default:
			err = fmt.Errorf("jinja: unknown node %T", n)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (st *state) execIf(sc *scope, n *ifNode) error {
	for i, c := range n.conds {
		v, err := c.eval(st, sc)
		if err != nil {
			return err
		}
		if truthy(v) {
			return st.exec(sc, n.bodies[i])
		}
	}
	return st.exec(sc, n.els)
}

func (st *state) execFor(sc *scope, n *forNode) error {
	seq, err := n.iter.eval(st, sc)
	if err != nil {
		return err
	}
	items, err := iterate(seq)
	if err != nil {
		return err
	}
	if n.cond != nil {
		var kept []any
		for _, it := range items {
			if err := st.charge(1); err != nil {
				return err
			}
			inner := newScope(sc)
			if err := st.assign(inner, n.target, it); err != nil {
				return err
			}
			v, err := n.cond.eval(st, inner)
			if err != nil {
				return err
			}
			if truthy(v) {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	if len(items) == 0 {
		return st.exec(sc, n.els)
	}
	// Each iteration starts from a fresh scope; as nothing can keep a
	// reference to it (unless the body defines a macro), one map serves
	// all. The loop object is one, advanced, as jinja2's LoopContext.
	loop := &loopInfo{items: items}
	inner := newScope(sc)
	for i, it := range items {
		if err := st.charge(1); err != nil {
			return err
		}
		if n.defines {
			inner = newScope(sc)
		} else {
			clear(inner.vars)
		}
		if err := st.assign(inner, n.target, it); err != nil {
			return err
		}
		loop.i = i
		inner.vars["loop"] = loop
		err := st.exec(inner, n.body)
		if err == errBreak {
			break
		}
		if err != nil && err != errContinue {
			return err
		}
	}
	return nil
}

// assign binds target (a name, a tuple of targets or ns.attr) to v in sc.
func (st *state) assign(sc *scope, target expr, v any) error {
	switch t := target.(type) {
	case *nameExpr:
		sc.vars[t.name] = v
		return nil
	case *tupleExpr:
		items, err := iterate(v)
		if err != nil {
			return err
		}
		if len(items) != len(t.items) {
			if len(items) < len(t.items) {
				return valueError("not enough values to unpack (expected %d, got %d)", len(t.items), len(items))
			}
			return valueError("too many values to unpack (expected %d)", len(t.items))
		}
		for i, e := range t.items {
			if err := st.assign(sc, e, items[i]); err != nil {
				return err
			}
		}
		return nil
	case *nsRefExpr:
		ns, _ := sc.lookup(t.name)
		n, ok := ns.(*Namespace)
		if !ok {
			return &RenderError{Kind: "TemplateRuntimeError", Msg: "cannot assign attribute on non-namespace object"}
		}
		n.d.Set(t.attr, v)
		return nil
	}
	return fmt.Errorf("jinja: cannot assign to %T", target)
}

func (st *state) macro(def *scope, m *macroNode) *Callable {
	return &Callable{name: m.name, macro: true, fn: func(st *state, args []any, kw []kwarg) (any, error) {
		if len(args) > len(m.params) {
			return nil, typeError("macro '%s' takes not more than %d argument(s)", m.name, len(m.params))
		}
		if st.depth >= maxDepth {
			return nil, &RenderError{Kind: "RecursionError", Msg: fmt.Sprintf("macro '%s' nested more than %d calls deep", m.name, maxDepth)}
		}
		st.depth++
		defer func() { st.depth-- }()
		inner := newScope(def)
		set := make([]bool, len(m.params))
		for i, a := range args {
			inner.vars[m.params[i]] = a
			set[i] = true
		}
		for _, k := range kw {
			i := indexOf(m.params, k.name)
			if i < 0 {
				return nil, typeError("macro '%s' takes no keyword argument '%s'", m.name, k.name)
			}
			if set[i] {
				return nil, typeError("macro '%s' got multiple values for argument '%s'", m.name, k.name)
			}
			inner.vars[k.name] = k.val
			set[i] = true
		}
		firstDefault := len(m.params) - len(m.defaults)
		for i, p := range m.params {
			if set[i] {
				continue
			}
			if i >= firstDefault {
				v, err := m.defaults[i-firstDefault].eval(st, inner)
				if err != nil {
					return nil, err
				}
				inner.vars[p] = v
			} else {
				inner.vars[p] = Undefined{fmt.Sprintf("parameter '%s' was not provided", p)}
			}
		}
		line := st.line
		s, err := st.capture(inner, m.body)
		st.line = line
		return s, err
	}}
}

func indexOf(names []string, n string) int {
	for i, x := range names {
		if x == n {
			return i
		}
	}
	return -1
}

func (st *state) applyFilters(sc *scope, chain []*filterExpr, v any) (any, error) {
	for _, f := range chain {
		var err error
		if v, err = st.callFilter(sc, f, v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// ---------------------------------------------------------------- expressions

func (x *constExpr) eval(st *state, sc *scope) (any, error) { return x.v, nil }

func (x *nameExpr) eval(st *state, sc *scope) (any, error) {
	if v, ok := sc.lookup(x.name); ok {
		return v, nil
	}
	return undefVar(x.name), nil
}

func (x *nsRefExpr) eval(st *state, sc *scope) (any, error) {
	return nil, fmt.Errorf("jinja: namespace reference outside {%% set %%}")
}

func (x *sliceExpr) eval(st *state, sc *scope) (any, error) {
	return nil, fmt.Errorf("jinja: slice outside []")
}

func (x *getattrExpr) eval(st *state, sc *scope) (any, error) {
	if err := st.charge(1); err != nil {
		return nil, err
	}
	v, err := x.x.eval(st, sc)
	if err != nil {
		return nil, err
	}
	if u, ok := v.(Undefined); ok {
		return nil, u.err()
	}
	return getattr(v, x.name), nil
}

func (x *getitemExpr) eval(st *state, sc *scope) (any, error) {
	if err := st.charge(1); err != nil {
		return nil, err
	}
	v, err := x.x.eval(st, sc)
	if err != nil {
		return nil, err
	}
	if u, ok := v.(Undefined); ok {
		return nil, u.err()
	}
	if s, ok := x.key.(*sliceExpr); ok {
		var idx [3]any
		for i, e := range []expr{s.lo, s.hi, s.step} {
			if e != nil {
				if idx[i], err = e.eval(st, sc); err != nil {
					return nil, err
				}
			}
		}
		r, err := slice(v, idx[0], idx[1], idx[2])
		if err != nil {
			return nil, err
		}
		return r, st.chargeBytes(length(r))
	}
	k, err := x.key.eval(st, sc)
	if err != nil {
		return nil, err
	}
	return getitem(v, k), nil
}

func (x *callExpr) eval(st *state, sc *scope) (any, error) {
	if err := st.charge(1); err != nil {
		return nil, err
	}
	fn, err := x.fn.eval(st, sc)
	if err != nil {
		return nil, err
	}
	args, kw, err := st.evalArgs(sc, x.args, x.kw)
	if err != nil {
		return nil, err
	}
	switch f := fn.(type) {
	case Undefined:
		return nil, f.err()
	case *Callable:
		return f.fn(st, args, kw)
	}
	return nil, typeError("'%s' object is not callable", typeName(fn))
}

func (st *state) evalArgs(sc *scope, ax []expr, kx []kwExpr) ([]any, []kwarg, error) {
	var args []any
	for _, a := range ax {
		v, err := a.eval(st, sc)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, v)
	}
	var kw []kwarg
	for _, k := range kx {
		v, err := k.x.eval(st, sc)
		if err != nil {
			return nil, nil, err
		}
		kw = append(kw, kwarg{k.name, v})
	}
	return args, kw, nil
}

func (x *filterExpr) eval(st *state, sc *scope) (any, error) {
	v, err := x.x.eval(st, sc)
	if err != nil {
		return nil, err
	}
	return st.callFilter(sc, x, v)
}

func (st *state) callFilter(sc *scope, x *filterExpr, v any) (any, error) {
	if err := st.charge(1); err != nil {
		return nil, err
	}
	f, ok := filters[x.name]
	if !ok {
		return nil, &RenderError{Kind: "TemplateAssertionError", Msg: fmt.Sprintf("no filter named '%s' (or not supported)", x.name)}
	}
	args, kw, err := st.evalArgs(sc, x.args, x.kw)
	if err != nil {
		return nil, err
	}
	return f(st, v, args, kw)
}

func (x *testExpr) eval(st *state, sc *scope) (any, error) {
	if err := st.charge(1); err != nil {
		return nil, err
	}
	v, err := x.x.eval(st, sc)
	if err != nil {
		return nil, err
	}
	t, ok := tests[x.name]
	if !ok {
		return nil, &RenderError{Kind: "TemplateAssertionError", Msg: fmt.Sprintf("no test named '%s' (or not supported)", x.name)}
	}
	args, kw, err := st.evalArgs(sc, x.args, x.kw)
	if err != nil {
		return nil, err
	}
	return t(st, v, args, kw)
}

func (x *binExpr) eval(st *state, sc *scope) (any, error) {
	if err := st.charge(1); err != nil {
		return nil, err
	}
	l, err := x.l.eval(st, sc)
	if err != nil {
		return nil, err
	}
	switch x.op {
	case "and":
		if !truthy(l) {
			return l, nil
		}
		return x.r.eval(st, sc)
	case "or":
		if truthy(l) {
			return l, nil
		}
		return x.r.eval(st, sc)
	}
	r, err := x.r.eval(st, sc)
	if err != nil {
		return nil, err
	}
	if x.op == "~" {
		a, b := str(l), str(r)
		if err := st.chargeBytes(len(a) + len(b)); err != nil {
			return nil, err
		}
		return a + b, nil
	}
	return arith(st, x.op, l, r)
}

func (x *unaryExpr) eval(st *state, sc *scope) (any, error) {
	v, err := x.x.eval(st, sc)
	if err != nil {
		return nil, err
	}
	switch x.op {
	case "not":
		return !truthy(v), nil
	case "-":
		switch n := v.(type) {
		case bool, int64:
			i, _, _, _ := num(n)
			if i == math.MinInt64 {
				return nil, overflow()
			}
			return -i, nil
		case float64:
			return -n, nil
		case *big.Int:
			return new(big.Int).Neg(n), nil
		case Undefined:
			return nil, n.err()
		}
		return nil, typeError("bad operand type for unary -: '%s'", typeName(v))
	case "+":
		switch n := v.(type) {
		case bool:
			i, _, _, _ := num(n)
			return i, nil
		case int64, float64, *big.Int:
			return n, nil
		case Undefined:
			return nil, n.err()
		}
		return nil, typeError("bad operand type for unary +: '%s'", typeName(v))
	}
	return nil, fmt.Errorf("jinja: unknown operator %s", x.op)
}

func (x *compareExpr) eval(st *state, sc *scope) (any, error) {
	if err := st.charge(1); err != nil {
		return nil, err
	}
	l, err := x.first.eval(st, sc)
	if err != nil {
		return nil, err
	}
	for i, op := range x.ops {
		r, err := x.rest[i].eval(st, sc)
		if err != nil {
			return nil, err
		}
		var ok bool
		switch op {
		case "==":
			ok = equal(l, r)
		case "!=":
			ok = !equal(l, r)
		case "in", "notin":
			if ok, err = contains(r, l); err != nil {
				return nil, err
			}
			ok = ok == (op == "in")
		default:
			c, err := compare(l, r, op)
			if err != nil {
				return nil, err
			}
			switch op {
			case "<":
				ok = c < 0
			case "<=":
				ok = c <= 0
			case ">":
				ok = c > 0
			case ">=":
				ok = c >= 0
			}
		}
		if !ok {
			return false, nil
		}
		l = r
	}
	return true, nil
}

func (x *condExpr) eval(st *state, sc *scope) (any, error) {
	c, err := x.cond.eval(st, sc)
	if err != nil {
		return nil, err
	}
	if truthy(c) {
		return x.a.eval(st, sc)
	}
	if x.b == nil {
		return Undefined{"the inline if-expression evaluated to false and no else section was defined"}, nil
	}
	return x.b.eval(st, sc)
}

func (x *listExpr) eval(st *state, sc *scope) (any, error) {
	l := make([]any, 0, len(x.items))
	for _, e := range x.items {
		v, err := e.eval(st, sc)
		if err != nil {
			return nil, err
		}
		l = append(l, v)
	}
	return l, nil
}

func (x *tupleExpr) eval(st *state, sc *scope) (any, error) {
	l := make(Tuple, 0, len(x.items))
	for _, e := range x.items {
		v, err := e.eval(st, sc)
		if err != nil {
			return nil, err
		}
		l = append(l, v)
	}
	return l, nil
}

func (x *dictExpr) eval(st *state, sc *scope) (any, error) {
	d := NewDict()
	for i, ke := range x.keys {
		k, err := ke.eval(st, sc)
		if err != nil {
			return nil, err
		}
		ks, ok := k.(string)
		if !ok {
			return nil, typeError("only string keys are supported in dict literals, not '%s'", typeName(k))
		}
		v, err := x.values[i].eval(st, sc)
		if err != nil {
			return nil, err
		}
		d.Set(ks, v)
	}
	return d, nil
}

// ---------------------------------------------------------------- operations

func overflow() error { return &RenderError{Kind: "OverflowError", Msg: "integer result too large"} }

// arith is Python's binary + - * / // % ** on a and b.
func arith(st *state, op string, a, b any) (any, error) {
	if u, ok := a.(Undefined); ok {
		return nil, u.err()
	}
	if u, ok := b.(Undefined); ok {
		return nil, u.err()
	}
	_, aBig := a.(*big.Int)
	_, bBig := b.(*big.Int)
	if isNumber(a) && isNumber(b) && !aBig && !bBig {
		ia, _, af, _ := num(a)
		ib, _, bf, _ := num(b)
		if !af && !bf {
			return intArith(op, ia, ib)
		}
		return floatArith(op, toFloat(a), toFloat(b))
	}
	switch op {
	case "+":
		switch x := a.(type) {
		case string:
			if y, ok := b.(string); ok {
				if err := st.chargeBytes(len(x) + len(y)); err != nil {
					return nil, err
				}
				return x + y, nil
			}
			return nil, typeError("can only concatenate str (not \"%s\") to str", typeName(b))
		case []any:
			if y, ok := b.([]any); ok {
				if err := st.chargeBytes(len(x) + len(y)); err != nil {
					return nil, err
				}
				return append(append(make([]any, 0, len(x)+len(y)), x...), y...), nil
			}
			return nil, typeError("can only concatenate list (not \"%s\") to list", typeName(b))
		case Tuple:
			if y, ok := b.(Tuple); ok {
				if err := st.chargeBytes(len(x) + len(y)); err != nil {
					return nil, err
				}
				return append(append(make(Tuple, 0, len(x)+len(y)), x...), y...), nil
			}
		}
	case "*":
		seq, n := a, b
		if _, ok := a.(int64); ok {
			seq, n = b, a
		}
		if _, ok := n.(bool); ok {
			n, _, _, _ = num(n)
		}
		if k, ok := n.(int64); ok {
			if k < 0 {
				k = 0
			}
			size := length(seq)
			if size > 0 && k > maxOutput/int64(size) {
				return nil, errOutput
			}
			if err := st.chargeBytes(int(k) * size); err != nil {
				return nil, err
			}
			switch s := seq.(type) {
			case string:
				return strings.Repeat(s, int(k)), nil
			case []any:
				l := make([]any, 0, int(k)*len(s))
				for range k {
					l = append(l, s...)
				}
				return l, nil
			case Tuple:
				l := make(Tuple, 0, int(k)*len(s))
				for range k {
					l = append(l, s...)
				}
				return l, nil
			}
		}
	case "%":
		if _, ok := a.(string); ok {
			return nil, typeError("printf-style string formatting is not supported")
		}
	}
	return nil, typeError("unsupported operand type(s) for %s: '%s' and '%s'", op, typeName(a), typeName(b))
}

func intArith(op string, a, b int64) (any, error) {
	switch op {
	case "+":
		r := a + b
		if (r > a) != (b > 0) {
			return nil, overflow()
		}
		return r, nil
	case "-":
		r := a - b
		if (r < a) != (b > 0) {
			return nil, overflow()
		}
		return r, nil
	case "*":
		if a == 0 || b == 0 {
			return int64(0), nil
		}
		r := a * b
		if r/b != a || a == -1 && b == math.MinInt64 || b == -1 && a == math.MinInt64 {
			return nil, overflow()
		}
		return r, nil
	case "/":
		if b == 0 {
			return nil, &RenderError{Kind: "ZeroDivisionError", Msg: "division by zero"}
		}
		return float64(a) / float64(b), nil
	case "//", "%":
		if b == 0 {
			return nil, &RenderError{Kind: "ZeroDivisionError", Msg: "integer division or modulo by zero"}
		}
		if a == math.MinInt64 && b == -1 {
			return nil, overflow()
		}
		q, m := a/b, a%b
		if m != 0 && (m < 0) != (b < 0) {
			q--
			m += b
		}
		if op == "//" {
			return q, nil
		}
		return m, nil
	case "**":
		if b < 0 {
			return math.Pow(float64(a), float64(b)), nil
		}
		r := new(big.Int).Exp(big.NewInt(a), big.NewInt(b), nil)
		if !r.IsInt64() {
			return nil, overflow()
		}
		return r.Int64(), nil
	}
	return nil, fmt.Errorf("jinja: unknown operator %s", op)
}

func floatArith(op string, a, b float64) (any, error) {
	switch op {
	case "+":
		return a + b, nil
	case "-":
		return a - b, nil
	case "*":
		return a * b, nil
	case "/":
		if b == 0 {
			return nil, &RenderError{Kind: "ZeroDivisionError", Msg: "float division by zero"}
		}
		return a / b, nil
	case "//", "%":
		if b == 0 {
			return nil, &RenderError{Kind: "ZeroDivisionError", Msg: "float modulo"}
		}
		// Python's float_divmod.
		m := math.Mod(a, b)
		div := (a - m) / b
		if m != 0 && (b < 0) != (m < 0) {
			m += b
			div -= 1
		}
		if op == "%" {
			if m == 0 {
				m = math.Copysign(0, b)
			}
			return m, nil
		}
		if div == 0 {
			return math.Copysign(0, a/b), nil
		}
		fd := math.Floor(div)
		if div-fd > 0.5 {
			fd++
		}
		return fd, nil
	case "**":
		if a < 0 && b != math.Trunc(b) {
			return nil, valueError("complex results are not supported")
		}
		return math.Pow(a, b), nil
	}
	return nil, fmt.Errorf("jinja: unknown operator %s", op)
}

// contains is Python's item in container.
func contains(container, item any) (bool, error) {
	switch c := container.(type) {
	case string:
		s, ok := item.(string)
		if !ok {
			if u, ok := item.(Undefined); ok {
				return false, u.err()
			}
			return false, typeError("'in <string>' requires string as left operand, not %s", typeName(item))
		}
		return strings.Contains(c, s), nil
	case []any:
		return containsSeq(c, item), nil
	case Tuple:
		return containsSeq(c, item), nil
	case *Dict:
		if s, ok := item.(string); ok {
			_, ok := c.m[s]
			return ok, nil
		}
		return false, nil
	case Undefined:
		return false, nil
	}
	return false, typeError("argument of type '%s' is not iterable", typeName(container))
}

func containsSeq(l []any, item any) bool {
	for _, e := range l {
		if equal(e, item) {
			return true
		}
	}
	return false
}

// iterate is Python's iter(v) drained: a list's or tuple's items, a
// string's characters, a dict's keys; nothing for Undefined.
func iterate(v any) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case Tuple:
		return x, nil
	case string:
		l := make([]any, 0, utf8.RuneCountInString(x))
		for _, r := range x {
			l = append(l, string(r))
		}
		return l, nil
	case *Dict:
		l := make([]any, len(x.keys))
		for i, k := range x.keys {
			l[i] = k
		}
		return l, nil
	case Undefined:
		return nil, nil
	}
	return nil, typeError("'%s' object is not iterable", typeName(v))
}

// length is len(v), or -1 when v has none.
func length(v any) int {
	switch x := v.(type) {
	case string:
		return utf8.RuneCountInString(x)
	case []any:
		return len(x)
	case Tuple:
		return len(x)
	case *Dict:
		return x.Len()
	case Undefined:
		return 0
	}
	return -1
}

// getattr is the sandboxed environment's getattr(obj, name): a Python
// attribute (a method) first, then obj[name], else Undefined.
func getattr(obj any, name string) any {
	if m, unsafe := method(obj, name); m != nil {
		return m
	} else if unsafe {
		return Undefined{fmt.Sprintf("access to attribute '%s' of '%s' object is unsafe", name, typeName(obj))}
	}
	switch x := obj.(type) {
	case *Dict:
		if v, ok := x.m[name]; ok {
			return v
		}
	case *Namespace:
		if v, ok := x.d.m[name]; ok {
			return v
		}
	case *loopInfo:
		if v, ok := x.attr(name); ok {
			return v
		}
	}
	return undefAttr(obj, name)
}

// getitem is the sandboxed environment's getitem(obj, key): obj[key]
// first, then for a string key the attribute, else Undefined.
func getitem(obj, key any) any {
	switch x := obj.(type) {
	case *Dict:
		if s, ok := key.(string); ok {
			if v, ok := x.m[s]; ok {
				return v
			}
		}
	case []any, Tuple, string:
		if _, isBool := key.(bool); isBool {
			key, _, _, _ = num(key)
		}
		if i, ok := key.(int64); ok {
			var n int
			if s, ok := x.(string); ok {
				rs := []rune(s)
				n = len(rs)
				if i < 0 {
					i += int64(n)
				}
				if i >= 0 && i < int64(n) {
					return string(rs[i])
				}
				return undefAttr(obj, key)
			}
			l, _ := iterate(x)
			n = len(l)
			if i < 0 {
				i += int64(n)
			}
			if i >= 0 && i < int64(n) {
				return l[i]
			}
			return undefAttr(obj, key)
		}
	}
	if s, ok := key.(string); ok {
		return getattr(obj, s)
	}
	return undefAttr(obj, key)
}

// slice is Python's obj[lo:hi:step] for lists, tuples and strings.
func slice(obj, lo, hi, step any) (any, error) {
	var n int
	var runes []rune
	var items []any
	switch x := obj.(type) {
	case string:
		runes = []rune(x)
		n = len(runes)
	case []any:
		items, n = x, len(x)
	case Tuple:
		items, n = x, len(x)
	default:
		return Undefined{fmt.Sprintf("'%s' object is not subscriptable", typeName(obj))}, nil
	}
	idx := func(v any, def int64) (int64, error) {
		if v == nil {
			return def, nil
		}
		if _, ok := v.(bool); ok {
			v, _, _, _ = num(v)
		}
		i, ok := v.(int64)
		if !ok {
			return 0, typeError("slice indices must be integers or None")
		}
		return i, nil
	}
	st, err := idx(step, 1)
	if err != nil {
		return nil, err
	}
	if st == 0 {
		return nil, valueError("slice step cannot be zero")
	}
	// Python's PySlice_AdjustIndices.
	N := int64(n)
	var start, stop int64
	if st > 0 {
		if start, err = idx(lo, 0); err != nil {
			return nil, err
		}
		if stop, err = idx(hi, N); err != nil {
			return nil, err
		}
	} else {
		if start, err = idx(lo, N-1); err != nil {
			return nil, err
		}
		if stop, err = idx(hi, -N-1); err != nil {
			return nil, err
		}
	}
	adjust := func(i int64) int64 {
		if i < 0 {
			i += N
			if i < 0 {
				if st < 0 {
					return -1
				}
				return 0
			}
		} else if i >= N {
			if st < 0 {
				return N - 1
			}
			return N
		}
		return i
	}
	start, stop = adjust(start), adjust(stop)
	var picked []int
	for i := start; st > 0 && i < stop || st < 0 && i > stop; i += st {
		picked = append(picked, int(i))
	}
	switch obj.(type) {
	case string:
		out := make([]rune, len(picked))
		for k, i := range picked {
			out[k] = runes[i]
		}
		return string(out), nil
	case Tuple:
		out := make(Tuple, len(picked))
		for k, i := range picked {
			out[k] = items[i]
		}
		return out, nil
	}
	out := make([]any, len(picked))
	for k, i := range picked {
		out[k] = items[i]
	}
	return out, nil
}

// ---------------------------------------------------------------- loop

type loopInfo struct {
	items []any
	i     int
}

func (l *loopInfo) attr(name string) (any, bool) {
	n := len(l.items)
	switch name {
	case "index":
		return int64(l.i + 1), true
	case "index0":
		return int64(l.i), true
	case "revindex":
		return int64(n - l.i), true
	case "revindex0":
		return int64(n - l.i - 1), true
	case "first":
		return l.i == 0, true
	case "last":
		return l.i == n-1, true
	case "length":
		return int64(n), true
	case "depth":
		return int64(1), true
	case "depth0":
		return int64(0), true
	case "previtem":
		if l.i > 0 {
			return l.items[l.i-1], true
		}
		return Undefined{"there is no previous item"}, true
	case "nextitem":
		if l.i < n-1 {
			return l.items[l.i+1], true
		}
		return Undefined{"there is no next item"}, true
	case "cycle":
		i := l.i
		return &Callable{name: "cycle", fn: func(st *state, args []any, kw []kwarg) (any, error) {
			if len(args) == 0 {
				return nil, typeError("no items for cycling given")
			}
			return args[i%len(args)], nil
		}}, true
	}
	return nil, false
}
