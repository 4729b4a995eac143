package jinja

import (
	"fmt"
	"math/big"
	"strconv"
)

// The parser follows jinja2 3.1's (jinja2/parser.py): the same statements
// (minus template inheritance, includes, imports and call blocks) and the
// same expression grammar and precedence.

// ---------------------------------------------------------------- statements

type node interface{}

type (
	textNode   struct{ s string }
	outputNode struct{ x expr }
	ifNode     struct {
		conds  []expr
		bodies [][]node
		els    []node
	}
	forNode struct {
		line       int
		target     expr // nameExpr or tupleExpr of targets
		iter, cond expr
		body, els  []node
		defines    bool // the body defines a macro
	}
	setNode struct {
		target expr // nameExpr, tupleExpr or nsRefExpr
		x      expr
	}
	setBlockNode struct {
		target  expr
		filters []*filterExpr // applied to the body, innermost first
		body    []node
	}
	macroNode struct {
		name     string
		params   []string
		defaults []expr // for the last len(defaults) params
		body     []node
	}
	withNode struct {
		targets []expr
		values  []expr
		body    []node
	}
	filterBlockNode struct {
		filters []*filterExpr
		body    []node
	}
	breakNode    struct{}
	continueNode struct{}

	// located is a statement or output tag with its line, for errors.
	located struct {
		line int
		n    node
	}
)

// ---------------------------------------------------------------- expressions

type expr interface {
	eval(st *state, sc *scope) (any, error)
}

type (
	constExpr struct{ v any }
	nameExpr  struct {
		name string
		line int
	}
	nsRefExpr   struct{ name, attr string }
	getattrExpr struct {
		x    expr
		name string
	}
	getitemExpr struct{ x, key expr }
	sliceExpr   struct{ lo, hi, step expr } // only as getitemExpr.key
	callExpr    struct {
		fn   expr
		args []expr
		kw   []kwExpr
	}
	kwExpr struct {
		name string
		x    expr
	}
	filterExpr struct {
		x    expr // nil in a filter block or set block
		name string
		args []expr
		kw   []kwExpr
	}
	testExpr struct {
		x    expr
		name string
		args []expr
		kw   []kwExpr
	}
	binExpr struct {
		op   string // + - * / // % ** ~ and or
		l, r expr
	}
	unaryExpr struct {
		op string // - + not
		x  expr
	}
	compareExpr struct {
		first expr
		ops   []string // == != < <= > >= in notin
		rest  []expr
	}
	condExpr  struct{ cond, a, b expr } // b nil: undefined when cond is false
	listExpr  struct{ items []expr }
	tupleExpr struct{ items []expr }
	dictExpr  struct{ keys, values []expr }
)

// ---------------------------------------------------------------- parser

// maxDepth bounds the nesting of parsed expressions and statements, of
// macro calls and of values printed or encoded.
const maxDepth = 200

type parser struct {
	toks   []token
	pos    int
	depth  int
	inLoop int
}

func (p *parser) cur() token  { return p.toks[p.pos] }
func (p *parser) look() token { return p.toks[min(p.pos+1, len(p.toks)-1)] }
func (p *parser) next() token {
	t := p.toks[p.pos]
	if p.pos < len(p.toks)-1 {
		p.pos++
	}
	return t
}

