package manifest

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
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
}

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
