package oidc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// maxNumericDate is 9999-12-31T23:59:59Z; later dates are malformed.
const maxNumericDate = 253402300799

// strictB64 refuses padding and non-zero trailing bits, so that each byte
// string has exactly one encoding.
var strictB64 = base64.RawURLEncoding.Strict()

// Header parameters that change how a JWS is processed. pave implements
// none of these extensions, and "enc" or "zip" belong to encrypted tokens.
var refusedHeaders = []string{"crit", "b64", "enc", "zip"}

// compact is a token split and decoded, not yet verified.
type compact struct {
	alg, kid, typ string
	payload       []byte
	claims        map[string]any
}

// Verify checks token and returns its claims. ctx bounds how long Verify
// waits for a JWKS fetch; the fetch itself is shared with concurrent callers
// and bounded by the HTTP client.
//
// A token is accepted when it is a compact JWS of at most MaxTokenSize
// bytes; its "iss" names a configured issuer; its "alg" is in that issuer's
// allowlist; its "typ" matches the issuer's Type, if set; one of the
// issuer's keys verifies its signature; it has a non-empty string "sub";
// "exp" is in the future and "nbf" and "iat", if present, are not, each
// within the issuer's clock skew; and "aud" holds one of the issuer's
// audiences.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if len(token) > v.maxSize {
		return nil, fmt.Errorf("%w: token is longer than %d bytes", ErrMalformed, v.maxSize)
	}
	now := v.now()
	key := sha256.Sum256([]byte(token))
	if e, ok := v.verified.get(key, now); ok {
		// The keys that verified the token must still be the issuer's
		// current ones: after a JWKS refresh, tokens are verified afresh.
		if set, err := e.is.keys.current(ctx); err == nil && set == e.keys {
			return e.is.validate(e.claims, now)
		}
	}
	t, err := splitCompact(token)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(t.alg, "none") {
		return nil, fmt.Errorf("%w: unsigned tokens are not accepted", ErrAlgorithm)
	}
	iss, ok := t.claims["iss"].(string)
	if !ok {
		return nil, fmt.Errorf("%w: token has no iss claim", ErrMalformed)
	}
	is := v.issuers[iss]
	if is == nil {
		return nil, fmt.Errorf("%w: no trusted issuer matches the token's iss claim", ErrUnknownIssuer)
	}
	if !is.algs[t.alg] {
		return nil, fmt.Errorf("%w: the issuer's tokens may not use this algorithm", ErrAlgorithm)
	}
	if is.typ != "" && normaliseType(t.typ) != is.typ {
		return nil, fmt.Errorf("%w: header typ must be %q", ErrType, is.typ)
	}

	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(t.alg)})
	if err != nil {
		// go-jose's message may quote header values; keep it out.
		return nil, fmt.Errorf("%w: token header is not a valid JWS header", ErrMalformed)
	}
	if len(tok.Headers) != 1 || string(tok.Headers[0].Algorithm) != t.alg || tok.Headers[0].KeyID != t.kid {
		return nil, fmt.Errorf("%w: token header is ambiguous", ErrMalformed)
	}
	payload, set, err := verifySignature(ctx, is, tok, t.kid, t.alg)
	if err != nil {
		return nil, err
	}
	// go-jose verified the payload it decoded itself; it must be the one
	// whose claims are checked below.
	if !bytes.Equal(payload, t.payload) {
		return nil, fmt.Errorf("%w: token payload is ambiguous", ErrMalformed)
	}
	c, err := is.validate(t.claims, now)
	if err == nil {
		v.verified.put(key, verifiedToken{is: is, keys: set, claims: t.claims, expires: now.Add(verifiedTTL)}, now)
	}
	return c, err
}

// splitCompact decodes the three parts of a compact JWS strictly and parses
// header and payload as JSON objects.
func splitCompact(token string) (*compact, error) {
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return nil, fmt.Errorf("%w: token is not a compact JWS (unexpected character)", ErrMalformed)
		}
	}
	parts := strings.Split(token, ".")
	switch len(parts) {
	case 3:
	case 5:
		return nil, fmt.Errorf("%w: encrypted tokens (JWE) are not accepted", ErrMalformed)
	default:
		return nil, fmt.Errorf("%w: token is not a compact JWS (want three dot-separated parts)", ErrMalformed)
	}
	var dec [3][]byte
	for i, p := range parts {
		b, err := strictB64.DecodeString(p)
		if err != nil {
			return nil, fmt.Errorf("%w: token part %d is not canonical base64url", ErrMalformed, i+1)
		}
		dec[i] = b
	}

	var header map[string]json.RawMessage
	if err := json.Unmarshal(dec[0], &header); err != nil || header == nil {
		return nil, fmt.Errorf("%w: token header is not a JSON object", ErrMalformed)
	}
	for _, name := range refusedHeaders {
		if _, ok := header[name]; ok {
			return nil, fmt.Errorf("%w: token header parameter %q is not supported", ErrMalformed, name)
		}
	}
	t := &compact{payload: dec[1]}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"alg", &t.alg}, {"kid", &t.kid}, {"typ", &t.typ}} {
		name, dst := f.name, f.dst
		raw, ok := header[name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return nil, fmt.Errorf("%w: token header %q is not a string", ErrMalformed, name)
		}
	}
	if t.alg == "" {
		return nil, fmt.Errorf("%w: token header has no alg", ErrMalformed)
	}

	d := json.NewDecoder(bytes.NewReader(dec[1]))
	d.UseNumber()
	if err := d.Decode(&t.claims); err != nil || t.claims == nil {
		return nil, fmt.Errorf("%w: token payload is not a JSON object", ErrMalformed)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: token payload is not a JSON object", ErrMalformed)
	}
	return t, nil
}

