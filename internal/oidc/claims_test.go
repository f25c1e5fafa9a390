package oidc

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// verified signs claims with issuer A's key and verifies them, so that
// Check sees claims exactly as Verify decodes them.
func verified(t *testing.T, e *env, change func(c map[string]any)) *Claims {
	t.Helper()
	c := e.claims()
	change(c)
	got, err := e.v.Verify(context.Background(), sign(t, e.keys.rsaA, hdr("RS256", "a-rsa"), c))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestScopesAndRoles(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name   string
		claims map[string]any
		scopes []string
		roles  []string
	}{
		{"scope string", map[string]any{"scope": "a b  c"}, []string{"a", "b", "c"}, nil},
		{"scp array", map[string]any{"scope": nil, "scp": []any{"a", "b"}}, []string{"a", "b"}, nil},
		{"scp string", map[string]any{"scope": nil, "scp": "a b"}, []string{"a", "b"}, nil},
		{"scope and scp merged", map[string]any{"scope": "a b", "scp": []any{"b", "c"}}, []string{"a", "b", "c"}, nil},
		{"scope of wrong type grants nothing", map[string]any{"scope": 7, "scp": map[string]any{"a": true}}, nil, nil},
		{"scope array with non-strings", map[string]any{"scope": []any{"a", 1, nil, "", "b"}}, []string{"a", "b"}, nil},
		{"roles array", map[string]any{"scope": nil, "roles": []any{"admin", "dev", "admin"}}, nil, []string{"admin", "dev"}},
		{"roles string is one role", map[string]any{"scope": nil, "roles": "admin dev"}, nil, []string{"admin dev"}},
		{"roles of wrong type", map[string]any{"scope": nil, "roles": 1}, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := verified(t, e, func(c map[string]any) {
				for k, v := range tc.claims {
					if v == nil {
						delete(c, k)
					} else {
						c[k] = v
					}
				}
			})
			if strings.Join(c.Scopes, ",") != strings.Join(tc.scopes, ",") {
				t.Errorf("scopes %q, want %q", c.Scopes, tc.scopes)
			}
			if strings.Join(c.Roles, ",") != strings.Join(tc.roles, ",") {
				t.Errorf("roles %q, want %q", c.Roles, tc.roles)
			}
		})
	}
}

func TestCustomScopeAndRolesClaims(t *testing.T) {
	k := testKeys(t)
	clock := newClock()
	v, err := New([]IssuerConfig{{
		Issuer: issA, Audiences: []string{aud}, JWKS: jwksDoc(t, jwk(k.rsaA, "a-rsa", "RS256")), Algorithms: []string{"RS256"},
		ScopeClaim: "permissions", RolesClaim: "realm_access.roles",
	}}, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{
		"iss": issA, "sub": "s", "aud": aud, "exp": clock.Now().Unix() + 60,
		"scope":        "ignored",
		"permissions":  []string{"orders:read"},
		"scp":          "orders:write",
		"roles":        []string{"ignored"},
		"realm_access": map[string]any{"roles": []string{"admin"}},
	}
	c, err := v.Verify(context.Background(), sign(t, k.rsaA, hdr("RS256", "a-rsa"), claims))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Scopes, ",") != "orders:read,orders:write" {
		t.Errorf("scopes %q", c.Scopes)
	}
	if strings.Join(c.Roles, ",") != "admin" {
		t.Errorf("roles %q", c.Roles)
	}
}

