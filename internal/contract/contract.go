// Package contract checks a route's input against the contract the route
// declares: a JSON Schema (draft 2020-12) for the body and one for the query
// parameters. The gateway runs these checks before any function instance
// exists, so malformed or hostile input (event-data injection, parser
// differentials, nesting bombs) never reaches function code.
//
// Three decisions shape the package:
//
//   - Bodies are parsed by DecodeStrict, which refuses JSON that parsers
//     disagree on (duplicate keys, invalid UTF-8, lone surrogates, huge
//     numbers). Whatever the function's own parser does, it sees the value
//     pave validated.
//   - Schemas are self-contained. Compile never loads anything: a $ref or
//     $schema naming another document, a URL or a file fails at compile
//     time with ErrRemoteRef. Only draft 2020-12 is accepted, and format
//     assertions are on (an unknown format name is an error, not a no-op).
//   - Violations are written for the caller of the route, so they never
//     quote the instance: a reason is built from the failing keyword and
//     the schema's own values ("must be at most 100"), never from the
//     library's messages, some of which echo the value that failed. The
//     one piece of the instance a violation may carry is a property name,
//     in its pointer: the caller needs to know which property to drop. An
//     unexpected property is named only when its name is at most
//     MaxNamedProperty bytes of letters, digits and "_-.:@$/", which can
//     hold no markup, quote or control character; any other is counted
//     at its object. Violations go to the caller alone, not to logs.
//
// Patterns are Go regular expressions (RE2): matching is linear in the
// input, so a schema cannot be turned into a ReDoS, and ECMA-262 syntax RE2
// lacks (lookaround, backreferences) is refused at compile time.
package contract

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// MaxViolations is how many violations the gateway reports for one request.
const MaxViolations = 10

// Sentinel errors, reachable with errors.Is from a *CompileError.
var (
	// ErrRemoteRef is a reference to anything outside the schema document:
	// a URL (http:, https:, file: ...), a relative file path, or a
	// meta-schema.
	ErrRemoteRef = errors.New("contract: reference outside the schema document")
	// ErrUnsupportedDraft is a $schema other than draft 2020-12.
	ErrUnsupportedDraft = errors.New("contract: unsupported JSON Schema draft")
	// ErrUnknownFormat is a "format" this package cannot assert.
	ErrUnknownFormat = errors.New("contract: unknown format")
	// ErrInvalidSchema is a document that is not a valid schema: malformed
	// JSON, or a keyword with a value the meta-schema refuses.
	ErrInvalidSchema = errors.New("contract: invalid schema")
)

// Draft202012 is the only $schema value Compile accepts (with or without a
// trailing "#"). A schema without $schema is read as this draft.
const Draft202012 = "https://json-schema.org/draft/2020-12/schema"

// baseURL names the document inside the compiler. Its scheme has no loader,
// and relative references resolve under it, so they show up as refused
// loads instead of reaching the filesystem.
const baseURL = "pave:///schema.json"

// schemaLimits bounds schema documents: schemas nest about twice as deep as
// the data they describe.
var schemaLimits = Limits{MaxDepth: 256, MaxNumberLen: DefaultMaxNumberLen}

// Schema is a compiled contract. It is safe for concurrent use.
type Schema struct {
	name string
	sch  *jsonschema.Schema
}

// Name returns the name the schema was compiled with.
func (s *Schema) Name() string { return s.name }

// CompileError locates a problem in a schema document.
type CompileError struct {
	// Name is the name given to Compile.
	Name string
	// Pointer is the JSON pointer of the offending value in the schema.
	Pointer string
	// Line and Column (1-based, in characters) locate Pointer, or the
	// syntax error, in the schema text; 0 when unknown.
	Line, Column int
	// Reason says what is wrong.
	Reason string
	// Err is ErrInvalidSchema, ErrRemoteRef, ErrUnsupportedDraft or
	// ErrUnknownFormat.
	Err error

	cause error
}

func (e *CompileError) Error() string {
	var sb strings.Builder
	sb.WriteString(e.Name)
	sb.WriteString(": ")
	if e.Line > 0 {
		fmt.Fprintf(&sb, "line %d, column %d: ", e.Line, e.Column)
	}
	if e.Pointer != "" {
		sb.WriteString("at ")
		sb.WriteString(e.Pointer)
		sb.WriteString(": ")
	}
	sb.WriteString(e.Reason)
	return sb.String()
}

// Unwrap returns the sentinel in Err and, when there is one, the underlying
// error (a *SyntaxError or an error of the jsonschema library).
func (e *CompileError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.Err, e.cause}
	}
	return []error{e.Err}
}

