// Package oidc verifies JWT bearer tokens issued by trusted OpenID Connect
// issuers, for gateway routes declared `auth: jwt`.
//
// Verification follows RFC 8725 (JSON Web Token Best Current Practices), and
// the choices below are what keep a forged or borrowed token out:
//
//   - The "iss" claim of the still unverified payload only selects which
//     trusted issuer applies. The token is then verified against that
//     issuer's keys and algorithm allowlist alone, so a token cannot pick the
//     keys it is checked with.
//   - Keys come only from the issuer's configured JWKS. The header parameters
//     that name keys elsewhere (jku, x5u, x5c, jwk) are ignored: anyone can
//     put a key there. "kid" only chooses among the issuer's own keys.
//   - "none" and the HMAC algorithms are never accepted. pave shares no
//     secret with an issuer, and refusing HMAC outright rules out the attack
//     that verifies an HMAC with an RSA public key as the secret.
//   - Every part of a token is decoded strictly: three parts of canonical
//     base64url, JSON objects, no critical header extensions. One string has
//     one meaning, and a signature cannot be re-encoded into a second token.
//   - The signature is checked before any claim, so the errors about claims
//     are only ever about tokens the issuer signed.
//   - JWKS documents are fetched once per URL, refreshed in the background,
//     and re-fetched for an unknown key id at most once per MinRefetch. A
//     verifier that never obtained an issuer's keys fails closed.
//
// Errors wrap one of the sentinel errors below and carry detail that is safe
// to show a client: never the token, a claim value or key material.
package oidc

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Errors returned by Verify and Check. They are wrapped with detail that is
// safe for an HTTP client; test for them with errors.Is.
var (
	ErrMalformed       = errors.New("malformed token")
	ErrUnknownIssuer   = errors.New("token issuer is not trusted")
	ErrAlgorithm       = errors.New("token signature algorithm not accepted")
	ErrSignature       = errors.New("token signature is not valid")
	ErrExpired         = errors.New("token has expired")
	ErrNotYetValid     = errors.New("token is not valid yet")
	ErrIssuedInFuture  = errors.New("token is issued in the future")
	ErrAudience        = errors.New("token audience not accepted")
	ErrType            = errors.New("token type not accepted")
	ErrKeysUnavailable = errors.New("issuer signing keys are unavailable")
	ErrForbidden       = errors.New("token does not grant access")
)

// Defaults and limits.
const (
	DefaultClockSkew       = 60 * time.Second
	MaxClockSkew           = 5 * time.Minute
	DefaultRefreshInterval = 15 * time.Minute
	DefaultMinRefetch      = 30 * time.Second
	DefaultMaxTokenSize    = 8 << 10
	DefaultFetchTimeout    = 10 * time.Second

	// MinRSABits is the smallest RSA modulus accepted; smaller keys in a
	// JWKS are ignored, and so are keys with the ROCA fingerprint.
	MinRSABits = 2048
	// MaxJWKSSize caps the size of a fetched JWKS document.
	MaxJWKSSize = 1 << 20

	defaultScopeClaim = "scope"
	defaultRolesClaim = "roles"
	scpClaim          = "scp"
)

// IssuerConfig is one trusted issuer. The daemon validates it when it parses
// its configuration; New checks it again and refuses bad values.
type IssuerConfig struct {
	// Issuer is the exact expected "iss" claim, e.g. "https://login.example.com/".
	Issuer string
	// Audiences lists the accepted audiences; a token's "aud" must contain at
	// least one. Required.
	Audiences []string
	// JWKSURL is where the issuer publishes its keys: an https URL, or http
	// for a loopback host. Exactly one of JWKSURL and JWKS is set.
	JWKSURL string
	// JWKS is a static JWKS document.
	JWKS []byte
	// Algorithms is the allowlist of signature algorithms, e.g.
	// ["RS256","ES256"]. Required. "none" and HS256/HS384/HS512 are refused.
	Algorithms []string
	// Type, if set, is the required header "typ", compared case-insensitively
	// and with the "application/" prefix optional (RFC 8725 section 3.11),
	// e.g. "at+jwt".
	Type string
	// ClockSkew is the leeway for exp, nbf and iat: 0 means DefaultClockSkew,
	// at most MaxClockSkew.
	ClockSkew time.Duration
	// ScopeClaim names the claim holding the scopes, a space-separated string
	// or an array of strings; default "scope". The "scp" claim is read too.
	// A dotted path descends into objects as in ClaimRequirement.Name.
	ScopeClaim string
	// RolesClaim names the claim holding the roles, an array of strings or a
	// single role as a string; default "roles". A dotted path descends into
	// objects (e.g. "realm_access.roles").
	RolesClaim string
}

