package contract

import (
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// Violation is one way the instance breaks the schema.
type Violation struct {
	// Pointer is the JSON pointer of the failing value in the instance,
	// like "/items/3/price". For a missing property it is the pointer the
	// property would have; for an unexpected one (additionalProperties),
	// the pointer it has when its name is short and plain (see
	// MaxNamedProperty), else that of the object holding it. It is made of
	// property names and indexes only, never of values.
	Pointer string
	// Reason says what the schema expects, e.g. "must be of type integer".
	// It is built from the keyword and the schema's values only, never
	// from the instance.
	Reason string
	// Keyword is the schema keyword that failed, e.g. "type".
	Keyword string
}

// Validate checks instance, a value as returned by DecodeStrict or
// QueryInstance, against the schema. It returns nil if the instance is
// valid, otherwise at most max violations, the first ones in instance
// pointer order (max <= 0 means MaxViolations).
func (s *Schema) Validate(instance any, max int) []Violation {
	err := s.sch.Validate(instance)
	if err == nil {
		return nil
	}
	if max <= 0 {
		max = MaxViolations
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Violation{{Reason: "cannot be validated", Keyword: ""}}
	}
	var fl flattener
	fl.walk(ve)
	vs := fl.sorted()
	if len(vs) == 0 {
		vs = []located{{Violation: Violation{Reason: "does not match the schema"}}}
	}
	if len(vs) > max {
		vs = vs[:max]
	}
	out := make([]Violation, len(vs))
	for i, v := range vs {
		out[i] = v.Violation
		out[i].Pointer = pointer(v.segs)
	}
	return out
}

// located is a violation with its instance location still in segments,
// for sorting.
type located struct {
	Violation
	segs []string
}

// flattener turns the library's error tree into violations. Grouping
// nodes (the schema, allOf, $ref, several errors at one place) are looked
// through; every other node is one violation. In detail mode, used for
// errors in schemas themselves, anyOf and oneOf are looked through too and
// reasons may name the values that were expected.
type flattener struct {
	detail bool
	out    []located
}

func (f *flattener) add(segs []string, keyword, reason string) {
	f.out = append(f.out, located{Violation: Violation{Reason: reason, Keyword: keyword}, segs: segs})
}

func (f *flattener) walk(e *jsonschema.ValidationError) {
	loc := e.InstanceLocation
	switch k := e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.AllOf, *kind.Reference:
		if len(e.Causes) == 0 {
			f.add(loc, "", "does not match the schema")
		}
		for _, c := range e.Causes {
			f.walk(c)
		}
		return
	case *kind.AnyOf:
		if f.detail && len(e.Causes) > 0 {
			for _, c := range e.Causes {
				f.walk(c)
			}
			return
		}
		f.add(loc, "anyOf", "must match at least one of the schemas in anyOf")
	case *kind.OneOf:
		if len(k.Subschemas) >= 2 {
			f.add(loc, "oneOf", fmt.Sprintf("must match exactly one of the schemas in oneOf, but matches schemas %d and %d", k.Subschemas[0], k.Subschemas[1]))
			return
		}
		if f.detail && len(e.Causes) > 0 {
			for _, c := range e.Causes {
				f.walk(c)
			}
			return
		}
		f.add(loc, "oneOf", "must match exactly one of the schemas in oneOf, but matches none")
	case *kind.Required:
		for _, p := range k.Missing {
			f.add(child(loc, p), "required", "is required")
		}
	case *kind.DependentRequired:
		for _, p := range k.Missing {
			f.add(child(loc, p), "dependentRequired", "is required when "+strconv.Quote(k.Prop)+" is present")
		}
	case *kind.Dependency:
		for _, p := range k.Missing {
			f.add(child(loc, p), "dependencies", "is required when "+strconv.Quote(k.Prop)+" is present")
		}
	case *kind.AdditionalProperties:
		// The unexpected names are the client's own text, not the
		// schema's. A name that is short and made of plain characters
		// (nameable) is named by the violation's pointer, as a missing
		// property is, so the client sees which one to drop; any other is
		// only counted, at the object that holds it, so that a refusal
		// never carries markup, control characters or long text from the
		// request.
		n := 0
		for _, p := range k.Properties {
			if nameable(p) {
				f.add(child(loc, p), "additionalProperties", "is not an allowed property")
			} else {
				n++
			}
		}
		switch {
		case n == 1:
			f.add(loc, "additionalProperties", "has a property that is not allowed")
		case n > 1:
			f.add(loc, "additionalProperties", "has "+strconv.Itoa(n)+" properties that are not allowed")
		}
	default:
		kw, reason := describe(e.ErrorKind, f.detail)
		f.add(loc, kw, reason)
	}
}

