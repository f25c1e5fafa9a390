package oidc

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestVerifyAccepts(t *testing.T) {
	e := newEnv(t)
	k := e.keys
	now := e.clock.Now().Unix()
	with := func(change func(c map[string]any)) map[string]any {
		c := e.claims()
		change(c)
		return c
	}
	cases := []struct {
		name   string
		token  string
		issuer string
	}{
		{"RS256 with kid", sign(t, k.rsaA, hdr("RS256", "a-rsa"), e.claims()), issA},
		{"ES256 with kid", sign(t, k.ecA, hdr("ES256", "a-ec"), e.claims()), issA},
		{"RS256 without kid", sign(t, k.rsaA, hdr("RS256", ""), e.claims()), issA},
		{"ES256 without kid", sign(t, k.ecA, hdr("ES256", ""), e.claims()), issA},
		{"aud array with one accepted audience", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["aud"] = []string{"someone-else", "other-api"} })), issA},
		{"expired within skew", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["exp"] = now - 30 })), issA},
		{"nbf within skew", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["nbf"] = now + 30 })), issA},
		{"iat within skew", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["iat"] = now + 30 })), issA},
		{"fractional dates", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["exp"] = float64(now) + 600.5; c["iat"] = float64(now) - 0.25 })), issA},
		{"static JWKS RS256", sign(t, k.rsaB, hdr("RS256", "b-rsa"), with(func(c map[string]any) { c["iss"] = issB })), issB},
		{"static JWKS EdDSA", sign(t, k.edB, hdr("EdDSA", "b-ed"), with(func(c map[string]any) { c["iss"] = issB })), issB},
		{"typ at+jwt", sign(t, k.rsaA, map[string]any{"alg": "RS256", "kid": "a-rsa", "typ": "at+jwt"}, with(func(c map[string]any) { c["iss"] = issT })), issT},
		{"typ application/at+jwt", sign(t, k.rsaA, map[string]any{"alg": "RS256", "kid": "a-rsa", "typ": "application/at+jwt"}, with(func(c map[string]any) { c["iss"] = issT })), issT},
		{"typ AT+JWT", sign(t, k.rsaA, map[string]any{"alg": "RS256", "kid": "a-rsa", "typ": "AT+JWT"}, with(func(c map[string]any) { c["iss"] = issT })), issT},
		// Key-bearing headers are ignored, not trusted and not fatal.
		{"legit signature with jku header", sign(t, k.rsaA, map[string]any{"alg": "RS256", "kid": "a-rsa", "jku": "https://unused.invalid/jwks"}, e.claims()), issA},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := e.v.Verify(context.Background(), tc.token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Issuer != tc.issuer || c.Subject != "user-"+marker {
				t.Errorf("claims: issuer %q subject %q", c.Issuer, c.Subject)
			}
			if c.Expiry.IsZero() || len(c.Audience) == 0 || c.Extra["tenant"] != marker {
				t.Errorf("claims incomplete: %+v", c)
			}
			if !contains(c.Scopes, "orders:read") {
				t.Errorf("scopes %q", c.Scopes)
			}
		})
	}
}

