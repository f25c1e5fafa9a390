package manifest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/limits"
)

func TestParseSecurity(t *testing.T) {
	src := `name: orders
owner: team-shop
routes:
  - method: POST
    path: /orders
    auth: jwt
    scopes: [orders:write]
    jwt:
      issuer: https://login.example.com/
      roles: [clerk]
      claims:
        tenant: {equals: acme}
        groups: {contains: ops}
    schema:
      body:
        type: object
        required: [id]
        properties:
          id: {type: integer, minimum: 1}
          note: {type: string, maxLength: 200}
          price: {type: number, exclusiveMinimum: 0.5}
          gift: {type: [boolean, "null"]}
      query: schemas/q.json
  - method: POST
    path: /hooks/github
    auth: webhook
    webhook:
      scheme: github
      secret_file: /etc/pave/github.secret
  - method: POST
    path: /hooks/custom
    auth: webhook
    webhook:
      scheme: hmac
      secret_file: /etc/pave/custom.secret
      header: X-Sig
      timestamp_header: X-Ts
      tolerance: 2m
  - method: GET
    path: /items
    scopes: [items:read, items:list]
rate_limit:
  function: {rate: 6000/m, burst: 50}
  caller: {rate: 5/s}
budget:
  window: month
  invocations: 100000
  compute: 3600.5
  request_bytes: 1GiB
`
	m, err := Parse("pave.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r := m.Routes[0]
	if r.Auth != AuthJWT || !reflect.DeepEqual(r.Scopes, []string{"orders:write"}) {
		t.Errorf("route 0 auth %q scopes %v", r.Auth, r.Scopes)
	}
	wantJWT := &JWTRequirement{
		Issuer: "https://login.example.com/",
		Roles:  []string{"clerk"},
		Claims: []ClaimRequirement{{Name: "tenant", Equals: ClaimValue{Kind: ClaimString, Text: "acme"}}, {Name: "groups", Contains: ClaimValue{Kind: ClaimString, Text: "ops"}}},
	}
	if !reflect.DeepEqual(r.JWT, wantJWT) {
		t.Errorf("JWT = %+v, want %+v", r.JWT, wantJWT)
	}
	var body map[string]any
	if err := json.Unmarshal(r.Schema.Body.Inline, &body); err != nil {
		t.Fatalf("inline schema is not JSON: %v", err)
	}
	props := body["properties"].(map[string]any)
	if id := props["id"].(map[string]any); id["minimum"] != float64(1) || id["type"] != "integer" {
		t.Errorf("id schema = %v", id)
	}
	if gift := props["gift"].(map[string]any); !reflect.DeepEqual(gift["type"], []any{"boolean", "null"}) {
		t.Errorf("gift schema = %v", gift)
	}
	if r.Schema.Body.Line != 16 || r.Schema.Query.File != "schemas/q.json" || r.Schema.Query.Inline != nil {
		t.Errorf("schema refs = %+v %+v", r.Schema.Body, r.Schema.Query)
	}
	if got := len(r.SchemaRefs()); got != 2 {
		t.Errorf("SchemaRefs has %d entries", got)
	}

	gh := m.Routes[1]
	if gh.Auth != AuthWebhook || gh.Webhook.Scheme != "github" || gh.Webhook.SecretFile != "/etc/pave/github.secret" {
		t.Errorf("github route = %+v %+v", gh, gh.Webhook)
	}
	custom := m.Routes[2].Webhook
	if custom.Header != "X-Sig" || custom.TimestampHeader != "X-Ts" || custom.Tolerance != 2*time.Minute {
		t.Errorf("hmac webhook = %+v", custom)
	}
	if items := m.Routes[3]; items.Auth != AuthAPIKey || len(items.Scopes) != 2 {
		t.Errorf("items route = %+v", items)
	}
	if f := m.RateLimit.Function; f == nil || f.PerSecond != 100 || f.Burst != 50 {
		t.Errorf("function rate = %+v", f)
	}
	if c := m.RateLimit.Caller; c == nil || c.PerSecond != 5 || c.Burst != 5 {
		t.Errorf("caller rate = %+v (burst defaults to the rate per second)", c)
	}
	wantBudget := &limits.Budget{Window: "month", Invocations: 100000, ComputeGBs: 3600.5, RequestBytes: 1 << 30}
	if !reflect.DeepEqual(m.Budget, wantBudget) {
		t.Errorf("budget = %+v, want %+v", m.Budget, wantBudget)
	}

	// What a deployed version stores: the schema's digest, never its text.
	r.Schema.Body.Digest = "sha256:00"
	stored, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored), "maxLength") || !strings.Contains(string(stored), "sha256:00") {
		t.Errorf("stored route = %s", stored)
	}
}

