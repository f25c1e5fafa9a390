package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/limits"
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadIssuers(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "keys.json", `{"keys":[]}`)
	p := writeFile(t, dir, "issuers.json", `{"issuers":[
		{"issuer":"https://a.example/","audiences":["pave"],"jwks_url":"https://a.example/jwks","algorithms":["RS256","ES256"],"typ":"at+jwt","clock_skew":"30s"},
		{"issuer":"https://b.example/","audiences":["pave","api"],"jwks_file":"keys.json","algorithms":["EdDSA"],"scope_claim":"scp","roles_claim":"groups"}
	]}`)
	iss, err := LoadIssuers(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(iss) != 2 {
		t.Fatalf("%d issuers", len(iss))
	}
	if a := iss[0]; a.ClockSkew != 30*time.Second || a.Type != "at+jwt" || len(a.Algorithms) != 2 || a.JWKS != nil {
		t.Errorf("issuer a = %+v", a)
	}
	if b := iss[1]; string(b.JWKS) != `{"keys":[]}` || b.ScopeClaim != "scp" || b.RolesClaim != "groups" {
		t.Errorf("issuer b = %+v", b)
	}
}

func TestLoadIssuersErrors(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{"not json", `{`, "unexpected EOF"},
		{"unknown field", `{"issuers":[{"isuer":"x"}]}`, `unknown field "isuer"`},
		{"trailing", `{"issuers":[]} {}`, "trailing data"},
		{"no audience", `{"issuers":[{"issuer":"https://a/","jwks_url":"https://a/k","algorithms":["RS256"]}]}`, "name at least one non-empty audience"},
		{"hmac", `{"issuers":[{"issuer":"https://a/","audiences":["p"],"jwks_url":"https://a/k","algorithms":["HS256"]}]}`, `"HS256" is not allowed`},
		{"none", `{"issuers":[{"issuer":"https://a/","audiences":["p"],"jwks_url":"https://a/k","algorithms":["none"]}]}`, `"none" is not allowed`},
		{"no algorithms", `{"issuers":[{"issuer":"https://a/","audiences":["p"],"jwks_url":"https://a/k"}]}`, "name the algorithms"},
		{"both key sources", `{"issuers":[{"issuer":"https://a/","audiences":["p"],"jwks_url":"https://a/k","jwks_file":"k.json","algorithms":["RS256"]}]}`, "exactly one of jwks_url and jwks_file"},
		{"plain http", `{"issuers":[{"issuer":"https://a/","audiences":["p"],"jwks_url":"http://a.example/k","algorithms":["RS256"]}]}`, "must be fetched over https"},
		{"missing jwks file", `{"issuers":[{"issuer":"https://a/","audiences":["p"],"jwks_file":"nope.json","algorithms":["RS256"]}]}`, "no such file"},
		{"duplicate", `{"issuers":[{"issuer":"https://a/","audiences":["p"],"jwks_url":"https://a/k","algorithms":["RS256"]},{"issuer":"https://a/","audiences":["p"],"jwks_url":"https://a/k","algorithms":["RS256"]}]}`, "listed twice"},
		{"skew too large", `{"issuers":[{"issuer":"https://a/","audiences":["p"],"jwks_url":"https://a/k","algorithms":["RS256"],"clock_skew":"1h"}]}`, "want a duration from 0 to 5m"},
		{"issuer not a URL", `{"issuers":[{"issuer":"login","audiences":["p"],"jwks_url":"https://a/k","algorithms":["RS256"]}]}`, "want the issuer URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "issuers.json", tt.file)
			_, err := LoadIssuers(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestParseServeDefenses(t *testing.T) {
	c, err := ParseServe(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Defenses.FunctionRate != (limits.Rate{PerSecond: DefaultFunctionRate, Burst: DefaultFunctionBurst}) ||
		c.Defenses.MaxCallDepth != DefaultMaxCallDepth || c.Defenses.MaxCalls != DefaultMaxCalls || c.Defenses.Budget.Invocations != DefaultBudgetInvocations {
		t.Errorf("defaults = %+v", c.Defenses)
	}

	env := map[string]string{EnvCallerRate: "600/m", EnvOwnerConc: "7", EnvMaxCalls: "20"}
	c, err = ParseServe([]string{"--function-rate", "50/s:75", "--max-call-depth", "3"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	d := c.Defenses
	if d.FunctionRate != (limits.Rate{PerSecond: 50, Burst: 75}) || d.CallerRate != (limits.Rate{PerSecond: 10, Burst: 10}) ||
		d.OwnerConcurrency != 7 || d.MaxCallDepth != 3 || d.MaxCalls != 20 {
		t.Errorf("parsed = %+v", d)
	}

	for _, args := range [][]string{
		{"--function-rate", "fast"},
		{"--caller-rate", "5/s:0"},
		{"--max-call-depth", "0"},
		{"--max-calls-per-request", "0"},
		{"--max-calls-per-request", "100001"},
		{"--owner-concurrency", "-1"},
		{"--jwt-issuers", filepath.Join(t.TempDir(), "missing.json")},
	} {
		if _, err := ParseServe(args, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("ParseServe(%q) accepted", args)
		}
	}
}
