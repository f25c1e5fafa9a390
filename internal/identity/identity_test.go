package identity

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/store"
)

// memRecords is an in-memory Records with revisions, enough to test the
// key logic without a NATS server (the daemon tests use the real one).
type memRecords struct {
	rev  uint64
	data map[string]store.Entry
}

func newMem() *memRecords { return &memRecords{data: map[string]store.Entry{}} }

func (m *memRecords) Get(_ context.Context, key string) (store.Entry, error) {
	e, ok := m.data[key]
	if !ok {
		return store.Entry{}, store.ErrNotFound
	}
	return e, nil
}

func (m *memRecords) Create(_ context.Context, key string, v []byte) (uint64, error) {
	if _, ok := m.data[key]; ok {
		return 0, store.ErrExists
	}
	return m.put(key, v), nil
}

func (m *memRecords) Update(_ context.Context, key string, v []byte, rev uint64) (uint64, error) {
	if m.data[key].Revision != rev {
		return 0, store.ErrConflict
	}
	return m.put(key, v), nil
}

func (m *memRecords) Put(_ context.Context, key string, v []byte) (uint64, error) {
	return m.put(key, v), nil
}

func (m *memRecords) Watch(_ context.Context, fn func(store.Entry), ready func()) error {
	for _, e := range m.data {
		fn(e)
	}
	ready()
	return nil
}

func (m *memRecords) put(key string, v []byte) uint64 {
	m.rev++
	m.data[key] = store.Entry{Key: key, Value: v, Revision: m.rev}
	return m.rev
}

