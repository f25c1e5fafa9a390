// Package policy checks functions against an organisation's rules:
// "public routes need an input contract and a rate limit", "outbound
// hosts must match *.corp.example", "timeout at most 30s". Each rule is a
// CEL expression (https://cel.dev) over the function's manifest as data
// (see Manifest), true when the function complies.
//
// Rules are compiled once, when they are loaded: an expression that does
// not parse, names a field the data does not have, or is not a boolean is
// refused then, naming the rule and the position in the expression. They
// are evaluated with a cost limit, so a rule cannot hold a deploy up.
//
// A rule is about the whole function (the variable manifest), or, with
// each, about every route (route), every host of the http grants (host)
// or every trigger (trigger) in turn; a violation then names the item and
// its line, so that its message can be short.
package policy

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/ext"

	"github.com/pave-dev/pave/internal/manifest"
)

// A Rule is one rule as written: name, expression, message and, if set,
// each. Policy files and the admin API carry lists of them; they are
// decoded by manifest.ParsePolicies.
type Rule = manifest.PolicyRule

// CostLimit bounds the work of one evaluation of one rule, in CEL's cost
// units (about one per value visited or compared). A manifest has at most
// 64 routes and 64 grants of each kind, so any sensible rule costs far
// less; a rule that goes over fails, and its function is refused.
const CostLimit = 100_000

// Parse reads a policy document (manifest.ParsePolicies) and compiles
// its rules.
func Parse(file string, data []byte) (*Set, error) {
	rules, err := manifest.ParsePolicies(file, data)
	if err != nil {
		return nil, err
	}
	return compile(file, rules)
}

// Compile compiles rules, all of which must have been validated by
// manifest.ParsePolicies. Every rule that does not compile is reported,
// in a manifest.ErrorList.
func Compile(rules []Rule) (*Set, error) { return compile("", rules) }

func compile(file string, rules []Rule) (*Set, error) {
	envs, err := environments()
	if err != nil {
		return nil, err
	}
	s := &Set{rules: make([]compiled, 0, len(rules))}
	var errs manifest.ErrorList
	for i, r := range rules {
		env, ok := envs[r.Each]
		if !ok {
			errs = append(errs, &manifest.Error{File: file, Line: r.Line, Field: fmt.Sprintf("policies[%d].each", i),
				Msg: fmt.Sprintf("policy %q: unknown each %q", r.Name, r.Each)})
			continue
		}
		prg, field, problem := compileRule(env, r.Expression)
		if problem != "" {
			errs = append(errs, &manifest.Error{File: file, Line: r.Line, Field: fmt.Sprintf("policies[%d].expression", i),
				Msg: fmt.Sprintf("policy %q: %s", r.Name, problem)})
			continue
		}
		c := compiled{Rule: r, prg: prg}
		if r.Each == "" {
			c.field = field
		}
		s.rules = append(s.rules, c)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

// compileRule compiles one expression, or says what is wrong with it:
// CEL's errors, each at its line and column in the expression. field is
// the one field of manifest the expression reads, if it reads exactly one
// and that one holds a single value (see scalarField).
func compileRule(env *cel.Env, expr string) (prg cel.Program, field []string, problem string) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		var msgs []string
		for _, e := range iss.Errors() {
			if e.Location == nil || e.Location.Line() <= 0 { // such as a recursion limit
				msgs = append(msgs, ": "+e.Message)
				continue
			}
			msgs = append(msgs, fmt.Sprintf(" %d:%d: %s", e.Location.Line(), e.Location.Column()+1, e.Message))
		}
		return nil, nil, "expression" + strings.Join(msgs, ";")
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, nil, fmt.Sprintf("expression is of type %s; a rule must be a bool, true when the function complies", ast.OutputType())
	}
	prg, err := env.Program(ast, cel.CostLimit(CostLimit))
	if err != nil {
		return nil, nil, "expression " + err.Error()
	}
	return prg, scalarField(ast.NativeRep().Expr()), ""
}

