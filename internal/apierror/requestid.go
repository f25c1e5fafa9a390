package apierror

import (
	"crypto/rand"
	"encoding/base32"
)

// idEncoding is base32 in lower case, without padding.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewRequestID returns a random, URL-safe request id: 16 lower-case base32
// characters (80 bits). Every response carries one in X-Request-Id and in
// its error body, and every log line and record of the request repeats it.
func NewRequestID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	var id [16]byte
	idEncoding.Encode(id[:], b[:])
	return string(id[:])
}
