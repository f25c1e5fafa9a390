package oidc

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// maxKeys bounds the signing keys kept from one JWKS, and so the signatures
// tried for a token without a kid.
const maxKeys = 100

// fetchLimit bounds one JWKS fetch even when the HTTP client has no timeout.
const fetchLimit = 30 * time.Second

// keySet is the usable signing keys of one JWKS document.
type keySet struct {
	keys []signingKey
}

type signingKey struct {
	kid string
	alg string // "" when the JWK names no algorithm
	key any    // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// candidates returns the keys that may have signed a token with this kid and
// alg. A token with a kid is only checked against keys with that kid, never
// against the others (nor against keys without a kid). known is false when the set cannot hold the token's key at all: no
// key has the kid, or (without a kid) no key fits the algorithm. Only then
// is a refetch worth its cost.
func (s *keySet) candidates(kid, alg string) (keys []any, known bool) {
	for _, k := range s.keys {
		if kid != "" && k.kid != kid {
			continue
		}
		if kid != "" {
			known = true
		}
		if (k.alg != "" && k.alg != alg) || !keyFits(alg, k.key) {
			continue
		}
		known = true
		keys = append(keys, k.key)
	}
	return keys, known
}

// parseJWKS reads a JWKS document and keeps its usable signing keys: public
// RSA (at least MinRSABits, an odd exponent of at least 3, and not of the
// weak form ROCA factors), ECDSA and Ed25519 keys whose "use", if any, is
// "sig" and whose "alg", if any, is one pave verifies. Other keys are
// skipped, as RFC 7517 section 5 asks; a document without any usable key is
// an error.
func parseJWKS(doc []byte) (*keySet, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil || top == nil {
		return nil, errors.New("not a JSON object")
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(top["keys"], &raws); err != nil {
		return nil, errors.New(`no "keys" array`)
	}
	set := &keySet{}
	for _, raw := range raws {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue
		}
		if !k.Valid() || !k.IsPublic() || (k.Use != "" && k.Use != "sig") {
			continue
		}
		if k.Algorithm != "" && supportedAlgs[k.Algorithm] == 0 {
			continue
		}
		if rk, ok := k.Key.(*rsa.PublicKey); ok && !usableRSAKey(rk) {
			continue
		}
		if len(set.keys) == maxKeys {
			return nil, fmt.Errorf("more than %d signing keys", maxKeys)
		}
		set.keys = append(set.keys, signingKey{kid: k.KeyID, alg: k.Algorithm, key: k.Key})
	}
	if len(set.keys) == 0 {
		return nil, errors.New("no usable signing key")
	}
	return set, nil
}

// keySource supplies an issuer's keys.
type keySource interface {
	// current returns the keys to verify with.
	current(ctx context.Context) (*keySet, error)
	// refetch returns keys after a fetch, if the rate limit allows one, for
	// a token whose key is not in the current set.
	refetch(ctx context.Context) (*keySet, error)
}

// staticKeys is a JWKS given in the configuration.
type staticKeys struct{ set *keySet }

func (s staticKeys) current(context.Context) (*keySet, error) { return s.set, nil }
func (s staticKeys) refetch(context.Context) (*keySet, error) { return s.set, nil }

// remoteKeys is the cache of one JWKS URL. Fetches run in their own
// goroutine, one at a time, and are shared by every caller waiting for them;
// a caller stops waiting when its context ends.
type remoteKeys struct {
	url        string
	client     *http.Client
	now        func() time.Time
	refresh    time.Duration
	minRefetch time.Duration
	onError    func(string, error)

	mu          sync.Mutex
	set         *keySet // nil until a fetch succeeds
	fetchedAt   time.Time
	attempted   bool
	attemptedAt time.Time
	inflight    *fetchCall
}

// fetchCall is one fetch in flight; done is closed when it ends.
type fetchCall struct {
	done chan struct{}
}

var errNeverFetched = fmt.Errorf("%w: the issuer's JWKS could not be fetched", ErrKeysUnavailable)

func (r *remoteKeys) current(ctx context.Context) (*keySet, error) {
	r.mu.Lock()
	if r.set != nil {
		set := r.set
		if r.inflight == nil && !r.now().Before(r.fetchedAt.Add(r.refresh)) && r.mayFetchLocked() {
			r.startLocked(ctx) // refresh in the background; serve the cache
		}
		r.mu.Unlock()
		return set, nil
	}
	return r.fetchAndWaitLocked(ctx)
}

func (r *remoteKeys) refetch(ctx context.Context) (*keySet, error) {
	r.mu.Lock()
	return r.fetchAndWaitLocked(ctx)
}

// fetchAndWaitLocked joins the fetch in flight or starts one if the rate
// limit allows, waits for it, and returns the keys then cached. It is called
// with r.mu held and releases it.
func (r *remoteKeys) fetchAndWaitLocked(ctx context.Context) (*keySet, error) {
	call := r.inflight
	if call == nil && r.mayFetchLocked() {
		call = r.startLocked(ctx)
	}
	if call == nil {
		set := r.set
		r.mu.Unlock()
		if set == nil {
			return nil, errNeverFetched
		}
		return set, nil
	}
	r.mu.Unlock()

	select {
	case <-call.done:
	case <-ctx.Done():
		r.mu.Lock()
		set := r.set
		r.mu.Unlock()
		if set != nil {
			return set, nil
		}
		return nil, fmt.Errorf("%w: gave up waiting for the issuer's JWKS: %w", ErrKeysUnavailable, ctx.Err())
	}
	r.mu.Lock()
	set := r.set
	r.mu.Unlock()
	if set == nil {
		return nil, errNeverFetched
	}
	return set, nil
}

func (r *remoteKeys) mayFetchLocked() bool {
	return !r.attempted || !r.now().Before(r.attemptedAt.Add(r.minRefetch))
}

// startLocked starts a fetch. The fetch keeps the values of ctx but not its
// cancellation: other callers may come to wait for it.
func (r *remoteKeys) startLocked(ctx context.Context) *fetchCall {
	call := &fetchCall{done: make(chan struct{})}
	r.attempted, r.attemptedAt, r.inflight = true, r.now(), call
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchLimit)
	go func() {
		defer cancel()
		set, err := r.download(fctx)
		r.mu.Lock()
		if err == nil {
			r.set, r.fetchedAt = set, r.now()
		}
		r.inflight = nil
		r.mu.Unlock()
		close(call.done)
		if err != nil && r.onError != nil {
			r.onError(r.url, err)
		}
	}()
	return call
}

// download fetches and parses the JWKS document.
func (r *remoteKeys) download(ctx context.Context) (*keySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("JWKS fetch: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("JWKS fetch: %w", err)
	}
	if len(body) > MaxJWKSSize {
		return nil, fmt.Errorf("JWKS fetch: document larger than %d bytes", MaxJWKSSize)
	}
	set, err := parseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("JWKS fetch: %w", err)
	}
	return set, nil
}