// TestVerifyAttacks feeds forged, borrowed, stale and malformed tokens to
// the verifier. Each must be refused with the right sentinel error, and no
// error may quote the token or a claim value.
func TestVerifyAttacks(t *testing.T) {
	e := newEnv(t)
	k := e.keys
	now := e.clock.Now().Unix()
	valid := e.claims()
	with := func(change func(c map[string]any)) map[string]any {
		c := e.claims()
		change(c)
		return c
	}

	// An attacker's JWKS server: it must never be contacted.
	var attackerHits atomic.Int64
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attackerHits.Add(1)
		w.Write(jwksDoc(t, jwk(k.rsaAttacker, "a-rsa", "RS256"), jwk(k.rsaAttacker, "evil", "RS256")))
	}))
	defer attacker.Close()

	attackerJWK := jwk(k.rsaAttacker, "evil", "RS256")
	attackerCert := selfSigned(t, k)

	pubDER, err := x509.MarshalPKIXPublicKey(&k.rsaA.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pkcs1DER := x509.MarshalPKCS1PublicKey(&k.rsaA.PublicKey)
	pkcs1PEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1DER})
	jwksJSON := jwksDoc(t, jwk(k.rsaA, "a-rsa", "RS256"))

	good := sign(t, k.rsaA, hdr("RS256", "a-rsa"), valid)
	goodParts := strings.Split(good, ".")

	type tc struct {
		name  string
		token string
		want  error
	}
	var cases []tc
	add := func(name, token string, want error) { cases = append(cases, tc{name, token, want}) }

	// alg "none", however spelt, with no signature and with junk.
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		unsigned := b64(mustJSON(t, hdr(alg, ""))) + "." + b64(mustJSON(t, valid)) + "."
		add("alg "+alg+" empty signature", unsigned, ErrAlgorithm)
		add("alg "+alg+" junk signature", unsigned+b64([]byte("junk-signature")), ErrAlgorithm)
		add("alg "+alg+" with kid", b64(mustJSON(t, hdr(alg, "a-rsa")))+"."+b64(mustJSON(t, valid))+".", ErrAlgorithm)
	}
	add("RS256 empty signature", goodParts[0]+"."+goodParts[1]+".", ErrSignature)
	add("RS256 signature of another token", goodParts[0]+"."+b64(mustJSON(t, with(func(c map[string]any) { c["sub"] = "admin" })))+"."+goodParts[2], ErrSignature)

	// RSA/HMAC confusion: the public key as the HMAC secret.
	for name, secret := range map[string][]byte{
		"PKIX PEM": pubPEM, "PKIX DER": pubDER, "PKCS1 PEM": pkcs1PEM, "PKCS1 DER": pkcs1DER, "JWKS JSON": jwksJSON,
	} {
		for _, alg := range []string{"HS256", "HS384", "HS512"} {
			add(alg+" keyed with public key "+name, sign(t, secret, hdr(alg, "a-rsa"), valid), ErrAlgorithm)
		}
	}
	add("HS256 without kid", sign(t, pubPEM, hdr("HS256", ""), valid), ErrAlgorithm)

	// Keys named or embedded in the header are never used.
	add("embedded jwk, no kid", sign(t, k.rsaAttacker, map[string]any{"alg": "RS256", "jwk": attackerJWK}, valid), ErrSignature)
	add("embedded jwk with its kid", sign(t, k.rsaAttacker, map[string]any{"alg": "RS256", "kid": "evil", "jwk": attackerJWK}, valid), ErrSignature)
	add("embedded jwk with the issuer's kid", sign(t, k.rsaAttacker, map[string]any{"alg": "RS256", "kid": "a-rsa", "jwk": attackerJWK}, valid), ErrSignature)
	add("jku to attacker JWKS", sign(t, k.rsaAttacker, map[string]any{"alg": "RS256", "kid": "evil", "jku": attacker.URL}, valid), ErrSignature)
	add("jku to attacker JWKS with the issuer's kid", sign(t, k.rsaAttacker, map[string]any{"alg": "RS256", "kid": "a-rsa", "jku": attacker.URL}, valid), ErrSignature)
	add("x5u to attacker", sign(t, k.rsaAttacker, map[string]any{"alg": "RS256", "kid": "a-rsa", "x5u": attacker.URL + "/cert.pem"}, valid), ErrSignature)
	add("x5c with attacker certificate", sign(t, k.rsaAttacker, map[string]any{"alg": "RS256", "x5c": []string{base64.StdEncoding.EncodeToString(attackerCert)}}, valid), ErrSignature)

	// kid only selects among the issuer's keys: odd values are unknown kids,
	// even on a token the issuer's key signed.
	for _, kid := range []string{"../../etc/passwd", "' OR 1=1 --", "a-rsa\x00", "\x00", strings.Repeat("k", 2000), "a-rsa/../a-rsa", "A-RSA", " a-rsa", "{\"$ne\":null}", marker} {
		add("kid "+strings.ToValidUTF8(kid[:min(len(kid), 20)], "?"), sign(t, k.rsaA, hdr("RS256", kid), valid), ErrSignature)
	}

	// Time.
	add("expired", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["exp"] = now - 61 })), ErrExpired)
	add("expired long ago", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["exp"] = 1 })), ErrExpired)
	add("not yet valid", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["nbf"] = now + 61 })), ErrNotYetValid)
	add("issued in the future", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["iat"] = now + 61 })), ErrIssuedInFuture)
	add("no exp", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { delete(c, "exp") })), ErrMalformed)
	add("exp as string", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["exp"] = "9999999999" })), ErrMalformed)
	add("exp beyond year 9999", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["exp"] = 1e300 })), ErrMalformed)
	add("negative iat", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["iat"] = -5 })), ErrMalformed)

	// Issuer, audience, type.
	add("unknown issuer", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["iss"] = "https://evil.test/" + marker })), ErrUnknownIssuer)
	add("issuer differing in case", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["iss"] = strings.ToUpper(issA) })), ErrUnknownIssuer)
	add("issuer without trailing slash", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["iss"] = strings.TrimSuffix(issA, "/") })), ErrUnknownIssuer)
	add("no iss", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { delete(c, "iss") })), ErrMalformed)
	add("iss not a string", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["iss"] = []string{issA} })), ErrMalformed)
	add("iss key in other case", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { delete(c, "iss"); c["ISS"] = issA })), ErrMalformed)
	add("wrong audience", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["aud"] = "another-service-" + marker })), ErrAudience)
	add("wrong audience array", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["aud"] = []string{"x", "y"} })), ErrAudience)
	add("empty audience array", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["aud"] = []string{} })), ErrAudience)
	add("no audience", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { delete(c, "aud") })), ErrAudience)
	add("audience differing in case", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["aud"] = strings.ToUpper(aud) })), ErrAudience)
	add("no sub", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { delete(c, "sub") })), ErrMalformed)
	typed := with(func(c map[string]any) { c["iss"] = issT })
	add("wrong typ", sign(t, k.rsaA, map[string]any{"alg": "RS256", "kid": "a-rsa", "typ": "JWT"}, typed), ErrType)
	add("typ with other prefix", sign(t, k.rsaA, map[string]any{"alg": "RS256", "kid": "a-rsa", "typ": "text/at+jwt"}, typed), ErrType)
	add("missing typ", sign(t, k.rsaA, map[string]any{"alg": "RS256", "kid": "a-rsa"}, typed), ErrType)
	add("typ not a string", sign(t, k.rsaA, map[string]any{"alg": "RS256", "kid": "a-rsa", "typ": 1}, typed), ErrMalformed)

	// Keys of the wrong holder or kind.
	add("attacker key with the issuer's kid", sign(t, k.rsaAttacker, hdr("RS256", "a-rsa"), valid), ErrSignature)
	add("attacker key without kid", sign(t, k.rsaAttacker, hdr("RS256", ""), valid), ErrSignature)
	add("attacker EC key with the issuer's kid", sign(t, k.ecAttacker, hdr("ES256", "a-ec"), valid), ErrSignature)
	add("issuer A token signed by B with B's kid", sign(t, k.rsaB, hdr("RS256", "b-rsa"), valid), ErrSignature)
	add("issuer A token signed by B with A's kid", sign(t, k.rsaB, hdr("RS256", "a-rsa"), valid), ErrSignature)
	add("ES256 naming the RSA kid", sign(t, k.ecA, hdr("ES256", "a-rsa"), valid), ErrSignature)
	add("RS256 naming the EC kid", sign(t, k.rsaA, hdr("RS256", "a-ec"), valid), ErrSignature)
	add("algorithm not in the issuer's allowlist", sign(t, k.rsaA, hdr("PS256", "a-rsa"), valid), ErrAlgorithm)
	add("algorithm unknown", sign(t, k.rsaA, hdr("XS256", "a-rsa"), valid), ErrAlgorithm)
	add("algorithm in other case", sign(t, k.rsaA, hdr("rs256", "a-rsa"), valid), ErrAlgorithm)
	add("EdDSA for issuer B with B's RSA kid", sign(t, k.edB, hdr("EdDSA", "b-rsa"), with(func(c map[string]any) { c["iss"] = issB })), ErrSignature)
	add("ES256 for issuer B, not in its allowlist", sign(t, k.ecA, hdr("ES256", "a-ec"), with(func(c map[string]any) { c["iss"] = issB })), ErrAlgorithm)

	// Shape.
	add("oversized", sign(t, k.rsaA, hdr("RS256", "a-rsa"), with(func(c map[string]any) { c["pad"] = strings.Repeat("p", 9000) })), ErrMalformed)
	add("five parts (JWE)", b64([]byte(`{"alg":"RSA-OAEP","enc":"A256GCM"}`))+"."+b64([]byte("key"))+"."+b64([]byte("iv"))+"."+b64([]byte("ciphertext"))+"."+b64([]byte("tag")), ErrMalformed)
	add("four parts", good+"."+goodParts[2], ErrMalformed)
	add("two parts", goodParts[0]+"."+goodParts[1], ErrMalformed)
	add("one part", goodParts[1], ErrMalformed)
	add("empty", "", ErrMalformed)
	add("dots only", "..", ErrMalformed)
	add("garbage base64", "!!!.@@@.###", ErrMalformed)
	add("standard base64 alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(good)+"+/", ErrMalformed)
	add("padded base64", goodParts[0]+"=."+goodParts[1]+"."+goodParts[2], ErrMalformed)
	add("whitespace around", " "+good+"\n", ErrMalformed)
	add("whitespace inside", goodParts[0]+". "+goodParts[1]+"."+goodParts[2], ErrMalformed)
	add("non-canonical signature encoding", goodParts[0]+"."+goodParts[1]+"."+flipTrailingBits(goodParts[2]), ErrMalformed)
	add("header not JSON", b64([]byte("not json"))+"."+goodParts[1]+"."+goodParts[2], ErrMalformed)
	add("header JSON array", b64([]byte(`["RS256"]`))+"."+goodParts[1]+"."+goodParts[2], ErrMalformed)
	add("header without alg", sign(t, k.rsaA, map[string]any{"kid": "a-rsa"}, valid), ErrMalformed)
	add("alg not a string", sign(t, k.rsaA, map[string]any{"alg": []string{"RS256"}}, valid), ErrMalformed)
	add("kid not a string", sign(t, k.rsaA, map[string]any{"alg": "RS256", "kid": 7}, valid), ErrMalformed)
	add("crit header", sign(t, k.rsaA, map[string]any{"alg": "RS256", "kid": "a-rsa", "crit": []string{"exp"}, "exp": now}, valid), ErrMalformed)
	add("b64 false", sign(t, k.rsaA, map[string]any{"alg": "RS256", "kid": "a-rsa", "b64": false, "crit": []string{"b64"}}, valid), ErrMalformed)
	add("enc header", sign(t, k.rsaA, map[string]any{"alg": "RS256", "kid": "a-rsa", "enc": "A256GCM"}, valid), ErrMalformed)
	add("payload JSON array", goodParts[0]+"."+b64([]byte(`[1,2]`))+"."+goodParts[2], ErrMalformed)
	add("payload null", goodParts[0]+"."+b64([]byte(`null`))+"."+goodParts[2], ErrMalformed)
	add("payload with trailing data", goodParts[0]+"."+b64(append(mustJSON(t, valid), []byte(`{}`)...))+"."+goodParts[2], ErrMalformed)
	add("JSON serialization", `{"payload":"`+goodParts[1]+`","protected":"`+goodParts[0]+`","signature":"`+goodParts[2]+`"}`, ErrMalformed)
	add("JWE-like JSON", `{"protected":"e30","ciphertext":"eA","iv":"eA","tag":"eA"}`, ErrMalformed)

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := e.v.Verify(context.Background(), c.token)
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, %v; want %v", got, err, c.want)
			}
			if got != nil {
				t.Errorf("claims returned with an error")
			}
			assertNoLeak(t, err.Error(), c.token)
		})
	}
	if n := attackerHits.Load(); n != 0 {
		t.Errorf("the attacker's server was contacted %d times", n)
	}
	if n := e.srv.hits.Load(); n > 2 {
		// One first fetch, and at most one rate-limited refetch for all the
		// unknown kids above (the fake clock does not move).
		t.Errorf("the issuer's JWKS was fetched %d times, want at most 2", n)
	}
}