func TestKeyLifecycle(t *testing.T) {
	ctx := context.Background()
	keys, err := NewKeys(ctx, newMem())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	keys.now = func() time.Time { return now }

	secret, key, err := keys.Create(ctx, "ci", []string{"b", "a", "a"}, KeyOptions{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^pave_k_[a-z2-7]{52}$`).MatchString(secret.Reveal()) {
		t.Fatalf("key %q does not have the documented, scannable form", secret.Reveal())
	}
	if strings.Contains(key.Hash, secret.Reveal()) || key.Hash == "" {
		t.Fatal("the stored record must hold a hash only")
	}
	got, err := keys.Authenticate(secret.Reveal())
	if err != nil || got.Name != "ci" {
		t.Fatalf("authenticate: %v %v", got, err)
	}
	tests := []struct {
		fn   string
		at   time.Time
		want error
	}{
		{"a", now, nil},
		{"b", now.Add(59 * time.Minute), nil},
		{"c", now, ErrNotAllowed},
		{"a", now.Add(time.Hour), ErrExpired},
	}
	for _, tt := range tests {
		if err := got.Authorize(tt.fn, nil, netip.Addr{}, tt.at); err != tt.want {
			t.Errorf("Authorize(%s, %s) = %v, want %v", tt.fn, tt.at, err, tt.want)
		}
	}
	if _, _, err := keys.Create(ctx, "ci", []string{"a"}, KeyOptions{}); err == nil {
		t.Fatal("a live key's name was reused")
	}
	if err := keys.Revoke(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	got, _ = keys.Authenticate(secret.Reveal())
	if err := got.Authorize("a", nil, netip.Addr{}, now); err != ErrRevoked {
		t.Fatalf("revoked key authorizes: %v", err)
	}
	// A revoked key's name can be reused; the old secret stops working.
	fresh, _, err := keys.Create(ctx, "ci", []string{"a"}, KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Authenticate(secret.Reveal()); err != ErrUnknownKey {
		t.Fatalf("replaced key still authenticates: %v", err)
	}
	if _, err := keys.Authenticate(fresh.Reveal()); err != nil {
		t.Fatal(err)
	}
}

func TestKeyUpdateFunctions(t *testing.T) {
	ctx := context.Background()
	keys, err := NewKeys(ctx, newMem())
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := keys.Create(ctx, "ci", []string{"a", "b"}, KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		add, remove []string
		want        []string
		wantErr     error
	}{
		{add: []string{"c", "a"}, want: []string{"a", "b", "c"}},
		{remove: []string{"a", "nope"}, want: []string{"b", "c"}},
		{add: []string{"d"}, remove: []string{"b"}, want: []string{"c", "d"}},
		{remove: []string{"c", "d"}, wantErr: ErrInvalidKey},
		{add: []string{"e"}, remove: []string{"e"}, wantErr: ErrInvalidKey},
		{wantErr: ErrInvalidKey},
	}
	for _, tt := range tests {
		key, err := keys.UpdateFunctions(ctx, "ci", tt.add, tt.remove)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("add %v remove %v: %v, want %v", tt.add, tt.remove, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(key.Functions, tt.want) {
			t.Fatalf("add %v remove %v: %v %v, want %v", tt.add, tt.remove, err, key, tt.want)
		}
		// The secret is kept, and it reaches the functions as changed.
		got, err := keys.Authenticate(secret.Reveal())
		if err != nil || !slices.Equal(got.Functions, tt.want) {
			t.Fatalf("after the update the key is %v, %v", got, err)
		}
	}
	if _, err := keys.UpdateFunctions(ctx, "nobody", []string{"a"}, nil); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("update of a missing key: %v", err)
	}
	if err := keys.Revoke(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.UpdateFunctions(ctx, "ci", []string{"a"}, nil); !errors.Is(err, ErrKeyRevoked) {
		t.Errorf("update of a revoked key: %v", err)
	}
}

func TestKeyCreateRefusals(t *testing.T) {
	keys, _ := NewKeys(context.Background(), newMem())
	for _, tc := range []struct {
		name string
		fns  []string
		ttl  time.Duration
	}{
		{"", []string{"a"}, 0},
		{"Upper", []string{"a"}, 0},
		{"has space", []string{"a"}, 0},
		{strings.Repeat("a", 64), []string{"a"}, 0},
		{"ok", nil, 0},
		{"ok", []string{"a"}, -time.Second},
	} {
		if _, _, err := keys.Create(context.Background(), tc.name, tc.fns, KeyOptions{TTL: tc.ttl}); err == nil {
			t.Errorf("Create(%q, %v, %s) succeeded", tc.name, tc.fns, tc.ttl)
		}
	}
}

func TestAuthenticateRefusals(t *testing.T) {
	keys, _ := NewKeys(context.Background(), newMem())
	secret, _, _ := keys.Create(context.Background(), "k", []string{"a"}, KeyOptions{})
	for _, token := range []string{"", "pave_k_", secret.Reveal() + "x", strings.ToUpper(secret.Reveal()), secret.Reveal()[:len(secret)-1]} {
		if _, err := keys.Authenticate(token); err == nil {
			t.Errorf("token %q authenticated", token)
		}
	}
}

func TestAdminToken(t *testing.T) {
	ctx := context.Background()
	settings := newMem()
	file := t.TempDir() + "/admin.token"
	a, created, err := EnsureAdmin(ctx, settings, file)
	if err != nil || !created {
		t.Fatalf("first start: %v %v", created, err)
	}
	again, created, err := EnsureAdmin(ctx, settings, file)
	if err != nil || created {
		t.Fatalf("second start made a new token: %v", err)
	}
	token := readFile(t, file)
	if !a.Check(token) || !again.Check(token) {
		t.Fatal("the written token does not check")
	}
	for _, bad := range []string{"", token + "x", strings.TrimPrefix(token, AdminPrefix)} {
		if a.Check(bad) {
			t.Errorf("%q checks as the admin token", bad)
		}
	}
	for _, e := range settings.data {
		if strings.Contains(string(e.Value), token) {
			t.Fatal("the token itself is stored")
		}
	}
}

func TestBearerToken(t *testing.T) {
	for in, want := range map[string]string{
		"Bearer abc":   "abc",
		"bearer abc":   "abc",
		"Bearer  abc ": "abc",
		"Basic abc":    "",
		"Bearer":       "",
		"Bearer ":      "",
		"":             "",
		"abc":          "",
	} {
		if got := BearerToken(in); got != want {
			t.Errorf("BearerToken(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBearer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		values  []string
		want    string
		refused bool
	}{
		{"none", nil, "", false},
		{"one", []string{"Bearer abc"}, "abc", false},
		{"one, not bearer", []string{"Basic abc"}, "", false},
		{"two", []string{"Bearer abc", "Bearer def"}, "", true},
		{"the same twice", []string{"Bearer abc", "Bearer abc"}, "", true},
		{"a bearer and a basic", []string{"Basic x", "Bearer abc"}, "", true},
		{"two empty", []string{"", ""}, "", true},
	} {
		h := http.Header{}
		for _, v := range tc.values {
			h.Add("authorization", v)
		}
		got, err := Bearer(h)
		if got != tc.want || errors.Is(err, ErrRepeatedAuthorization) != tc.refused || (err != nil && !tc.refused) {
			t.Errorf("%s: Bearer = %q, %v; want %q, refused %v", tc.name, got, err, tc.want, tc.refused)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestAuthorizeScopesAndSources(t *testing.T) {
	ctx := context.Background()
	keys, err := NewKeys(ctx, newMem())
	if err != nil {
		t.Fatal(err)
	}
	var key *Key
	_, key, err = keys.Create(ctx, "scoped", []string{"orders"}, KeyOptions{
		Scopes: []string{"orders:write", "orders:read", "orders:read"},
		CIDRs:  []string{"10.1.2.3/8", "2001:db8::/32"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"orders:read", "orders:write"}; !slices.Equal(key.Scopes, want) {
		t.Errorf("Scopes = %v, want %v", key.Scopes, want)
	}
	if want := []string{"10.0.0.0/8", "2001:db8::/32"}; !slices.Equal(key.CIDRs, want) {
		t.Errorf("CIDRs = %v, want %v (masked, sorted)", key.CIDRs, want)
	}
	now := time.Now()
	inside, outside := netip.MustParseAddr("10.200.0.1"), netip.MustParseAddr("192.0.2.1")
	tests := []struct {
		name   string
		scopes []string
		from   netip.Addr
		want   error
	}{
		{"no scope needed", nil, inside, nil},
		{"held scope", []string{"orders:write"}, inside, nil},
		{"both scopes", []string{"orders:write", "orders:read"}, inside, nil},
		{"missing scope", []string{"orders:delete"}, inside, ErrScope},
		{"outside network", nil, outside, ErrSource},
		{"IPv4-mapped IPv6 inside", nil, netip.MustParseAddr("::ffff:10.0.0.9"), nil},
		{"IPv6 inside", nil, netip.MustParseAddr("2001:db8::1"), nil},
		{"unknown address", nil, netip.Addr{}, ErrSource},
	}
	for _, tt := range tests {
		err := key.Authorize("orders", tt.scopes, tt.from, now)
		if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("%s: Authorize = %v, want %v", tt.name, err, tt.want)
		}
	}
	for _, bad := range []KeyOptions{
		{Scopes: []string{"has space"}},
		{Scopes: []string{""}},
		{CIDRs: []string{"10.0.0.0"}},
		{CIDRs: []string{"not-a-network/8"}},
		{TTL: -time.Second},
	} {
		if _, _, err := keys.Create(ctx, "bad", []string{"orders"}, bad); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Create(%+v) = %v, want ErrInvalidKey", bad, err)
		}
	}
}

// TestAdminTokenRotation: after a rotation the new token works at once, the
// old one until its grace period ends and not after, a daemon following
// the store learns the new one, the token file holds the new one, and a
// rotation without grace ends the old token at once.
func TestAdminTokenRotation(t *testing.T) {
	ctx := context.Background()
	settings := newMem()
	file := t.TempDir() + "/admin.token"
	a, _, err := EnsureAdmin(ctx, settings, file)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := EnsureAdmin(ctx, settings, t.TempDir()+"/other.token")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return now }
	other.now = a.now
	old := readFile(t, file)

	for _, grace := range []time.Duration{-time.Second, MaxAdminGrace + time.Second} {
		if _, _, err := a.Rotate(ctx, grace); !errors.Is(err, ErrInvalidGrace) {
			t.Errorf("grace %s: %v, want ErrInvalidGrace", grace, err)
		}
	}
	token, until, err := a.Rotate(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !until.Equal(now.Add(time.Hour)) {
		t.Errorf("the old token works until %s, want %s", until, now.Add(time.Hour))
	}
	if got := readFile(t, file); got != token.Reveal() {
		t.Error("the token file does not hold the new token")
	}
	if !a.Check(token.Reveal()) || !a.Check(old) {
		t.Error("within the grace period, the new and the old token must both work")
	}
	if other.Check(token.Reveal()) {
		t.Fatal("a daemon that did not follow the store knows the new token")
	}
	if err := other.Follow(ctx, settings); err != nil {
		t.Fatal(err)
	}
	if !other.Check(token.Reveal()) || !other.Check(old) {
		t.Error("a daemon following the store: the new and the old token must both work")
	}
	now = now.Add(time.Hour)
	if a.Check(old) || other.Check(old) {
		t.Error("the old token works after its grace period")
	}
	if !a.Check(token.Reveal()) {
		t.Error("the new token stopped working")
	}

	next, _, err := a.Rotate(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if a.Check(token.Reveal()) || !a.Check(next.Reveal()) {
		t.Error("a rotation without grace: the previous token must stop at once")
	}
	for _, e := range settings.data {
		for _, tok := range []string{old, token.Reveal(), next.Reveal()} {
			if strings.Contains(string(e.Value), tok) {
				t.Fatal("a token itself is stored")
			}
		}
	}
}
