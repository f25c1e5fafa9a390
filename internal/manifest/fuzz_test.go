package manifest

import (
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The fuzz targets check the package's promises against rules restated
// here independently, rather than against the package's own checks.
var (
	fuzzName      = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	fuzzOwner     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$`)
	fuzzParamName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	fuzzLiteral   = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)
	fuzzMethods   = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true, "OPTIONS": true}
	fuzzTopic     = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}(\.[a-z0-9][a-z0-9_-]{0,63}){0,7}$`)
	fuzzHost      = regexp.MustCompile(`^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:([1-9][0-9]{0,4}))?$`)
	fuzzSecret    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,127}$`)
	fuzzMissed    = map[string]bool{"skip": true, "run-once": true}
	fuzzMain      = regexp.MustCompile(`^[^/\x00-\x1f\x7f\\][^\x00-\x1f\x7f\\]*\.(js|mjs|cjs|jsx|ts|mts|cts|tsx)$`)
)

var fuzzManifests = []string{
	head,
	head + "routes:\n  - method: POST\n    path: /o\n    auth: jwt\n    scopes: [a:b]\n    jwt: {issuer: \"https://i/\", roles: [r], claims: {t: {equals: x}}}\n" +
		"    schema: {body: {type: object, properties: {id: {type: integer}}}, query: q.json}\n" +
		"  - method: POST\n    path: /h\n    auth: webhook\n    webhook: {scheme: hmac, secret_file: /s, header: X-S, tolerance: 1m}\n" +
		"rate_limit: {function: {rate: 10/s, burst: 20}, caller: {rate: 60/m}}\nbudget: {window: month, invocations: 5, compute: 1.5, request_bytes: 1MiB}\n",
	head + "routes:\n  - method: get\n    path: /\n",
	`name: hello-2
owner: ops@example.com
description: "Says hello"
module: build/hello.wasm
routes:
  - method: GET
    path: /hello/{name}
    public: true
  - method: post
    path: /files/{path...}
    auth: api-key
  - {method: PUT, path: "/a.b/~c"}
limits:
  timeout: 1m30s
  memory: 128MiB
  concurrency: 10000
  max_body: 1B
`,
	head + "limits: {timeout: 900s, memory: 4GiB, concurrency: 1, max_body: 64MiB}\n",
	"",
	"---\n",
	head + "---\n" + head,
	"name: &n hello\nowner: *n\n",
	head + "limits:\n  <<: {timeout: 1s}\n",
	head + "limits:\n\ttimeout: 1s\n",
	head + "rout: []\nlimits: {timout: 10, memory: 64MB, concurrency: many, max_body: 0}\n",
	head + "routes:\n  - method: GET\n    path: /users/{id}\n  - method: get\n    path: /users/{name}\n",
	head + "routes:\n  - method: GET\n    path: /_pave/x\n    auth: api-key\n    public: true\n",
	head + "routes:\n  - method: GET\n    path: /{a...}/{a}\n",
	head + "name: again\n1: x\n~: y\n",
	"[1, 2, 3]",
	"name: 2024-01-02\nowner: !tag x\n",
	head + `triggers:
  - topic: orders.created
    schema: order.schema.json
  - topic: orders.cancelled
    schema: {type: object, required: [id]}
  - schedule: "*/5 * * * *"
    timezone: Europe/Paris
    missed: run-once
  - schedule: "@daily"
  - schedule: "0 9 * * MON-FRI"
    timezone: America/Argentina/Buenos_Aires
async:
  retries: 5
  backoff: 500ms
  callbacks: [hooks.example.com, "*.example.org:8443"]
  callback_secret: CALLBACK_KEY
