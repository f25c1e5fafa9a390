package oidc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// remoteEnv is a verifier for issuer A alone, whose JWKS server tests drive.
type remoteEnv struct {
	*env
	fetchErrs chan error
}

func newRemoteEnv(t *testing.T, status int, doc []byte) *remoteEnv {
	t.Helper()
	k := testKeys(t)
	e := &env{keys: k, clock: newClock()}
	if doc == nil {
		doc = jwksDoc(t, jwk(k.rsaA, "a-rsa", "RS256"))
	}
	e.srv = newJWKSServer(t, doc)
	e.srv.set(status, doc)
	r := &remoteEnv{env: e, fetchErrs: make(chan error, 100)}
	v, err := New([]IssuerConfig{{Issuer: issA, Audiences: []string{aud}, JWKSURL: e.srv.URL + "/jwks", Algorithms: []string{"RS256"}}},
		Options{Now: e.clock.Now, OnFetchError: func(_ string, err error) { r.fetchErrs <- err }})
	if err != nil {
		t.Fatal(err)
	}
	e.v = v
	return r
}

func (e *env) verifyKid(t *testing.T, kid string) error {
	t.Helper()
	key := e.keys.rsaA
	if kid == "a-rsa-2" {
		key = e.keys.rsaA2
	}
	_, err := e.v.Verify(context.Background(), sign(t, key, hdr("RS256", kid), e.claims()))
	return err
}

func (e *env) remote() *remoteKeys { return e.v.issuers[issA].keys.(*remoteKeys) }