// MaxNamedProperty is the longest name of an unexpected property that a
// violation names.
const MaxNamedProperty = 64

// nameable reports whether a violation may name the unexpected property
// name: at most MaxNamedProperty bytes of ASCII letters, digits and
// "_-.:@$/" (a '/' is escaped in the pointer).
func nameable(name string) bool {
	if name == "" || len(name) > MaxNamedProperty {
		return false
	}
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_-.:@$/", c) >= 0) {
			return false
		}
	}
	return true
}

func child(loc []string, tok string) []string {
	out := make([]string, len(loc)+1)
	copy(out, loc)
	out[len(loc)] = tok
	return out
}

// sorted returns the violations in instance pointer order (array indexes
// compared as numbers), without duplicates.
func (f *flattener) sorted() []located {
	vs := f.out
	sort.SliceStable(vs, func(i, j int) bool {
		if c := compareSegs(vs[i].segs, vs[j].segs); c != 0 {
			return c < 0
		}
		if vs[i].Keyword != vs[j].Keyword {
			return vs[i].Keyword < vs[j].Keyword
		}
		return vs[i].Reason < vs[j].Reason
	})
	out := vs[:0]
	for i, v := range vs {
		if i > 0 && compareSegs(v.segs, vs[i-1].segs) == 0 && v.Violation == vs[i-1].Violation {
			continue
		}
		out = append(out, v)
	}
	return out
}

func compareSegs(a, b []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] {
			continue
		}
		x, errX := strconv.Atoi(a[i])
		y, errY := strconv.Atoi(b[i])
		if errX == nil && errY == nil && x != y {
			if x < y {
				return -1
			}
			return 1
		}
		return strings.Compare(a[i], b[i])
	}
	return len(a) - len(b)
}

func pointer(segs []string) string {
	if len(segs) == 0 {
		return ""
	}
	var sb strings.Builder
	for _, s := range segs {
		sb.WriteByte('/')
		writePointerToken(&sb, s)
	}
	return sb.String()
}