// scalarField returns the path of the one field of manifest that expr
// reads ("limits", "timeout"), or nil if it reads none or several, or one
// that is a list, a map or a structure. A violation of a rule about the
// whole function names that field and its value: "limits.timeout 45s".
func scalarField(expr celast.Expr) []string {
	var paths [][]string
	celast.PostOrderVisit(expr, celast.NewExprVisitor(func(e celast.Expr) {
		var path []string
		for e.Kind() == celast.SelectKind && !e.AsSelect().IsTestOnly() {
			path = append([]string{e.AsSelect().FieldName()}, path...)
			e = e.AsSelect().Operand()
		}
		if len(path) > 0 && e.Kind() == celast.IdentKind && e.AsIdent() == "manifest" {
			paths = append(paths, path)
		}
	}))
	// Keep the longest paths: visiting manifest.limits.timeout also
	// visits manifest.limits.
	var leaf []string
	for _, p := range paths {
		switch {
		case len(p) > len(leaf) && slices.Equal(p[:len(leaf)], leaf):
			leaf = p
		case len(p) <= len(leaf) && slices.Equal(leaf[:len(p)], p):
		default:
			return nil // two fields
		}
	}
	if len(leaf) == 0 {
		return nil
	}
	if _, ok := fieldValue(reflect.ValueOf(Manifest{}), leaf); !ok {
		return nil
	}
	return leaf
}

// fieldValue returns the field of v at path, by the fields' CEL names,
// and whether it is one that holds a single value.
func fieldValue(v reflect.Value, path []string) (reflect.Value, bool) {
	for _, name := range path {
		if v.Kind() != reflect.Struct {
			return v, false
		}
		found := false
		for i := range v.NumField() {
			if v.Type().Field(i).Tag.Get("cel") == name {
				v, found = v.Field(i), true
				break
			}
		}
		if !found {
			return v, false
		}
	}
	switch v.Kind() {
	case reflect.String, reflect.Bool, reflect.Int64, reflect.Float64:
		return v, true
	}
	return v, false
}

// describeField writes the value of the field at path of data as a
// violation's subject: `owner "marketing"`, "limits.timeout 45s".
func describeField(data *Manifest, path []string) string {
	v, _ := fieldValue(reflect.ValueOf(data).Elem(), path)
	var value string
	switch x := v.Interface().(type) {
	case string:
		value = strconv.Quote(x)
	case time.Duration:
		value = x.String()
	default:
		value = fmt.Sprint(x)
	}
	return strings.Join(path, ".") + " " + value
}

var (
	envsOnce sync.Once
	envsErr  error
	envs     map[string]*cel.Env
)

// environments returns the CEL environment of each kind of rule, by
// Rule.Each: every one declares manifest, and one more variable for the
// item of a rule with each. Environments are safe for concurrent use.
func environments() (map[string]*cel.Env, error) {
	envsOnce.Do(func() {
		base, err := cel.NewEnv(
			ext.NativeTypes(
				reflect.TypeFor[Manifest](), reflect.TypeFor[Route](), reflect.TypeFor[Limits](),
				reflect.TypeFor[RateLimits](), reflect.TypeFor[Rate](), reflect.TypeFor[Budget](),
				reflect.TypeFor[Capabilities](), reflect.TypeFor[Trigger](), reflect.TypeFor[Async](),
				ext.ParseStructTags(true)),
			ext.Strings(),
			cel.Variable("manifest", cel.ObjectType("policy.Manifest")),
		)
		if err != nil {
			envsErr = fmt.Errorf("policy: %w", err)
			return
		}
		envs = map[string]*cel.Env{"": base}
		for each, v := range map[string]cel.EnvOption{
			manifest.PolicyEachRoute:   cel.Variable("route", cel.ObjectType("policy.Route")),
			manifest.PolicyEachHost:    cel.Variable("host", cel.StringType),
			manifest.PolicyEachTrigger: cel.Variable("trigger", cel.ObjectType("policy.Trigger")),
		} {
			env, err := base.Extend(v)
			if err != nil {
				envsErr = fmt.Errorf("policy: %w", err)
				return
			}
			envs[each] = env
		}
	})
	return envs, envsErr
}

// A Set is a compiled list of rules, safe for concurrent use. A nil or
// empty Set has no rules: every function complies.
type Set struct {
	rules []compiled
}

type compiled struct {
	Rule
	prg   cel.Program
	field []string // see scalarField; nil: none
}

// Rules returns the rules of s, in order.
func (s *Set) Rules() []Rule {
	if s == nil {
		return []Rule{}
	}
	out := make([]Rule, len(s.rules))
	for i, r := range s.rules {
		out[i] = r.Rule
	}
	return out
}

// Len returns how many rules s has.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.rules)
}

