package identity

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestKeyReplace(t *testing.T) {
	ctx := context.Background()
	keys, err := NewKeys(ctx, newMem())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	keys.now = func() time.Time { return now }
	secret, _, err := keys.Create(ctx, "ci", []string{"a"}, KeyOptions{TTL: time.Hour, Scopes: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	later := now.Add(48 * time.Hour)
	key, err := keys.Replace(ctx, "ci", KeyChange{Functions: []string{"b", "a"}, Scopes: []string{"y"}, CIDRs: []string{"10.1.0.0/8"}, ExpiresAt: &later})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(key.Functions, ",") != "a,b" || strings.Join(key.Scopes, ",") != "y" || key.CIDRs[0] != "10.0.0.0/8" || !key.ExpiresAt.Equal(later) {
		t.Fatalf("updated key %+v", key)
	}
	// The secret is the same: callers keep working, with the new grants.
	got, err := keys.Authenticate(secret.Reveal())
	if err != nil || got.Authorize("b", []string{"y"}, netip.MustParseAddr("10.2.3.4"), now.Add(2*time.Hour)) != nil {
		t.Fatalf("after update: %+v %v", got, err)
	}
	if got.Authorize("b", []string{"x"}, netip.MustParseAddr("10.2.3.4"), now) == nil {
		t.Fatal("the old scope still authorizes")
	}
	// No expiry clears it.
	if key, err = keys.Replace(ctx, "ci", KeyChange{Functions: []string{"a"}}); err != nil || key.ExpiresAt != nil || key.Scopes != nil {
		t.Fatalf("update without expiry: %+v %v", key, err)
	}
	for _, tc := range []struct {
		name string
		c    KeyChange
		want error
	}{
		{"nope", KeyChange{Functions: []string{"a"}}, ErrKeyNotFound},
		{"ci", KeyChange{}, ErrInvalidKey},
		{"ci", KeyChange{Functions: []string{"a"}, CIDRs: []string{"x"}}, ErrInvalidKey},
	} {
		if _, err := keys.Replace(ctx, tc.name, tc.c); !errors.Is(err, tc.want) {
			t.Errorf("Replace(%s, %+v) = %v, want %v", tc.name, tc.c, err, tc.want)
		}
	}
	if err := keys.Revoke(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Replace(ctx, "ci", KeyChange{Functions: []string{"a"}}); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("a revoked key was updated: %v", err)
	}
}