// rawPayload captures the payload bytes go-jose verified.
type rawPayload []byte

func (p *rawPayload) UnmarshalJSON(b []byte) error {
	*p = append((*p)[:0], b...)
	return nil
}

// verifySignature finds the issuer keys that may have signed tok and returns
// the payload once one of them verifies it. Only the issuer's JWKS is
// consulted: keys named or embedded in the header are never used.
func verifySignature(ctx context.Context, is *issuer, tok *jwt.JSONWebToken, kid, alg string) ([]byte, *keySet, error) {
	set, err := is.keys.current(ctx)
	if err != nil {
		return nil, nil, err
	}
	keys, known := set.candidates(kid, alg)
	if !known {
		// The issuer may have rotated its keys. The refetch is rate limited,
		// so random key ids cost at most one fetch per MinRefetch.
		if set, err = is.keys.refetch(ctx); err != nil {
			return nil, nil, err
		}
		if keys, known = set.candidates(kid, alg); !known {
			return nil, nil, fmt.Errorf("%w: no key of the issuer matches the token", ErrSignature)
		}
	}
	for _, k := range keys {
		var p rawPayload
		if err := tok.Claims(k, &p); err == nil {
			return p, set, nil
		}
	}
	return nil, nil, fmt.Errorf("%w: signature does not verify with the issuer's keys", ErrSignature)
}

// validate checks the registered claims of a token whose signature verified
// and returns its Claims.
func (is *issuer) validate(m map[string]any, now time.Time) (*Claims, error) {
	c := &Claims{Issuer: is.name, Extra: m}

	sub, ok := m["sub"].(string)
	if !ok || sub == "" {
		return nil, fmt.Errorf("%w: token has no sub claim", ErrMalformed)
	}
	c.Subject = sub

	exp, ok, err := numericDate(m, "exp")
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, fmt.Errorf("%w: token has no exp claim", ErrMalformed)
	case !now.Before(exp.Add(is.skew)):
		return nil, ErrExpired
	}
	c.Expiry = exp
	nbf, ok, err := numericDate(m, "nbf")
	switch {
	case err != nil:
		return nil, err
	case ok && now.Add(is.skew).Before(nbf):
		return nil, ErrNotYetValid
	}
	iat, ok, err := numericDate(m, "iat")
	switch {
	case err != nil:
		return nil, err
	case ok && iat.After(now.Add(is.skew)):
		return nil, ErrIssuedInFuture
	}

	aud, err := audience(m["aud"])
	if err != nil {
		return nil, err
	}
	c.Audience = aud
	if !anyShared(aud, is.audiences) {
		return nil, fmt.Errorf("%w: token is not meant for this service", ErrAudience)
	}

	c.Scopes = scopes(m, is.scopeClaim)
	c.Roles = roles(m, is.rolesClaim)
	return c, nil
}

// numericDate reads a NumericDate claim (RFC 7519 section 2): seconds since
// the epoch, possibly fractional.
func numericDate(m map[string]any, name string) (time.Time, bool, error) {
	v, ok := m[name]
	if !ok {
		return time.Time{}, false, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false, fmt.Errorf("%w: claim %q is not a number", ErrMalformed, name)
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return time.Time{}, false, fmt.Errorf("%w: claim %q is out of range", ErrMalformed, name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true, nil
}

// audience reads "aud": a string or an array of strings.
func audience(v any) ([]string, error) {
	switch a := v.(type) {
	case nil:
		return nil, fmt.Errorf("%w: token has no aud claim", ErrAudience)
	case string:
		return []string{a}, nil
	case []any:
		out := make([]string, 0, len(a))
		for _, e := range a {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%w: claim \"aud\" holds a value that is not a string", ErrMalformed)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: claim \"aud\" is neither a string nor an array", ErrMalformed)
}

func anyShared(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// scopes collects the scopes from the configured claim and from "scp".
// Each may be a string of scopes separated by U+0020 or an array of strings; values of
// other types grant nothing.
func scopes(m map[string]any, claim string) []string {
	var out []string
	for _, name := range []string{claim, scpClaim} {
		v, _ := lookup(m, name)
		switch s := v.(type) {
		case string:
			out = appendNew(out, words(s)...)
		case []any:
			for _, e := range s {
				if str, ok := e.(string); ok && str != "" {
					out = appendNew(out, str)
				}
			}
		}
		if claim == scpClaim {
			break
		}
	}
	return out
}

// words splits a space-separated list at U+0020 only, as RFC 6749
// section 3.3 defines scopes. Any other space or control character is part
// of a word, and such a word matches nothing a route can require: "x\u00a0a"
// is one opaque scope, never the scope "a".
func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' })
}

// roles reads the roles claim: an array of strings, or one role as a string.
func roles(m map[string]any, claim string) []string {
	v, _ := lookup(m, claim)
	switch r := v.(type) {
	case string:
		if r != "" {
			return []string{r}
		}
	case []any:
		var out []string
		for _, e := range r {
			if s, ok := e.(string); ok && s != "" {
				out = appendNew(out, s)
			}
		}
		return out
	}
	return nil
}

// appendNew appends the values not yet in list.
func appendNew(list []string, values ...string) []string {
	for _, v := range values {
		if !contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