// TestParseClaimValues checks that a claim demand keeps the type the
// manifest wrote, through the JSON a deployed version is stored as.
func TestParseClaimValues(t *testing.T) {
	src := "name: a\nowner: o\nroutes:\n  - method: GET\n    path: /a\n    auth: jwt\n    jwt:\n      claims:\n" +
		"        s: {equals: \"1\"}\n        n: {equals: 1}\n        f: {equals: -1.50e2}\n        b: {equals: false}\n        c: {contains: 42}\n        w: {contains: ops}\n"
	m, err := Parse("pave.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []ClaimRequirement{
		{Name: "s", Equals: ClaimValue{Kind: ClaimString, Text: "1"}},
		{Name: "n", Equals: ClaimValue{Kind: ClaimNumber, Text: "1"}},
		{Name: "f", Equals: ClaimValue{Kind: ClaimNumber, Text: "-1.50e2"}},
		{Name: "b", Equals: ClaimValue{Kind: ClaimBool, Text: "false"}},
		{Name: "c", Contains: ClaimValue{Kind: ClaimNumber, Text: "42"}},
		{Name: "w", Contains: ClaimValue{Kind: ClaimString, Text: "ops"}},
	}
	got := m.Routes[0].JWT.Claims
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("claims = %+v, want %+v", got, want)
	}
	stored, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `[{"name":"s","equals":"1"},{"name":"n","equals":1},{"name":"f","equals":-1.50e2},{"name":"b","equals":false},{"name":"c","contains":42},{"name":"w","contains":"ops"}]`
	if string(stored) != wantJSON {
		t.Errorf("stored as %s, want %s", stored, wantJSON)
	}
	var back []ClaimRequirement
	if err := json.Unmarshal(stored, &back); err != nil || !reflect.DeepEqual(back, want) {
		t.Errorf("read back as %+v, %v", back, err)
	}
	// A version stored before values were typed holds strings, and stays
	// a string demand.
	var old ClaimRequirement
	if err := json.Unmarshal([]byte(`{"name":"t","equals":"3"}`), &old); err != nil || old.Equals != (ClaimValue{Kind: ClaimString, Text: "3"}) || !old.Contains.IsZero() {
		t.Errorf("an old stored demand reads as %+v, %v", old, err)
	}
	for _, bad := range []string{`{"name":"t","equals":[1]}`, `{"name":"t","equals":{}}`, `{"name":"t","equals":01}`} {
		if err := json.Unmarshal([]byte(bad), &old); err == nil {
			t.Errorf("%s was read", bad)
		}
	}
}