func TestCheck(t *testing.T) {
	e := newEnv(t)
	secret := "secret-" + marker
	c := verified(t, e, func(c map[string]any) {
		c["scope"] = "orders:read orders:write"
		c["roles"] = []string{"admin", "dev"}
		c["tenant"] = secret
		c["level"] = 3
		c["ratio"] = 1.5
		c["big"] = jsonNumber("123456789012345678901234567890")
		c["verified"] = true
		c["groups"] = []any{"eng", "ops", 42}
		c["amr"] = "pwd otp"
		c["org"] = map[string]any{"id": secret, "plan": map[string]any{"tier": "gold"}}
		c["https://example.com/claims"] = map[string]any{"team": "blue"}
		c["a.b"] = "flat"
		c["nothing"] = nil
		c["obj"] = map[string]any{"k": "v"}
	})
	cases := []struct {
		name    string
		req     Requirement
		wantErr string // "" for success
	}{
		{"empty requirement", Requirement{}, ""},
		{"issuer", Requirement{Issuer: issA}, ""},
		{"wrong issuer", Requirement{Issuer: issB}, "required issuer"},
		{"scopes all present", Requirement{Scopes: []string{"orders:write", "orders:read"}}, ""},
		{"scope missing", Requirement{Scopes: []string{"orders:read", "orders:delete"}}, `missing scope "orders:delete"`},
		{"scope is not a prefix match", Requirement{Scopes: []string{"orders"}}, `missing scope "orders"`},
		{"roles all present", Requirement{Roles: []string{"admin", "dev"}}, ""},
		{"one role missing", Requirement{Roles: []string{"admin", "owner"}}, `missing role "owner"`},
		{"equals string", Requirement{Claims: []ClaimRequirement{{Name: "tenant", Equals: secret}}}, ""},
		{"equals string mismatch", Requirement{Claims: []ClaimRequirement{{Name: "tenant", Equals: "other"}}}, `claim "tenant" does not equal the required value`},
		{"equals string is case-sensitive", Requirement{Claims: []ClaimRequirement{{Name: "tenant", Equals: strings.ToUpper(secret)}}}, "does not equal"},
		{"equals integer", Requirement{Claims: []ClaimRequirement{{Name: "level", Equals: "3"}}}, ""},
		{"equals integer written as float", Requirement{Claims: []ClaimRequirement{{Name: "level", Equals: "3.0"}}}, ""},
		{"equals integer mismatch", Requirement{Claims: []ClaimRequirement{{Name: "level", Equals: "4"}}}, "does not equal"},
		{"equals float", Requirement{Claims: []ClaimRequirement{{Name: "ratio", Equals: "1.50"}}}, ""},
		{"equals big integer exactly", Requirement{Claims: []ClaimRequirement{{Name: "big", Equals: "123456789012345678901234567890"}}}, ""},
		{"big integer differs in last digit", Requirement{Claims: []ClaimRequirement{{Name: "big", Equals: "123456789012345678901234567891"}}}, "does not equal"},
		{"equals bool", Requirement{Claims: []ClaimRequirement{{Name: "verified", Equals: "true"}}}, ""},
		{"equals bool mismatch", Requirement{Claims: []ClaimRequirement{{Name: "verified", Equals: "false"}}}, "does not equal"},
		{"equals on array", Requirement{Claims: []ClaimRequirement{{Name: "groups", Equals: "eng"}}}, "does not equal"},
		{"equals on object", Requirement{Claims: []ClaimRequirement{{Name: "obj", Equals: "map[k:v]"}}}, "does not equal"},
		{"contains in array", Requirement{Claims: []ClaimRequirement{{Name: "groups", Contains: "ops"}}}, ""},
		{"contains number in array", Requirement{Claims: []ClaimRequirement{{Name: "groups", Contains: "42"}}}, ""},
		{"contains missing in array", Requirement{Claims: []ClaimRequirement{{Name: "groups", Contains: "sales"}}}, `claim "groups" does not contain the required value`},
		{"contains word", Requirement{Claims: []ClaimRequirement{{Name: "amr", Contains: "otp"}}}, ""},
		{"contains is word-wise", Requirement{Claims: []ClaimRequirement{{Name: "amr", Contains: "ot"}}}, "does not contain"},
		{"contains on number", Requirement{Claims: []ClaimRequirement{{Name: "level", Contains: "3"}}}, "does not contain"},
		{"dotted path", Requirement{Claims: []ClaimRequirement{{Name: "org.id", Equals: secret}}}, ""},
		{"dotted path two levels", Requirement{Claims: []ClaimRequirement{{Name: "org.plan.tier", Equals: "gold"}}}, ""},
		{"dotted path mismatch", Requirement{Claims: []ClaimRequirement{{Name: "org.plan.tier", Equals: "silver"}}}, `claim "org.plan.tier" does not equal`},
		{"dotted path missing", Requirement{Claims: []ClaimRequirement{{Name: "org.region"}}}, `claim "org.region" is missing`},
		{"dotted path through a string", Requirement{Claims: []ClaimRequirement{{Name: "tenant.x"}}}, "is missing"},
		{"claim name with dots, then a path", Requirement{Claims: []ClaimRequirement{{Name: "https://example.com/claims.team", Equals: "blue"}}}, ""},
		{"flat claim named with a dot", Requirement{Claims: []ClaimRequirement{{Name: "a.b", Equals: "flat"}}}, ""},
		{"presence", Requirement{Claims: []ClaimRequirement{{Name: "tenant"}}}, ""},
		{"missing claim", Requirement{Claims: []ClaimRequirement{{Name: "department", Equals: "x"}}}, `claim "department" is missing`},
		{"null claim is missing", Requirement{Claims: []ClaimRequirement{{Name: "nothing"}}}, "is missing"},
		{"no name", Requirement{Claims: []ClaimRequirement{{Equals: "x"}}}, "no claim name"},
		{"equals and contains both hold", Requirement{Claims: []ClaimRequirement{{Name: "amr", Equals: "pwd otp", Contains: "pwd"}}}, ""},
		{"equals holds, contains does not", Requirement{Claims: []ClaimRequirement{{Name: "amr", Equals: "pwd otp", Contains: "hwk"}}}, "does not contain"},
		{"all demands together", Requirement{Issuer: issA, Scopes: []string{"orders:read"}, Roles: []string{"dev"}, Claims: []ClaimRequirement{{Name: "tenant", Equals: secret}, {Name: "groups", Contains: "eng"}}}, ""},
		{"one failing among many", Requirement{Issuer: issA, Scopes: []string{"orders:read"}, Roles: []string{"dev"}, Claims: []ClaimRequirement{{Name: "tenant", Equals: secret}, {Name: "org.id", Equals: "x"}}}, `claim "org.id" does not equal`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Check(tc.req)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrForbidden) {
				t.Fatalf("Check: %v, want ErrForbidden", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Check: %q, want it to contain %q", err, tc.wantErr)
			}
			for _, leak := range []string{marker, "gold", "blue", "pwd", "eng", "1.5", "12345"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("Check error %q quotes the claim value %q", err, leak)
				}
			}
		})
	}
	var nilClaims *Claims
	if err := nilClaims.Check(Requirement{}); !errors.Is(err, ErrForbidden) {
		t.Errorf("nil claims: %v", err)
	}
}