// Compile compiles a schema document (JSON text). name is used in error
// messages ("pave.yaml: routes[0].schema.body", "schemas/order.json").
//
// The document is parsed with DecodeStrict (duplicate keys are an error in
// a schema too). Draft 2020-12 is the default and the only draft accepted,
// in the root and in every embedded resource. Format assertions are on.
// Every reference must resolve inside the document (a JSON pointer such as
// "#/$defs/item", an anchor, or the $id of an embedded resource); nothing is
// ever fetched. Errors are *CompileError.
func Compile(name string, schemaJSON []byte) (*Schema, error) {
	c := &compilation{name: name, text: schemaJSON}
	doc, err := DecodeStrict(schemaJSON, schemaLimits)
	if err != nil {
		var se *SyntaxError
		errors.As(err, &se)
		ce := &CompileError{Name: name, Pointer: se.Pointer, Reason: "is not valid JSON: " + se.Reason, Err: ErrInvalidSchema, cause: err}
		ce.Line, ce.Column = lineCol(schemaJSON, int(se.Offset))
		return nil, ce
	}
	c.doc = doc
	if obj, ok := doc.(map[string]any); ok {
		if v, ok := obj["$schema"]; ok {
			s, isString := v.(string)
			if !isString {
				return nil, c.errorAt("/$schema", ErrInvalidSchema, "$schema must be a string", nil)
			}
			if !isDraft202012(s) {
				return nil, c.errorAt("/$schema", ErrUnsupportedDraft,
					fmt.Sprintf("$schema %s is not supported; only JSON Schema draft 2020-12 (%s) is", strconv.Quote(s), Draft202012), nil)
			}
		}
	}

	loader := &refusingLoader{}
	jc := jsonschema.NewCompiler()
	jc.DefaultDraft(jsonschema.Draft2020)
	jc.AssertFormat()
	jc.UseLoader(loader)
	if err := jc.AddResource(baseURL, doc); err != nil {
		return nil, c.errorAt("", ErrInvalidSchema, "cannot be added to the compiler", err)
	}
	sch, err := jc.Compile(baseURL)
	if err != nil {
		return nil, c.translate(err, loader)
	}
	if err := c.check(sch); err != nil {
		return nil, err
	}
	return &Schema{name: name, sch: sch}, nil
}

func isDraft202012(s string) bool {
	s = strings.TrimSuffix(s, "#")
	return s == Draft202012 || s == "http://json-schema.org/draft/2020-12/schema"
}

// refusingLoader is the compiler's only loader: it records what the
// compiler wanted and refuses it.
type refusingLoader struct{ urls []string }

func (l *refusingLoader) Load(u string) (any, error) {
	l.urls = append(l.urls, u)
	return nil, ErrRemoteRef
}

type compilation struct {
	name string
	text []byte
	doc  any
}

func (c *compilation) errorAt(ptr string, kind error, reason string, cause error) *CompileError {
	e := &CompileError{Name: c.name, Pointer: ptr, Reason: reason, Err: kind, cause: cause}
	if off, ok := offsetOf(c.text, ptr); ok {
		e.Line, e.Column = lineCol(c.text, off)
	}
	return e
}

// translate turns a compiler error into a *CompileError that points into
// the document.
func (c *compilation) translate(err error, loader *refusingLoader) error {
	var (
		sv   *jsonschema.SchemaValidationError
		load *jsonschema.LoadURLError
		re   *jsonschema.InvalidRegexError
		nf   *jsonschema.JSONPointerNotFoundError
		an   *jsonschema.AnchorNotFoundError
	)
	switch {
	case errors.As(err, &sv):
		var ve *jsonschema.ValidationError
		if errors.As(sv.Err, &ve) {
			ptr, reason := schemaProblem(ve)
			return c.errorAt(ptr, ErrInvalidSchema, reason, err)
		}
	case errors.As(err, &load) || len(loader.urls) > 0:
		target := ""
		if load != nil {
			target = load.URL
		} else {
			target = loader.urls[0]
		}
		ptr, ref := c.findRef(target)
		if ref == "" {
			ref = strings.TrimPrefix(target, "pave:///")
		}
		return c.errorAt(ptr, ErrRemoteRef,
			fmt.Sprintf("reference %s points outside this document; only references within the same schema (such as \"#/$defs/name\") are allowed", strconv.Quote(ref)), err)
	case errors.As(err, &re):
		return c.errorAt(fragmentPointer(re.URL), ErrInvalidSchema,
			fmt.Sprintf("invalid regular expression: %v", re.Err), err)
	case errors.As(err, &nf):
		ptr, ref := c.findRef(nf.URL)
		if ref == "" {
			ref = "#" + fragmentPointer(nf.URL)
		}
		return c.errorAt(ptr, ErrInvalidSchema, fmt.Sprintf("reference %s does not exist in this document", strconv.Quote(ref)), err)
	case errors.As(err, &an):
		ptr, ref := c.findRef(an.Reference)
		if ref == "" {
			ref = an.Reference
		}
		return c.errorAt(ptr, ErrInvalidSchema, fmt.Sprintf("reference %s names an anchor that does not exist", strconv.Quote(ref)), err)
	}
	// Other compiler errors (duplicate $id or anchor, unparsable $id...)
	// name locations by URL; show them relative to the document.
	msg := strings.ReplaceAll(strings.ReplaceAll(err.Error(), baseURL, ""), "pave:///", "")
	return c.errorAt("", ErrInvalidSchema, msg, err)
}

