package oidc

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestVerifiedCache checks that a remembered token is held to everything a
// fresh one is, except its signature, which was verified once.
func TestVerifiedCache(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	claims := e.claims()
	claims["exp"] = e.clock.Now().Add(2 * time.Minute).Unix()
	claims["iss"] = issB
	tok := sign(t, e.keys.rsaB, hdr("RS256", "b-rsa"), claims)
	for i := range 3 {
		if _, err := e.v.Verify(ctx, tok); err != nil {
			t.Fatalf("use %d: %v", i, err)
		}
	}
	if n := len(e.v.verified.entries); n != 1 {
		t.Errorf("%d cache entries after three uses of one token, want 1", n)
	}
	// A token differing in its last byte is verified in full, and fails.
	tampered := tok[:len(tok)-1] + string("AB"[func() int {
		if tok[len(tok)-1] == 'A' {
			return 1
		}
		return 0
	}()])
	if _, err := e.v.Verify(ctx, tampered); err == nil {
		t.Error("a token differing from a remembered one in its signature was accepted")
	}
	// Expiry is checked on every use, remembered or not.
	e.clock.Advance(2*time.Minute + DefaultClockSkew)
	if _, err := e.v.Verify(ctx, tok); !errors.Is(err, ErrExpired) {
		t.Errorf("remembered token after its exp: %v, want ErrExpired", err)
	}
}

func TestVerifiedCacheIsBounded(t *testing.T) {
	var c verifiedCache
	now := time.Unix(1000, 0)
	for i := range maxVerifiedSize * 3 {
		c.put(sha256.Sum256(fmt.Appendf(nil, "token-%d", i)), verifiedToken{expires: now.Add(time.Minute)}, now)
		if len(c.entries) > maxVerifiedSize {
			t.Fatalf("%d entries, above the bound of %d", len(c.entries), maxVerifiedSize)
		}
	}
	key := sha256.Sum256([]byte("late"))
	c.put(key, verifiedToken{expires: now.Add(time.Minute)}, now)
	if _, ok := c.get(key, now.Add(time.Minute)); ok {
		t.Error("an entry was served at its expiry")
	}
}
