package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
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
		{"scope string split at U+0020 only", map[string]any{"scope": "x\u00a0orders:write a\tb c\nd\u2003e  f\u3000 g"}, []string{"x\u00a0orders:write", "a\tb", "c\nd\u2003e", "f\u3000", "g"}, nil},
		{"scp string split at U+0020 only", map[string]any{"scope": nil, "scp": "orders:read\u00a0orders:write"}, []string{"orders:read\u00a0orders:write"}, nil},
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
		c["roles"] = []string{"admin", "dev"}
		c["tenant"] = secret
		c["level"] = 3
		c["ratio"] = 1.5
		c["big"] = jsonNumber("123456789012345678901234567890")
		c["verified"] = true
		c["groups"] = []any{"eng", "ops", 42, "7"}
		c["one"] = 1
		c["onef"] = jsonNumber("1.0")
		c["ones"] = "1"
		c["flag"] = "true"
		c["amr"] = "pwd otp"
		c["scope"] = "orders:read orders:write x\u00a0orders:delete y\torders:admin"
		c["acr"] = "pwd\u00a0hwk"
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
		{"scope after a no-break space is not granted", Requirement{Scopes: []string{"orders:delete"}}, `missing scope "orders:delete"`},
		{"scope after a tab is not granted", Requirement{Scopes: []string{"orders:admin"}}, `missing scope "orders:admin"`},
		{"contains splits words at U+0020 only", Requirement{Claims: []ClaimRequirement{{Name: "acr", Contains: "hwk"}}}, "does not contain"},
		{"scope is not a prefix match", Requirement{Scopes: []string{"orders"}}, `missing scope "orders"`},
		{"roles all present", Requirement{Roles: []string{"admin", "dev"}}, ""},
		{"one role missing", Requirement{Roles: []string{"admin", "owner"}}, `missing role "owner"`},
		{"equals string", Requirement{Claims: []ClaimRequirement{{Name: "tenant", Equals: secret}}}, ""},
		{"equals string mismatch", Requirement{Claims: []ClaimRequirement{{Name: "tenant", Equals: "other"}}}, `claim "tenant" does not equal the required value`},
		{"equals string is case-sensitive", Requirement{Claims: []ClaimRequirement{{Name: "tenant", Equals: strings.ToUpper(secret)}}}, "does not equal"},
		{"equals integer", Requirement{Claims: []ClaimRequirement{{Name: "level", Equals: json.Number("3")}}}, ""},
		{"a string never equals a number", Requirement{Claims: []ClaimRequirement{{Name: "level", Equals: "3"}}}, "does not equal"},
		{"equals integer written as float", Requirement{Claims: []ClaimRequirement{{Name: "level", Equals: json.Number("3.0")}}}, ""},
		{"equals integer mismatch", Requirement{Claims: []ClaimRequirement{{Name: "level", Equals: json.Number("4")}}}, "does not equal"},
		{"equals float", Requirement{Claims: []ClaimRequirement{{Name: "ratio", Equals: json.Number("1.50")}}}, ""},
		{"equals big integer exactly", Requirement{Claims: []ClaimRequirement{{Name: "big", Equals: json.Number("123456789012345678901234567890")}}}, ""},
		{"big integer differs in last digit", Requirement{Claims: []ClaimRequirement{{Name: "big", Equals: json.Number("123456789012345678901234567891")}}}, "does not equal"},
		{"equals bool", Requirement{Claims: []ClaimRequirement{{Name: "verified", Equals: true}}}, ""},
		{"a string never equals a bool", Requirement{Claims: []ClaimRequirement{{Name: "verified", Equals: "true"}}}, "does not equal"},
		{"a bool never equals a string", Requirement{Claims: []ClaimRequirement{{Name: "flag", Equals: true}}}, "does not equal"},
		{"string 1 equals string 1", Requirement{Claims: []ClaimRequirement{{Name: "ones", Equals: "1"}}}, ""},
		{"string 1 does not equal number 1", Requirement{Claims: []ClaimRequirement{{Name: "one", Equals: "1"}}}, "does not equal"},
		{"string 1 does not equal number 1.0", Requirement{Claims: []ClaimRequirement{{Name: "onef", Equals: "1"}}}, "does not equal"},
		{"number 1 equals number 1", Requirement{Claims: []ClaimRequirement{{Name: "one", Equals: json.Number("1")}}}, ""},
		{"number 1 equals number 1.0", Requirement{Claims: []ClaimRequirement{{Name: "onef", Equals: json.Number("1")}}}, ""},
		{"number 1 does not equal string 1", Requirement{Claims: []ClaimRequirement{{Name: "ones", Equals: json.Number("1")}}}, "does not equal"},
		{"equals bool mismatch", Requirement{Claims: []ClaimRequirement{{Name: "verified", Equals: false}}}, "does not equal"},
		{"equals on array", Requirement{Claims: []ClaimRequirement{{Name: "groups", Equals: "eng"}}}, "does not equal"},
		{"equals on object", Requirement{Claims: []ClaimRequirement{{Name: "obj", Equals: "map[k:v]"}}}, "does not equal"},
		{"contains in array", Requirement{Claims: []ClaimRequirement{{Name: "groups", Contains: "ops"}}}, ""},
		{"contains number in array", Requirement{Claims: []ClaimRequirement{{Name: "groups", Contains: json.Number("42.0")}}}, ""},
		{"a string is not a number in an array", Requirement{Claims: []ClaimRequirement{{Name: "groups", Contains: "42"}}}, "does not contain"},
		{"a number is not a string in an array", Requirement{Claims: []ClaimRequirement{{Name: "groups", Contains: json.Number("7")}}}, "does not contain"},
		{"contains missing in array", Requirement{Claims: []ClaimRequirement{{Name: "groups", Contains: "sales"}}}, `claim "groups" does not contain the required value`},
		{"contains word", Requirement{Claims: []ClaimRequirement{{Name: "amr", Contains: "otp"}}}, ""},
		{"contains is word-wise", Requirement{Claims: []ClaimRequirement{{Name: "amr", Contains: "ot"}}}, "does not contain"},
		{"contains on number", Requirement{Claims: []ClaimRequirement{{Name: "level", Contains: json.Number("3")}}}, "does not contain"},
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

func TestNumbersEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"1", "1", true}, {"1", "1.0", true}, {"1", "1e0", true}, {"1.5", "1.50", true}, {"-0", "0", true}, {"0", "-0.0", true},
		{"1e21", "1000000000000000000000", true}, {"123456789012345678901234567890", "123456789012345678901234567890", true},
		{"1", "2", false}, {"123456789012345678901234567890", "123456789012345678901234567891", false}, {"1.5", "1.25", false},
		{"1e999", "1e999", false}, {"x", "x", false}, {"", "", false},
	} {
		if got := numbersEqual(tc.a, tc.b); got != tc.want {
			t.Errorf("numbersEqual(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := numbersEqual(tc.b, tc.a); got != tc.want {
			t.Errorf("numbersEqual(%q, %q) = %v, want %v", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestCaller(t *testing.T) {
	long := "repo:acme/" + strings.Repeat("x", 120) + ":ref:refs/heads/"
	longHash := func(s string) string { h := sha256.Sum256([]byte(s)); return hashMark + hex.EncodeToString(h[:]) }
	cases := []struct {
		name, iss, sub, want string
	}{
		{"plain", issA, "user-1", "jwt:" + issA + "#user-1"},
		{"non-ASCII letters kept", issA, "zoë-日本", "jwt:" + issA + "#zoë-日本"},
		{"control characters escaped", "https://i\x00ss/\n", "us\ter\r\n\x1b[31m", "jwt:https://i%00ss/%0A#us%09er%0D%0A%1B[31m"},
		{"format characters escaped", issA, "alice\u200b", "jwt:" + issA + "#alice%E2%80%8B"},
		{"bidi override escaped", issA, "\u202ealice", "jwt:" + issA + "#%E2%80%AEalice"},
		{"NUL escaped", issA, "ali\x00ce", "jwt:" + issA + "#ali%00ce"},
		{"separators and spaces escaped", issA, "a\u2028b c\u00a0d", "jwt:" + issA + "#a%E2%80%A8b%20c%C2%A0d"},
		{"invalid UTF-8 escaped byte by byte", issA, "a\xffb\xc3", "jwt:" + issA + "#a%FFb%C3"},
		{"replacement character kept", issA, "a\uFFFDb", "jwt:" + issA + "#a\uFFFDb"},
		{"percent escaped", issA, "100%", "jwt:" + issA + "#100%25"},
		{"hash escaped in the issuer only", "https://a/#x", "b#c", "jwt:https://a/%23x#b#c"},
		{"128 bytes shown whole", issA, strings.Repeat("s", 128), "jwt:" + issA + "#" + strings.Repeat("s", 128)},
		{"129 bytes hashed", issA, strings.Repeat("s", 129), "jwt:" + issA + "#" + strings.Repeat("s", 56) + longHash(strings.Repeat("s", 129))},
		{"long subject hashed", issA, long + "main", "jwt:" + issA + "#" + (long + "main")[:56] + longHash(long+"main")},
		{"escapes are not split", issA, strings.Repeat("s", 54) + "\u200b" + strings.Repeat("s", 100), "jwt:" + issA + "#" + strings.Repeat("s", 54) + longHash(strings.Repeat("s", 54)+"\u200b"+strings.Repeat("s", 100))},
		{"long issuer hashed", strings.Repeat("i", 300), "s", "jwt:" + strings.Repeat("i", 56) + longHash(strings.Repeat("i", 300)) + "#s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := (&Claims{Issuer: tc.iss, Subject: tc.sub}).Caller()
			if got != tc.want {
				t.Errorf("Caller() = %q, want %q", got, tc.want)
			}
			checkCaller(t, tc.iss, tc.sub, got)
		})
	}

	// The subjects that used to be one caller are distinct callers now.
	subjects := []string{
		"alice", "alice\u200b", "ali\x00ce", "\u202ealice", "alice ", "alice%20", "alice%E2%80%8B", "alice\xff",
		long + "main", long + "attacker", long[:56] + hashMark,
		strings.Repeat("s", 56) + longHash(strings.Repeat("s", 129)), strings.Repeat("s", 129),
	}
	seen := map[string]string{}
	for _, sub := range subjects {
		c := (&Claims{Issuer: issA, Subject: sub}).Caller()
		if prev, dup := seen[c]; dup {
			t.Errorf("subjects %q and %q are both caller %q", prev, sub, c)
		}
		seen[c] = sub
	}
	// Issuer and subject cannot trade characters across the separator.
	if a, b := (&Claims{Issuer: "https://a/#b", Subject: "c"}).Caller(), (&Claims{Issuer: "https://a/", Subject: "b#c"}).Caller(); a == b {
		t.Errorf("two pairs are both caller %q", a)
	}
}

// checkCaller fails unless caller is safe to log and decodes back to
// (iss, sub): exactly for a part shown whole, by prefix and SHA-256 for a
// hashed one. Together these make Caller injective.
func checkCaller(t *testing.T, iss, sub, caller string) {
	t.Helper()
	if !utf8.ValidString(caller) || len(caller) > 4+2*maxCallerPart+1 {
		t.Fatalf("caller %q is not valid UTF-8 or too long", caller)
	}
	for _, r := range caller {
		if !unicode.IsPrint(r) || r == ' ' {
			t.Fatalf("caller %q holds %U", caller, r)
		}
	}
	rest, ok := strings.CutPrefix(caller, "jwt:")
	gotIss, gotSub, found := strings.Cut(rest, "#")
	if !ok || !found {
		t.Fatalf("caller %q is not jwt:ISSUER#SUBJECT", caller)
	}
	for _, p := range []struct{ encoded, want string }{{gotIss, iss}, {gotSub, sub}} {
		shown, hash, hashed := strings.Cut(p.encoded, hashMark)
		decoded, err := url.PathUnescape(shown)
		if err != nil || strings.Contains(hash, "%") {
			t.Fatalf("caller %q: part %q does not decode: %v", caller, p.encoded, err)
		}
		if !hashed {
			if decoded != p.want {
				t.Fatalf("caller %q: part %q decodes to %q, want %q", caller, p.encoded, decoded, p.want)
			}
			continue
		}
		sum := sha256.Sum256([]byte(p.want))
		if hash != hex.EncodeToString(sum[:]) || !strings.HasPrefix(p.want, decoded) || len(p.encoded) > maxCallerPart {
			t.Fatalf("caller %q: hashed part %q is not of %q", caller, p.encoded, p.want)
		}
	}
}