// findRef finds the $ref, $dynamicRef or $schema that resolves to target, for
// locating a reference the compiler refused. It resolves references against
// the $id values on their path, as the compiler does, and returns the
// pointer of the keyword and its value as written.
func (c *compilation) findRef(target string) (ptr, ref string) {
	base, _ := url.Parse(baseURL)
	want, wantFrag, _ := strings.Cut(target, "#")
	if f, err := url.PathUnescape(wantFrag); err == nil {
		wantFrag = f
	}
	var walk func(v any, p string, base *url.URL) bool
	walk = func(v any, p string, base *url.URL) bool {
		switch v := v.(type) {
		case map[string]any:
			if id, ok := v["$id"].(string); ok {
				if u, err := url.Parse(id); err == nil {
					base = base.ResolveReference(u)
					base.Fragment, base.RawFragment = "", ""
				}
			}
			for _, kw := range []string{"$ref", "$dynamicRef", "$schema"} {
				r, ok := v[kw].(string)
				if !ok {
					continue
				}
				u, err := url.Parse(r)
				if err != nil {
					continue
				}
				res := base.ResolveReference(u)
				frag := res.Fragment
				res.Fragment, res.RawFragment = "", ""
				if res.String() == want && (frag == wantFrag || wantFrag == "") {
					ptr, ref = p+"/"+escapeToken(kw), r
					return false
				}
			}
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if !walk(v[k], p+"/"+escapeToken(k), base) {
					return false
				}
			}
		case []any:
			for i, e := range v {
				if !walk(e, p+"/"+strconv.Itoa(i), base) {
					return false
				}
			}
		}
		return true
	}
	walk(c.doc, "", base)
	return ptr, ref
}

// check walks the compiled schema graph and refuses what the compiler
// accepted but pave does not: schemas from another document (the embedded
// meta-schemas), drafts other than 2020-12 in embedded resources, and
// format names with no assertion behind them.
func (c *compilation) check(root *jsonschema.Schema) error {
	seen := make(map[*jsonschema.Schema]bool)
	var err error
	var visit func(s *jsonschema.Schema, from string)
	visit = func(s *jsonschema.Schema, from string) {
		if s == nil || seen[s] || err != nil {
			return
		}
		seen[s] = true
		doc, frag, _ := strings.Cut(s.Location, "#")
		if doc != baseURL {
			ptr, ref := c.findRef(s.Location)
			if ref == "" {
				ptr, ref = from, s.Location
			}
			err = c.errorAt(ptr, ErrRemoteRef,
				fmt.Sprintf("reference %s points outside this document; only references within the same schema (such as \"#/$defs/name\") are allowed", strconv.Quote(ref)), nil)
			return
		}
		ptr := frag
		if p, e := url.PathUnescape(frag); e == nil {
			ptr = p
		}
		if s.DraftVersion != 2020 {
			err = c.errorAt(ptr+"/$schema", ErrUnsupportedDraft,
				fmt.Sprintf("embedded resource uses draft %d; only JSON Schema draft 2020-12 is supported", s.DraftVersion), nil)
			return
		}
		if s.Format == nil {
			if obj, ok := lookup(c.doc, ptr).(map[string]any); ok {
				if f, ok := obj["format"].(string); ok {
					err = c.errorAt(ptr+"/format", ErrUnknownFormat,
						fmt.Sprintf("format %s is not supported; use one of %s", strconv.Quote(f), strings.Join(knownFormats, ", ")), nil)
					return
				}
			}
		}
		for _, sub := range subschemas(s) {
			visit(sub, ptr)
		}
	}
	visit(root, "")
	return err
}

