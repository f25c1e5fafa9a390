package manifest

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pave-dev/pave/internal/limits"
)

// The manifest is decoded by walking the yaml.Node tree by hand rather
// than by unmarshalling into a struct: that way every problem, not only
// the first, is found, and each is reported with its position and the
// path of the field it concerns.

// Short tags of the YAML core schema, as returned by yaml.Node.ShortTag.
const (
	strTag   = "!!str"
	intTag   = "!!int"
	floatTag = "!!float"
	boolTag  = "!!bool"
	nullTag  = "!!null"
	mergeTag = "!!merge"
)

// A decoder fills in a Manifest from a YAML tree, collecting errors.
type decoder struct {
	file  string
	errs  ErrorList
	lines map[string]int // the line of each field and list entry, by path
}

// mark records that the field or list entry at path is written on line.
func (d *decoder) mark(path string, line int) {
	if d.lines == nil {
		d.lines = make(map[string]int)
	}
	d.lines[path] = line
}

// A field is one key a mapping may hold.
type field struct {
	name     string
	required bool
	decode   decodeFunc
}

// A decodeFunc decodes the value n of the field at path.
type decodeFunc func(n *yaml.Node, path string)

// errorf records a problem with node n (nil for the whole document) of
// the field at path.
func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	e := &Error{File: d.file, Field: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

// err returns the errors recorded, sorted by position and capped at
// MaxErrors, or nil if there are none.
func (d *decoder) err() error {
	if len(d.errs) == 0 {
		return nil
	}
	errs := d.errs
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	if len(errs) > MaxErrors {
		shown := MaxErrors - 1
		errs = append(errs[:shown], &Error{
			File: d.file,
			Msg:  fmt.Sprintf("too many errors; %d more not shown", len(errs)-shown),
		})
	}
	return errs
}

// document parses data, which must be at most MaxFileSize bytes of one
// YAML document, and returns the document's root node, or nil if there is
// no usable root.
func (d *decoder) document(data []byte) *yaml.Node {
	if len(data) > MaxFileSize {
		d.errorf(nil, "", "manifest is larger than the limit of %s", limits.FormatSize(MaxFileSize))
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errorf(nil, "", "manifest is empty")
		} else {
			d.syntaxError(data, err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.syntaxError(data, err)
		return nil
	default:
		d.errorf(&next, "", "a manifest must be a single YAML document, but another one starts here")
		return nil
	}
	if len(doc.Content) == 0 || doc.Content[0].ShortTag() == nullTag {
		d.errorf(nil, "", "manifest is empty")
		return nil
	}
	return doc.Content[0]
}

// yamlErrorLine matches the line number in the errors of package yaml.
var yamlErrorLine = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)

// syntaxError records an error from package yaml, keeping its line if it
// has one. The line is yaml's own: for some errors it is that of the
// construct being parsed rather than of the offending token, and for
// errors on the first line yaml gives none.
func (d *decoder) syntaxError(data []byte, err error) {
	e := &Error{File: d.file, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := yamlErrorLine.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = m[2]
	}
	e.Msg = "invalid YAML: " + e.Msg
	if indentedWithTab(data, e.Line) {
		e.Msg += " (indent with spaces: YAML does not allow tabs)"
	}
	d.errs = append(d.errs, e)
}

// indentedWithTab reports whether the given 1-based line of data is
// indented with a tab, the usual cause of yaml's more cryptic errors.
func indentedWithTab(data []byte, line int) bool {
	if line <= 0 {
		return false
	}
	lines := bytes.SplitN(data, []byte("\n"), line+1)
	if len(lines) < line {
		return false
	}
	text := lines[line-1]
	indent := text[:len(text)-len(bytes.TrimLeft(text, " \t"))]
	return bytes.IndexByte(indent, '\t') >= 0
}

// manifest decodes the root of the document.
func (d *decoder) manifest(n *yaml.Node) *Manifest {
	m := &Manifest{Module: DefaultModule, Limits: DefaultLimits(), Async: DefaultAsync(), File: d.file}
	var module, runtime, main *yaml.Node
	d.object(n, "", []field{
		{name: "name", required: true, decode: d.text(&m.Name, checkName)},
		{name: "owner", required: true, decode: d.text(&m.Owner, checkOwner)},
		{name: "description", decode: d.text(&m.Description, checkDescription)},
		{name: "module", decode: d.keep(&module, d.text(&m.Module, checkModule))},
		{name: "runtime", decode: d.keep(&runtime, d.text(&m.Runtime, checkRuntime))},
		{name: "main", decode: d.keep(&main, d.text(&m.Main, checkMain))},
		{name: "routes", decode: d.routes(&m.Routes)},
		{name: "limits", decode: d.limits(&m.Limits)},
		{name: "rate_limit", decode: d.rateLimits(&m.RateLimit)},
		{name: "budget", decode: d.budget(&m.Budget)},
		{name: "capabilities", decode: d.capabilities(&m.Capabilities)},
		{name: "triggers", decode: d.triggers(&m.Triggers)},
		{name: "async", decode: d.async(&m.Async)},
	})
	switch {
	case runtime == nil:
		m.Runtime = RuntimeGo
	case m.Runtime == "":
		// Invalid, and reported: what goes with it is not checked.
		return m
	}
	switch m.Runtime {
	case RuntimeJS:
		if module != nil {
			d.errorf(module, "module", "a function with runtime %s is built from main, not module", RuntimeJS)
		}
		if main == nil && n.Kind == yaml.MappingNode {
			d.errorf(n, "", "missing required field \"main\": runtime %s needs the entry point, such as main: src/index.ts", RuntimeJS)
		}
	default:
		if main != nil {
			d.errorf(main, "main", "main is the entry point of a JavaScript function; set runtime: %s, or name a Go package with module", RuntimeJS)
			m.Main = ""
		}
	}
	return m
}

// keep returns a decodeFunc that records the node it is given in *n and
// then decodes it with decode, for checks that involve several fields.
func (d *decoder) keep(n **yaml.Node, decode decodeFunc) decodeFunc {
	return func(v *yaml.Node, path string) {
		*n = v
		decode(v, path)
	}
}

// routes returns a decodeFunc for the list of routes, which also refuses
// routes that duplicate another.
func (d *decoder) routes(dst *[]Route) decodeFunc {
	return uniqueList(d, dst, listRule[Route]{
		kind:     "a list of routes",
		max:      MaxRoutes,
		tooMany:  "%d routes; a function has at most %d (split it into several functions)",
		item:     d.route,
		key:      Route.Pattern,
		describe: Route.Pattern,
		dup:      "duplicate route: %s is already routed by %s[%d] on line %d",
	})
}

// listRule is the rule of a list whose items must differ: at most max of
// them, and none with the key of a valid item before it.
type listRule[T any] struct {
	kind string // the list, for an error of its kind: "a list of routes"
	max  int
	// tooMany is the error of a longer list, a format of its length and
	// max.
	tooMany string
	// item decodes one item, reporting whether it is valid.
	item     func(n *yaml.Node, path string) (T, bool)
	key      func(T) string
	describe func(T) string
	// dup is the error of an item that repeats another, a format of its
	// description and the first one's path, index and line.
	dup string
}

// uniqueList returns a decodeFunc for a list that follows rule.
func uniqueList[T any](d *decoder, dst *[]T, rule listRule[T]) decodeFunc {
	return func(n *yaml.Node, path string) {
		if !d.kind(n, path, yaml.SequenceNode, rule.kind) {
			return
		}
		if len(n.Content) > rule.max {
			d.errorf(n, path, rule.tooMany, len(n.Content), rule.max)
			return
		}
		items := make([]T, len(n.Content))
		claimed := make(map[string]int) // key to index of its first item
		for i, node := range n.Content {
			at := fmt.Sprintf("%s[%d]", path, i)
			item, ok := rule.item(node, at)
			items[i] = item
			if !ok {
				continue
			}
			key := rule.key(item)
			if j, dup := claimed[key]; dup {
				d.errorf(node, at, rule.dup, rule.describe(item), path, j, n.Content[j].Line)
				continue
			}
			claimed[key] = i
		}
		*dst = items
	}
}

// route decodes one route, reporting whether it is valid.
func (d *decoder) route(n *yaml.Node, path string) (r Route, ok bool) {
	before := len(d.errs)
	var auth *yaml.Node
	sec := &routeSecurity{d: d, r: &r}
	d.object(n, path, append([]field{
		{name: "method", required: true, decode: d.text(&r.Method, checkMethod)},
		{name: "path", required: true, decode: d.text(&r.Path, checkRoutePath)},
		{name: "auth", decode: func(v *yaml.Node, at string) {
			auth = v
			d.text(&r.Auth, checkAuth)(v, at)
		}},
		{name: "public", decode: d.boolean(&r.Public)},
	}, sec.fields()...))
	r.Method = strings.ToUpper(r.Method)
	r.Line = n.Line
	switch {
	case r.Public && auth != nil:
		d.errorf(auth, path+".auth", "a public route takes no auth")
	case r.Public:
		r.Auth = ""
	case r.Auth == "":
		r.Auth = AuthAPIKey
	}
	sec.check(path)
	return r, len(d.errs) == before
}

// limits returns a decodeFunc for the limits mapping.
func (d *decoder) limits(l *Limits) decodeFunc {
	return func(n *yaml.Node, path string) {
		d.object(n, path, []field{
			{name: "timeout", decode: d.duration(&l.Timeout, MinTimeout, MaxTimeout)},
			{name: "memory", decode: d.size(&l.Memory, MinMemory, MaxMemory)},
			{name: "concurrency", decode: d.integer(&l.Concurrency, MinConcurrency, MaxConcurrency)},
			{name: "max_body", decode: d.size(&l.MaxBody, MinMaxBody, MaxMaxBody)},
		})
	}
}

// object decodes the mapping n, whose keys must be among fields, passing
// each value to its field's decodeFunc. It reports unknown, duplicate and
// missing required fields.
func (d *decoder) object(n *yaml.Node, path string, fields []field) {
	if !d.kind(n, path, yaml.MappingNode, "a mapping") {
		return
	}
	seen := make(map[string]int) // key to its line
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name, ok := d.key(k, path)
		if !ok {
			continue
		}
		if line, dup := seen[name]; dup {
			d.errorf(k, path, "duplicate field %s; it is already set on line %d", quote(name), line)
			continue
		}
		seen[name] = k.Line
		d.mark(join(path, name), k.Line)
		f := slices.IndexFunc(fields, func(f field) bool { return f.name == name })
		if f < 0 {
			d.unknown(k, path, name, fields)
			continue
		}
		fields[f].decode(v, join(path, name))
	}
	for _, f := range fields {
		if _, ok := seen[f.name]; f.required && !ok {
			d.errorf(n, path, "missing required field %q", f.name)
		}
	}
}

