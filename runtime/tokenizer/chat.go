package tokenizer

import (
	"errors"
	"fmt"
	"strings"
)

// Message is one chat turn.
type Message struct{ Role, Content string }

// ApplyChat renders msgs with the model's chat template, as Hugging Face's
// apply_chat_template (Jinja with trim_blocks and lstrip_blocks) would.
//
// Only ChatML templates are supported, and only the shapes recognised by
// parseChatML: each message as "<|im_start|>{role}\n{content}<|im_end|>\n",
// an optional default system message inserted when the first message is not
// a system message (SmolLM2: "You are a helpful AI assistant named SmolLM,
// trained by Hugging Face"), and "<|im_start|>assistant\n" as the generation
// prompt. Any other template is refused with an error rather than rendered
// approximately.
func (t *Tokenizer) ApplyChat(msgs []Message, addGenerationPrompt bool) (string, error) {
	if t.chatTemplate == "" {
		return "", errors.New("tokenizer: the model has no chat template (tokenizer.chat_template)")
	}
	c, err := parseChatML(t.chatTemplate)
	if err != nil {
		return "", err
	}
	return c.render(msgs, addGenerationPrompt), nil
}

// chatML is a recognised ChatML template.
type chatML struct {
	defaultSystem    *string // inserted as a system message if the first message is not one
	defaultWhenEmpty bool    // the default is also rendered when there are no messages
}

func (c *chatML) render(msgs []Message, addGenerationPrompt bool) string {
	var b strings.Builder
	turn := func(role, content string) {
		b.WriteString("<|im_start|>")
		b.WriteString(role)
		b.WriteString("\n")
		b.WriteString(content)
		b.WriteString("<|im_end|>\n")
	}
	if c.defaultSystem != nil && (len(msgs) > 0 && msgs[0].Role != "system" || len(msgs) == 0 && c.defaultWhenEmpty) {
		turn("system", *c.defaultSystem)
	}
	for _, m := range msgs {
		turn(m.Role, m.Content)
	}
	if addGenerationPrompt {
		b.WriteString("<|im_start|>assistant\n")
	}
	return b.String()
}

// jnode is one piece of a Jinja template: literal text, {{ expr }} or
// {% stmt %}, with the tag's inside canonicalised by canonJinja.
type jnode struct {
	kind byte // 't' text, 'e' expression, 's' statement
	src  string
}

// lexJinja splits a template into nodes, applying whitespace control
// ("{%-", "-%}", …) and Hugging Face's trim_blocks / lstrip_blocks.
// Comments are dropped.
func lexJinja(tmpl string) ([]jnode, error) {
	var nodes []jnode
	trimNext := false    // "-%}" / "-}}": strip all leading whitespace of the next text
	newlineNext := false // trim_blocks: drop one newline after a block tag
	lineStart := true    // the next text starts a line (only at the template's start)
	for {
		i := tagStart(tmpl)
		text := tmpl[:i]
		tmpl = tmpl[i:]
		var open byte
		var inner string
		if tmpl != "" {
			open = tmpl[1]
			closeTag := map[byte]string{'{': "}}", '%': "%}", '#': "#}"}[open]
			end := strings.Index(tmpl[2:], closeTag)
			if end < 0 {
				return nil, fmt.Errorf("unterminated %q tag", tmpl[:2])
			}
			inner = tmpl[2 : 2+end]
			tmpl = tmpl[2+end+2:]
		}
		block := open == '%' || open == '#'
		// Right end of the text: "{%-" strips all whitespace; lstrip_blocks
		// strips blanks between a line start and a block tag.
		if strings.HasPrefix(inner, "-") {
			text = strings.TrimRight(text, " \t\r\n")
			inner = inner[1:]
		} else if block {
			k := strings.LastIndexByte(text, '\n')
			if (k >= 0 || lineStart) && strings.Trim(text[k+1:], " \t") == "" {
				text = text[:k+1]
			}
		}
		// Left end: "-%}" on the previous tag, or trim_blocks.
		if trimNext {
			text = strings.TrimLeft(text, " \t\r\n")
		} else if newlineNext {
			text = strings.TrimPrefix(text, "\n")
		}
		if text != "" {
			nodes = append(nodes, jnode{'t', text})
		}
		if open == 0 {
			return nodes, nil
		}
		trimNext, newlineNext = false, false
		if strings.HasSuffix(inner, "-") {
			trimNext = true
			inner = inner[:len(inner)-1]
		} else if block {
			newlineNext = true
		}
		lineStart = false
		switch open {
		case '{':
			nodes = append(nodes, jnode{'e', canonJinja(inner)})
		case '%':
			nodes = append(nodes, jnode{'s', canonJinja(inner)})
		}
	}
}