func TestParseSecurityDefaults(t *testing.T) {
	m, err := Parse("pave.yaml", []byte("name: a\nowner: o\nroutes:\n  - method: GET\n    path: /a\n    auth: jwt\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Routes[0].JWT == nil || m.Budget != nil || m.RateLimit.Function != nil || m.RateLimit.Caller != nil {
		t.Errorf("defaults: JWT %v budget %v rate %+v", m.Routes[0].JWT, m.Budget, m.RateLimit)
	}
}

func TestParseSecurityErrors(t *testing.T) {
	const head = "name: a\nowner: o\n"
	route := head + "routes:\n  - method: POST\n    path: /a\n"
	tests := []struct {
		name string
		src  string
		want []wantErr
	}{
		{"jwt block without jwt auth", route + "    jwt: {roles: [x]}\n", []wantErr{
			{6, "routes[0].jwt", "jwt requirements need auth: jwt"},
		}},
		{"webhook without block", route + "    auth: webhook\n", []wantErr{
			{0, "routes[0]", "auth: webhook needs a webhook block naming its scheme and secret_file"},
		}},
		{"webhook unknown scheme", route + "    auth: webhook\n    webhook: {scheme: gitlab, secret_file: /s}\n", []wantErr{
			{7, "routes[0].webhook.scheme", `unsupported webhook scheme "gitlab": use one of github, stripe, slack, standard-webhooks, hmac`},
		}},
		{"webhook relative secret", route + "    auth: webhook\n    webhook: {scheme: github, secret_file: s.txt}\n", []wantErr{
			{7, "routes[0].webhook.secret_file", `secret_file "s.txt" must be a clean absolute path on the daemon's machine`},
		}},
		{"webhook header on fixed scheme", route + "    auth: webhook\n    webhook: {scheme: github, secret_file: /s, header: X-A}\n", []wantErr{
			{7, "routes[0].webhook", "header names are fixed by the github scheme; only scheme hmac takes them"},
		}},
		{"webhook with scopes", route + "    auth: webhook\n    scopes: [a]\n    webhook: {scheme: slack, secret_file: /s}\n", []wantErr{
			{7, "routes[0].scopes", "a webhook route has no scopes: its sender proves only that it knows the secret"},
		}},
		{"public with scopes", route + "    public: true\n    scopes: [a]\n", []wantErr{
			{7, "routes[0].scopes", "a public route has no caller to hold scopes"},
		}},
		{"scope with space", route + "    scopes: [\"a b\"]\n", []wantErr{
			{6, "routes[0].scopes[0]", `invalid scope "a b": use 1 to 128 printable ASCII characters without spaces or quotes`},
		}},
		{"scope twice", route + "    scopes: [a, a]\n", []wantErr{
			{6, "routes[0].scopes[1]", `"a" is listed twice`},
		}},
		{"claim with both", route + "    auth: jwt\n    jwt:\n      claims:\n        t: {equals: a, contains: b}\n", []wantErr{
			{9, "routes[0].jwt.claims.t", "give exactly one of equals or contains"},
		}},
		{"claim number in hex", route + "    auth: jwt\n    jwt:\n      claims:\n        t: {equals: 0x10}\n", []wantErr{
			{9, "routes[0].jwt.claims.t.equals", `number "0x10": write it in decimal as JSON does, such as 42, -1.5 or 1e3, or quote it to compare with a string claim`},
		}},
		{"claim infinite number", route + "    auth: jwt\n    jwt:\n      claims:\n        t: {contains: .inf}\n", []wantErr{
			{9, "routes[0].jwt.claims.t.contains", `number ".inf": write it in decimal as JSON does, such as 42, -1.5 or 1e3, or quote it to compare with a string claim`},
		}},
		{"claim null", route + "    auth: jwt\n    jwt:\n      claims:\n        t: {equals: null}\n", []wantErr{
			{9, "routes[0].jwt.claims.t.equals", "expected a string, number or boolean, found null"},
		}},
		{"claim list", route + "    auth: jwt\n    jwt:\n      claims:\n        t: {equals: [1]}\n", []wantErr{
			{9, "routes[0].jwt.claims.t.equals", "expected a string, number or boolean, found a list"},
		}},
		{"claim bad name", route + "    auth: jwt\n    jwt:\n      claims:\n        \"a/b\": {equals: a}\n", []wantErr{
			{9, "routes[0].jwt.claims.a/b", `invalid claim name "a/b": letters, digits, '_', ':' and '-', with '.' to descend into an object`},
		}},
		{"schema file escaping", route + "    schema: {body: ../x.json}\n", []wantErr{
			{6, "routes[0].schema.body", `schema file "../x.json" must be a clean relative path inside the manifest's directory`},
		}},
		{"schema file not json", route + "    schema: {body: x.yaml}\n", []wantErr{
			{6, "routes[0].schema.body", `schema file "x.yaml" must be a .json file`},
		}},
		{"schema list", route + "    schema: {body: [1]}\n", []wantErr{
			{6, "routes[0].schema.body", "expected a schema (a mapping) or the name of a .json file next to the manifest, found a list"},
		}},
		{"schema infinite number", route + "    schema: {body: {maximum: .inf}}\n", []wantErr{
			{6, "routes[0].schema.body.maximum", `".inf" is not a finite number`},
		}},
		{"schema anchor", route + "    schema:\n      body: {type: &t object}\n", []wantErr{
			{7, "routes[0].schema.body.type", "anchors (&t) are not allowed"},
		}},
		{"rate without unit", head + "rate_limit: {function: {rate: \"100\"}}\n", []wantErr{
			{3, "rate_limit.function.rate", "invalid rate: want a count per unit, such as 100/s, 6000/m or 10/h"},
		}},
		{"rate zero", head + "rate_limit: {caller: {rate: 0/s}}\n", []wantErr{
			{3, "rate_limit.caller.rate", "invalid rate: zero is not a rate; leave the limit out for no limit"},
		}},
		{"rate exponent", head + "rate_limit: {caller: {rate: 1e3/s}}\n", []wantErr{
			{3, "rate_limit.caller.rate", "invalid rate: the count must be a plain decimal number, such as 100 or 0.5"},
		}},
		// limits.ParseRate is the one grammar: ".5/s" and "5./s", once
		// accepted here, are refused as the daemon's rate flags refuse them.
		{"rate bare fraction", head + "rate_limit: {caller: {rate: .5/s}}\n", []wantErr{
			{3, "rate_limit.caller.rate", "invalid rate: the count must be a plain decimal number, such as 100 or 0.5"},
		}},
		{"rate above the maximum", head + "rate_limit: {caller: {rate: 2000000/s}}\n", []wantErr{
			{3, "rate_limit.caller.rate", "invalid rate: more than 1e+06 per second"},
		}},
		{"burst zero", head + "rate_limit: {caller: {rate: 1/s, burst: 0}}\n", []wantErr{
			{3, "rate_limit.caller.burst", "0 is below the minimum of 1"},
		}},
		{"empty budget", head + "budget: {window: day}\n", []wantErr{
			{3, "budget", "a budget caps at least one of invocations, compute or request_bytes"},
		}},
		{"budget window", head + "budget: {window: week, invocations: 5}\n", []wantErr{
			{3, "budget.window", `unsupported window "week": want day or month`},
		}},
		{"budget compute negative", head + "budget: {compute: -1}\n", []wantErr{
			{3, "budget.compute", "compute budget must be above 0 and at most 1e+09 GB-seconds"},
		}},
		{"budget compute string", head + "budget: {compute: lots}\n", []wantErr{
			{3, "budget.compute", `expected GB-seconds, such as 3600, found string "lots"`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse("pave.yaml", []byte(tt.src))
			if m != nil {
				t.Fatalf("Parse returned a manifest along with errors: %+v", m)
			}
			checkErrors(t, err, tt.want)
		})
	}
}

func TestParseCapabilities(t *testing.T) {
	m, err := Parse("pave.yaml", []byte(`name: a
owner: o
capabilities:
  secrets: [STRIPE_KEY, db.password]
  kv: {orders: write, prices: read}
  http: [api.stripe.com, "*.example.com:8443"]
  invoke: [billing]
  publish: [orders.created]
`))
	if err != nil {
		t.Fatal(err)
	}
	c := m.Capabilities
	want := Capabilities{
		Secrets: []string{"STRIPE_KEY", "db.password"},
		KV:      map[string]string{"orders": KVWrite, "prices": KVRead},
		HTTP:    []string{"api.stripe.com", "*.example.com:8443"},
		Invoke:  []string{"billing"},
		Publish: []string{"orders.created"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("capabilities = %+v, want %+v", c, want)
	}
	// Every group pave knows is a field here: a group added to abi
	// without one fails here.
	for _, g := range abi.CapabilityGroups {
		if !c.Granted(g.Name) || c.Count(g.Name) == 0 {
			t.Errorf("Granted(%q) = false", g.Name)
		}
	}
	var none Capabilities
	if none.Granted("secrets") || none.Granted("unknown") {
		t.Error("an empty grant set grants something")
	}
}

func TestParseCapabilityErrors(t *testing.T) {
	const head = "name: a\nowner: o\ncapabilities:\n"
	tests := []struct {
		name, src string
		want      []wantErr
	}{
		{"unknown capability", head + "  shell: [ls]\n", []wantErr{{4, "capabilities", `unknown field "shell"`}}},
		{"bad secret name", head + "  secrets: [\"1abc\"]\n", []wantErr{{4, "capabilities.secrets[0]", `invalid secret name "1abc": a letter, then up to 127 letters, digits, '_', '.' or '-'`}}},
		{"bad access", head + "  kv: {orders: admin}\n", []wantErr{{4, "capabilities.kv.orders", `unsupported access "admin": use read or write`}}},
		{"bad bucket", head + "  kv: {Orders: read}\n", []wantErr{{4, "capabilities.kv.Orders", `invalid bucket name "Orders": a lowercase letter, then up to 31 lowercase letters, digits or '-'`}}},
		{"host with scheme", head + "  http: [\"https://api.example.com\"]\n", []wantErr{{4, "capabilities.http[0]", `invalid host "https://api.example.com": a lowercase DNS name with an optional :port, such as api.example.com or *.example.com:8443`}}},
		{"host wildcard everything", head + "  http: [\"*\"]\n", []wantErr{{4, "capabilities.http[0]", `invalid host "*": a lowercase DNS name with an optional :port, such as api.example.com or *.example.com:8443`}}},
		{"port zero", head + "  http: [\"a.example:0\"]\n", []wantErr{{4, "capabilities.http[0]", `invalid port in "a.example:0"`}}},
		{"bad topic", head + "  publish: [Orders]\n", []wantErr{{4, "capabilities.publish[0]", `invalid topic "Orders": dot-separated lowercase words such as orders.created`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse("pave.yaml", []byte(tt.src))
			if m != nil {
				t.Fatalf("accepted: %+v", m.Capabilities)
			}
			checkErrors(t, err, tt.want)
		})
	}
}

func TestParseUnredacted(t *testing.T) {
	const head = "name: a\nowner: o\nroutes:\n  - method: GET\n    path: /token\n"
	m, err := Parse("pave.yaml", []byte(head+"    unredacted: hands the caller a token it asked for\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Routes[0].Unredacted; got != "hands the caller a token it asked for" {
		t.Errorf("Unredacted = %q", got)
	}
	for name, src := range map[string]string{
		"no reason":    "    unredacted: \"\"\n",
		"short reason": "    unredacted: because\n",
		"not a string": "    unredacted: true\n",
		"two lines":    "    unredacted: \"one reason,\\nand another line\"\n",
	} {
		if m, err := Parse("pave.yaml", []byte(head+src)); err == nil {
			t.Errorf("%s: accepted %+v", name, m.Routes[0])
		} else if !strings.Contains(err.Error(), "routes[0].unredacted") {
			t.Errorf("%s: error %v does not name the field", name, err)
		}
	}
}