// describe returns the keyword and the reason for one failure. The reason
// uses only values that come from the schema. With detail, enum and const
// name the allowed values and format errors say why, which is right for
// errors in a schema (whose author wrote the instance) but not for request
// bodies.
func describe(k jsonschema.ErrorKind, detail bool) (keyword, reason string) {
	switch k := k.(type) {
	case *kind.Type:
		return "type", "must be of type " + strings.Join(k.Want, " or ")
	case *kind.Enum:
		if detail {
			return "enum", "must be one of " + listValues(k.Want)
		}
		return "enum", "must be one of the allowed values"
	case *kind.Const:
		if detail {
			return "const", "must be " + listValues([]any{k.Want})
		}
		return "const", "must be one of the allowed values"
	case *kind.Format:
		if detail && k.Err != nil {
			return "format", "must be a valid " + k.Want + ": " + k.Err.Error()
		}
		return "format", "must be a valid " + k.Want
	case *kind.Pattern:
		return "pattern", "must match pattern " + strconv.Quote(k.Want)
	case *kind.MinLength:
		return "minLength", fmt.Sprintf("must be at least %d characters long", k.Want)
	case *kind.MaxLength:
		return "maxLength", fmt.Sprintf("must be at most %d characters long", k.Want)
	case *kind.Minimum:
		return "minimum", "must be at least " + ratString(k.Want)
	case *kind.Maximum:
		return "maximum", "must be at most " + ratString(k.Want)
	case *kind.ExclusiveMinimum:
		return "exclusiveMinimum", "must be greater than " + ratString(k.Want)
	case *kind.ExclusiveMaximum:
		return "exclusiveMaximum", "must be less than " + ratString(k.Want)
	case *kind.MultipleOf:
		return "multipleOf", "must be a multiple of " + ratString(k.Want)
	case *kind.MinItems:
		return "minItems", fmt.Sprintf("must have at least %d items", k.Want)
	case *kind.MaxItems:
		return "maxItems", fmt.Sprintf("must have at most %d items", k.Want)
	case *kind.MinProperties:
		return "minProperties", fmt.Sprintf("must have at least %d properties", k.Want)
	case *kind.MaxProperties:
		return "maxProperties", fmt.Sprintf("must have at most %d properties", k.Want)
	case *kind.UniqueItems:
		return "uniqueItems", fmt.Sprintf("must not contain duplicate items (items %d and %d are equal)", k.Duplicates[0], k.Duplicates[1])
	case *kind.Contains:
		return "contains", "must contain at least one item matching the schema in contains"
	case *kind.MinContains:
		return "minContains", fmt.Sprintf("must contain at least %d items matching the schema in contains", k.Want)
	case *kind.MaxContains:
		return "maxContains", fmt.Sprintf("must contain at most %d items matching the schema in contains", k.Want)
	case *kind.AdditionalItems:
		return "additionalItems", "has more items than allowed"
	case *kind.PropertyNames:
		return "propertyNames", "has a property name that does not match the schema in propertyNames"
	case *kind.Not:
		return "not", "must not match the schema in not"
	case *kind.FalseSchema:
		return "false", "is not allowed"
	case *kind.ContentEncoding:
		return "contentEncoding", "must be encoded as " + k.Want
	case *kind.ContentMediaType:
		return "contentMediaType", "must be of media type " + k.Want
	case *kind.ContentSchema:
		return "contentSchema", "must match the schema in contentSchema"
	case *kind.InvalidJsonValue:
		return "", "is not a JSON value"
	case *kind.RefCycle:
		return "$ref", "cannot be validated: the schema's references form a cycle"
	}
	if p := k.KeywordPath(); len(p) > 0 {
		return p[0], "does not satisfy " + p[0]
	}
	return "", "does not match the schema"
}

// listValues formats schema values for a message about a schema.
func listValues(vs []any) string {
	parts := make([]string, 0, len(vs))
	for _, v := range vs {
		switch v := v.(type) {
		case string:
			parts = append(parts, strconv.Quote(v))
		case map[string]any:
			parts = append(parts, "an object")
		case []any:
			parts = append(parts, "an array")
		case nil:
			parts = append(parts, "null")
		default:
			parts = append(parts, fmt.Sprint(v))
		}
	}
	return strings.Join(parts, ", ")
}

// ratString prints a schema bound: an integer as such, anything else as
// the shortest decimal that round-trips through float64.
func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// schemaProblem reduces a meta-schema validation error to the pointer in
// the schema document and a reason: the failures at the first failing
// location, joined with "; or ".
func schemaProblem(ve *jsonschema.ValidationError) (string, string) {
	fl := flattener{detail: true}
	fl.walk(ve)
	vs := fl.sorted()
	if len(vs) == 0 {
		return "", "is not a valid schema"
	}
	// Prefer the deepest location: it names the keyword at fault rather
	// than the schema object around it.
	best := vs[0]
	for _, v := range vs[1:] {
		if len(v.segs) > len(best.segs) {
			best = v
		}
	}
	var reasons []string
	for _, v := range vs {
		if compareSegs(v.segs, best.segs) == 0 && len(reasons) < 3 {
			reasons = append(reasons, v.Reason)
		}
	}
	return pointer(best.segs), strings.Join(reasons, "; or ")
}