// assertNoLeak fails if msg quotes the token, a part of it, the marker put
// in claim values, or header values used by the attacks.
func assertNoLeak(t *testing.T, msg, token string) {
	t.Helper()
	leaks := []string{marker, "passwd", "OR 1=1", "evil", "junk", "kkkkkkkk", "127.0.0.1"}
	if token != "" {
		leaks = append(leaks, token)
	}
	for _, p := range strings.Split(token, ".") {
		if len(p) >= 8 {
			leaks = append(leaks, p[:8])
		}
	}
	for _, l := range leaks {
		if strings.Contains(msg, l) {
			t.Errorf("error %q quotes %q", msg, l)
		}
	}
}

// flipTrailingBits changes the unused low bits of the last character of a
// base64url string: the decoded bytes stay the same, the string does not.
func flipTrailingBits(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[last^1])
}

// selfSigned returns a DER certificate for the attacker's RSA key.
func selfSigned(t *testing.T, k *testKeySet) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(t),
		Subject:      pkix.Name{CommonName: "issuer-a.test"},
		NotBefore:    t0.Add(-time.Hour),
		NotAfter:     t0.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, &k.rsaAttacker.PublicKey, k.rsaAttacker)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// A token whose only valid key is in the x5c header is refused even when
// the certificate chains to nothing in particular and its key is the one
// that signed: the test above covers it; here the same token with a
// legitimate signature proves x5c is simply ignored.
func TestHeaderKeysIgnored(t *testing.T) {
	e := newEnv(t)
	k := e.keys
	cert := selfSigned(t, k)
	legit := sign(t, k.rsaA, map[string]any{"alg": "RS256", "kid": "a-rsa", "x5c": []string{base64.StdEncoding.EncodeToString(cert)}, "jwk": jwk(k.rsaAttacker, "evil", "RS256")}, e.claims())
	if _, err := e.v.Verify(context.Background(), legit); err != nil {
		t.Fatalf("a token the issuer signed was refused because of ignored headers: %v", err)
	}
}

