package policy_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/policy"
)

// examples are the rules docs/POLICY.md shows.
const examples = `
policies:
  - name: public-routes-need-contract
    each: route
    expression: "!route.public || (route.schema && route.rate_limited)"
    message: public routes need an input contract and a rate limit
  - name: corp-hosts-only
    each: host
    expression: host.endsWith(".corp.example")
    message: outbound hosts must match *.corp.example
  - name: timeout-30s
    expression: manifest.limits.timeout <= duration("30s")
    message: timeout at most 30s
  - name: known-owners
    expression: manifest.owner in ["payments", "search", "platform"]
    message: owners must be one of payments, search, platform
  - name: payments-redacted
    each: route
    expression: manifest.owner != "payments" || !route.unredacted
    message: no unredacted routes in owner payments
`

func parseManifest(t *testing.T, text string) *manifest.Manifest {
	t.Helper()
	m, err := manifest.Parse("pave.yaml", []byte(text))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	return m
}

func TestExamples(t *testing.T) {
	set, err := policy.Parse("policies.yaml", []byte(examples))
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 5 {
		t.Fatalf("%d rules, want 5", set.Len())
	}
	tests := []struct {
		name     string
		manifest string
		want     []string // Violation.String() of each violation, in order
	}{
		{"complies", `
name: api
owner: search
routes:
  - {method: GET, path: /closed}
  - {method: POST, path: /open, public: true, schema: {body: {type: object}}}
rate_limit: {caller: {rate: 5/s}}
capabilities: {http: [api.corp.example, "*.corp.example:8443"]}
limits: {timeout: 30s}
`, nil},
		{"public route without a contract or a rate limit", `
name: api
owner: search
routes:
  - {method: GET, path: /closed}
  - {method: GET, path: /x, public: true}
  - {method: POST, path: /y, public: true, schema: {body: {type: object}}}
`, []string{
			`policy "public-routes-need-contract": route GET /x: public routes need an input contract and a rate limit`,
			`policy "public-routes-need-contract": route POST /y: public routes need an input contract and a rate limit`,
		}},
		{"hosts outside the corporate domain", `
name: api
owner: search
capabilities: {http: [api.corp.example, api.evil.example, corp.example]}
`, []string{
			`policy "corp-hosts-only": host api.evil.example: outbound hosts must match *.corp.example`,
			`policy "corp-hosts-only": host corp.example: outbound hosts must match *.corp.example`,
		}},
		{"timeout over 30s", `
name: api
owner: search
limits: {timeout: 31s}
`, []string{`policy "timeout-30s": limits.timeout 31s: timeout at most 30s`}},
		{"unknown owner", `
name: api
owner: marketing
`, []string{`policy "known-owners": owner "marketing": owners must be one of payments, search, platform`}},
		{"unredacted route in payments", `
name: pay
owner: payments
capabilities: {secrets: [TOKEN]}
routes:
  - {method: GET, path: /token, unredacted: "returns a one-time token to its caller"}
  - {method: GET, path: /status}
`, []string{`policy "payments-redacted": route GET /token: no unredacted routes in owner payments`}},
		{"unredacted route elsewhere", `
name: tok
owner: platform
capabilities: {secrets: [TOKEN]}
routes:
  - {method: GET, path: /token, unredacted: "returns a one-time token to its caller"}
`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := parseManifest(t, tt.manifest)
			var got []string
			for _, v := range set.Check(m) {
				got = append(got, v.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			err := set.Admit(m)
			if (err != nil) != (len(tt.want) > 0) || err != nil && !policy.IsRefusal(err) {
				t.Errorf("Admit = %v", err)
			}
			for _, w := range tt.want {
				if err != nil && !strings.Contains(err.Error(), w) {
					t.Errorf("Admit's error %q does not list %q", err, w)
				}
			}
		})
	}
}

// TestViolationLocation checks that a violation of a rule with each names
// the item's field and line in the manifest.
func TestViolationLocation(t *testing.T) {
	set, err := policy.Parse("p.yaml", []byte(examples))
	if err != nil {
		t.Fatal(err)
	}
	m := parseManifest(t, `name: api
owner: search
routes:
  - method: GET
    path: /x
    public: true
capabilities:
  http:
    - api.corp.example
    - api.evil.example
triggers:
  - topic: orders.created
`)
	got := set.Check(m)
	want := []policy.Violation{
		{Rule: "public-routes-need-contract", Subject: "route GET /x", Field: "routes[0]", Line: 4, Message: "public routes need an input contract and a rate limit"},
		{Rule: "corp-hosts-only", Subject: "host api.evil.example", Field: "capabilities.http[1]", Line: 10, Message: "outbound hosts must match *.corp.example"},
	}
	if len(got) != len(want) {
		t.Fatalf("violations %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("violation %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	trig, err := policy.Parse("p.yaml", []byte(`policies:
  - {name: topics-with-schema, each: trigger, expression: "trigger.kind != 'topic' || trigger.schema", message: topic triggers need a data schema}
`))
	if err != nil {
		t.Fatal(err)
	}
	if v := trig.Check(m); len(v) != 1 || v[0].String() != `policy "topics-with-schema": trigger orders.created: topic triggers need a data schema` || v[0].Line != 12 {
		t.Errorf("trigger violations %+v", v)
	}
}

// TestFieldOfRule checks that a violation of a rule about the whole
// function names the one field it reads, with its value and line, and no
// field when it reads several, or a list.
func TestFieldOfRule(t *testing.T) {
	m := parseManifest(t, "name: api\nowner: search\nlimits:\n  memory: 256MiB\n  timeout: 45s\nroutes:\n  - {method: GET, path: /x}\n")
	tests := []struct {
		expr  string
		want  string // Violation.Subject
		field string
		line  int
	}{
		{`manifest.limits.timeout <= duration("30s")`, "limits.timeout 45s", "limits.timeout", 5},
		{`manifest.limits.memory <= 128 * 1024 * 1024 && manifest.limits.memory > 0`, "limits.memory 268435456", "limits.memory", 4},
		{`manifest.owner == "x"`, `owner "search"`, "owner", 2},
		{`!manifest.public == false`, "public false", "public", 0},
		{`manifest.limits.concurrency < 10`, "limits.concurrency 32", "limits.concurrency", 3}, // a default: the line of limits
		{`manifest.owner == "x" || manifest.name == "y"`, "", "", 0},
		{`manifest.routes.size() == 0`, "", "", 0},
		{`manifest.routes.all(r, r.schema)`, "", "", 0},
		{`manifest.limits == manifest.limits && false`, "", "", 0},
		{`false`, "", "", 0},
	}
	for _, tt := range tests {
		set, err := policy.Compile([]policy.Rule{{Name: "r", Expression: tt.expr, Message: "m"}})
		if err != nil {
			t.Fatalf("%s: %v", tt.expr, err)
		}
		v := set.Check(m)
		if len(v) != 1 || v[0].Subject != tt.want || v[0].Field != tt.field || v[0].Line != tt.line {
			t.Errorf("%s: violations %+v, want subject %q, field %q, line %d", tt.expr, v, tt.want, tt.field, tt.line)
		}
	}
}

// TestDataFields checks that the fields rules read hold the manifest's
// values.
func TestDataFields(t *testing.T) {
	m := parseManifest(t, `name: api
owner: search
description: d
routes:
  - {method: GET, path: /a, scopes: [read]}
  - {method: POST, path: /b, auth: jwt, jwt: {issuer: "https://id.example"}, schema: {query: {type: object}}}
limits: {timeout: 5s, memory: 32MiB, concurrency: 4, max_body: 1KiB}
rate_limit: {function: {rate: 100/s}, caller: {rate: 5/s, burst: 10}}
budget: {window: day, invocations: 1000}
capabilities: {secrets: [S], kv: {notes: write}, http: [api.corp.example], invoke: [other], publish: [orders.created]}
triggers:
  - {schedule: "@daily", timezone: Europe/Paris}
async: {retries: 2, backoff: 2s, callbacks: [hooks.corp.example], callback_secret: S}
`)
	exprs := []string{
		`manifest.name == "api" && manifest.owner == "search" && manifest.description == "d" && manifest.runtime == "go"`,
		`!manifest.public && manifest.routes.size() == 2`,
		`manifest.routes[0].method == "GET" && manifest.routes[0].path == "/a" && manifest.routes[0].auth == "api-key" && manifest.routes[0].scopes == ["read"] && !manifest.routes[0].schema`,
		`manifest.routes[1].auth == "jwt" && manifest.routes[1].jwt_issuer == "https://id.example" && manifest.routes[1].schema && manifest.routes[1].query_schema && !manifest.routes[1].body_schema`,
		`manifest.routes.all(r, r.rate_limited && !r.unredacted && r.unredacted_reason == "")`,
		`manifest.limits.timeout == duration("5s") && manifest.limits.memory == 32 * 1024 * 1024 && manifest.limits.concurrency == 4 && manifest.limits.max_body == 1024`,
		`manifest.rate_limit.function.per_second == 100.0 && manifest.rate_limit.caller.per_second == 5.0 && manifest.rate_limit.caller.burst > 0`,
		`manifest.budget.set && manifest.budget.window == "day" && manifest.budget.invocations == 1000 && manifest.budget.compute_gb_seconds == 0.0 && manifest.budget.request_bytes == 0`,
		`manifest.capabilities.secrets == ["S"] && manifest.capabilities.kv["notes"] == "write" && manifest.capabilities.http == ["api.corp.example"] && manifest.capabilities.invoke == ["other"] && manifest.capabilities.publish == ["orders.created"]`,
		`manifest.triggers[0].kind == "schedule" && manifest.triggers[0].schedule == "@daily" && manifest.triggers[0].timezone == "Europe/Paris" && manifest.triggers[0].topic == "" && !manifest.triggers[0].schema`,
		`manifest.async.retries == 2 && manifest.async.backoff == duration("2s") && manifest.async.callbacks == ["hooks.corp.example"]`,
	}
	for _, expr := range exprs {
		set, err := policy.Compile([]policy.Rule{{Name: "r", Expression: expr, Message: "m"}})
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if v := set.Check(m); len(v) != 0 {
			t.Errorf("%s: %v", expr, v)
		}
	}
	// A manifest that sets nothing: defaults and empty values, never null.
	empty := parseManifest(t, "name: e\nowner: o\n")
	set, err := policy.Compile([]policy.Rule{{Name: "r", Message: "m", Expression: `manifest.routes.size() == 0 && manifest.capabilities.kv.size() == 0 && manifest.capabilities.http.size() == 0 && ` +
		`manifest.limits.timeout == duration("10s") && manifest.rate_limit.caller.per_second == 0.0 && !manifest.budget.set && manifest.async.retries == 3`}})
	if err != nil {
		t.Fatal(err)
	}
	if v := set.Check(empty); len(v) != 0 {
		t.Errorf("defaults: %v", v)
	}
}

// TestCompileErrors checks that a rule that cannot be compiled is refused
// at load, naming the rule and CEL's position, and its line in the file.
func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"unknown field", `policies:
  - name: r
    expression: manifest.limits.timout < duration("30s")
    message: m
`, []string{`p.yaml:3:`, `policies[0].expression`, `policy "r"`, `1:16: undefined field 'timout'`}},
		{"syntax", `policies:
  - {name: r, expression: "manifest.owner ==", message: m}
`, []string{`p.yaml:2:`, `policy "r"`, `1:18:`}},
		{"not a bool", `policies:
  - {name: r, expression: manifest.owner, message: m}
`, []string{`policy "r"`, `of type string`}},
		{"wrong type", `policies:
  - {name: r, expression: "manifest.limits.timeout < 30", message: m}
`, []string{`policy "r"`, `no matching overload`}},
		{"variable of another kind of rule", `policies:
  - {name: r, expression: "route.public", message: m}
`, []string{`policy "r"`, `undeclared reference to 'route'`}},
		{"nested too deeply", "policies:\n  - {name: r, expression: \"" + strings.Repeat("(", 300) + "true" + strings.Repeat(")", 300) + "\", message: m}\n",
			[]string{`policy "r": expression: expression recursion limit exceeded`}},
		{"every bad rule", `policies:
  - {name: a, expression: "x", message: m}
  - {name: b, expression: "true", message: m}
  - {name: c, expression: "y", message: m}
`, []string{`policy "a"`, `policy "c"`}},
		{"decoder", `policies:
  - {name: Bad_Name, expression: "true", message: m, severity: high}
  - {name: b, expression: "true", message: m}
  - {name: b, expression: "true", message: "", each: routes}
  - {name: b, expression: "true", message: m}
`, []string{`invalid policy name`, `unknown field "severity"`, `message is empty`, `each is "routes"`, `duplicate policy name "b"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := policy.Parse("p.yaml", []byte(tt.doc))
			if err == nil {
				t.Fatal("no error")
			}
			var list manifest.ErrorList
			if !errors.As(err, &list) {
				t.Errorf("error %T, want a manifest.ErrorList", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestCostLimit checks that a rule that would work too long fails, and
// that its function is refused: policies fail closed.
func TestCostLimit(t *testing.T) {
	set, err := policy.Compile([]policy.Rule{{Name: "slow", Message: "m",
		Expression: `[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, a+b+c+d+e > 0)))))`}})
	if err != nil {
		t.Fatal(err)
	}
	v := set.Check(parseManifest(t, "name: a\nowner: o\n"))
	if len(v) != 1 || !strings.Contains(v[0].Message, "cost limit") {
		t.Errorf("violations %v, want one over the cost limit", v)
	}
	missing, err := policy.Compile([]policy.Rule{{Name: "kv", Message: "m", Expression: `manifest.capabilities.kv["notes"] == "read"`}})
	if err != nil {
		t.Fatal(err)
	}
	if v := missing.Check(parseManifest(t, "name: a\nowner: o\n")); len(v) != 1 || !strings.Contains(v[0].Message, "could not be evaluated") {
		t.Errorf("violations %v, want one that could not be evaluated", v)
	}
}

func TestEmptySet(t *testing.T) {
	var s *policy.Set
	if s.Len() != 0 || s.Check(parseManifest(t, "name: a\nowner: o\n")) != nil || len(s.Rules()) != 0 {
		t.Error("a nil set has rules")
	}
	set, err := policy.Parse("p.json", []byte(`{"policies": []}`))
	if err != nil || set.Len() != 0 {
		t.Errorf("empty document: %v, %d rules", err, set.Len())
	}
}

// BenchmarkCheck checks a function with 16 routes and 8 hosts against the
// examples: the work a deploy adds, and a posture report per function.
//
//	go test -run '^$' -bench Check -benchmem ./internal/policy/
func BenchmarkCheck(b *testing.B) {
	set, err := policy.Parse("p.yaml", []byte(examples))
	if err != nil {
		b.Fatal(err)
	}
	text := "name: api\nowner: payments\nrate_limit: {caller: {rate: 5/s}}\nroutes:\n"
	for i := range 16 {
		text += fmt.Sprintf("  - {method: POST, path: /r%d, public: true, schema: {body: {type: object}}}\n", i)
	}
	text += "capabilities:\n  http:\n"
	for i := range 8 {
		text += fmt.Sprintf("    - h%d.corp.example\n", i)
	}
	m, err := manifest.Parse("pave.yaml", []byte(text))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if v := set.Check(m); len(v) != 0 {
			b.Fatal(v)
		}
	}
}