// tagStart returns the index of the first "{{", "{%" or "{#" in s, or len(s).
func tagStart(s string) int {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '{' && (s[i+1] == '{' || s[i+1] == '%' || s[i+1] == '#') {
			return i
		}
	}
	return len(s)
}

// canonJinja normalises a tag's inside: blanks collapsed outside string
// literals, double-quoted literals turned into single-quoted ones, and
// x.role / x.content written as x['role'] / x['content'].
func canonJinja(s string) string {
	var b, code strings.Builder
	space := false
	flush := func() {
		c := code.String()
		c = strings.ReplaceAll(c, ".role", "['role']")
		c = strings.ReplaceAll(c, ".content", "['content']")
		b.WriteString(c)
		code.Reset()
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			space = true
			continue
		case space && b.Len()+code.Len() > 0:
			code.WriteByte(' ')
		}
		space = false
		if c != '\'' && c != '"' {
			code.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(s) && s[j] != c {
			if s[j] == '\\' {
				j++
			}
			j++
		}
		flush()
		if j >= len(s) { // unterminated literal: keep as is
			b.WriteString(s[i:])
			break
		}
		if lit := s[i+1 : j]; c == '"' && !strings.Contains(lit, "'") {
			b.WriteString("'" + lit + "'")
		} else {
			b.WriteString(s[i : j+1])
		}
		i = j
	}
	flush()
	return b.String()
}

// concatTerm is one operand of a string concatenation: a literal or a
// message field.
type concatTerm struct {
	lit   string
	field string // "role", "content" or "" for a literal
}

// parseConcat parses an expression made of string literals, message['role']
// and message['content'] joined by '+' or '~', merging adjacent literals.
func parseConcat(expr string) ([]concatTerm, bool) {
	var terms []concatTerm
	s := strings.TrimSpace(expr)
	for {
		s = strings.TrimSpace(s)
		switch {
		case strings.HasPrefix(s, "'"):
			j := 1
			var lit strings.Builder
			for ; j < len(s) && s[j] != '\''; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
					switch s[j] {
					case 'n':
						lit.WriteByte('\n')
					case 't':
						lit.WriteByte('\t')
					case 'r':
						lit.WriteByte('\r')
					case '\\', '\'', '"':
						lit.WriteByte(s[j])
					default:
						return nil, false
					}
					continue
				}
				lit.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, false
			}
			if n := len(terms); n > 0 && terms[n-1].field == "" {
				terms[n-1].lit += lit.String()
			} else {
				terms = append(terms, concatTerm{lit: lit.String()})
			}
			s = s[j+1:]
		case strings.HasPrefix(s, "message['role']"):
			terms = append(terms, concatTerm{field: "role"})
			s = s[len("message['role']"):]
		case strings.HasPrefix(s, "message['content']"):
			terms = append(terms, concatTerm{field: "content"})
			s = s[len("message['content']"):]
		default:
			return nil, false
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return terms, true
		}
		if s[0] != '+' && s[0] != '~' {
			return nil, false
		}
		s = s[1:]
	}
}

// literalExpr returns the value of an expression that is only string
// literals.
func literalExpr(expr string) (string, bool) {
	terms, ok := parseConcat(expr)
	if !ok || len(terms) != 1 || terms[0].field != "" {
		return "", false
	}
	return terms[0].lit, true
}

