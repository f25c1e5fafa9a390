// Package identity authenticates callers and decides what they may call: API
// keys for the gateway, the admin token for the admin API, and the web
// console's users.
//
// Only a SHA-256 hash of every credential is stored. Credentials are 256-bit
// random values, so a fast hash is enough: there is nothing to brute-force.
// Console users' passwords (users.go) are generated the same way but kept
// as argon2id hashes: a password is what people write down, copy and
// reuse, so its stored form is made costly to attack whatever it is.
// Every credential starts with a fixed prefix ("pave_") so secret scanners
// can find leaked ones in code and logs.
package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pave-dev/pave/internal/secret"
)

// Credential prefixes. Keys look like pave_k_<52 base32 chars>, admin
// tokens like pave_a_<52 base32 chars> and console passwords like
// pave_u_<52 base32 chars> (UserPrefix); a scanner matches
// `pave_[aku]_[a-z2-7]{52}`.
const (
	KeyPrefix   = "pave_k_"
	AdminPrefix = "pave_a_"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// newSecret returns prefix followed by 256 random bits in lower-case base32.
func newSecret(prefix string) secret.Value {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on supported platforms; if it ever
		// does, issuing a weak credential would be worse than stopping.
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return secret.Value(prefix + strings.ToLower(b32.EncodeToString(b[:])))
}

// hashOf is the stored form of a credential.
func hashOf(s string) string {
	h := appendHash(nil, s)
	return string(h[:])
}

// appendHash appends the stored form of credential s to b, which a
// caller can keep on its stack.
func appendHash(b []byte, s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return hex.AppendEncode(b, sum[:])
}

// ErrRepeatedAuthorization is returned by Bearer for a request with more
// than one Authorization header.
var ErrRepeatedAuthorization = errors.New("more than one Authorization header")

// Bearer returns the bearer token of the Authorization header in h, or ""
// when there is none or it is not a bearer token. More than one
// Authorization header is an error, whatever they hold: which of them
// counts would differ between a proxy in front of pave, pave itself and the
// function behind it, so a request carrying two credentials is refused
// rather than read as either.
func Bearer(h http.Header) (string, error) {
	v := h.Values("Authorization")
	switch len(v) {
	case 0:
		return "", nil
	case 1:
		return BearerToken(v[0]), nil
	}
	return "", ErrRepeatedAuthorization
}

// BearerToken extracts the token from an Authorization header value, or "".
func BearerToken(header string) string {
	const prefix = "Bearer "
	if len(header) <= len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return ""
	}
	return strings.TrimSpace(header[len(prefix):])
}

// ContainsCredential reports whether s holds something that looks like a
// pave API key, admin token or console password, under any scheme or none.
func ContainsCredential(s string) bool {
	return strings.Contains(s, KeyPrefix) || strings.Contains(s, AdminPrefix) || strings.Contains(s, UserPrefix)
}
