package oidc

import (
	"crypto/sha256"
	"sync"
	"time"
)

// Verifying a signature is most of what a token costs: tens of
// microseconds for ES256 or RS256, against about one for hashing the token.
// A client sends the same token with every request until it expires, so the
// Verifier remembers, for a short while, the tokens whose signatures it
// verified. A hit skips parsing and the signature only: the time claims and
// the audience are checked again on every use, so a remembered token still
// expires on time.
//
// The cache is keyed by the SHA-256 of the whole token, so a token that
// differs in any byte (another signature, a changed claim) is a miss and is
// verified in full. An entry is used only while the issuer's key set is the
// one that verified it: once a refresh of the JWKS replaces the set, every
// token is verified again, so a key the issuer withdraws stops vouching for
// remembered tokens exactly when it stops vouching for new ones. An entry
// lives at most verifiedTTL in any case.
const (
	verifiedTTL     = time.Minute
	maxVerifiedSize = 10000
)

type verifiedToken struct {
	is      *issuer
	keys    *keySet // the key set that verified the signature
	claims  map[string]any
	expires time.Time // of the cache entry
}

type verifiedCache struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]verifiedToken
}

func (c *verifiedCache) get(key [sha256.Size]byte, now time.Time) (verifiedToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return verifiedToken{}, false
	}
	if !now.Before(e.expires) {
		delete(c.entries, key)
		return verifiedToken{}, false
	}
	return e, true
}

func (c *verifiedCache) put(key [sha256.Size]byte, e verifiedToken, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[[sha256.Size]byte]verifiedToken)
	}
	if len(c.entries) >= maxVerifiedSize {
		// Drop what has expired; if that frees nothing, start over rather
		// than grow: a flood of distinct valid tokens costs verifications,
		// never memory.
		for k, v := range c.entries {
			if !now.Before(v.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxVerifiedSize {
			clear(c.entries)
		}
	}
	c.entries[key] = e
}