func TestVerifyMaxTokenSize(t *testing.T) {
	e := newEnv(t)
	k := e.keys
	c := e.claims()
	token := sign(t, k.rsaA, hdr("RS256", "a-rsa"), c)
	v, err := New([]IssuerConfig{{Issuer: issA, Audiences: []string{aud}, JWKS: jwksDoc(t, jwk(k.rsaA, "a-rsa", "RS256")), Algorithms: []string{"RS256"}}},
		Options{Now: e.clock.Now, MaxTokenSize: len(token)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), token); err != nil {
		t.Fatalf("token of exactly MaxTokenSize refused: %v", err)
	}
	c["x"] = "y"
	if _, err := v.Verify(context.Background(), sign(t, k.rsaA, hdr("RS256", "a-rsa"), c)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("longer token: %v, want ErrMalformed", err)
	}
}

func TestNew(t *testing.T) {
	k := testKeys(t)
	static := jwksDoc(t, jwk(k.rsaA, "a-rsa", "RS256"))
	base := func() IssuerConfig {
		return IssuerConfig{Issuer: issA, Audiences: []string{aud}, JWKS: static, Algorithms: []string{"RS256"}}
	}
	with := func(change func(c *IssuerConfig)) []IssuerConfig {
		c := base()
		change(&c)
		return []IssuerConfig{c}
	}
	cases := []struct {
		name    string
		issuers []IssuerConfig
		opt     Options
		wantErr string // "" means New must succeed
	}{
		{"valid static", with(func(c *IssuerConfig) {}), Options{}, ""},
		{"valid https URL", with(func(c *IssuerConfig) { c.JWKS, c.JWKSURL = nil, "https://login.example.com/jwks" }), Options{}, ""},
		{"http loopback", with(func(c *IssuerConfig) { c.JWKS, c.JWKSURL = nil, "http://127.0.0.1:8080/jwks" }), Options{}, ""},
		{"http localhost", with(func(c *IssuerConfig) { c.JWKS, c.JWKSURL = nil, "http://localhost/jwks" }), Options{}, ""},
		{"http IPv6 loopback", with(func(c *IssuerConfig) { c.JWKS, c.JWKSURL = nil, "http://[::1]:9/jwks" }), Options{}, ""},
		{"max skew", with(func(c *IssuerConfig) { c.ClockSkew = MaxClockSkew }), Options{}, ""},
		{"no issuers", nil, Options{}, "no issuers"},
		{"empty issuer", with(func(c *IssuerConfig) { c.Issuer = "" }), Options{}, "issuer is empty"},
		{"issuer with space", with(func(c *IssuerConfig) { c.Issuer = issA + " " }), Options{}, "spaces"},
		{"issuer with control", with(func(c *IssuerConfig) { c.Issuer = issA + "\n" }), Options{}, "control"},
		{"duplicate issuer", append(with(func(c *IssuerConfig) {}), base()), Options{}, "twice"},
		{"no audiences", with(func(c *IssuerConfig) { c.Audiences = nil }), Options{}, "audience"},
		{"empty audience", with(func(c *IssuerConfig) { c.Audiences = []string{aud, ""} }), Options{}, "audience is empty"},
		{"no keys", with(func(c *IssuerConfig) { c.JWKS = nil }), Options{}, "required"},
		{"both keys", with(func(c *IssuerConfig) { c.JWKSURL = "https://login.example.com/jwks" }), Options{}, "not both"},
		{"http URL", with(func(c *IssuerConfig) { c.JWKS, c.JWKSURL = nil, "http://login.example.com/jwks" }), Options{}, "https"},
		{"http loopback lookalike", with(func(c *IssuerConfig) { c.JWKS, c.JWKSURL = nil, "http://127.0.0.1.example.com/jwks" }), Options{}, "https"},
		{"file URL", with(func(c *IssuerConfig) { c.JWKS, c.JWKSURL = nil, "file:///etc/jwks.json" }), Options{}, "absolute"},
		{"ftp URL", with(func(c *IssuerConfig) { c.JWKS, c.JWKSURL = nil, "ftp://login.example.com/jwks" }), Options{}, "https"},
		{"relative URL", with(func(c *IssuerConfig) { c.JWKS, c.JWKSURL = nil, "/jwks" }), Options{}, "absolute"},
		{"credentials in URL", with(func(c *IssuerConfig) { c.JWKS, c.JWKSURL = nil, "https://user:"+marker+"@login.example.com/jwks" }), Options{}, "credentials"},
		{"no algorithms", with(func(c *IssuerConfig) { c.Algorithms = nil }), Options{}, "algorithm"},
		{"none", with(func(c *IssuerConfig) { c.Algorithms = []string{"RS256", "none"} }), Options{}, `"none"`},
		{"NoNe", with(func(c *IssuerConfig) { c.Algorithms = []string{"NoNe"} }), Options{}, `"none"`},
		{"HS256", with(func(c *IssuerConfig) { c.Algorithms = []string{"HS256"} }), Options{}, "HMAC"},
		{"hs512", with(func(c *IssuerConfig) { c.Algorithms = []string{"hs512"} }), Options{}, "HMAC"},
		{"unknown algorithm", with(func(c *IssuerConfig) { c.Algorithms = []string{"RSA-OAEP"} }), Options{}, "unsupported"},
		{"lower-case algorithm", with(func(c *IssuerConfig) { c.Algorithms = []string{"rs256"} }), Options{}, "unsupported"},
		{"negative skew", with(func(c *IssuerConfig) { c.ClockSkew = -time.Second }), Options{}, "negative"},
		{"skew too large", with(func(c *IssuerConfig) { c.ClockSkew = MaxClockSkew + time.Second }), Options{}, "maximum"},
		{"bad type", with(func(c *IssuerConfig) { c.Type = "at jwt" }), Options{}, "type"},
		{"type only prefix", with(func(c *IssuerConfig) { c.Type = "application/" }), Options{}, "type"},
		{"static JWKS not JSON", with(func(c *IssuerConfig) { c.JWKS = []byte("{") }), Options{}, "static JWKS"},
		{"static JWKS with only a small RSA key", with(func(c *IssuerConfig) { c.JWKS = jwksDoc(t, jwk(k.rsaSmall, "s", "RS256")) }), Options{}, "no usable"},
		{"static JWKS with only an HMAC key", with(func(c *IssuerConfig) {
			c.JWKS = jwksDoc(t, jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "h", Algorithm: "HS256"})
		}), Options{}, "no usable"},
		{"negative refresh", with(func(c *IssuerConfig) {}), Options{RefreshInterval: -1}, "negative"},
		{"negative max size", with(func(c *IssuerConfig) {}), Options{MaxTokenSize: -1}, "negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(tc.issuers, tc.opt)
			if tc.wantErr == "" {
				if err != nil || v == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New accepted the configuration, want an error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("New: %v, want it to contain %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), marker) {
				t.Errorf("New error quotes a credential: %v", err)
			}
		})
	}
}

