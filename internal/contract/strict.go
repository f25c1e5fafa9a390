package contract

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Default limits for JSON bodies.
const (
	DefaultMaxDepth     = 64
	DefaultMaxNumberLen = 100
)

// Limits applied to every JSON body. A zero or negative field takes its
// default.
type Limits struct {
	// MaxDepth is the deepest nesting of objects and arrays allowed; a
	// scalar at the top level has depth 0, "[]" has depth 1. Default 64.
	MaxDepth int
	// MaxNumberLen is the most digits one number literal may have, counting
	// the digits of the integer part, the fraction and the exponent.
	// Default 100.
	MaxNumberLen int
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxNumberLen <= 0 {
		l.MaxNumberLen = DefaultMaxNumberLen
	}
	return l
}

// Kinds of syntax errors. A *SyntaxError unwraps to one of them, so callers
// can tell a nesting attack from a typo with errors.Is.
var (
	// ErrSyntax is malformed JSON: a missing comma, an unquoted key, an
	// unterminated string, a control character in a string...
	ErrSyntax = errors.New("contract: malformed JSON")
	// ErrAmbiguous is JSON that parsers disagree on: duplicate keys,
	// invalid UTF-8, lone surrogates, a leading byte order mark.
	ErrAmbiguous = errors.New("contract: ambiguous JSON")
	// ErrTooDeep is nesting beyond Limits.MaxDepth.
	ErrTooDeep = errors.New("contract: JSON nested too deeply")
	// ErrNumber is a number with too many digits or outside the float64
	// range.
	ErrNumber = errors.New("contract: JSON number out of range")
)

// SyntaxError is a body DecodeStrict or CheckDepth refused. Pointer is the
// JSON pointer of the value being read (the parent object for a bad key),
// Offset the byte offset of the problem, Reason a description written by
// this package that never quotes the body.
type SyntaxError struct {
	Pointer string
	Offset  int64
	Reason  string

	kind error
}

func (e *SyntaxError) Error() string {
	var sb strings.Builder
	sb.WriteString("invalid JSON at byte ")
	sb.WriteString(strconv.FormatInt(e.Offset, 10))
	if e.Pointer != "" {
		sb.WriteString(" (")
		sb.WriteString(e.Pointer)
		sb.WriteString(")")
	}
	sb.WriteString(": ")
	sb.WriteString(e.Reason)
	return sb.String()
}

// Unwrap returns ErrSyntax, ErrAmbiguous, ErrTooDeep or ErrNumber.
func (e *SyntaxError) Unwrap() error { return e.kind }

// DecodeStrict parses body as exactly one JSON value (RFC 8259) and refuses
// what standard parsers disagree on, so that the value pave validates is the
// value every function sees, whatever parser it uses:
//
//   - duplicate object keys, compared after unescaping ("a" and "\u0061"
//     are the same key), at any depth;
//   - invalid UTF-8 anywhere, and escaped surrogates that do not form a
//     pair (a lone "\ud800", or a low surrogate alone);
//   - numbers with more than lim.MaxNumberLen digits, or outside the range
//     of float64 (1e400);
//   - nesting deeper than lim.MaxDepth;
//   - anything after the value but whitespace, and a leading byte order
//     mark.
//
// The value uses the types jsonschema validates: map[string]any, []any,
// string, json.Number, bool and nil. Errors are *SyntaxError.
//
// The parser is one recursive-descent pass over the bytes; its recursion is
// bounded by lim.MaxDepth.
func DecodeStrict(body []byte, lim Limits) (any, error) {
	d := decoder{data: body, lim: lim.withDefaults()}
	if len(body) >= 3 && body[0] == 0xEF && body[1] == 0xBB && body[2] == 0xBF {
		return nil, d.fail(0, ErrAmbiguous, "starts with a byte order mark").finish()
	}
	d.skipSpace()
	v, err := d.value(0)
	if err != nil {
		return nil, err.finish()
	}
	d.skipSpace()
	if d.pos < len(d.data) {
		return nil, d.fail(d.pos, ErrSyntax, "has data after the JSON value").finish()
	}
	return v, nil
}

// decodeError is a *SyntaxError under construction: the parser prepends
// pointer segments as the recursion unwinds, so the success path never pays
// for tracking where it is.
type decodeError struct {
	segs []string // innermost first
	err  SyntaxError
}

func (e *decodeError) in(seg string) *decodeError {
	e.segs = append(e.segs, seg)
	return e
}

func (e *decodeError) finish() error {
	var sb strings.Builder
	for i := len(e.segs) - 1; i >= 0; i-- {
		sb.WriteByte('/')
		writePointerToken(&sb, e.segs[i])
	}
	e.err.Pointer = sb.String()
	return &e.err
}

