package oidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Test keys, generated once per test binary at run time.
type testKeySet struct {
	rsaA, rsaA2, rsaB, rsaAttacker, rsaSmall *rsa.PrivateKey
	ecA, ecAttacker                          *ecdsa.PrivateKey
	edB                                      ed25519.PrivateKey
}

var (
	keysOnce sync.Once
	keys     testKeySet
)

func testKeys(t testing.TB) *testKeySet {
	t.Helper()
	keysOnce.Do(func() {
		genRSA := func(bits int) *rsa.PrivateKey {
			k, err := rsa.GenerateKey(rand.Reader, bits)
			if err != nil {
				panic(err)
			}
			return k
		}
		genEC := func() *ecdsa.PrivateKey {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				panic(err)
			}
			return k
		}
		keys.rsaA, keys.rsaA2, keys.rsaB, keys.rsaAttacker = genRSA(2048), genRSA(2048), genRSA(2048), genRSA(2048)
		keys.rsaSmall = genRSA(1024)
		keys.ecA, keys.ecAttacker = genEC(), genEC()
		_, ed, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		keys.edB = ed
	})
	return &keys
}

const (
	issA   = "https://issuer-a.test/"
	issB   = "https://issuer-b.test/"
	issT   = "https://issuer-typed.test/"
	aud    = "pave-api"
	marker = "MARKER7f3a" // put in claim values; must never appear in errors
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// jwk describes a public key for a JWKS.
func jwk(key any, kid, alg string) jose.JSONWebKey {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		key = &k.PublicKey
	case *ecdsa.PrivateKey:
		key = &k.PublicKey
	case ed25519.PrivateKey:
		key = k.Public()
	}
	return jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg, Use: "sig"}
}

func jwksDoc(t testing.TB, ks ...jose.JSONWebKey) []byte {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: ks})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jwksServer serves a JWKS document that tests may change, and counts
// requests.
type jwksServer struct {
	*httptest.Server
	hits atomic.Int64

	mu     sync.Mutex
	doc    []byte
	status int
	hold   chan struct{} // if set, requests wait until it is closed
	held   chan struct{} // signalled when a request starts waiting
}

func newJWKSServer(t testing.TB, doc []byte) *jwksServer {
	s := &jwksServer{doc: doc, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		doc, status, hold, held := s.doc, s.status, s.hold, s.held
		s.mu.Unlock()
		if hold != nil {
			held <- struct{}{}
			<-hold
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(doc)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(status int, doc []byte) {
	s.mu.Lock()
	s.status, s.doc = status, doc
	s.mu.Unlock()
}

// env is a verifier with three issuers: A fetches its JWKS (RSA key "a-rsa",
// P-256 key "a-ec") from a server, B has a static JWKS (RSA "b-rsa",
// Ed25519 "b-ed"), and T (static, RSA key "a-rsa") demands typ at+jwt.
type env struct {
	keys  *testKeySet
	clock *fakeClock
	srv   *jwksServer
	v     *Verifier
}

func newEnv(t testing.TB) *env {
	t.Helper()
	k := testKeys(t)
	e := &env{keys: k, clock: newClock()}
	e.srv = newJWKSServer(t, jwksDoc(t, jwk(k.rsaA, "a-rsa", "RS256"), jwk(k.ecA, "a-ec", "ES256")))
	v, err := New([]IssuerConfig{
		{Issuer: issA, Audiences: []string{aud, "other-api"}, JWKSURL: e.srv.URL + "/jwks", Algorithms: []string{"RS256", "ES256"}},
		{Issuer: issB, Audiences: []string{aud}, JWKS: jwksDoc(t, jwk(k.rsaB, "b-rsa", "RS256"), jwk(k.edB, "b-ed", "EdDSA")), Algorithms: []string{"RS256", "EdDSA"}},
		{Issuer: issT, Audiences: []string{aud}, JWKS: jwksDoc(t, jwk(k.rsaA, "a-rsa", "RS256")), Algorithms: []string{"RS256"}, Type: "at+jwt"},
	}, Options{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.v = v
	return e
}

// claims returns a valid claim set for issuer A at the fake clock's time.
func (e *env) claims() map[string]any {
	now := e.clock.Now().Unix()
	return map[string]any{
		"iss":    issA,
		"sub":    "user-" + marker,
		"aud":    aud,
		"exp":    now + 600,
		"iat":    now,
		"scope":  "orders:read",
		"tenant": marker,
	}
}

func hdr(alg, kid string) map[string]any {
	h := map[string]any{"alg": alg, "typ": "JWT"}
	if kid != "" {
		h["kid"] = kid
	}
	return h
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sign builds a compact JWS by hand, independently of the library under
// test, so that tests can craft any header. key is an RSA, ECDSA or Ed25519
// private key, or []byte for HMAC; alg picks the hash and padding.
func sign(t testing.TB, key any, header, claims map[string]any) string {
	t.Helper()
	input := b64(mustJSON(t, header)) + "." + b64(mustJSON(t, claims))
	alg, _ := header["alg"].(string)
	return input + "." + b64(signature(t, key, alg, []byte(input)))
}

func signature(t testing.TB, key any, alg string, input []byte) []byte {
	t.Helper()
	hashFor := map[string]crypto.Hash{"256": crypto.SHA256, "384": crypto.SHA384, "512": crypto.SHA512}
	h := crypto.SHA256
	if len(alg) == 5 {
		h = hashFor[alg[2:]]
	}
	digest := func() []byte {
		d := h.New()
		d.Write(input)
		return d.Sum(nil)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		var sig []byte
		var err error
		if strings.HasPrefix(alg, "PS") {
			sig, err = rsa.SignPSS(rand.Reader, k, h, digest(), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, k, h, digest())
		}
		if err != nil {
			t.Fatal(err)
		}
		return sig
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, digest())
		if err != nil {
			t.Fatal(err)
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out
	case ed25519.PrivateKey:
		return ed25519.Sign(k, input)
	case []byte:
		m := hmac.New(h.New, k)
		m.Write(input)
		return m.Sum(nil)
	case nil:
		return nil
	}
	t.Fatalf("sign: unsupported key %T", key)
	return nil
}

// randomSerial is for self-signed test certificates.
func randomSerial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