// knownFormats are the format names the validator asserts.
var knownFormats = []string{
	"date", "date-time", "duration", "email", "hostname", "ipv4", "ipv6",
	"iri", "iri-reference", "json-pointer", "period", "regex",
	"relative-json-pointer", "semver", "time", "uri", "uri-reference",
	"uri-template", "uuid",
}

// subschemas lists the schemas s refers to directly.
func subschemas(s *jsonschema.Schema) []*jsonschema.Schema {
	out := []*jsonschema.Schema{s.Ref, s.RecursiveRef, s.Not, s.If, s.Then, s.Else,
		s.PropertyNames, s.UnevaluatedProperties, s.Contains, s.Items2020,
		s.UnevaluatedItems, s.ContentSchema}
	if s.DynamicRef != nil {
		out = append(out, s.DynamicRef.Ref)
	}
	out = append(out, s.AllOf...)
	out = append(out, s.AnyOf...)
	out = append(out, s.OneOf...)
	out = append(out, s.PrefixItems...)
	for _, p := range s.Properties {
		out = append(out, p)
	}
	for _, p := range s.PatternProperties {
		out = append(out, p)
	}
	for _, p := range s.DependentSchemas {
		out = append(out, p)
	}
	for _, d := range s.Dependencies {
		if p, ok := d.(*jsonschema.Schema); ok {
			out = append(out, p)
		}
	}
	for _, v := range []any{s.AdditionalProperties, s.AdditionalItems, s.Items} {
		switch v := v.(type) {
		case *jsonschema.Schema:
			out = append(out, v)
		case []*jsonschema.Schema:
			out = append(out, v...)
		}
	}
	return out
}

// fragmentPointer returns the JSON pointer in the fragment of a schema URL.
func fragmentPointer(u string) string {
	_, frag, _ := strings.Cut(u, "#")
	if p, err := url.PathUnescape(frag); err == nil {
		return p
	}
	return frag
}

func escapeToken(tok string) string {
	if !strings.ContainsAny(tok, "~/") {
		return tok
	}
	var sb strings.Builder
	writePointerToken(&sb, tok)
	return sb.String()
}

func unescapeToken(tok string) string {
	if !strings.Contains(tok, "~") {
		return tok
	}
	return strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
}

// lookup resolves a JSON pointer in a decoded document; nil if absent.
func lookup(v any, ptr string) any {
	if ptr == "" {
		return v
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = unescapeToken(tok)
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[tok]; !ok {
				return nil
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// offsetOf finds the byte offset of the value at ptr in a JSON text that
// DecodeStrict accepted.
func offsetOf(text []byte, ptr string) (int, bool) {
	d := decoder{data: text, lim: Limits{MaxDepth: 1 << 20, MaxNumberLen: 1 << 20}}
	d.skipSpace()
	if ptr == "" {
		return d.pos, true
	}
	if !strings.HasPrefix(ptr, "/") {
		return 0, false
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = unescapeToken(tok)
		if d.pos >= len(d.data) {
			return 0, false
		}
		switch d.data[d.pos] {
		case '{':
			d.pos++
			found := false
			for !found {
				d.skipSpace()
				if d.pos >= len(d.data) || d.data[d.pos] != '"' {
					return 0, false
				}
				k, err := d.str()
				if err != nil {
					return 0, false
				}
				d.skipSpace()
				d.pos++ // ':'
				d.skipSpace()
				if k == tok {
					found = true
					break
				}
				if _, err := d.value(0); err != nil {
					return 0, false
				}
				d.skipSpace()
				d.pos++ // ',' or '}'
			}
		case '[':
			n, err := strconv.Atoi(tok)
			if err != nil || n < 0 {
				return 0, false
			}
			d.pos++
			for i := 0; i < n; i++ {
				d.skipSpace()
				if _, err := d.value(0); err != nil {
					return 0, false
				}
				d.skipSpace()
				if d.pos >= len(d.data) || d.data[d.pos] != ',' {
					return 0, false
				}
				d.pos++
			}
			d.skipSpace()
		default:
			return 0, false
		}
	}
	return d.pos, true
}

// lineCol converts a byte offset into a 1-based line and a 1-based column
// counted in characters.
func lineCol(text []byte, off int) (line, col int) {
	if off > len(text) {
		off = len(text)
	}
	line, start := 1, 0
	for i := 0; i < off; i++ {
		if text[i] == '\n' {
			line++
			start = i + 1
		}
	}
	return line, len([]rune(string(text[start:off]))) + 1
}
