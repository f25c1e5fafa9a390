package policy_test

import (
	"encoding/json"
	"errors"
	"regexp"
	"testing"

	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/policy"
)

// fuzzName restates the rule of policy names, independently of the parser.
var fuzzName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// FuzzParse checks the promises of Parse on any input: it either compiles
// every rule, with valid and distinct names, or fails with a list of
// located errors; what it accepts reads back the same from the JSON the
// admin API sends; and checking a manifest against it never panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		examples,
		`{"policies": [{"name": "a", "expression": "manifest.public", "message": "m", "each": "route"}]}`,
		"policies: []\n",
		"policies:\n  - {name: a, expression: 'host.matches(\"^[a-z]+$\")', message: m, each: host}\n",
		"policies:\n  - {name: a, expression: \"trigger.kind == 'topic'\", message: m, each: trigger}\n",
		"policies:\n  - {name: a, expression: '1 +', message: m}\n",
		"policies:\n  - &a {name: a, expression: 'true', message: m}\n  - *a\n",
		"policies:\n  - name: a\n    expression: |\n      manifest.routes.all(r,\n        r.schema)\n    message: m\n",
		"",
		"policies: {}\n",
	} {
		f.Add(s)
	}
	m, err := manifest.Parse("pave.yaml", []byte(`name: api
owner: search
routes:
  - {method: GET, path: /x, public: true}
capabilities: {http: [a.corp.example:8443], kv: {b: read}}
triggers:
  - {topic: orders.created}
`))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		set, err := policy.Parse("p.yaml", []byte(in))
		if err != nil {
			if set != nil {
				t.Fatalf("Parse returned a set along with %v", err)
			}
			var list manifest.ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %v is a %T, not a non-empty ErrorList", err, err)
			}
			return
		}
		rules := set.Rules()
		names := map[string]bool{}
		for _, r := range rules {
			if !fuzzName.MatchString(r.Name) || names[r.Name] {
				t.Fatalf("accepted rule name %q (invalid or repeated)", r.Name)
			}
			names[r.Name] = true
			switch r.Each {
			case "", "route", "host", "trigger":
			default:
				t.Fatalf("accepted each %q", r.Each)
			}
		}
		doc, err := json.Marshal(map[string]any{"policies": rules})
		if err != nil {
			t.Fatal(err)
		}
		again, err := policy.Parse("p.json", doc)
		if err != nil {
			t.Fatalf("the JSON of accepted rules is refused: %v\n%s", err, doc)
		}
		for i, r := range again.Rules() {
			r.Line = rules[i].Line
			if r != rules[i] {
				t.Fatalf("rule %d reads back as %+v, want %+v", i, r, rules[i])
			}
		}
		for _, v := range set.Check(m) {
			if !names[v.Rule] || v.Message == "" {
				t.Fatalf("violation %+v of no rule", v)
			}
		}
	})
}