// Options tune a Verifier. The zero value is ready to use.
type Options struct {
	// HTTPClient fetches JWKS documents. The default has a 10s timeout and
	// follows at most 3 redirects, each to a URL JWKSURL would accept.
	HTTPClient *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
	// RefreshInterval is the age after which a JWKS is re-fetched in the
	// background, on the next use; default 15m. Cached keys are served
	// meanwhile, and kept if the refresh fails.
	RefreshInterval time.Duration
	// MinRefetch is the shortest time between two fetches of one URL,
	// whatever started them (first use, refresh, unknown kid); default 30s.
	// A flood of tokens with random key ids thus costs at most one fetch
	// per MinRefetch.
	MinRefetch time.Duration
	// MaxTokenSize is the longest token accepted, in bytes; default 8 KiB.
	// Longer tokens are refused before they are parsed.
	MaxTokenSize int
	// OnFetchError, if set, is told why a JWKS fetch failed, so that the
	// daemon can log it. It is called from the fetching goroutine, outside
	// any lock. Verify only ever reports ErrKeysUnavailable.
	OnFetchError func(jwksURL string, err error)
}

// Verifier verifies tokens from a fixed set of trusted issuers. It is safe
// for concurrent use.
type Verifier struct {
	issuers  map[string]*issuer
	now      func() time.Time
	maxSize  int
	verified verifiedCache
}

// issuer is a validated IssuerConfig.
type issuer struct {
	name       string
	audiences  []string
	algs       map[string]bool
	typ        string // normalised by normaliseType; "" checks nothing
	skew       time.Duration
	scopeClaim string
	rolesClaim string
	keys       keySource
}

// algorithm families: the key a signature algorithm needs.
type keyKind int

const (
	kindRSA keyKind = iota + 1
	kindP256
	kindP384
	kindP521
	kindEd25519
)

// supportedAlgs are the asymmetric JWS algorithms pave verifies.
var supportedAlgs = map[string]keyKind{
	"RS256": kindRSA, "RS384": kindRSA, "RS512": kindRSA,
	"PS256": kindRSA, "PS384": kindRSA, "PS512": kindRSA,
	"ES256": kindP256, "ES384": kindP384, "ES512": kindP521,
	"EdDSA": kindEd25519,
}

