package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
)

// fuzzKeys makes only the two keys FuzzVerify needs: every fuzzing worker
// generates its own, and RSA generation is slow.
func fuzzKeys(f *testing.F) *testKeySet {
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	return &testKeySet{rsaA: r, ecA: e}
}

// FuzzVerify passes arbitrary strings to Verify against a verifier with a
// static JWKS. Nothing may panic, every refusal wraps a sentinel error that
// does not quote the token, and a token is accepted only if its header and
// payload are exactly those of a token the issuer signed (for RS256, whose
// signatures are deterministic, the whole token must be the signed one).
func FuzzVerify(f *testing.F) {
	k := fuzzKeys(f)
	clock := newClock()
	v, err := New([]IssuerConfig{{
		Issuer: issA, Audiences: []string{aud},
		JWKS:       jwksDoc(f, jwk(k.rsaA, "a-rsa", "RS256"), jwk(k.ecA, "a-ec", "ES256")),
		Algorithms: []string{"RS256", "ES256"},
	}}, Options{Now: clock.Now})
	if err != nil {
		f.Fatal(err)
	}
	now := clock.Now().Unix()
	claims := map[string]any{"iss": issA, "sub": "user", "aud": []string{aud}, "exp": now + 600, "nbf": now - 10, "iat": now, "scope": "a b"}
	rsaToken := sign(f, k.rsaA, hdr("RS256", "a-rsa"), claims)
	ecToken := sign(f, k.ecA, hdr("ES256", "a-ec"), claims)
	signed := map[string]bool{}
	for _, tok := range []string{rsaToken, ecToken} {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			f.Fatalf("a validly signed seed is refused: %v", err)
		}
		i := strings.LastIndexByte(tok, '.')
		signed[tok[:i]] = true
	}

	p := strings.Split(rsaToken, ".")
	for _, s := range []string{
		rsaToken,
		ecToken,
		rsaToken + ".",
		p[0] + "." + p[1] + ".",
		b64([]byte(`{"alg":"none"}`)) + "." + p[1] + ".",
		b64([]byte(`{"alg":"HS256","kid":"a-rsa"}`)) + "." + p[1] + "." + p[2],
		b64([]byte(`{"alg":"RS256","kid":"a-rsa","jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"}}`)) + "." + p[1] + "." + p[2],
		b64([]byte(`{"alg":"RS256","crit":["b64"],"b64":false}`)) + "." + p[1] + "." + p[2],
		p[0] + "." + b64([]byte(`{"iss":"`+issA+`","sub":"admin","aud":"`+aud+`","exp":1e10}`)) + "." + p[2],
		p[0] + "." + p[1] + "." + flipTrailingBits(p[2]),
		strings.Join([]string{p[0], p[1], p[2], p[2], p[2]}, "."),
		`{"payload":"` + p[1] + `","protected":"` + p[0] + `","signature":"` + p[2] + `"}`,
		"",
		"...",
		"e30.e30.",
		"eyJhbGciOiJSUzI1NiJ9.W10.AA",
	} {
		f.Add(s)
	}

	sentinels := []error{ErrMalformed, ErrUnknownIssuer, ErrAlgorithm, ErrSignature, ErrExpired, ErrNotYetValid, ErrIssuedInFuture, ErrAudience, ErrType, ErrKeysUnavailable}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(context.Background(), token)
		if err == nil {
			i := strings.LastIndexByte(token, '.')
			if i < 0 || !signed[token[:i]] {
				t.Fatalf("accepted a token the issuer never signed: %q", token)
			}
			if strings.HasPrefix(token, p[0]+".") && token != rsaToken {
				t.Fatalf("accepted a second encoding of an RS256 token: %q", token)
			}
			if c == nil || c.Issuer != issA || c.Subject != "user" {
				t.Fatalf("accepted with claims %+v", c)
			}
			return
		}
		if c != nil {
			t.Fatal("claims returned with an error")
		}
		known := false
		for _, s := range sentinels {
			known = known || errors.Is(err, s)
		}
		if !known {
			t.Fatalf("error %v wraps no sentinel", err)
		}
		if len(token) >= 12 && strings.Contains(err.Error(), token) {
			t.Fatalf("error %q quotes the token", err)
		}
	})
}

// FuzzCaller checks that Caller is injective and always safe to log: every
// caller decodes back to its issuer and subject (exactly, or by prefix and
// SHA-256 for a long part), and two distinct pairs are two callers.
func FuzzCaller(f *testing.F) {
	for _, s := range [][4]string{
		{issA, "alice", issA, "alice\u200b"},
		{issA, "alice", issA, "ali\x00ce"},
		{issA, "alice", issA, "\u202ealice"},
		{issA, "alice%E2%80%8B", issA, "alice\u200b"},
		{"https://a/#b", "c", "https://a/", "b#c"},
		{issA, strings.Repeat("r", 130) + "main", issA, strings.Repeat("r", 130) + "attacker"},
		{issA, "a\xffb", issA, "a\uFFFDb"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, iss1, sub1, iss2, sub2 string) {
		c1 := (&Claims{Issuer: iss1, Subject: sub1}).Caller()
		c2 := (&Claims{Issuer: iss2, Subject: sub2}).Caller()
		checkCaller(t, iss1, sub1, c1)
		checkCaller(t, iss2, sub2, c2)
		if (iss1 != iss2 || sub1 != sub2) && c1 == c2 {
			t.Fatalf("(%q, %q) and (%q, %q) are both caller %q", iss1, sub1, iss2, sub2, c1)
		}
	})
}

// FuzzWords checks the splitting of scope strings: words are never empty,
// hold no U+0020, and hold every other character of the string in order,
// so no space or control character other than U+0020 ever separates two
// scopes.
func FuzzWords(f *testing.F) {
	for _, s := range []string{"a b", "x\u00a0orders:write", "  a\tb  c\nd ", "\u3000", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w := words(s)
		for _, x := range w {
			if x == "" || strings.Contains(x, " ") {
				t.Fatalf("words(%q) = %q", s, w)
			}
		}
		if strings.Join(w, "") != strings.ReplaceAll(s, " ", "") {
			t.Fatalf("words(%q) = %q lost or split on another character", s, w)
		}
	})
}