// jsonNumber is a number literal that json.Marshal writes as is.
type jsonNumber string

func (n jsonNumber) MarshalJSON() ([]byte, error) { return []byte(n), nil }

func TestCanonicalNumber(t *testing.T) {
	cases := map[string]string{
		"0": "0", "-0": "0", "42": "42", "-7": "-7", "1.0": "1", "1e3": "1000", "1E3": "1000", "1.5": "1.5", "1.50": "1.5",
		"-0.0": "0", "1e21": "1e+21", "0.000001": "1e-06", "123456789012345678901234567890": "123456789012345678901234567890",
	}
	for in, want := range cases {
		if got, ok := canonicalNumber(in); !ok || got != want {
			t.Errorf("canonicalNumber(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "x", "1e999", "0x10"} {
		if got, ok := canonicalNumber(bad); ok {
			t.Errorf("canonicalNumber(%q) = %q, want failure", bad, got)
		}
	}
}

func TestCaller(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes
	cases := []struct {
		name, iss, sub, want string
	}{
		{"plain", issA, "user-1", "jwt:" + issA + "#user-1"},
		{"control characters dropped", "https://i\x00ss/\n", "us\ter\r\n\x1b[31m", "jwt:https://iss/#user[31m"},
		{"format and separator characters dropped", issA, "a\u202eb\u2028c\u200bd", "jwt:" + issA + "#abcd"},
		{"invalid UTF-8 dropped", issA, "a\xffb\xc3", "jwt:" + issA + "#ab"},
		{"replacement character kept", issA, "a\uFFFDb", "jwt:" + issA + "#a\uFFFDb"},
		{"subject truncated at a character boundary", issA, long, "jwt:" + issA + "#" + strings.Repeat("é", 64)},
		{"issuer truncated", strings.Repeat("i", 300), "s", "jwt:" + strings.Repeat("i", 128) + "#s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := (&Claims{Issuer: tc.iss, Subject: tc.sub}).Caller()
			if got != tc.want {
				t.Errorf("Caller() = %q, want %q", got, tc.want)
			}
		})
	}
}