// key returns the name of the mapping key k, reporting whether it is a
// plain string.
func (d *decoder) key(k *yaml.Node, path string) (string, bool) {
	if !d.plain(k, path) {
		return "", false
	}
	switch {
	case k.Kind == yaml.ScalarNode && k.ShortTag() == mergeTag:
		d.errorf(k, path, "merge keys (<<) are not allowed; write each field out")
		return "", false
	case k.Kind != yaml.ScalarNode || k.ShortTag() != strTag:
		d.errorf(k, path, "field names must be strings, found %s", describe(k))
		return "", false
	}
	return k.Value, true
}

// unknown reports the unknown field name, suggesting a known one if name
// looks like a misspelling of it.
func (d *decoder) unknown(k *yaml.Node, path, name string, fields []field) {
	msg := "unknown field " + quote(name)
	best, bestDist := "", 3 // suggest only within an edit distance of 2
	for _, f := range fields {
		if dist := editDistance(name, f.name, bestDist); dist < bestDist {
			best, bestDist = f.name, dist
		}
	}
	if best != "" {
		msg += fmt.Sprintf("; did you mean %q?", best)
	}
	d.errorf(k, path, "%s", msg)
}

// plain reports whether n is free of anchors and aliases, recording an
// error if not. Manifests refuse them: they make a file mean something
// other than what it plainly says where it says it.
func (d *decoder) plain(n *yaml.Node, path string) bool {
	switch {
	case n.Kind == yaml.AliasNode:
		d.errorf(n, path, "aliases (*%s) are not allowed; write the value out", n.Value)
	case n.Anchor != "":
		d.errorf(n, path, "anchors (&%s) are not allowed", n.Anchor)
	default:
		return true
	}
	return false
}