// A Violation is one rule a function, or one item of it, breaks.
type Violation struct {
	Rule string // the rule's name
	// Subject is the item of a rule with each: "route GET /x", "host
	// api.example.com", "trigger orders.created"; for a rule about the
	// whole function that reads one field, the field and its value:
	// "limits.timeout 45s", `owner "marketing"`; else "".
	Subject string
	// Field is the item's path in the manifest ("routes[1]",
	// "capabilities.http[0]"), or the field's ("limits.timeout"); "" if
	// none.
	Field string
	// Line is the item's or field's line in the manifest; 0 if not known
	// (or not written: a default).
	Line int
	// Message is the rule's message, or, for a rule that could not be
	// evaluated, why.
	Message string
}

// String is "policy "NAME": SUBJECT: MESSAGE", without SUBJECT for a rule
// about the whole function.
func (v Violation) String() string {
	if v.Subject == "" {
		return fmt.Sprintf("policy %q: %s", v.Rule, v.Message)
	}
	return fmt.Sprintf("policy %q: %s: %s", v.Rule, v.Subject, v.Message)
}

// Check evaluates every rule of s over m and returns the violations, in
// the order of the rules and, for a rule with each, of the items. A rule
// that fails to evaluate (over its cost limit, or an error such as a
// missing map key) is a violation: policies fail closed.
func (s *Set) Check(m *manifest.Manifest) []Violation {
	if s.Len() == 0 {
		return nil
	}
	data := Data(m)
	var out []Violation
	for _, r := range s.rules {
		switch r.Each {
		case "":
			var v Violation
			if r.field != nil {
				v.Field = strings.Join(r.field, ".")
				v.Subject, v.Line = describeField(data, r.field), m.Line(v.Field)
			}
			out = r.eval(out, map[string]any{"manifest": data}, v)
		case manifest.PolicyEachRoute:
			for i, route := range data.Routes {
				out = r.eval(out, map[string]any{"manifest": data, "route": route}, Violation{
					Subject: "route " + route.Method + " " + route.Path,
					Field:   fmt.Sprintf("routes[%d]", i),
					Line:    m.Routes[i].Line,
				})
			}
		case manifest.PolicyEachHost:
			for i, grant := range data.Capabilities.HTTP {
				// The host without its port: "api.example.com:8443"
				// is host api.example.com.
				host, _, _ := strings.Cut(grant, ":")
				field := fmt.Sprintf("capabilities.http[%d]", i)
				out = r.eval(out, map[string]any{"manifest": data, "host": host}, Violation{
					Subject: "host " + grant, Field: field, Line: m.Line(field),
				})
			}
		case manifest.PolicyEachTrigger:
			for i, t := range data.Triggers {
				subject := "trigger " + t.Topic
				if t.Kind == "schedule" {
					subject = "trigger schedule " + t.Schedule
				}
				out = r.eval(out, map[string]any{"manifest": data, "trigger": t}, Violation{
					Subject: subject, Field: fmt.Sprintf("triggers[%d]", i), Line: m.Triggers[i].Line,
				})
			}
		}
	}
	return out
}

// eval evaluates r over vars and appends v, completed, to out unless the
// result is true.
func (r *compiled) eval(out []Violation, vars map[string]any, v Violation) []Violation {
	val, _, err := r.prg.Eval(vars)
	if err == nil {
		if ok, isBool := val.Value().(bool); isBool && ok {
			return out
		}
	}
	v.Rule, v.Message = r.Name, r.Message
	if err != nil {
		v.Message = "the rule could not be evaluated (" + err.Error() + "): " + r.Message
	}
	return append(out, v)
}

// Refusal is the error of a function that violates rules.
type Refusal struct {
	Function   string
	Violations []Violation
}

// Error lists every violation: "function "api" violates the
// organisation's policies: policy "a": ...; policy "b": ...".
func (e *Refusal) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.String()
	}
	return fmt.Sprintf("function %q violates the organisation's policies: %s", e.Function, strings.Join(parts, "; "))
}

// Admit returns a *Refusal listing every violation of m, or nil.
func (s *Set) Admit(m *manifest.Manifest) error {
	if v := s.Check(m); len(v) > 0 {
		return &Refusal{Function: m.Name, Violations: v}
	}
	return nil
}

// IsRefusal reports whether err is, or wraps, a *Refusal.
func IsRefusal(err error) bool {
	var r *Refusal
	return errors.As(err, &r)
}
