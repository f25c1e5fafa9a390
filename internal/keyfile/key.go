package keyfile

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// NewKey returns n random bytes in base64, the line of a new key file.
func NewKey(n int) ([]byte, error) {
	raw := make([]byte, n)
	defer clear(raw)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	return base64.StdEncoding.AppendEncode(nil, raw), nil
}

// DecodeKey reads a key of n random bytes written in base64 (standard or
// URL alphabet, with or without padding; surrounding white space is
// ignored), as a key file or the environment holds it. It refuses a key of
// another length and one of zero bytes only. The caller clears the result
// when done; the errors never quote s, and say what is wrong with "it",
// for the caller to name the key.
func DecodeKey(s string, n int) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("it is empty")
	}
	// The two alphabets differ in two characters and padding is optional,
	// so pick the decoder from the text rather than trying each in turn.
	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if !strings.HasSuffix(s, "=") {
		enc = enc.WithPadding(base64.NoPadding)
	}
	raw, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("it is not base64 (make one with: openssl rand -base64 %d)", n)
	}
	if len(raw) != n {
		clear(raw)
		return nil, fmt.Errorf("it must be %d bytes, not %d", n, len(raw))
	}
	if subtle.ConstantTimeCompare(raw, make([]byte, n)) == 1 {
		return nil, errors.New("it is all zero bytes, not random")
	}
	return raw, nil
}