// kind reports whether n is a plain node of the given kind, recording an
// error naming want, what was expected, if not.
func (d *decoder) kind(n *yaml.Node, path string, kind yaml.Kind, want string) bool {
	if !d.plain(n, path) {
		return false
	}
	if n.Kind != kind {
		d.errorf(n, path, "expected %s, found %s", want, describe(n))
		return false
	}
	return true
}

// scalar reports whether n is a plain scalar with the given tag, recording
// an error naming want, what was expected, if not.
func (d *decoder) scalar(n *yaml.Node, path, tag, want string) bool {
	if !d.kind(n, path, yaml.ScalarNode, want) {
		return false
	}
	if n.ShortTag() != tag {
		d.errorf(n, path, "expected %s, found %s", want, describe(n))
		return false
	}
	return true
}

// text returns a decodeFunc that stores a string in dst if check accepts it.
func (d *decoder) text(dst *string, check func(string) error) decodeFunc {
	return func(n *yaml.Node, path string) {
		if !d.scalar(n, path, strTag, "a string") {
			return
		}
		if err := check(n.Value); err != nil {
			d.errorf(n, path, "%v", err)
			return
		}
		*dst = n.Value
	}
}

// boolean returns a decodeFunc that stores a boolean in dst.
func (d *decoder) boolean(dst *bool) decodeFunc {
	return func(n *yaml.Node, path string) {
		if !d.scalar(n, path, boolTag, "a boolean") {
			return
		}
		if err := n.Decode(dst); err != nil { // only if tagged !!bool explicitly
			d.errorf(n, path, "%s is not a valid boolean", quote(n.Value))
		}
	}
}