`,
	head + "triggers: [{schedule: \"0 0 29 2 *\", timezone: Etc/GMT+5, missed: skip}, {topic: a.b-c_d}]\nasync: {retries: 0, backoff: 10ms}\n",
	head + "async: {retries: 20, backoff: 1h, callbacks: []}\n",
	head + "triggers:\n  - {topic: a, schedule: \"@hourly\"}\n  - {}\n  - {topic: a, timezone: UTC, missed: skip}\n  - {schedule: \"@hourly\", schema: x.json}\n",
	head + "triggers:\n  - {schedule: \"@every 1m\"}\n  - {schedule: \"TZ=UTC\"}\n  - {schedule: \"CRON_TZ=UTC 0 * * * *\"}\n  - {schedule: \"0 0 30 2 *\"}\n  - {schedule: \"1,,2 * * * *\"}\n  - {schedule: \"0 0 0 * * *\"}\n",
	head + "triggers:\n  - {schedule: \"@daily\", timezone: Local}\n  - {schedule: \"@daily\", timezone: ../x}\n  - {schedule: \"@daily\"}\n  - {schedule: \" @daily \", timezone: UTC}\n  - {topic: t}\n  - {topic: t}\n",
	head + "async: {retries: -1, backoff: 5ms, callbacks: [\"*\", \"a.example:0\", a.example, a.example], callback_secret: 1x}\n",
	head + "async: {callback_secret: K}\n",
	head + "runtime: js\nmain: src/index.ts\n",
	head + "runtime: js\nmain: ../x.js\nmodule: a.wasm\n",
	head + "runtime: go\nmain: index.mjs\n",
	head + "async: {callbacks: [hooks.example.com]}\n",
	head + "routes:\n  - method: GET\n    path: /c\n    auth: jwt\n    jwt: {claims: {a: {equals: \"1\"}, b: {equals: 1}, c: {equals: 1.5e3}, d: {equals: true}, e: {contains: -0.5}, f: {contains: \"x y\"}}}\n",
	head + "routes:\n  - method: GET\n    path: /c\n    auth: jwt\n    jwt: {claims: {a: {equals: 0x10}, b: {equals: 010}, c: {equals: .inf}, d: {equals: null}, e: {contains: 1_000}, f: {equals: yes}, g: {equals: !!float 1}}}\n",
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzManifests {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		m, err := Parse("pave.yaml", []byte(in))
		if err != nil {
			if m != nil {
				t.Fatalf("Parse returned a manifest along with %v", err)
			}
			checkErrorList(t, err)
			return
		}
		checkManifest(t, m)
	})
}

// checkErrorList checks the promises Parse makes about its errors.
func checkErrorList(t *testing.T, err error) {
	t.Helper()
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %v is a %T, not an ErrorList", err, err)
	}
	if len(list) == 0 || len(list) > MaxErrors {
		t.Fatalf("got %d errors, want 1 to %d", len(list), MaxErrors)
	}
	sorted := list
	if len(list) == MaxErrors && strings.HasPrefix(list[MaxErrors-1].Msg, "too many errors") {
		sorted = list[:MaxErrors-1]
	}
	for i, e := range list {
		if e.File != "pave.yaml" || e.Msg == "" || e.Line < 0 || e.Column < 0 {
			t.Errorf("malformed error %d: %#v", i, e)
		}
		if i > 0 && i < len(sorted) && e.Line < sorted[i-1].Line {
			t.Errorf("error %d (line %d) follows one on line %d", i, e.Line, sorted[i-1].Line)
		}
	}
}

// checkManifest checks that an accepted manifest obeys every rule.
func checkManifest(t *testing.T, m *Manifest) {
	t.Helper()
	if m.File != "pave.yaml" {
		t.Errorf("File = %q", m.File)
	}
	if !fuzzName.MatchString(m.Name) {
		t.Errorf("accepted name %q", m.Name)
	}
	if !fuzzOwner.MatchString(m.Owner) {
		t.Errorf("accepted owner %q", m.Owner)
	}
	if n := utf8.RuneCountInString(m.Description); n > 1024 {
		t.Errorf("accepted a description of %d characters", n)
	}
	if m.Module == "" || strings.ContainsRune(m.Module, 0) {
		t.Errorf("accepted module %q", m.Module)
	}
	switch m.Runtime {
	case "go":
		if m.Main != "" {
			t.Errorf("accepted main %q for runtime go", m.Main)
		}
	case "js":
		if !fuzzMain.MatchString(m.Main) || len(m.Main) > 256 || m.Module != "." ||
			slices.ContainsFunc(strings.Split(m.Main, "/"), func(s string) bool { return s == "" || s == "." || s == ".." }) {
			t.Errorf("accepted main %q with module %q for runtime js", m.Main, m.Module)
		}
	default:
		t.Errorf("accepted runtime %q", m.Runtime)
	}
	l := m.Limits
	if l.Timeout < MinTimeout || l.Timeout > MaxTimeout ||
		l.Memory < MinMemory || l.Memory > MaxMemory ||
		l.Concurrency < MinConcurrency || l.Concurrency > MaxConcurrency ||
		l.MaxBody < MinMaxBody || l.MaxBody > MaxMaxBody {
		t.Errorf("accepted limits out of bounds: %+v", l)
	}
	for i, r := range m.Routes {
		checkRoute(t, i, r)
	}
	if err := CheckRoutes([]*Manifest{m}); err != nil {
		t.Errorf("accepted colliding routes: %v", err)
	}
	checkTriggers(t, m.Triggers)
	checkAsync(t, m.Async)
}

func checkTriggers(t *testing.T, triggers []Trigger) {
	t.Helper()
	if len(triggers) > 16 {
		t.Errorf("accepted %d triggers", len(triggers))
	}
	keys := make(map[string]bool)
	for i, tr := range triggers {
		if keys[tr.Key()] {
			t.Errorf("trigger %d: accepted a second trigger with key %q", i, tr.Key())
		}
		keys[tr.Key()] = true
		if tr.Line <= 0 {
			t.Errorf("trigger %d: Line = %d", i, tr.Line)
		}
		if tr.Schema != nil && (tr.Schema.File == "") == (tr.Schema.Inline == nil) {
			t.Errorf("trigger %d: schema %+v has not exactly one of File and Inline", i, tr.Schema)
		}
		if tr.Schema != nil && tr.Schema.Inline != nil && !json.Valid(tr.Schema.Inline) {
			t.Errorf("trigger %d: inline schema is not JSON: %s", i, tr.Schema.Inline)
		}
		switch {
		case (tr.Topic == "") == (tr.Schedule == ""):
			t.Errorf("trigger %d: %+v has not exactly one of Topic and Schedule", i, tr)
		case tr.Topic != "":
			if !fuzzTopic.MatchString(tr.Topic) || tr.Timezone != "" || tr.Missed != "" {
				t.Errorf("trigger %d: accepted topic trigger %+v", i, tr)
			}
		default:
			checkScheduleTrigger(t, i, tr)
		}
	}
}

func checkScheduleTrigger(t *testing.T, i int, tr Trigger) {
	t.Helper()
	if tr.Schema != nil || !fuzzMissed[tr.Missed] || tr.Timezone == "" || tr.Timezone == "Local" {
		t.Errorf("trigger %d: accepted schedule trigger %+v", i, tr)
	}
	if len(tr.Schedule) > 256 || strings.Join(strings.Fields(tr.Schedule), " ") != tr.Schedule ||
		strings.HasPrefix(tr.Schedule, "@every") || strings.Contains(tr.Schedule, "=") {
		t.Errorf("trigger %d: accepted schedule %q", i, tr.Schedule)
	}
	s, err := ParseSchedule(tr.Schedule, tr.Timezone)
	if err != nil {
		t.Fatalf("trigger %d: ParseSchedule refuses what Parse accepted: %v", i, err)
	}
	from := time.Date(2030, time.July, 1, 0, 0, 0, 0, time.UTC)
	if next := s.Next(from); !next.After(from) {
		t.Errorf("trigger %d: schedule %q in %s: Next(%v) = %v", i, tr.Schedule, tr.Timezone, from, next)
	}
}

func checkAsync(t *testing.T, a Async) {
	t.Helper()
	if a.Retries < 0 || a.Retries > 20 || a.Backoff < 10*time.Millisecond || a.Backoff > time.Hour {
		t.Errorf("accepted async settings out of bounds: %+v", a)
	}
	if len(a.Callbacks) > 16 || (len(a.Callbacks) > 0) != (a.CallbackSecret != "") {
		t.Errorf("accepted callbacks %q with secret %q", a.Callbacks, a.CallbackSecret)
	}
	if a.CallbackSecret != "" && !fuzzSecret.MatchString(a.CallbackSecret) {
		t.Errorf("accepted callback secret %q", a.CallbackSecret)
	}
	for i, h := range a.Callbacks {
		if !fuzzHost.MatchString(h) || slices.Contains(a.Callbacks[:i], h) {
			t.Errorf("accepted callback host %q", h)
		}
		if _, port, ok := strings.Cut(h, ":"); ok {
			if p, _ := strconv.Atoi(port); p > 65535 {
				t.Errorf("accepted callback host %q", h)
			}
		}
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []struct {
		expr, zone string
		unix       int64
	}{
		{"*/5 * * * *", "UTC", 1714557750},
		{"0 9 * * MON-FRI", "Europe/Paris", 1711800000},
		{"30 2 * * *", "Europe/Paris", 1711760000}, // 02:30 does not exist on 31 March 2024
		{"30 2 * * *", "America/New_York", 1730610000},
		{"0 0 29 2 *", "Etc/GMT-14", 4070908800},
		{"0 0 13 * FRI", "Pacific/Apia", 1325000000},
		{"@hourly", "Asia/Kolkata", 0},
		{"? ? ? ? ?", "UTC", 1},
		{"1-59/7,3 0-23/2 1-31/3 jan-dec/5 sun-sat", "Australia/Lord_Howe", 1700000000},
		{"@every 1s", "UTC", 0},
		{"TZ=UTC", "UTC", 0},
		{"CRON_TZ=x * * * * *", "UTC", 0},
		{"0 0 31 4 *", "UTC", 0},
		{",", "UTC", 0},
		{"* * * * *", "Local", 0},
		{"* * * * *", "../../../dev/zero", 0},
	} {
		f.Add(s.expr, s.zone, s.unix)
	}
	f.Fuzz(func(t *testing.T, expr, zone string, unix int64) {
		s, err := ParseSchedule(expr, zone)
		if err != nil {
			if s != nil {
				t.Fatalf("ParseSchedule(%q, %q) = %v along with %v", expr, zone, s, err)
			}
			return
		}
		canon := strings.Join(strings.Fields(expr), " ")
		if zone == "Local" || strings.HasPrefix(canon, "@every") || strings.Contains(canon, "=") || len(canon) > 256 {
			t.Fatalf("ParseSchedule accepted %q in %q", expr, zone)
		}
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatalf("ParseSchedule accepted zone %q, which does not load: %v", zone, err)
		}
		// Between 1970 and 2200, away from the limits of time.Time.
		const lo, hi = 0, 7258118400
		from := time.Unix(lo+(unix%(hi-lo)+(hi-lo))%(hi-lo), 0).UTC()
		next := s.Next(from)
		if next.IsZero() {
			return // possible only for 29 February; see Schedule
		}
		if !next.After(from) || next.Location() != from.Location() {
			t.Fatalf("ParseSchedule(%q, %q).Next(%v) = %v", expr, zone, from, next)
		}
		if local := next.In(loc); local.Second() != 0 || local.Nanosecond() != 0 {
			t.Fatalf("ParseSchedule(%q, %q).Next(%v) = %v, not on a whole minute", expr, zone, from, local)
		}
		again, err := ParseSchedule(canon, zone)
		if err != nil {
			t.Fatalf("ParseSchedule(%q, %q) refuses the canonical form of %q: %v", canon, zone, expr, err)
		}
		if n := again.Next(from); !n.Equal(next) {
			t.Fatalf("%q and its canonical form %q fire at %v and %v", expr, canon, next, n)
		}
	})
}

func checkRoute(t *testing.T, i int, r Route) {
	t.Helper()
	if !fuzzMethods[r.Method] {
		t.Errorf("route %d: accepted method %q", i, r.Method)
	}
	segs, err := ParsePath(r.Path)
	if err != nil {
		t.Errorf("route %d: accepted path %q: %v", i, r.Path, err)
	}
	if len(segs) > 0 {
		switch segs[0].Literal {
		case "_pave", "async", "events":
			t.Errorf("route %d: accepted reserved path %q", i, r.Path)
		}
	}
	if r.Public == (r.Auth != "") || (!r.Public && !slices.Contains(authSchemes, r.Auth)) {
		t.Errorf("route %d: Public = %v with Auth = %q", i, r.Public, r.Auth)
	}
	if (r.Auth == AuthJWT) != (r.JWT != nil) || (r.Auth == AuthWebhook) != (r.Webhook != nil) {
		t.Errorf("route %d: auth %q with JWT %v and Webhook %v", i, r.Auth, r.JWT, r.Webhook)
	}
	if r.Line <= 0 {
		t.Errorf("route %d: Line = %d", i, r.Line)
	}
	if r.JWT != nil {
		for _, c := range r.JWT.Claims {
			checkClaim(t, i, c)
		}
	}
}

// checkClaim checks a claim demand: exactly one of equals and contains,
// each a string, a JSON number or a boolean that survives a JSON round trip
// with its type.
func checkClaim(t *testing.T, i int, c ClaimRequirement) {
	t.Helper()
	if c.Equals.IsZero() == c.Contains.IsZero() {
		t.Errorf("route %d: claim %q with equals %+v and contains %+v", i, c.Name, c.Equals, c.Contains)
	}
	for _, v := range []ClaimValue{c.Equals, c.Contains} {
		switch v.Kind {
		case ClaimUnset:
			continue
		case ClaimString:
			if v.Text == "" || len(v.Text) > 256 {
				t.Errorf("route %d: accepted claim string %q", i, v.Text)
			}
		case ClaimNumber:
			if !fuzzJSONNumber.MatchString(v.Text) {
				t.Errorf("route %d: accepted claim number %q", i, v.Text)
			}
		case ClaimBool:
			if v.Text != "true" && v.Text != "false" {
				t.Errorf("route %d: accepted claim boolean %q", i, v.Text)
			}
		default:
			t.Errorf("route %d: claim value of kind %d", i, v.Kind)
		}
		b, err := json.Marshal(v)
		var back ClaimValue
		if err != nil || json.Unmarshal(b, &back) != nil || back != v {
			t.Errorf("route %d: claim value %+v does not survive JSON (%s, %v): %+v", i, v, b, err, back)
		}
	}
}

// fuzzJSONNumber is RFC 8259's number grammar, written out again.
var fuzzJSONNumber = regexp.MustCompile(`^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$`)

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"/", "/hello", "/users/{id}", "/files/{path...}", "/a.b/~c_d-E9/{x}/{y...}",
		"", "hello", "//", "/a/", "/.", "/..", "/{}", "/{...}", "/{a}/{a}", "/{a...}/b",
		"/x{a}", "/{a}x", "/{{a}}", "/{a", "/caf\u00e9", "/a\x00b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		segs, err := ParsePath(p)
		if err != nil {
			if segs != nil {
				t.Fatalf("ParsePath(%q) = %v along with %v", p, segs, err)
			}
			return
		}
		if len(p) > MaxPathLength {
			t.Errorf("accepted a path of %d bytes", len(p))
		}
		if joined := joinSegments(segs); joined != p {
			t.Errorf("ParsePath(%q) segments join back to %q", p, joined)
		}
		params := make(map[string]bool)
		for i, s := range segs {
			switch {
			case (s.Literal == "") == (s.Param == ""):
				t.Errorf("segment %d of %q: %#v has not exactly one of Literal and Param", i, p, s)
			case s.Literal != "":
				if !fuzzLiteral.MatchString(s.Literal) || s.Literal == "." || s.Literal == ".." || s.CatchAll {
					t.Errorf("segment %d of %q: accepted literal %#v", i, p, s)
				}
			default:
				if !fuzzParamName.MatchString(s.Param) || params[s.Param] {
					t.Errorf("segment %d of %q: accepted parameter %q", i, p, s.Param)
				}
				if s.CatchAll && i != len(segs)-1 {
					t.Errorf("segment %d of %q: catch-all before the end", i, p)
				}
				params[s.Param] = true
			}
		}
	})
}