func TestParseJWKSKeepsOnlyUsableKeys(t *testing.T) {
	k := testKeys(t)
	enc := jwk(k.rsaB, "enc", "RSA-OAEP")
	enc.Use = "enc"
	wrongAlg := jwk(k.rsaB, "wrong-alg", "HS256")
	private := jose.JSONWebKey{Key: k.rsaB, KeyID: "private", Algorithm: "RS256", Use: "sig"}
	doc, err := json.Marshal(map[string]any{"keys": []any{
		jwk(k.rsaSmall, "small", "RS256"),
		enc,
		wrongAlg,
		private,
		jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "oct"},
		map[string]any{"kty": "XYZ", "kid": "unknown-type"},
		map[string]any{"kty": "RSA", "kid": "broken", "n": "AQAB"},
		"not an object",
		jwk(k.rsaA, "good-rsa", ""),
		jwk(k.ecA, "good-ec", "ES256"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	set, err := parseJWKS(doc)
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, sk := range set.keys {
		kids = append(kids, sk.kid)
	}
	if strings.Join(kids, ",") != "good-rsa,good-ec" {
		t.Errorf("kept keys %q, want good-rsa and good-ec", kids)
	}
	if keys, known := set.candidates("good-rsa", "ES256"); !known || len(keys) != 0 {
		t.Errorf("an RSA key is a candidate for ES256")
	}
	if keys, _ := set.candidates("", "RS512"); len(keys) != 1 {
		t.Errorf("a key without alg should serve every RSA algorithm, got %d candidates", len(keys))
	}
	if keys, _ := set.candidates("", "ES384"); len(keys) != 0 {
		t.Errorf("a P-256 key is a candidate for ES384")
	}

	many := make([]jose.JSONWebKey, maxKeys+1)
	for i := range many {
		many[i] = jwk(k.ecA, "k", "ES256")
	}
	if _, err := parseJWKS(jwksDoc(t, many...)); err == nil {
		t.Errorf("a JWKS with more than %d keys was accepted", maxKeys)
	}
}