// writePointerToken escapes one reference token (RFC 6901).
func writePointerToken(sb *strings.Builder, tok string) {
	for i := 0; i < len(tok); i++ {
		switch c := tok[i]; c {
		case '~':
			sb.WriteString("~0")
		case '/':
			sb.WriteString("~1")
		default:
			sb.WriteByte(c)
		}
	}
}

type decoder struct {
	data []byte
	pos  int
	lim  Limits
}

func (d *decoder) fail(off int, kind error, reason string) *decodeError {
	return &decodeError{err: SyntaxError{Offset: int64(off), Reason: reason, kind: kind}}
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// value parses the value at d.pos; depth is the nesting of its parent.
func (d *decoder) value(depth int) (any, *decodeError) {
	if d.pos >= len(d.data) {
		return nil, d.fail(d.pos, ErrSyntax, "ends before a value")
	}
	switch c := d.data[d.pos]; c {
	case '{':
		return d.object(depth + 1)
	case '[':
		return d.array(depth + 1)
	case '"':
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		return s, nil
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case 'n':
		return nil, d.literal("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return d.number()
		}
		return nil, d.fail(d.pos, ErrSyntax, "has an unexpected character where a value should be")
	}
}

func (d *decoder) literal(word string) *decodeError {
	if len(d.data)-d.pos < len(word) || string(d.data[d.pos:d.pos+len(word)]) != word {
		return d.fail(d.pos, ErrSyntax, "has an invalid literal (expected true, false or null)")
	}
	d.pos += len(word)
	return nil
}

func (d *decoder) object(depth int) (any, *decodeError) {
	empty, err := d.open(depth, '}')
	if err != nil {
		return nil, err
	}
	m := make(map[string]any)
	if empty {
		return m, nil
	}
	for {
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.fail(d.pos, ErrSyntax, "expected a string key in object")
		}
		keyAt := d.pos
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, d.fail(keyAt, ErrAmbiguous, "has a duplicate object key").in(k)
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.fail(d.pos, ErrSyntax, "expected ':' after object key").in(k)
		}
		d.pos++
		d.skipSpace()
		v, err := d.value(depth)
		if err != nil {
			return nil, err.in(k)
		}
		m[k] = v
		done, err := d.next('}', "object")
		if err != nil {
			return nil, err
		}
		if done {
			return m, nil
		}
	}
}

func (d *decoder) array(depth int) (any, *decodeError) {
	empty, err := d.open(depth, ']')
	if err != nil {
		return nil, err
	}
	a := make([]any, 0, 4)
	if empty {
		return a, nil
	}
	for {
		v, err := d.value(depth)
		if err != nil {
			return nil, err.in(strconv.Itoa(len(a)))
		}
		a = append(a, v)
		done, err := d.next(']', "array")
		if err != nil {
			return nil, err
		}
		if done {
			return a, nil
		}
	}
}

// open enters the object or array at d.pos, whose closing bracket is
// close, refusing one nested deeper than the limit, and reports whether it
// is empty (and then read whole).
func (d *decoder) open(depth int, close byte) (empty bool, err *decodeError) {
	if depth > d.lim.MaxDepth {
		return false, d.fail(d.pos, ErrTooDeep, "nests deeper than "+strconv.Itoa(d.lim.MaxDepth)+" levels")
	}
	d.pos++ // { or [
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == close {
		d.pos++
		return true, nil
	}
	return false, nil
}

// next reads what follows a member of an object or of an array (what),
// whose closing bracket is close: a comma, or close, which ends it (done).
func (d *decoder) next(close byte, what string) (done bool, err *decodeError) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return false, d.fail(d.pos, ErrSyntax, "ends inside an "+what)
	}
	switch d.data[d.pos] {
	case ',':
		d.pos++
		d.skipSpace()
		return false, nil
	case close:
		d.pos++
		return true, nil
	}
	return false, d.fail(d.pos, ErrSyntax, "expected ',' or '"+string(close)+"' in "+what)
}