// integer returns a decodeFunc that stores an integer in [lo, hi] in dst.
func (d *decoder) integer(dst *int, lo, hi int) decodeFunc {
	return func(n *yaml.Node, path string) {
		if !d.scalar(n, path, intTag, "an integer") {
			return
		}
		v, ok := d.int64(n, path)
		if ok && inRange(d, n, path, v, int64(lo), int64(hi), formatInt) {
			*dst = int(v)
		}
	}
}

// size returns a decodeFunc that stores a size in bytes in [lo, hi] in dst.
func (d *decoder) size(dst *int64, lo, hi int64) decodeFunc {
	return func(n *yaml.Node, path string) {
		v, ok := d.sizeValue(n, path)
		if ok && inRange(d, n, path, v, lo, hi, limits.FormatSize) {
			*dst = v
		}
	}
}

// sizeValue decodes a size: an integer number of bytes, or a string such
// as "64MiB".
func (d *decoder) sizeValue(n *yaml.Node, path string) (int64, bool) {
	const want = `a size such as "64MiB"`
	if !d.kind(n, path, yaml.ScalarNode, want) {
		return 0, false
	}
	switch n.ShortTag() {
	case intTag:
		return d.int64(n, path)
	case strTag:
		v, err := limits.ParseSize(n.Value)
		if errors.Is(err, limits.ErrSizeOverflow) {
			return v, true // for the caller's bounds to report
		}
		if err != nil {
			d.errorf(n, path, "%v", err)
			return 0, false
		}
		return v, true
	}
	d.errorf(n, path, "expected %s, found %s", want, describe(n))
	return 0, false
}

// duration returns a decodeFunc that stores a duration in [lo, hi] in dst.
func (d *decoder) duration(dst *time.Duration, lo, hi time.Duration) decodeFunc {
	return func(n *yaml.Node, path string) {
		v, ok := d.durationValue(n, path)
		if ok && inRange(d, n, path, v, lo, hi, formatDuration) {
			*dst = v
		}
	}
}

// durationValue decodes a duration: a string in Go syntax, such as "10s".
// A bare number is refused rather than given a unit by guesswork.
func (d *decoder) durationValue(n *yaml.Node, path string) (time.Duration, bool) {
	const want = `a duration such as "10s"`
	if !d.kind(n, path, yaml.ScalarNode, want) {
		return 0, false
	}
	switch n.ShortTag() {
	case intTag, floatTag:
		d.errorf(n, path, "duration %s has no unit; write it with one, such as \"%ss\" or \"%sms\"",
			n.Value, n.Value, n.Value)
		return 0, false
	case strTag:
		v, err := parseDuration(n.Value)
		if err != nil {
			d.errorf(n, path, "%v", err)
			return 0, false
		}
		return v, true
	}
	d.errorf(n, path, "expected %s, found %s", want, describe(n))
	return 0, false
}

// int64 decodes the integer scalar n.
func (d *decoder) int64(n *yaml.Node, path string) (int64, bool) {
	var v int64
	if err := n.Decode(&v); err != nil {
		d.errorf(n, path, "%s is not a valid 64-bit integer", quote(n.Value))
		return 0, false
	}
	return v, true
}

// inRange reports whether v, decoded from n, lies in [lo, hi], recording
// an error if not.
func inRange[T int64 | time.Duration](d *decoder, n *yaml.Node, path string, v, lo, hi T, format func(T) string) bool {
	switch {
	case v < lo:
		d.errorf(n, path, "%s is below the minimum of %s", n.Value, format(lo))
	case v > hi:
		d.errorf(n, path, "%s is above the maximum of %s", n.Value, format(hi))
	default:
		return true
	}
	return false
}

// describe names the kind and value of n, for "expected X, found Y".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch tag := n.ShortTag(); tag {
	case strTag:
		return "string " + quote(n.Value)
	case intTag:
		return "integer " + n.Value
	case floatTag:
		return "float " + n.Value
	case boolTag:
		return "boolean " + n.Value
	case nullTag:
		return "null"
	default: // "!!timestamp" and the like, or a custom tag
		return strings.TrimPrefix(tag, "!!") + " " + quote(n.Value)
	}
}

// join appends a field name to a dotted path.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// editDistance returns the Levenshtein distance between a and b, or limit
// if it is at least limit.
func editDistance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if diff := len(ra) - len(rb); diff >= limit || -diff >= limit {
		return limit
	}
	prev := make([]int, len(rb)+1)
	curr := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		curr[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			curr[j] = min(prev[j]+1, curr[j-1]+1, prev[j-1]+cost)
		}
		prev, curr = curr, prev
	}
	return min(prev[len(rb)], limit)
}
