package gateway

import (
	"encoding/json"
	"testing"

	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/manifest"
)

// TestJWTClaimTypes checks that jwt.claims compares typed values, through a
// manifest as an operator writes it: a quoted "1" matches only the string
// "1", never the number 1 or 1.0; a number only a number of equal value; a
// boolean only a boolean.
func TestJWTClaimTypes(t *testing.T) {
	iss, verifier := newJWTIssuer(t)
	cases := []struct {
		demand string // the YAML of the claim's demand
		claim  string // the claim's JSON value
		match  bool
	}{
		{`{equals: "1"}`, `"1"`, true},
		{`{equals: "1"}`, `1`, false},
		{`{equals: "1"}`, `1.0`, false},
		{`{equals: "1"}`, `["1"]`, false},
		{`{equals: 1}`, `1`, true},
		{`{equals: 1}`, `1.0`, true},
		{`{equals: 1}`, `1e0`, true},
		{`{equals: 1}`, `"1"`, false},
		{`{equals: 1}`, `true`, false},
		{`{equals: 1.5}`, `1.50`, true},
		{`{equals: true}`, `true`, true},
		{`{equals: true}`, `"true"`, false},
		{`{equals: true}`, `1`, false},
		{`{equals: "true"}`, `true`, false},
		{`{contains: "1"}`, `["1", "2"]`, true},
		{`{contains: "1"}`, `[1, 2]`, false},
		{`{contains: 1}`, `[1.0, 2]`, true},
		{`{contains: 1}`, `["1", "2"]`, false},
		{`{contains: "ops"}`, `"dev ops"`, true},
		{`{contains: "ops"}`, `"dev\u00a0ops"`, false},
	}
	for _, tc := range cases {
		name := tc.demand + " vs " + tc.claim
		m, err := manifest.Parse("pave.yaml", []byte("name: typed\nowner: team-test\nroutes:\n  - {method: GET, path: /t, auth: jwt, jwt: {claims: {v: "+tc.demand+"}}}\n"))
		if err != nil {
			t.Errorf("%s: the manifest is refused: %v", name, err)
			continue
		}
		f := newDefended(t, oneFunction(testFunction("typed", manifest.DefaultLimits(), m.Routes...)), fakeKeys{}, func(d *Deps) { d.Tokens = verifier })
		if !json.Valid([]byte(tc.claim)) {
			t.Fatalf("%s: invalid claim JSON", name)
		}
		rec := f.serve(request("GET", "/t", iss.token(t, map[string]any{"v": json.RawMessage(tc.claim)}), nil))
		switch {
		case tc.match && rec.Code != 200:
			t.Errorf("%s: %d %s, want 200", name, rec.Code, rec.Body)
		case !tc.match && rec.Code == 200:
			t.Errorf("%s: 200, want 403", name)
		case !tc.match:
			errorDetail(t, rec, apierror.InsufficientScope)
		}
	}

	for _, bad := range []string{`{equals: 0x10}`, `{equals: 010}`, `{equals: 1_000}`, `{equals: .inf}`, `{equals: .nan}`, `{equals: null}`, `{equals: [1]}`, `{equals: ""}`} {
		if _, err := manifest.Parse("pave.yaml", []byte("name: typed\nowner: team-test\nroutes:\n  - {method: GET, path: /t, auth: jwt, jwt: {claims: {v: "+bad+"}}}\n")); err == nil {
			t.Errorf("claim demand %s was accepted", bad)
		}
	}
}