// keyFits reports whether key can verify a signature made with alg: the key
// type and, for ECDSA, the curve must be those of the algorithm.
func keyFits(alg string, key any) bool {
	kind, ok := supportedAlgs[alg]
	if !ok {
		return false
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		return kind == kindRSA
	case *ecdsa.PublicKey:
		switch kind {
		case kindP256:
			return k.Curve == elliptic.P256()
		case kindP384:
			return k.Curve == elliptic.P384()
		case kindP521:
			return k.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return kind == kindEd25519
	}
	return false
}

// New validates the issuers and options and returns a Verifier. Static JWKS
// documents are parsed now; JWKS URLs are first fetched by the first Verify
// that needs them. Issuers that share a JWKS URL share its cache.
func New(issuers []IssuerConfig, opt Options) (*Verifier, error) {
	if len(issuers) == 0 {
		return nil, errors.New("oidc: no issuers configured")
	}
	if opt.RefreshInterval < 0 || opt.MinRefetch < 0 || opt.MaxTokenSize < 0 {
		return nil, errors.New("oidc: RefreshInterval, MinRefetch and MaxTokenSize must not be negative")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.RefreshInterval == 0 {
		opt.RefreshInterval = DefaultRefreshInterval
	}
	if opt.MinRefetch == 0 {
		opt.MinRefetch = DefaultMinRefetch
	}
	if opt.MaxTokenSize == 0 {
		opt.MaxTokenSize = DefaultMaxTokenSize
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = defaultHTTPClient()
	}

	v := &Verifier{issuers: make(map[string]*issuer, len(issuers)), now: opt.Now, maxSize: opt.MaxTokenSize}
	remotes := make(map[string]*remoteKeys)
	for i, c := range issuers {
		is, err := newIssuer(c)
		if err != nil {
			if c.Issuer == "" {
				return nil, fmt.Errorf("oidc: issuer #%d: %w", i+1, err)
			}
			return nil, fmt.Errorf("oidc: issuer %q: %w", c.Issuer, err)
		}
		if _, dup := v.issuers[is.name]; dup {
			return nil, fmt.Errorf("oidc: issuer %q is configured twice", is.name)
		}
		if c.JWKSURL != "" {
			r := remotes[c.JWKSURL]
			if r == nil {
				r = &remoteKeys{
					url: c.JWKSURL, client: opt.HTTPClient, now: opt.Now,
					refresh: opt.RefreshInterval, minRefetch: opt.MinRefetch, onError: opt.OnFetchError,
				}
				remotes[c.JWKSURL] = r
			}
			is.keys = r
		} else {
			set, err := parseJWKS(c.JWKS)
			if err != nil {
				return nil, fmt.Errorf("oidc: issuer %q: static JWKS: %w", c.Issuer, err)
			}
			is.keys = staticKeys{set}
		}
		v.issuers[is.name] = is
	}
	return v, nil
}

// newIssuer checks c and fills in defaults; the caller sets keys.
func newIssuer(c IssuerConfig) (*issuer, error) {
	if c.Issuer == "" {
		return nil, errors.New("issuer is empty")
	}
	if strings.TrimSpace(c.Issuer) != c.Issuer || strings.IndexFunc(c.Issuer, unicode.IsControl) >= 0 {
		return nil, errors.New("issuer has surrounding spaces or control characters")
	}
	is := &issuer{name: c.Issuer, algs: make(map[string]bool)}

	if len(c.Audiences) == 0 {
		return nil, errors.New("at least one audience is required")
	}
	for _, a := range c.Audiences {
		if a == "" {
			return nil, errors.New("an audience is empty")
		}
	}
	is.audiences = slices.Clone(c.Audiences)

	switch {
	case c.JWKSURL != "" && len(c.JWKS) > 0:
		return nil, errors.New("set either a JWKS URL or a static JWKS, not both")
	case c.JWKSURL == "" && len(c.JWKS) == 0:
		return nil, errors.New("a JWKS URL or a static JWKS is required")
	case c.JWKSURL != "":
		if err := checkJWKSURL(c.JWKSURL); err != nil {
			return nil, err
		}
	}

	if len(c.Algorithms) == 0 {
		return nil, errors.New("at least one signature algorithm is required")
	}
	for _, a := range c.Algorithms {
		switch {
		case strings.EqualFold(a, "none"):
			return nil, errors.New(`algorithm "none" is never allowed`)
		case len(a) >= 2 && strings.EqualFold(a[:2], "HS"):
			return nil, fmt.Errorf("HMAC algorithm %q is not allowed: pave shares no secret with issuers", a)
		case supportedAlgs[a] == 0:
			return nil, fmt.Errorf("unsupported signature algorithm %q (supported: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)", a)
		}
		is.algs[a] = true
	}

	if c.Type != "" {
		is.typ = normaliseType(c.Type)
		if is.typ == "" || strings.IndexFunc(is.typ, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			return nil, fmt.Errorf("invalid token type %q", c.Type)
		}
	}

	switch {
	case c.ClockSkew < 0:
		return nil, errors.New("clock skew must not be negative")
	case c.ClockSkew > MaxClockSkew:
		return nil, fmt.Errorf("clock skew %s is more than the maximum %s", c.ClockSkew, MaxClockSkew)
	case c.ClockSkew == 0:
		is.skew = DefaultClockSkew
	default:
		is.skew = c.ClockSkew
	}

	is.scopeClaim, is.rolesClaim = c.ScopeClaim, c.RolesClaim
	if is.scopeClaim == "" {
		is.scopeClaim = defaultScopeClaim
	}
	if is.rolesClaim == "" {
		is.rolesClaim = defaultRolesClaim
	}
	return is, nil
}

// normaliseType lower-cases a media type and drops its "application/"
// prefix, which RFC 7515 section 4.1.9 lets a "typ" value omit.
func normaliseType(t string) string {
	t = strings.ToLower(strings.TrimSpace(t))
	if rest, ok := strings.CutPrefix(t, "application/"); ok && !strings.Contains(rest, "/") {
		return rest
	}
	return t
}

// checkJWKSURL accepts an absolute https URL without credentials, or an
// http URL whose host is a loopback address.
func checkJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return errors.New("the JWKS URL is not an absolute URL")
	}
	if u.User != nil {
		return errors.New("the JWKS URL must not contain credentials")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return errors.New("the JWKS URL must use https (http is allowed for loopback hosts only)")
	default:
		return errors.New("the JWKS URL must use https")
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func defaultHTTPClient() *http.Client {
	return &http.Client{
		Timeout: DefaultFetchTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			return checkJWKSURL(req.URL.String())
		},
	}
}
