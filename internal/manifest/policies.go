package manifest

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// A PolicyRule is one rule of an organisation's policy as written:
// package policy compiles its expression and evaluates it over
// manifests. Rules are read here, by the same strict decoder as
// manifests, from a policy file (ParsePolicies) and from any other file
// that carries a policies list.
type PolicyRule struct {
	// Name identifies the rule in every violation ("public-routes-need-contract").
	Name string `json:"name"`
	// Expression is a CEL expression that is true when a function, or
	// each item of it the rule is about, complies.
	Expression string `json:"expression"`
	// Message says what the rule requires, as a violation shows it.
	Message string `json:"message"`
	// Each, if set, makes the rule apply to every item of one kind in
	// turn: PolicyEachRoute, PolicyEachHost or PolicyEachTrigger.
	Each string `json:"each,omitempty"`
	// Line is the line of the expression in its file, for messages; 0 for
	// a rule that was not read from a file.
	Line int `json:"-"`
}

// The items a rule may apply to one at a time (PolicyRule.Each).
const (
	PolicyEachRoute   = "route"   // every route
	PolicyEachHost    = "host"    // every host of capabilities.http
	PolicyEachTrigger = "trigger" // every trigger
)

// Bounds of a policy document.
const (
	MaxPolicies               = 100
	MaxPolicyExpressionLength = 4096 // bytes
	maxPolicyMessageLength    = 256  // characters
	maxPolicyNameLength       = 63
)

// ParsePolicies parses a policy document: a mapping with the one field
// policies, a list of rules each with name, expression, message and,
// optionally, each. JSON is read as the YAML it also is. Problems are
// reported all at once, as by Parse; the expressions are not compiled
// here.
func ParsePolicies(file string, data []byte) ([]PolicyRule, error) {
	d := &decoder{file: file}
	var rules []PolicyRule
	if root := d.document(data); root != nil {
		rules = []PolicyRule{}
		d.object(root, "", []field{{name: "policies", required: true, decode: d.policies(&rules)}})
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return rules, nil
}

// policies returns a decodeFunc for a list of policy rules, whose names
// must differ.
func (d *decoder) policies(dst *[]PolicyRule) decodeFunc {
	return uniqueList(d, dst, listRule[PolicyRule]{
		kind:     "a list of policy rules",
		max:      MaxPolicies,
		tooMany:  "%d policy rules; at most %d are allowed",
		item:     d.policy,
		key:      func(r PolicyRule) string { return r.Name },
		describe: func(r PolicyRule) string { return quote(r.Name) },
		dup:      "duplicate policy name %s: already used by %s[%d] on line %d",
	})
}

// policy decodes one rule, reporting whether it is valid.
func (d *decoder) policy(n *yaml.Node, path string) (r PolicyRule, ok bool) {
	before := len(d.errs)
	d.object(n, path, []field{
		{name: "name", required: true, decode: d.text(&r.Name, checkPolicyName)},
		{name: "expression", required: true, decode: func(v *yaml.Node, at string) {
			r.Line = v.Line
			d.text(&r.Expression, checkPolicyExpression)(v, at)
		}},
		{name: "message", required: true, decode: d.text(&r.Message, checkPolicyMessage)},
		{name: "each", decode: d.text(&r.Each, checkPolicyEach)},
	})
	return r, len(d.errs) == before
}

func checkPolicyName(s string) error {
	if len(s) > maxPolicyNameLength || !namePattern.MatchString(s) {
		return fmt.Errorf("invalid policy name %s: use 1 to %d lowercase letters, digits and '-', starting with a letter", quote(s), maxPolicyNameLength)
	}
	return nil
}

func checkPolicyExpression(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return errors.New("expression is empty")
	case len(s) > MaxPolicyExpressionLength:
		return fmt.Errorf("expression is %d bytes long; the maximum is %d", len(s), MaxPolicyExpressionLength)
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		return errors.New("expression is not valid UTF-8 text")
	}
	return nil
}

func checkPolicyMessage(s string) error {
	switch n := utf8.RuneCountInString(s); {
	case strings.TrimSpace(s) == "":
		return errors.New("message is empty: say what the rule requires")
	case n > maxPolicyMessageLength:
		return fmt.Errorf("message is %d characters long; the maximum is %d", n, maxPolicyMessageLength)
	case strings.ContainsFunc(s, unicode.IsControl):
		return errors.New("message must be one line of text, without control characters")
	}
	return nil
}

func checkPolicyEach(s string) error {
	switch s {
	case PolicyEachRoute, PolicyEachHost, PolicyEachTrigger:
		return nil
	}
	return fmt.Errorf("each is %s: use %q, %q or %q, or leave it out for a rule about the whole function",
		quote(s), PolicyEachRoute, PolicyEachHost, PolicyEachTrigger)
}