// str parses the string starting at the quote at d.pos.
func (d *decoder) str() (string, *decodeError) {
	start := d.pos + 1
	i := start
	// Fast path: no escapes. Stop at the first quote, backslash, control
	// character or non-ASCII byte.
	for i < len(d.data) {
		c := d.data[i]
		if c == '"' {
			d.pos = i + 1
			return string(d.data[start:i]), nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		i++
	}
	var buf []byte
	lit := start // start of the bytes not yet copied into buf
	for i < len(d.data) {
		c := d.data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			if buf == nil {
				return string(d.data[start:i]), nil
			}
			buf = append(buf, d.data[lit:i]...)
			return string(buf), nil
		case c < 0x20:
			return "", d.fail(i, ErrSyntax, "has a control character inside a string")
		case c < utf8.RuneSelf && c != '\\':
			i++
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(d.data[i:])
			if r == utf8.RuneError && size == 1 {
				return "", d.fail(i, ErrAmbiguous, "has invalid UTF-8 inside a string")
			}
			i += size
		default: // backslash
			buf = append(buf, d.data[lit:i]...)
			at := i
			if i+1 >= len(d.data) {
				return "", d.fail(at, ErrSyntax, "ends inside a string escape")
			}
			e := d.data[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := hex4(d.data, i)
				if !ok {
					return "", d.fail(at, ErrSyntax, "has an invalid \\u escape")
				}
				i += 4
				switch {
				case utf16.IsSurrogate(r) && r < 0xDC00:
					// A high surrogate must be followed by an escaped low one.
					var r2 rune = -1
					if i+1 < len(d.data) && d.data[i] == '\\' && d.data[i+1] == 'u' {
						r2, ok = hex4(d.data, i+2)
						if !ok {
							r2 = -1
						}
					}
					if r2 < 0xDC00 || r2 > 0xDFFF {
						return "", d.fail(at, ErrAmbiguous, "has an unpaired UTF-16 surrogate escape")
					}
					i += 6
					r = utf16.DecodeRune(r, r2)
				case utf16.IsSurrogate(r):
					return "", d.fail(at, ErrAmbiguous, "has an unpaired UTF-16 surrogate escape")
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return "", d.fail(at, ErrSyntax, "has an invalid escape in a string")
			}
			lit = i
		}
	}
	return "", d.fail(len(d.data), ErrSyntax, "ends inside a string")
}

func hex4(b []byte, i int) (rune, bool) {
	if len(b)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// digits returns the end of the run of decimal digits starting at i, and
// how many there are.
func (d *decoder) digits(i int) (end, n int) {
	end = i
	for end < len(d.data) && d.data[end] >= '0' && d.data[end] <= '9' {
		end++
	}
	return end, end - i
}

// number parses a number literal, keeping its text as a json.Number so
// that validation compares the exact decimal value.
func (d *decoder) number() (any, *decodeError) {
	start := d.pos
	i := d.pos
	digits := 0
	if d.data[i] == '-' {
		i++
	}
	// integer part: 0 or [1-9][0-9]*
	switch {
	case i < len(d.data) && d.data[i] == '0':
		i++
		digits++
	case i < len(d.data) && d.data[i] >= '1' && d.data[i] <= '9':
		i, digits = d.digits(i)
	default:
		return nil, d.fail(i, ErrSyntax, "has an invalid number")
	}
	exp := false
	if i < len(d.data) && d.data[i] == '.' {
		var n int
		i, n = d.digits(i + 1)
		if n == 0 {
			return nil, d.fail(i, ErrSyntax, "has an invalid number (no digits after the decimal point)")
		}
		digits += n
	}
	if i < len(d.data) && (d.data[i] == 'e' || d.data[i] == 'E') {
		exp = true
		i++
		if i < len(d.data) && (d.data[i] == '+' || d.data[i] == '-') {
			i++
		}
		var n int
		i, n = d.digits(i)
		if n == 0 {
			return nil, d.fail(i, ErrSyntax, "has an invalid number (no digits in the exponent)")
		}
		digits += n
	}
	if digits > d.lim.MaxNumberLen {
		return nil, d.fail(start, ErrNumber, "has a number with more than "+strconv.Itoa(d.lim.MaxNumberLen)+" digits")
	}
	lit := string(d.data[start:i])
	// Without an exponent, only an integer part of 309 digits or more can
	// exceed the float64 range; skip the parse for everything shorter.
	if exp || len(lit) > 300 {
		if _, err := strconv.ParseFloat(lit, 64); err != nil {
			return nil, d.fail(start, ErrNumber, "has a number outside the range of a 64-bit float")
		}
	}
	d.pos = i
	return json.Number(lit), nil
}

// CheckDepth reports whether body nests objects and arrays deeper than max,
// without decoding it. It is meant for JSON bodies pave does not otherwise
// parse: it judges only depth, tolerates malformed JSON, and skips string
// contents (escaped quotes included) so brackets inside strings do not count.
// It is one linear pass with no allocation unless it fails; the error is a
// *SyntaxError wrapping ErrTooDeep. max <= 0 means DefaultMaxDepth.
func CheckDepth(body []byte, max int) error {
	if max <= 0 {
		max = DefaultMaxDepth
	}
	depth := 0
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '"':
			// Skip to the closing quote; a backslash escapes the next byte.
			for i++; i < len(body); i++ {
				if c := body[i]; c == '\\' {
					i++
				} else if c == '"' {
					break
				}
			}
		case '[', '{':
			depth++
			if depth > max {
				return &SyntaxError{Offset: int64(i), Reason: "nests deeper than " + strconv.Itoa(max) + " levels", kind: ErrTooDeep}
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}
