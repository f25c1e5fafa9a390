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
// Equals and Contains are typed values: a string, a json.Number or a bool
// (nil demands nothing). A value matches a claim of the same JSON type
// only: a string only a string, equal byte for byte; a bool only the same
// bool; a number only a number of equal value, so 1 matches 1, 1.0 and
// 1e0 but never "1", and "1" never matches 1. Numbers written as integers
// (no fraction or exponent) compare exactly, others as 64-bit floats.
//
// With Equals set, the claim must equal it. With Contains set, the claim
// must be an array with an element that equals it, or a string of words
// separated by U+0020 of which one equals it (Contains then a string).
// With both, both must hold; with neither, the claim must merely be present
// and not null.
type ClaimRequirement struct {
	Name     string
	Equals   any
	Contains any
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
	if cr.Equals != nil && !equal(v, cr.Equals) {
		return fmt.Errorf("%w: claim %q does not equal the required value", ErrForbidden, cr.Name)
	}
	if cr.Contains != nil && !claimContains(v, cr.Contains) {
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

// equal reports whether the claim value v equals the required value want,
// both of the same JSON type.
func equal(v, want any) bool {
	switch w := want.(type) {
	case string:
		s, ok := v.(string)
		return ok && s == w
	case bool:
		b, ok := v.(bool)
		return ok && b == w
	case json.Number:
		switch n := v.(type) {
		case json.Number:
			return numbersEqual(string(n), string(w))
		case float64:
			return numbersEqual(strconv.FormatFloat(n, 'g', -1, 64), string(w))
		}
	}
	return false
}

// numbersEqual compares two JSON number literals by value: exactly when
// both are integers, as float64 otherwise. A literal that is not a finite
// number equals nothing.
func numbersEqual(a, b string) bool {
	if !strings.ContainsAny(a, ".eE") && !strings.ContainsAny(b, ".eE") {
		x, okA := new(big.Int).SetString(a, 10)
		y, okB := new(big.Int).SetString(b, 10)
		return okA && okB && x.Cmp(y) == 0
	}
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	return errA == nil && errB == nil && !math.IsInf(x, 0) && !math.IsNaN(x) && x == y
}

func claimContains(v, want any) bool {
	switch x := v.(type) {
	case string:
		w, ok := want.(string)
		return ok && contains(words(x), w)
	case []any:
		for _, e := range x {
			if equal(e, want) {
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
