package apierror

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewRequestID returns a random, URL-safe request id: 16 lower-case base32
// characters (80 bits). Every response carries one in X-Request-Id and in
// its error body, and every log line and record of the request repeats it.
func NewRequestID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(idEncoding.EncodeToString(b[:]))
}
