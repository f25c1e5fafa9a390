package oidc

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Claims are the claims of a verified token.
type Claims struct {
	Issuer   string
	Subject  string
	Audience []string
	// Scopes come from the issuer's scope claim and from "scp".
	Scopes []string
	Roles  []string
	Expiry time.Time
	// Extra holds every claim as decoded JSON, numbers as json.Number so
	// that large integers keep their precision. ClaimRequirement reads it.
	Extra map[string]any
}

// Requirement is what a route demands of a verified token. Empty fields
// demand nothing; the demands that are set must all hold.
type Requirement struct {
	// Issuer, if set, is the issuer the token must come from.
	Issuer string
	// Scopes must all be granted.
	Scopes []string
	// Roles must all be held (ALL, not any: a route that accepts any of
	// several roles is better served by a dedicated role).
	Roles []string
	// Claims must all be satisfied.
	Claims []ClaimRequirement
}

// ClaimRequirement demands something of one claim.
//
// Name is a top-level claim name, or a dotted path "a.b" that descends into
// objects. A claim whose own name contains dots (such as a URL-named claim)
// is found too: at each level the whole remaining name is tried first, then
// each split at a dot from left to right.
//
// With Equals set, the claim must be a string, number or boolean whose
// canonical rendering equals Equals: strings as they are, booleans as "true"
// or "false", numbers in their shortest decimal form, so that 1, 1.0 and 1e0
// all equal "1" (Equals is itself canonicalised when it is a number). With
// Contains set, the claim must be an array with an element rendering as
// Contains, or a space-separated string holding Contains as a word. With
// both, both must hold; with neither, the claim must merely be present and
// not null.
type ClaimRequirement struct {
	Name     string
	Equals   string
	Contains string
}

// Check returns nil if c meets r, or an error wrapping ErrForbidden that
// names the first requirement not met. The error never quotes a claim
// value, nor a required value other than a scope or role name.
func (c *Claims) Check(r Requirement) error {
	if c == nil {
		return fmt.Errorf("%w: no verified token", ErrForbidden)
	}
	if r.Issuer != "" && c.Issuer != r.Issuer {
		return fmt.Errorf("%w: token is not from the required issuer", ErrForbidden)
	}
	for _, s := range r.Scopes {
		if !contains(c.Scopes, s) {
			return fmt.Errorf("%w: missing scope %q", ErrForbidden, s)
		}
	}
	for _, role := range r.Roles {
		if !contains(c.Roles, role) {
			return fmt.Errorf("%w: missing role %q", ErrForbidden, role)
		}
	}
	for _, cr := range r.Claims {
		if err := cr.check(c.Extra); err != nil {
			return err
		}
	}
	return nil
}

func (cr ClaimRequirement) check(claims map[string]any) error {
	if cr.Name == "" {
		return fmt.Errorf("%w: a claim requirement has no claim name", ErrForbidden)
	}
	v, ok := lookup(claims, cr.Name)
	if !ok || v == nil {
		return fmt.Errorf("%w: claim %q is missing", ErrForbidden, cr.Name)
	}
	if cr.Equals != "" {
		s, ok := render(v)
		if !ok || s != canonicalRequired(v, cr.Equals) {
			return fmt.Errorf("%w: claim %q does not equal the required value", ErrForbidden, cr.Name)
		}
	}
	if cr.Contains != "" && !claimContains(v, cr.Contains) {
		return fmt.Errorf("%w: claim %q does not contain the required value", ErrForbidden, cr.Name)
	}
	return nil
}

// lookup finds a claim by name or dotted path.
func lookup(m map[string]any, path string) (any, bool) {
	if v, ok := m[path]; ok {
		return v, true
	}
	for i := 0; i < len(path); i++ {
		if path[i] != '.' {
			continue
		}
		if sub, ok := m[path[:i]].(map[string]any); ok {
			if v, ok := lookup(sub, path[i+1:]); ok {
				return v, true
			}
		}
	}
	return nil, false
}

// render returns the canonical string of a scalar claim value.
func render(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case json.Number:
		return canonicalNumber(string(x))
	case float64:
		return canonicalFloat(x)
	}
	return "", false
}