func (p *parser) fail(format string, args ...any) error {
	return &SyntaxError{Line: p.cur().line, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) isOp(op string) bool   { t := p.cur(); return t.kind == tOp && t.val == op }
func (p *parser) isName(n string) bool  { t := p.cur(); return t.kind == tName && t.val == n }
func (p *parser) skipOp(op string) bool { return p.isOp(op) && p.skip() }
func (p *parser) skipName(n string) bool {
	return p.isName(n) && p.skip()
}
func (p *parser) skip() bool { p.next(); return true }

func (p *parser) expectOp(op string) error {
	if !p.skipOp(op) {
		return p.fail("expected '%s', got %s", op, p.cur())
	}
	return nil
}

func (p *parser) expectKind(k tokKind) (token, error) {
	if p.cur().kind != k {
		return token{}, p.fail("expected %s, got %s", tokNames[k], p.cur())
	}
	return p.next(), nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.fail("template nested too deeply")
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func parse(toks []token) ([]node, error) {
	p := &parser{toks: toks}
	body, err := p.subparse(nil)
	if err != nil {
		return nil, err
	}
	if p.cur().kind != tEOF {
		return nil, p.fail("unexpected %s", p.cur())
	}
	return body, nil
}

// subparse parses nodes until EOF or a block tag whose name is in end
// (left unconsumed after the tBlockBegin).
func (p *parser) subparse(end []string) ([]node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	var body []node
	for {
		t := p.cur()
		switch t.kind {
		case tEOF:
			return body, nil
		case tData:
			p.next()
			body = append(body, &textNode{t.val})
		case tVarBegin:
			p.next()
			x, err := p.parseTuple(false, true, nil, false)
			if err != nil {
				return nil, err
			}
			if _, err := p.expectKind(tVarEnd); err != nil {
				return nil, err
			}
			body = append(body, &located{t.line, &outputNode{x}})
		case tBlockBegin:
			p.next()
			if n := p.cur(); n.kind == tName {
				for _, e := range end {
					if n.val == e {
						return body, nil
					}
				}
			}
			n, err := p.statement()
			if err != nil {
				return nil, err
			}
			if n != nil {
				body = append(body, &located{t.line, n})
			}
			if _, err := p.expectKind(tBlockEnd); err != nil {
				return nil, err
			}
		default:
			return nil, p.fail("unexpected %s", t)
		}
	}
}

// statements parses the body of a block statement up to one of end, after
// the current tag's end. With drop, the end tag's name is consumed.
func (p *parser) statements(end []string, drop bool) ([]node, error) {
	p.skipOp(":")
	if _, err := p.expectKind(tBlockEnd); err != nil {
		return nil, err
	}
	body, err := p.subparse(end)
	if err != nil {
		return nil, err
	}
	if p.cur().kind == tEOF {
		return nil, p.fail("unexpected end of template, expected %q", end)
	}
	if drop {
		p.next()
	}
	return body, nil
}

func (p *parser) statement() (node, error) {
	t := p.cur()
	if t.kind != tName {
		return nil, p.fail("tag name expected")
	}
	switch t.val {
	case "if":
		return p.parseIf()
	case "for":
		return p.parseFor()
	case "set":
		return p.parseSet()
	case "macro":
		return p.parseMacro()
	case "with":
		return p.parseWith()
	case "filter":
		p.next()
		f, err := p.parseFilter(nil, true)
		if err != nil {
			return nil, err
		}
		body, err := p.statements([]string{"endfilter"}, true)
		if err != nil {
			return nil, err
		}
		return &filterBlockNode{filters: filterChain(f), body: body}, nil
	case "generation":
		// Hugging Face's AssistantTracker extension: the body renders as is.
		p.next()
		body, err := p.statements([]string{"endgeneration"}, true)
		if err != nil {
			return nil, err
		}
		return &withNode{body: body}, nil
	case "break", "continue":
		p.next()
		if p.inLoop == 0 {
			return nil, p.fail("'%s' outside of a loop", t.val)
		}
		if t.val == "break" {
			return &breakNode{}, nil
		}
		return &continueNode{}, nil
	case "extends", "include", "import", "from", "block", "call", "autoescape", "do":
		return nil, p.fail("the '%s' tag is not supported", t.val)
	}
	return nil, p.fail("encountered unknown tag '%s'", t.val)
}

// definesMacro reports whether body defines a macro (at any depth).
func definesMacro(body []node) bool {
	for _, n := range body {
		if l, ok := n.(*located); ok {
			n = l.n
		}
		switch x := n.(type) {
		case *macroNode:
			return true
		case *ifNode:
			for _, b := range x.bodies {
				if definesMacro(b) {
					return true
				}
			}
			if definesMacro(x.els) {
				return true
			}
		case *forNode:
			if x.defines || definesMacro(x.els) {
				return true
			}
		case *setBlockNode:
			if definesMacro(x.body) {
				return true
			}
		case *withNode:
			if definesMacro(x.body) {
				return true
			}
		case *filterBlockNode:
			if definesMacro(x.body) {
				return true
			}
		}
	}
	return false
}

// filterChain lists the filters of f (outermost last) innermost first.
func filterChain(f expr) []*filterExpr {
	var chain []*filterExpr
	for {
		fe, ok := f.(*filterExpr)
		if !ok {
			break
		}
		chain = append([]*filterExpr{fe}, chain...)
		f = fe.x
	}
	for _, fe := range chain {
		fe.x = nil
	}
	return chain
}

func (p *parser) parseIf() (node, error) {
	p.next()
	n := &ifNode{}
	for {
		c, err := p.parseTuple(false, false, nil, false)
		if err != nil {
			return nil, err
		}
		body, err := p.statements([]string{"elif", "else", "endif"}, false)
		if err != nil {
			return nil, err
		}
		n.conds = append(n.conds, c)
		n.bodies = append(n.bodies, body)
		switch p.next().val {
		case "elif":
			continue
		case "else":
			n.els, err = p.statements([]string{"endif"}, true)
			if err != nil {
				return nil, err
			}
		}
		return n, nil
	}
}

func (p *parser) parseFor() (node, error) {
	line := p.next().line
	target, err := p.parseAssignTarget(true, false, []string{"in"}, false)
	if err != nil {
		return nil, err
	}
	if !p.skipName("in") {
		return nil, p.fail("expected 'in', got %s", p.cur())
	}
	iter, err := p.parseTuple(false, false, []string{"recursive"}, false)
	if err != nil {
		return nil, err
	}
	n := &forNode{line: line, target: target, iter: iter}
	if p.skipName("if") {
		if n.cond, err = p.parseExpression(true); err != nil {
			return nil, err
		}
	}
	if p.isName("recursive") {
		return nil, p.fail("recursive loops are not supported")
	}
	p.inLoop++
	n.body, err = p.statements([]string{"endfor", "else"}, false)
	p.inLoop--
	if err != nil {
		return nil, err
	}
	n.defines = definesMacro(n.body)
	if p.next().val == "else" {
		// break and continue in the else block belong to an outer loop
		if n.els, err = p.statements([]string{"endfor"}, true); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (p *parser) parseSet() (node, error) {
	p.next()
	target, err := p.parseAssignTarget(true, false, nil, true)
	if err != nil {
		return nil, err
	}
	if p.skipOp("=") {
		x, err := p.parseTuple(false, true, nil, false)
		if err != nil {
			return nil, err
		}
		return &setNode{target: target, x: x}, nil
	}
	f, err := p.parseFilter(nil, false)
	if err != nil {
		return nil, err
	}
	body, err := p.statements([]string{"endset"}, true)
	if err != nil {
		return nil, err
	}
	return &setBlockNode{target: target, filters: filterChain(f), body: body}, nil
}

func (p *parser) parseMacro() (node, error) {
	p.next()
	name, err := p.expectKind(tName)
	if err != nil {
		return nil, err
	}
	n := &macroNode{name: name.val}
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	for !p.isOp(")") {
		if len(n.params) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
		}
		a, err := p.expectKind(tName)
		if err != nil {
			return nil, err
		}
		if p.skipOp("=") {
			d, err := p.parseExpression(true)
			if err != nil {
				return nil, err
			}
			n.defaults = append(n.defaults, d)
		} else if len(n.defaults) > 0 {
			return nil, p.fail("non-default argument follows default argument")
		}
		n.params = append(n.params, a.val)
	}
	p.next()
	saved := p.inLoop
	p.inLoop = 0
	n.body, err = p.statements([]string{"endmacro"}, true)
	p.inLoop = saved
	if err != nil {
		return nil, err
	}
	return n, nil
}

func (p *parser) parseWith() (node, error) {
	p.next()
	n := &withNode{}
	for p.cur().kind != tBlockEnd {
		if len(n.targets) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
		}
		t, err := p.parseAssignTarget(true, false, nil, false)
		if err != nil {
			return nil, err
		}
		if err := p.expectOp("="); err != nil {
			return nil, err
		}
		v, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		n.targets = append(n.targets, t)
		n.values = append(n.values, v)
	}
	body, err := p.statements([]string{"endwith"}, true)
	if err != nil {
		return nil, err
	}
	n.body = body
	return n, nil
}

// parseAssignTarget parses a name, a tuple of names or (withNamespace) a
// namespace attribute.
func (p *parser) parseAssignTarget(withTuple, nameOnly bool, extraEnd []string, withNamespace bool) (expr, error) {
	if withNamespace && p.cur().kind == tName && p.look().kind == tOp && p.look().val == "." {
		name := p.next()
		p.next()
		attr, err := p.expectKind(tName)
		if err != nil {
			return nil, err
		}
		return &nsRefExpr{name.val, attr.val}, nil
	}
	var t expr
	var err error
	if nameOnly || !withTuple {
		n, err := p.expectKind(tName)
		if err != nil {
			return nil, err
		}
		t = &nameExpr{name: n.val, line: n.line}
	} else if t, err = p.parseTuple(true, true, extraEnd, false); err != nil {
		return nil, err
	}
	if !assignable(t) {
		return nil, p.fail("can't assign to %T", t)
	}
	return t, nil
}

func assignable(t expr) bool {
	switch x := t.(type) {
	case *nameExpr:
		switch x.name {
		case "true", "false", "none", "True", "False", "None":
			return false
		}
		return true
	case *tupleExpr:
		for _, e := range x.items {
			if !assignable(e) {
				return false
			}
		}
		return true
	}
	return false
}

// parseTuple parses expressions separated by commas: a tuple when there is
// a comma. simplified: the items are primaries (assignment targets).
func (p *parser) parseTuple(simplified, withCondexpr bool, extraEnd []string, explicitParens bool) (expr, error) {
	var items []expr
	isTuple := false
	for {
		if len(items) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
		}
		if p.isTupleEnd(extraEnd) {
			break
		}
		var x expr
		var err error
		if simplified {
			x, err = p.parsePrimary()
		} else {
			x, err = p.parseExpression(withCondexpr)
		}
		if err != nil {
			return nil, err
		}
		items = append(items, x)
		if p.isOp(",") {
			isTuple = true
		} else {
			break
		}
	}
	if !isTuple {
		if len(items) > 0 {
			return items[0], nil
		}
		if !explicitParens {
			return nil, p.fail("expected an expression, got %s", p.cur())
		}
	}
	return &tupleExpr{items}, nil
}

func (p *parser) isTupleEnd(extraEnd []string) bool {
	t := p.cur()
	switch {
	case t.kind == tVarEnd || t.kind == tBlockEnd || t.kind == tEOF:
		return true
	case t.kind == tOp && t.val == ")":
		return true
	case t.kind == tName:
		for _, e := range extraEnd {
			if t.val == e {
				return true
			}
		}
	}
	return false
}

func (p *parser) parseExpression(withCondexpr bool) (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if !withCondexpr {
		return p.parseOr()
	}
	x, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	for p.skipName("if") {
		c, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		var b expr
		if p.skipName("else") {
			if b, err = p.parseExpression(true); err != nil {
				return nil, err
			}
		}
		x = &condExpr{cond: c, a: x, b: b}
	}
	return x, nil
}

func (p *parser) parseOr() (expr, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.skipName("or") {
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = &binExpr{"or", l, r}
	}
	return l, nil
}

func (p *parser) parseAnd() (expr, error) {
	l, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.skipName("and") {
		r, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		l = &binExpr{"and", l, r}
	}
	return l, nil
}

func (p *parser) parseNot() (expr, error) {
	if p.skipName("not") {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{"not", x}, nil
	}
	return p.parseCompare()
}

func (p *parser) parseCompare() (expr, error) {
	x, err := p.parseMath1()
	if err != nil {
		return nil, err
	}
	c := &compareExpr{first: x}
	for {
		t := p.cur()
		var op string
		switch {
		case t.kind == tOp && (t.val == "==" || t.val == "!=" || t.val == "<" || t.val == "<=" || t.val == ">" || t.val == ">="):
			p.next()
			op = t.val
		case p.isName("in"):
			p.next()
			op = "in"
		case p.isName("not") && p.look().kind == tName && p.look().val == "in":
			p.next()
			p.next()
			op = "notin"
		}
		if op == "" {
			break
		}
		r, err := p.parseMath1()
		if err != nil {
			return nil, err
		}
		c.ops = append(c.ops, op)
		c.rest = append(c.rest, r)
	}
	if len(c.ops) == 0 {
		return x, nil
	}
	return c, nil
}

func (p *parser) parseBinary(ops []string, operand func() (expr, error)) (expr, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for {
		t := p.cur()
		op := ""
		if t.kind == tOp {
			for _, o := range ops {
				if t.val == o {
					op = o
				}
			}
		}
		if op == "" {
			return l, nil
		}
		p.next()
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = &binExpr{op, l, r}
	}
}

func (p *parser) parseMath1() (expr, error) {
	return p.parseBinary([]string{"+", "-"}, p.parseConcat)
}

func (p *parser) parseConcat() (expr, error) {
	return p.parseBinary([]string{"~"}, p.parseMath2)
}

func (p *parser) parseMath2() (expr, error) {
	return p.parseBinary([]string{"*", "/", "//", "%"}, p.parsePow)
}

func (p *parser) parsePow() (expr, error) {
	return p.parseBinary([]string{"**"}, func() (expr, error) { return p.parseUnary(true) })
}

func (p *parser) parseUnary(withFilter bool) (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	var x expr
	var err error
	switch {
	case p.isOp("-") || p.isOp("+"):
		op := p.next().val
		y, err := p.parseUnary(false)
		if err != nil {
			return nil, err
		}
		x = &unaryExpr{op, y}
	default:
		if x, err = p.parsePrimary(); err != nil {
			return nil, err
		}
	}
	if x, err = p.parsePostfix(x); err != nil {
		return nil, err
	}
	if withFilter {
		return p.parseFilterExpr(x)
	}
	return x, nil
}

func (p *parser) parsePrimary() (expr, error) {
	t := p.cur()
	switch t.kind {
	case tName:
		p.next()
		switch t.val {
		case "true", "True":
			return &constExpr{true}, nil
		case "false", "False":
			return &constExpr{false}, nil
		case "none", "None":
			return &constExpr{nil}, nil
		}
		return &nameExpr{name: t.val, line: t.line}, nil
	case tString:
		p.next()
		s := t.val
		for p.cur().kind == tString {
			s += p.next().val
		}
		return &constExpr{s}, nil
	case tInt:
		p.next()
		if i, err := strconv.ParseInt(t.val, 0, 64); err == nil {
			return &constExpr{i}, nil
		}
		n, ok := new(big.Int).SetString(t.val, 0)
		if !ok {
			return nil, p.fail("bad integer %s", t.val)
		}
		return &constExpr{n}, nil
	case tFloat:
		p.next()
		f, err := strconv.ParseFloat(t.val, 64)
		if err != nil {
			return nil, p.fail("bad float %s", t.val)
		}
		return &constExpr{f}, nil
	case tOp:
		switch t.val {
		case "(":
			p.next()
			x, err := p.parseTuple(false, true, nil, true)
			if err != nil {
				return nil, err
			}
			return x, p.expectOp(")")
		case "[":
			p.next()
			l := &listExpr{}
			for !p.isOp("]") {
				if len(l.items) > 0 {
					if err := p.expectOp(","); err != nil {
						return nil, err
					}
					if p.isOp("]") {
						break
					}
				}
				x, err := p.parseExpression(true)
				if err != nil {
					return nil, err
				}
				l.items = append(l.items, x)
			}
			return l, p.expectOp("]")
		case "{":
			p.next()
			d := &dictExpr{}
			for !p.isOp("}") {
				if len(d.keys) > 0 {
					if err := p.expectOp(","); err != nil {
						return nil, err
					}
					if p.isOp("}") {
						break
					}
				}
				k, err := p.parseExpression(true)
				if err != nil {
					return nil, err
				}
				if err := p.expectOp(":"); err != nil {
					return nil, err
				}
				v, err := p.parseExpression(true)
				if err != nil {
					return nil, err
				}
				d.keys = append(d.keys, k)
				d.values = append(d.values, v)
			}
			return d, p.expectOp("}")
		}
	}
	return nil, p.fail("unexpected %s", t)
}

func (p *parser) parsePostfix(x expr) (expr, error) {
	for {
		var err error
		switch {
		case p.isOp(".") || p.isOp("["):
			x, err = p.parseSubscript(x)
		case p.isOp("("):
			x, err = p.parseCall(x)
		default:
			return x, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (p *parser) parseFilterExpr(x expr) (expr, error) {
	for {
		var err error
		switch {
		case p.isOp("|"):
			x, err = p.parseFilter(x, false)
		case p.isName("is"):
			x, err = p.parseTest(x)
		case p.isOp("("):
			x, err = p.parseCall(x)
		default:
			return x, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (p *parser) parseSubscript(x expr) (expr, error) {
	t := p.next()
	if t.val == "." {
		a := p.next()
		switch a.kind {
		case tName:
			return &getattrExpr{x, a.val}, nil
		case tInt:
			i, err := strconv.ParseInt(a.val, 0, 64)
			if err != nil {
				return nil, p.fail("bad index %s", a.val)
			}
			return &getitemExpr{x, &constExpr{i}}, nil
		}
		return nil, p.fail("expected name or number")
	}
	var args []expr
	for !p.isOp("]") {
		if len(args) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
		}
		a, err := p.parseSubscribed()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	p.next()
	switch len(args) {
	case 0:
		return nil, p.fail("expected an expression in []")
	case 1:
		return &getitemExpr{x, args[0]}, nil
	}
	return &getitemExpr{x, &tupleExpr{args}}, nil
}

func (p *parser) parseSubscribed() (expr, error) {
	var args [3]expr
	if p.isOp(":") {
		p.next()
	} else {
		x, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		if !p.isOp(":") {
			return x, nil
		}
		p.next()
		args[0] = x
	}
	if !p.isOp(":") && !p.isOp("]") && !p.isOp(",") {
		x, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		args[1] = x
	}
	if p.isOp(":") {
		p.next()
		if !p.isOp("]") && !p.isOp(",") {
			x, err := p.parseExpression(true)
			if err != nil {
				return nil, err
			}
			args[2] = x
		}
	}
	return &sliceExpr{args[0], args[1], args[2]}, nil
}

func (p *parser) parseCallArgs() ([]expr, []kwExpr, error) {
	if err := p.expectOp("("); err != nil {
		return nil, nil, err
	}
	var args []expr
	var kw []kwExpr
	first := true
	for !p.isOp(")") {
		if !first {
			if err := p.expectOp(","); err != nil {
				return nil, nil, err
			}
			if p.isOp(")") {
				break
			}
		}
		first = false
		if p.isOp("*") || p.isOp("**") {
			return nil, nil, p.fail("*args and **kwargs in calls are not supported")
		}
		if p.cur().kind == tName && p.look().kind == tOp && p.look().val == "=" {
			name := p.next().val
			p.next()
			x, err := p.parseExpression(true)
			if err != nil {
				return nil, nil, err
			}
			kw = append(kw, kwExpr{name, x})
			continue
		}
		if len(kw) > 0 {
			return nil, nil, p.fail("invalid syntax for function call expression")
		}
		x, err := p.parseExpression(true)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, x)
	}
	p.next()
	return args, kw, nil
}

func (p *parser) parseCall(fn expr) (expr, error) {
	args, kw, err := p.parseCallArgs()
	if err != nil {
		return nil, err
	}
	return &callExpr{fn, args, kw}, nil
}

// parseFilter parses "| name(args) | …" (inline: the first name has no
// pipe, as in {% filter %} and {% set x | f %}).
func (p *parser) parseFilter(x expr, inline bool) (expr, error) {
	for p.isOp("|") || inline {
		if !inline {
			p.next()
		}
		inline = false
		t, err := p.expectKind(tName)
		if err != nil {
			return nil, err
		}
		name := t.val
		for p.isOp(".") {
			p.next()
			n, err := p.expectKind(tName)
			if err != nil {
				return nil, err
			}
			name += "." + n.val
		}
		f := &filterExpr{x: x, name: name}
		if p.isOp("(") {
			if f.args, f.kw, err = p.parseCallArgs(); err != nil {
				return nil, err
			}
		}
		x = f
	}
	return x, nil
}

func (p *parser) parseTest(x expr) (expr, error) {
	p.next() // is
	negated := p.skipName("not")
	t, err := p.expectKind(tName)
	if err != nil {
		return nil, err
	}
	name := t.val
	for p.isOp(".") {
		p.next()
		n, err := p.expectKind(tName)
		if err != nil {
			return nil, err
		}
		name += "." + n.val
	}
	te := &testExpr{x: x, name: name}
	c := p.cur()
	switch {
	case p.isOp("("):
		if te.args, te.kw, err = p.parseCallArgs(); err != nil {
			return nil, err
		}
	case (c.kind == tName || c.kind == tString || c.kind == tInt || c.kind == tFloat || c.kind == tOp && (c.val == "[" || c.val == "{")) &&
		!(c.kind == tName && (c.val == "else" || c.val == "or" || c.val == "and")):
		if c.kind == tName && c.val == "is" {
			return nil, p.fail("you cannot chain multiple tests with is")
		}
		a, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		if a, err = p.parsePostfix(a); err != nil {
			return nil, err
		}
		te.args = []expr{a}
	}
	if negated {
		return &unaryExpr{"not", te}, nil
	}
	return te, nil
}