// parseChatML recognises ChatML templates of these shapes (blanks, quote
// style, whitespace control and message.x / message['x'] spelling vary):
//
//	[{% if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n…<|im_end|>\n' }}{% endif %}]
//	{% for message in messages %}
//	  [{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n…<|im_end|>\n' }}{% endif %}]
//	  {{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}
//	{% endfor %}
//	{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}
func parseChatML(tmpl string) (*chatML, error) {
	unsupported := func(why string) error {
		return fmt.Errorf("tokenizer: unsupported chat template (%s); only plain ChatML templates are supported", why)
	}
	if !strings.Contains(tmpl, "<|im_start|>") {
		return nil, unsupported("not ChatML: no <|im_start|>")
	}
	nodes, err := lexJinja(tmpl)
	if err != nil {
		return nil, unsupported(err.Error())
	}
	c := &chatML{}
	i := 0
	peek := func(kind byte, src string) bool {
		return i < len(nodes) && nodes[i].kind == kind && (src == "" || nodes[i].src == src)
	}
	// defaultBlock matches: {% if cond %}{{ '<|im_start|>system\n…<|im_end|>\n' }}{% endif %}
	defaultBlock := func(cond string) bool {
		if !peek('s', cond) || i+2 >= len(nodes) || nodes[i+1].kind != 'e' || nodes[i+2].kind != 's' || nodes[i+2].src != "endif" {
			return false
		}
		lit, ok := literalExpr(nodes[i+1].src)
		const pre, post = "<|im_start|>system\n", "<|im_end|>\n"
		if !ok || !strings.HasPrefix(lit, pre) || !strings.HasSuffix(lit, post) || len(lit) < len(pre)+len(post) {
			return false
		}
		sys := lit[len(pre) : len(lit)-len(post)]
		c.defaultSystem = &sys
		i += 3
		return true
	}
	notSystem := "messages[0]['role'] != 'system'"
	if defaultBlock("if " + notSystem) {
		c.defaultWhenEmpty = true // jinja would fail on messages[0] of an empty list; we render the default
	}
	if !peek('s', "for message in messages") {
		return nil, unsupported(describe(nodes, i, "{% for message in messages %}"))
	}
	i++
	if c.defaultSystem == nil {
		defaultBlock("if loop.first and " + notSystem)
	}
	if !peek('e', "") {
		return nil, unsupported(describe(nodes, i, "the message expression"))
	}
	terms, ok := parseConcat(nodes[i].src)
	want := []concatTerm{{lit: "<|im_start|>"}, {field: "role"}, {lit: "\n"}, {field: "content"}, {lit: "<|im_end|>\n"}}
	if !ok || len(terms) != len(want) {
		return nil, unsupported("message expression " + nodes[i].src)
	}
	for k := range want {
		if terms[k] != want[k] {
			return nil, unsupported("message expression " + nodes[i].src)
		}
	}
	i++
	if !peek('s', "endfor") {
		return nil, unsupported(describe(nodes, i, "{% endfor %}"))
	}
	i++
	if !peek('s', "if add_generation_prompt") || i+2 >= len(nodes) || nodes[i+2].src != "endif" {
		return nil, unsupported(describe(nodes, i, "{% if add_generation_prompt %}"))
	}
	if lit, ok := literalExpr(nodes[i+1].src); !ok || lit != "<|im_start|>assistant\n" {
		return nil, unsupported("generation prompt " + nodes[i+1].src)
	}
	i += 3
	if i != len(nodes) {
		return nil, unsupported(describe(nodes, i, "the end of the template"))
	}
	return c, nil
}

func describe(nodes []jnode, i int, want string) string {
	if i >= len(nodes) {
		return "template ends where " + want + " was expected"
	}
	n := nodes[i]
	src := n.src
	if len(src) > 60 {
		src = src[:60] + "…"
	}
	kinds := map[byte]string{'t': "text", 'e': "expression", 's': "statement"}
	return fmt.Sprintf("found %s %q where %s was expected", kinds[n.kind], src, want)
}