// canonicalRequired renders a required value the way render renders a
// number claim, so that "1.50" in a route matches 1.5 in a token.
func canonicalRequired(claim any, want string) string {
	switch claim.(type) {
	case json.Number, float64:
		if s, ok := canonicalNumber(want); ok {
			return s
		}
	}
	return want
}

// canonicalNumber renders a JSON number literal: integer literals exactly,
// other numbers through float64 in their shortest form.
func canonicalNumber(lit string) (string, bool) {
	if !strings.ContainsAny(lit, ".eE") {
		n, ok := new(big.Int).SetString(lit, 10)
		if !ok {
			return "", false
		}
		return n.String(), true
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return "", false
	}
	return canonicalFloat(f)
}

func canonicalFloat(f float64) (string, bool) {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return "", false
	case f == math.Trunc(f) && math.Abs(f) < 1e21:
		if f == 0 {
			f = 0 // no "-0"
		}
		return strconv.FormatFloat(f, 'f', -1, 64), true
	default:
		return strconv.FormatFloat(f, 'g', -1, 64), true
	}
}

func claimContains(v any, want string) bool {
	switch x := v.(type) {
	case string:
		return contains(words(x), want)
	case []any:
		for _, e := range x {
			if s, ok := render(e); ok && s == canonicalRequired(e, want) {
				return true
			}
		}
	}
	return false
}

// Caller parts: each of issuer and subject is shown in at most
// maxCallerPart bytes; a longer one keeps a prefix of callerPrefix bytes
// followed by hashMark and the SHA-256 of the whole part in hex.
const (
	maxCallerPart = 128
	hashMark      = "%sha256:"
	callerPrefix  = maxCallerPart - len(hashMark) - 2*sha256.Size
)

// Caller is the identity of the token's holder, used as the caller of its
// calls, its rate-limit bucket and the scope of its idempotency keys:
// "jwt:" + issuer + "#" + subject, each encoded so that the mapping is
// injective and the result is always safe to log:
//
//   - A character is kept as it is if it is printable (unicode.IsPrint)
//     and not a space, "%" or, in the issuer, "#". Every other byte of its
//     UTF-8 encoding, and every byte that is not valid UTF-8, is written
//     as "%" and two upper-case hex digits. So "alice\u200b" is
//     "alice%E2%80%8B", never "alice", and the first "#" always ends the
//     issuer.
//   - A part longer than 128 bytes once encoded is cut, at a character or
//     escape boundary, to at most 56 bytes, followed by "%sha256:" and the
//     64 hex digits of the SHA-256 of the whole part. No encoded part
//     contains "%s", so a hashed part never equals a shown one, and two
//     long parts share a caller only if their hashes collide.
//
// The result holds only printable, non-space characters and is at most
// 4 + 128 + 1 + 128 bytes long.
func (c *Claims) Caller() string {
	return "jwt:" + callerPart(c.Issuer, true) + "#" + callerPart(c.Subject, false)
}

// callerPart encodes one part of Caller.
func callerPart(s string, isIssuer bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	cut := -1 // the length of the prefix kept if s is hashed
	for i := 0; i < len(s) && b.Len() <= maxCallerPart; {
		r, size := utf8.DecodeRuneInString(s[i:])
		before := b.Len()
		if shownAsIs(r, size, isIssuer) {
			b.WriteString(s[i : i+size])
		} else {
			for _, c := range []byte(s[i : i+size]) {
				b.WriteByte('%')
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&15])
			}
		}
		if cut < 0 && b.Len() > callerPrefix {
			cut = before
		}
		i += size
	}
	if b.Len() <= maxCallerPart {
		return b.String()
	}
	sum := sha256.Sum256([]byte(s))
	return b.String()[:cut] + hashMark + hex.EncodeToString(sum[:])
}

// shownAsIs reports whether the rune r, of size bytes, appears in Caller
// as it is.
func shownAsIs(r rune, size int, isIssuer bool) bool {
	switch {
	case r == utf8.RuneError && size == 1: // not valid UTF-8
		return false
	case r == ' ' || r == '%' || (isIssuer && r == '#'):
		return false
	}
	return unicode.IsPrint(r)
}