// waitIdle waits until no fetch of issuer A's JWKS is in flight.
func (e *env) waitIdle(t *testing.T) {
	t.Helper()
	for i := 0; ; i++ {
		r := e.remote()
		r.mu.Lock()
		idle := r.inflight == nil
		r.mu.Unlock()
		if idle {
			return
		}
		if i > 2000 {
			t.Fatal("a JWKS fetch never finished")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestKeyRotation(t *testing.T) {
	e := newRemoteEnv(t, http.StatusOK, nil)
	k := e.keys
	if err := e.verifyKid(t, "a-rsa"); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.hits.Load(); n != 1 {
		t.Fatalf("first use fetched %d times, want 1", n)
	}
	// The issuer adds a key. Right after a fetch, its kid is unknown and
	// the rate limit allows no refetch.
	e.srv.set(http.StatusOK, jwksDoc(t, jwk(k.rsaA, "a-rsa", "RS256"), jwk(k.rsaA2, "a-rsa-2", "RS256")))
	e.clock.Advance(DefaultMinRefetch - time.Second)
	if err := e.verifyKid(t, "a-rsa-2"); !errors.Is(err, ErrSignature) {
		t.Fatalf("new kid within MinRefetch: %v, want ErrSignature", err)
	}
	if n := e.srv.hits.Load(); n != 1 {
		t.Fatalf("unknown kid within MinRefetch fetched: %d fetches", n)
	}
	e.clock.Advance(time.Second)
	if err := e.verifyKid(t, "a-rsa-2"); err != nil {
		t.Fatalf("rotated key after MinRefetch: %v", err)
	}
	if err := e.verifyKid(t, "a-rsa"); err != nil {
		t.Fatalf("old key after rotation: %v", err)
	}
	if n := e.srv.hits.Load(); n != 2 {
		t.Fatalf("rotation fetched %d times in all, want 2", n)
	}
}

func TestKeysUnavailableAtFirstUse(t *testing.T) {
	k := testKeys(t)
	huge := []byte(`{"keys":[],"pad":"` + strings.Repeat("x", MaxJWKSSize) + `"}`)
	cases := []struct {
		name   string
		status int
		doc    []byte
	}{
		{"server error", http.StatusServiceUnavailable, []byte(`{}`)},
		{"not found", http.StatusNotFound, jwksDoc(t, jwk(k.rsaA, "a-rsa", "RS256"))},
		{"redirect status", http.StatusFound, jwksDoc(t, jwk(k.rsaA, "a-rsa", "RS256"))},
		{"bad JSON", http.StatusOK, []byte(`{"keys":[`)},
		{"HTML", http.StatusOK, []byte(`<html>maintenance</html>`)},
		{"no keys", http.StatusOK, []byte(`{"keys":[]}`)},
		{"only a small RSA key", http.StatusOK, jwksDoc(t, jwk(k.rsaSmall, "a-rsa", "RS256"))},
		{"larger than 1 MiB", http.StatusOK, huge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newRemoteEnv(t, tc.status, tc.doc)
			err := e.verifyKid(t, "a-rsa")
			if !errors.Is(err, ErrKeysUnavailable) {
				t.Fatalf("Verify: %v, want ErrKeysUnavailable", err)
			}
			if strings.Contains(err.Error(), e.srv.URL) || strings.Contains(err.Error(), "maintenance") {
				t.Errorf("error quotes the fetch: %v", err)
			}
			if got := <-e.fetchErrs; got == nil {
				t.Error("OnFetchError was not told why")
			}
			// Failing closed does not mean hammering the server: the next
			// attempt waits for MinRefetch.
			if err := e.verifyKid(t, "a-rsa"); !errors.Is(err, ErrKeysUnavailable) {
				t.Fatalf("second Verify: %v", err)
			}
			if n := e.srv.hits.Load(); n != 1 {
				t.Errorf("%d fetches within MinRefetch, want 1", n)
			}
			// Once the server recovers, the next fetch after MinRefetch
			// brings the keys.
			e.srv.set(http.StatusOK, jwksDoc(t, jwk(k.rsaA, "a-rsa", "RS256")))
			e.clock.Advance(DefaultMinRefetch)
			if err := e.verifyKid(t, "a-rsa"); err != nil {
				t.Fatalf("after recovery: %v", err)
			}
		})
	}
}

func TestServerUnreachableAtFirstUse(t *testing.T) {
	e := newRemoteEnv(t, http.StatusOK, nil)
	e.srv.Close()
	if err := e.verifyKid(t, "a-rsa"); !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("Verify: %v, want ErrKeysUnavailable", err)
	}
}

func TestCachedKeysSurviveOutage(t *testing.T) {
	e := newRemoteEnv(t, http.StatusOK, nil)
	if err := e.verifyKid(t, "a-rsa"); err != nil {
		t.Fatal(err)
	}
	e.srv.set(http.StatusInternalServerError, []byte("down"))

	// Past RefreshInterval: the use that notices starts a background
	// refresh, which fails; the cached keys keep working.
	e.clock.Advance(DefaultRefreshInterval)
	if err := e.verifyKid(t, "a-rsa"); err != nil {
		t.Fatalf("stale cache not served: %v", err)
	}
	e.waitIdle(t)
	if n := e.srv.hits.Load(); n != 2 {
		t.Fatalf("%d fetches, want a first fetch and one refresh", n)
	}
	if err := e.verifyKid(t, "a-rsa"); err != nil {
		t.Fatalf("cache dropped after a failed refresh: %v", err)
	}
	// An unknown kid during the outage is an unknown kid, not an outage.
	e.clock.Advance(DefaultMinRefetch)
	if err := e.verifyKid(t, "a-rsa-2"); !errors.Is(err, ErrSignature) {
		t.Fatalf("unknown kid during outage: %v, want ErrSignature", err)
	}
	// With the server gone entirely, still the cache.
	e.srv.Close()
	e.clock.Advance(DefaultMinRefetch)
	if err := e.verifyKid(t, "a-rsa"); err != nil {
		t.Fatalf("cache not served with the server gone: %v", err)
	}
	e.waitIdle(t)
}

func TestBackgroundRefreshReplacesKeys(t *testing.T) {
	e := newRemoteEnv(t, http.StatusOK, nil)
	k := e.keys
	if err := e.verifyKid(t, "a-rsa"); err != nil {
		t.Fatal(err)
	}
	// The issuer retires a-rsa for a-rsa-2.
	e.srv.set(http.StatusOK, jwksDoc(t, jwk(k.rsaA2, "a-rsa-2", "RS256")))
	e.clock.Advance(DefaultRefreshInterval - time.Second)
	if err := e.verifyKid(t, "a-rsa"); err != nil {
		t.Fatalf("before RefreshInterval: %v", err)
	}
	if n := e.srv.hits.Load(); n != 1 {
		t.Fatalf("refreshed before RefreshInterval: %d fetches", n)
	}
	e.clock.Advance(time.Second)
	if err := e.verifyKid(t, "a-rsa"); err != nil {
		t.Fatalf("the use that starts the refresh is served from the cache: %v", err)
	}
	e.waitIdle(t)
	if n := e.srv.hits.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	if err := e.verifyKid(t, "a-rsa"); !errors.Is(err, ErrSignature) {
		t.Fatalf("retired key still accepted: %v", err)
	}
	if err := e.verifyKid(t, "a-rsa-2"); err != nil {
		t.Fatalf("new key: %v", err)
	}
	if n := e.srv.hits.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

// TestRandomKidFlood sends 100 tokens with random key ids at once: together
// they may cause one refetch per MinRefetch, no more.
func TestRandomKidFlood(t *testing.T) {
	e := newRemoteEnv(t, http.StatusOK, nil)
	if err := e.verifyKid(t, "a-rsa"); err != nil {
		t.Fatal(err)
	}
	tokens := make([]string, 100)
	for i := range tokens {
		kid := make([]byte, 8)
		rand.Read(kid)
		tokens[i] = sign(t, e.keys.rsaA, hdr("RS256", hex.EncodeToString(kid)), e.claims())
	}
	flood := func() {
		var wg sync.WaitGroup
		for _, tok := range tokens {
			wg.Go(func() {
				if _, err := e.v.Verify(context.Background(), tok); !errors.Is(err, ErrSignature) {
					t.Errorf("random kid: %v, want ErrSignature", err)
				}
			})
		}
		wg.Wait()
		e.waitIdle(t)
	}

	flood() // right after the first fetch: no refetch allowed
	if n := e.srv.hits.Load(); n != 1 {
		t.Fatalf("flood within MinRefetch of the first fetch: %d fetches, want 1", n)
	}
	e.clock.Advance(DefaultMinRefetch)
	flood()
	if n := e.srv.hits.Load(); n != 2 {
		t.Fatalf("flood after MinRefetch: %d fetches in all, want 2", n)
	}
	e.clock.Advance(DefaultMinRefetch / 2)
	flood()
	if n := e.srv.hits.Load(); n != 2 {
		t.Fatalf("second flood within MinRefetch: %d fetches in all, want 2", n)
	}
}

// TestConcurrentFirstUse: many first uses at once share a single fetch.
func TestConcurrentFirstUse(t *testing.T) {
	e := newRemoteEnv(t, http.StatusOK, nil)
	token := sign(t, e.keys.rsaA, hdr("RS256", "a-rsa"), e.claims())
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := e.v.Verify(context.Background(), token); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
	wg.Wait()
	if n := e.srv.hits.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}

// TestContextBoundsFetch: a caller stops waiting for a hung JWKS server when
// its context ends, and fails closed.
func TestContextBoundsFetch(t *testing.T) {
	e := newRemoteEnv(t, http.StatusOK, nil)
	hold, held := make(chan struct{}), make(chan struct{}, 1)
	e.srv.mu.Lock()
	e.srv.hold, e.srv.held = hold, held
	e.srv.mu.Unlock()
	defer e.waitIdle(t)
	defer close(hold)

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-held
		cancel()
	}()
	_, err := e.v.Verify(ctx, sign(t, e.keys.rsaA, hdr("RS256", "a-rsa"), e.claims()))
	if !errors.Is(err, ErrKeysUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify: %v, want ErrKeysUnavailable and context.Canceled", err)
	}
}

func TestSharedJWKSURL(t *testing.T) {
	k := testKeys(t)
	srv := newJWKSServer(t, jwksDoc(t, jwk(k.rsaA, "a-rsa", "RS256")))
	clock := newClock()
	v, err := New([]IssuerConfig{
		{Issuer: issA, Audiences: []string{aud}, JWKSURL: srv.URL, Algorithms: []string{"RS256"}},
		{Issuer: issB, Audiences: []string{aud}, JWKSURL: srv.URL, Algorithms: []string{"RS256"}},
	}, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, iss := range []string{issA, issB} {
		c := map[string]any{"iss": iss, "sub": "s", "aud": aud, "exp": clock.Now().Unix() + 60}
		if _, err := v.Verify(context.Background(), sign(t, k.rsaA, hdr("RS256", "a-rsa"), c)); err != nil {
			t.Fatalf("%s: %v", iss, err)
		}
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("%d fetches for two issuers sharing a URL, want 1", n)
	}
}

func TestDefaultClientRedirects(t *testing.T) {
	check := defaultHTTPClient().CheckRedirect
	req := func(u string) *http.Request {
		r, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := []*http.Request{req("https://login.example.com/jwks")}
	cases := []struct {
		to   string
		via  []*http.Request
		want bool // followed
	}{
		{"https://keys.example.com/jwks", first, true},
		{"http://keys.example.com/jwks", first, false},
		{"http://127.0.0.1:8080/jwks", first, true},
		{"https://u:p@keys.example.com/jwks", first, false},
		{"https://keys.example.com/jwks", append(first, first[0], first[0]), false},
	}
	for _, tc := range cases {
		err := check(req(tc.to), tc.via)
		if (err == nil) != tc.want {
			t.Errorf("redirect to %s after %d hops: err %v, want followed=%v", tc.to, len(tc.via), err, tc.want)
		}
	}
}
