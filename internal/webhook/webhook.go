// Package webhook verifies signed webhook deliveries before any function
// instance exists.
//
// A route declared `auth: webhook` is called by a third party that proves
// it knows a shared secret by signing each delivery with HMAC-SHA256. The
// senders disagree on where the signature goes and what it covers, so each
// Scheme describes one sender's convention: GitHub, Stripe, Slack,
// Standard Webhooks, and a configurable generic HMAC. The gateway reads the
// raw body (already size-capped) and calls Verifier.Verify with it.
//
// Why it is strict:
//
//   - The signature is checked over the raw body bytes, in constant time,
//     against every configured secret (several during a rotation).
//   - A signed timestamp outside the tolerance, in the past or the future,
//     is refused: a captured delivery stops working after a few minutes.
//   - Within that window a ReplayCache refuses a second delivery of the same
//     message. A delivery is recorded only after its signature is verified,
//     so forged requests cannot fill the cache or burn an id that a genuine
//     delivery will carry later.
//   - Headers that are absent, repeated, longer than MaxHeaderLen, carry more
//     than MaxSignatures signatures, or are not exactly in the scheme's form
//     are refused rather than guessed at. Only SHA-256 is accepted.
//   - Errors name headers, never their values: no error carries a secret, a
//     signature or a byte of the body, so any of them may be logged.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/webhook/scheme"
)

// Scheme is a sender's signing convention; package scheme holds the list.
type Scheme = scheme.Scheme

// The schemes.
const (
	// GitHub: X-Hub-Signature-256: sha256=<hex> over the body. The delivery
	// id X-GitHub-Delivery is required. GitHub signs no timestamp, so its
	// deliveries are remembered for UntimedReplayWindow.
	GitHub = scheme.GitHub
	// Stripe: Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...] over
	// "<t>.<body>". A delivery is accepted if any v1 signature matches;
	// v0 and other versions are ignored.
	Stripe = scheme.Stripe
	// Slack: X-Slack-Signature: v0=<hex> over "v0:<ts>:<body>", with ts
	// from X-Slack-Request-Timestamp.
	Slack = scheme.Slack
	// StandardWebhooks (standardwebhooks.com): webhook-id,
	// webhook-timestamp and webhook-signature, a space-separated list of
	// "v1,<base64>" over "<id>.<timestamp>.<body>". A secret of the form
	// "whsec_<base64>" is the base64-decoded key; any other secret is used
	// as it is.
	StandardWebhooks = scheme.StandardWebhooks
	// HMAC is the generic scheme: Config.Header (default X-Signature)
	// carries <hex> or sha256=<hex> of HMAC-SHA256 over the body, or over
	// "<ts>.<body>" when Config.TimestampHeader is set.
	HMAC = scheme.HMAC
)

// ParseScheme returns the scheme named s, as written in a manifest.
func ParseScheme(s string) (Scheme, error) {
	if scheme.Valid(s) {
		return Scheme(s), nil
	}
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return "", fmt.Errorf("%w: unknown scheme %q: use one of %s", ErrConfig, s, scheme.List())
}

// Limits and defaults.
const (
	// DefaultTolerance is the timestamp window when Config.Tolerance is 0.
	DefaultTolerance = 5 * time.Minute
	// MaxTolerance is the largest Config.Tolerance.
	MaxTolerance = time.Hour
	// UntimedReplayWindow is how long a delivery without a signed timestamp
	// (GitHub, and HMAC without a timestamp header) is remembered. Such a
	// delivery never goes stale, so after this window a captured one would
	// be accepted again: configure a timestamp wherever the sender allows.
	UntimedReplayWindow = 24 * time.Hour
	// MaxHeaderLen is the longest header value read, in bytes.
	MaxHeaderLen = 4 << 10
	// MaxSignatures is the most signatures (of any version) one header may
	// carry.
	MaxSignatures = 16
	// MaxIDLen is the longest delivery id, in bytes.
	MaxIDLen = 256
	// MaxSecrets is the most secrets one verifier accepts.
	MaxSecrets = 8
	// DefaultHMACHeader is the generic scheme's signature header when
	// Config.Header is empty.
	DefaultHMACHeader = "X-Signature"
)

// Header names of the fixed schemes.
const (
	headerGitHubSig      = "X-Hub-Signature-256"
	headerGitHubSHA1     = "X-Hub-Signature"
	headerGitHubDelivery = "X-GitHub-Delivery"
	headerStripeSig      = "Stripe-Signature"
	headerSlackSig       = "X-Slack-Signature"
	headerSlackTimestamp = "X-Slack-Request-Timestamp"
	headerStdID          = "Webhook-Id"
	headerStdTimestamp   = "Webhook-Timestamp"
	headerStdSig         = "Webhook-Signature"
)

// Errors returned by Verify and New. Verify wraps them with the name of
// the header at fault; test with errors.Is.
var (
	// ErrMissingSignature: a header the scheme requires (signature,
	// timestamp or delivery id) is absent or empty, or it carries no
	// signature of an accepted version (GitHub's SHA-1 header alone,
	// Stripe's v0 alone).
	ErrMissingSignature = errors.New("webhook: missing signature")
	// ErrMalformedSignature: a header is not in the scheme's form (bad hex
	// or base64, wrong length, missing parts, repeated, too long, too many
	// signatures).
	ErrMalformedSignature = errors.New("webhook: malformed signature")
	// ErrBadSignature: no signature matches the body under any secret.
	ErrBadSignature = errors.New("webhook: signature does not match")
	// ErrStale: the signed timestamp is further from now than the
	// tolerance, in the past or in the future.
	ErrStale = errors.New("webhook: timestamp outside the allowed window")
	// ErrReplay: this delivery was already accepted.
	ErrReplay = errors.New("webhook: delivery already received")
	// ErrReplayCacheFull: the replay cache is full of deliveries it must
	// still remember; the delivery is refused rather than let one of them
	// be forgotten. The sender retries later.
	ErrReplayCacheFull = errors.New("webhook: replay cache full")
	// ErrConfig: the configuration is invalid.
	ErrConfig = errors.New("webhook: invalid configuration")
)

// Config describes how one route verifies its deliveries.
type Config struct {
	Scheme Scheme
	// Secrets are the shared secrets; a delivery signed with any of them
	// is accepted, which lets a secret be rotated without downtime. At
	// least one, at most MaxSecrets, each non-empty.
	Secrets []secret.Value
	// Header is the signature header of scheme hmac; default X-Signature.
	Header string
	// TimestampHeader, scheme hmac only, names a header with the Unix time
	// in seconds that the signature covers as "<ts>.<body>".
	TimestampHeader string
	// IDHeader, scheme hmac only, names a header with a delivery id for
	// replay protection.
	IDHeader string
	// Tolerance is how far a signed timestamp may be from now, either way.
	// 0 means DefaultTolerance; at most MaxTolerance. Ignored by schemes
	// without a timestamp.
	Tolerance time.Duration
	// Namespace keeps this route's delivery ids apart from other routes'
	// in a shared ReplayCache, for example "function POST /path".
	// Required when New is given a cache.
	Namespace string
}

// Verifier checks deliveries for one route. It is safe for concurrent use.
// Formatting a Verifier never prints its secrets.
type Verifier struct {
	scheme    Scheme
	keys      [][]byte
	sigHeader string
	tsHeader  string
	idHeader  string
	tolerance time.Duration
	namespace string
	replay    *ReplayCache
}

// New checks cfg and returns its verifier. replay may be shared by the
// verifiers of many routes, whose Namespaces keep them apart. A nil replay
// turns replay protection off: a captured delivery is then accepted again
// and again within the tolerance (forever, for schemes without a
// timestamp). It exists for tests; production code passes a cache.
func New(cfg Config, replay *ReplayCache) (*Verifier, error) {
	if _, err := ParseScheme(string(cfg.Scheme)); err != nil {
		return nil, err
	}
	v := &Verifier{scheme: cfg.Scheme, namespace: cfg.Namespace, replay: replay, tolerance: cfg.Tolerance}
	switch {
	case len(cfg.Secrets) == 0:
		return nil, fmt.Errorf("%w: no secret", ErrConfig)
	case len(cfg.Secrets) > MaxSecrets:
		return nil, fmt.Errorf("%w: %d secrets; at most %d", ErrConfig, len(cfg.Secrets), MaxSecrets)
	case cfg.Tolerance < 0:
		return nil, fmt.Errorf("%w: tolerance must be above zero", ErrConfig)
	case cfg.Tolerance > MaxTolerance:
		return nil, fmt.Errorf("%w: tolerance %v is above the maximum of %v", ErrConfig, cfg.Tolerance, MaxTolerance)
	case replay != nil && cfg.Namespace == "":
		return nil, fmt.Errorf("%w: a namespace is required with a replay cache", ErrConfig)
	}
	if v.tolerance == 0 {
		v.tolerance = DefaultTolerance
	}
	for i, s := range cfg.Secrets {
		key, err := decodeSecret(cfg.Scheme, s)
		if err != nil {
			return nil, fmt.Errorf("%w: secret %d: %v", ErrConfig, i+1, err)
		}
		v.keys = append(v.keys, key)
	}
	if cfg.Scheme != HMAC {
		if cfg.Header != "" || cfg.TimestampHeader != "" || cfg.IDHeader != "" {
			return nil, fmt.Errorf("%w: header names are fixed by the %s scheme; only scheme hmac takes them", ErrConfig, cfg.Scheme)
		}
		return v, nil
	}
	v.sigHeader = cfg.Header
	if v.sigHeader == "" {
		v.sigHeader = DefaultHMACHeader
	}
	names := []struct{ field, name string }{
		{"header", v.sigHeader}, {"timestamp header", cfg.TimestampHeader}, {"id header", cfg.IDHeader},
	}
	for i, n := range names {
		if n.name == "" {
			continue
		}
		if !validHeaderName(n.name) {
			return nil, fmt.Errorf("%w: invalid %s name", ErrConfig, n.field)
		}
		for _, m := range names[:i] {
			if strings.EqualFold(m.name, n.name) {
				return nil, fmt.Errorf("%w: the %s and the %s are the same header", ErrConfig, m.field, n.field)
			}
		}
	}
	v.sigHeader = http.CanonicalHeaderKey(v.sigHeader)
	if cfg.TimestampHeader != "" {
		v.tsHeader = http.CanonicalHeaderKey(cfg.TimestampHeader)
	}
	if cfg.IDHeader != "" {
		v.idHeader = http.CanonicalHeaderKey(cfg.IDHeader)
	}
	return v, nil
}

// decodeSecret returns the HMAC key of secret s under scheme.
func decodeSecret(scheme Scheme, s secret.Value) ([]byte, error) {
	raw := s.Reveal()
	if raw == "" {
		return nil, errors.New("empty")
	}
	if scheme != StandardWebhooks {
		return []byte(raw), nil
	}
	b64, ok := strings.CutPrefix(raw, "whsec_")
	if !ok {
		return []byte(raw), nil
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(b64)
	}
	if err != nil {
		return nil, errors.New("the part after whsec_ is not base64")
	}
	if len(key) == 0 {
		return nil, errors.New("empty after whsec_")
	}
	return key, nil
}

// validHeaderName reports whether s is an HTTP header name (an RFC 9110
// token) of at most 64 bytes.
func validHeaderName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Scheme returns the verifier's scheme.
func (v *Verifier) Scheme() Scheme { return v.scheme }

// String describes v without its secrets.
func (v Verifier) String() string {
	return fmt.Sprintf("webhook.Verifier{scheme: %s, secrets: %d, namespace: %q}", v.scheme, len(v.keys), v.namespace)
}

// GoString is String, so that %#v hides the secrets too.
func (v Verifier) GoString() string { return v.String() }

// Format writes String for every verb, so that no verb prints the keys.
func (v Verifier) Format(f fmt.State, _ rune) { io.WriteString(f, v.String()) }

// delivery is what the headers of one delivery say.
type delivery struct {
	sigs   [][]byte // candidate signatures, each sha256.Size bytes
	prefix []byte   // signed content before the body
	ts     int64
	tsText string // as sent: the signature covers this text
	hasTS  bool
	id     string // delivery id from a header; "" if the scheme has none
	// idSigned says the signature covers id, so the id alone identifies
	// the message; otherwise a sender could be impersonated by replaying
	// a captured delivery under a fresh id.
	idSigned bool
}

// Verify checks one delivery: h are its headers, body its raw body, now the
// time of arrival. On success it returns the delivery id it used for replay
// protection: the sender's id (X-GitHub-Delivery, webhook-id, the hmac id
// header) or, for schemes without one, "<ts>-<fingerprint>" or
// "<fingerprint>", where the fingerprint is 32 hex digits of the SHA-256 of
// the signed content. It is never a signature and is safe to log.
//
// The order is: parse the headers, check the timestamp, check the
// signature, and only then record the delivery in the replay cache.
func (v *Verifier) Verify(h http.Header, body []byte, now time.Time) (deliveryID string, err error) {
	d, err := v.parse(h)
	if err != nil {
		return "", err
	}
	if d.hasTS {
		t := time.Unix(d.ts, 0)
		if t.Before(now.Add(-v.tolerance)) || t.After(now.Add(v.tolerance)) {
			return "", fmt.Errorf("%w: more than %v from now", ErrStale, v.tolerance)
		}
	}
	if !v.match(d, body) {
		return "", ErrBadSignature
	}

	// The message identity, which does not depend on which secret or
	// which of several signatures matched, nor on the hex case of a
	// signature: re-sending a delivery with its signatures reordered,
	// trimmed or re-encoded is still a replay.
	fp := sha256.New()
	fp.Write(d.prefix)
	fp.Write(body)
	sum := fp.Sum(nil)

	id := d.id
	if id == "" {
		id = hex.EncodeToString(sum[:16])
		if d.hasTS {
			id = d.tsText + "-" + id
		}
	}
	if v.replay == nil {
		return id, nil
	}
	expires := now.Add(UntimedReplayWindow)
	if d.hasTS {
		// After ts+tolerance the delivery is refused as stale, so the
		// cache need not remember it longer; counting from now instead
		// would forget a delivery stamped in the future too early.
		expires = time.Unix(d.ts, 0).Add(v.tolerance)
	}
	var keys []replayKey
	if d.id != "" {
		keys = append(keys, keyOf(v.namespace, "id\x00"+d.id))
	}
	if !d.idSigned {
		keys = append(keys, keyOf(v.namespace, "content\x00"+string(sum)))
	}
	seen, err := v.replay.record(now, expires, keys...)
	switch {
	case err != nil:
		return "", err
	case seen:
		return "", ErrReplay
	}
	return id, nil
}

// match reports whether any signature of d is the HMAC of d.prefix+body
// under any key. hmac.Equal compares in constant time.
func (v *Verifier) match(d delivery, body []byte) bool {
	for _, k := range v.keys {
		m := hmac.New(sha256.New, k)
		m.Write(d.prefix)
		m.Write(body)
		want := m.Sum(nil)
		for _, s := range d.sigs {
			if hmac.Equal(want, s) {
				return true
			}
		}
	}
	return false
}

// parse reads the headers of v's scheme.
func (v *Verifier) parse(h http.Header) (delivery, error) {
	var d delivery
	switch v.scheme {
	case GitHub:
		s, err := required(h, headerGitHubSig)
		if err != nil {
			if errors.Is(err, ErrMissingSignature) && len(h.Values(headerGitHubSHA1)) > 0 {
				return d, fmt.Errorf("%w: %s; SHA-1 signatures (%s) are not accepted", ErrMissingSignature, headerGitHubSig, headerGitHubSHA1)
			}
			return d, err
		}
		sig, err := parsePrefixedHex(s, "sha256=")
		if err != nil {
			return d, fmt.Errorf("%w: %s: %v", ErrMalformedSignature, headerGitHubSig, err)
		}
		d.sigs = [][]byte{sig}
		if d.id, err = idHeader(h, headerGitHubDelivery, false); err != nil {
			return d, err
		}

	case Stripe:
		s, err := required(h, headerStripeSig)
		if err != nil {
			return d, err
		}
		sh, err := parseStripe(s)
		if err != nil {
			return d, fmt.Errorf("%w: %s: %v", errorKind(err), headerStripeSig, err)
		}
		d.sigs, d.ts, d.tsText, d.hasTS = sh.v1, sh.ts, sh.tsText, true
		d.prefix = []byte(sh.tsText + ".")

	case Slack:
		s, err := required(h, headerSlackSig)
		if err != nil {
			return d, err
		}
		sig, err := parsePrefixedHex(s, "v0=")
		if err != nil {
			return d, fmt.Errorf("%w: %s: %v", ErrMalformedSignature, headerSlackSig, err)
		}
		d.sigs = [][]byte{sig}
		if err := timestampHeader(h, headerSlackTimestamp, &d); err != nil {
			return d, err
		}
		d.prefix = []byte("v0:" + d.tsText + ":")

	case StandardWebhooks:
		s, err := required(h, headerStdSig)
		if err != nil {
			return d, err
		}
		if d.sigs, err = parseStandardSignatures(s); err != nil {
			return d, fmt.Errorf("%w: %s: %v", errorKind(err), headerStdSig, err)
		}
		if d.id, err = idHeader(h, headerStdID, true); err != nil {
			return d, err
		}
		if err := timestampHeader(h, headerStdTimestamp, &d); err != nil {
			return d, err
		}
		d.idSigned = true
		d.prefix = []byte(d.id + "." + d.tsText + ".")

	case HMAC:
		s, err := required(h, v.sigHeader)
		if err != nil {
			return d, err
		}
		sig, err := parseGenericHex(s)
		if err != nil {
			return d, fmt.Errorf("%w: %s: %v", ErrMalformedSignature, v.sigHeader, err)
		}
		d.sigs = [][]byte{sig}
		if v.idHeader != "" {
			if d.id, err = idHeader(h, v.idHeader, false); err != nil {
				return d, err
			}
		}
		if v.tsHeader != "" {
			if err := timestampHeader(h, v.tsHeader, &d); err != nil {
				return d, err
			}
			d.prefix = []byte(d.tsText + ".")
		}
	}
	return d, nil
}

// errMissingV1 is the parse error of a header without a signature of an
// accepted version; errorKind maps it to ErrMissingSignature.
var errMissingV1 = errors.New("no v1 signature")

func errorKind(err error) error {
	if errors.Is(err, errMissingV1) {
		return ErrMissingSignature
	}
	return ErrMalformedSignature
}

// required returns the one value of header name, refusing a header that is
// absent, empty, repeated or longer than MaxHeaderLen.
func required(h http.Header, name string) (string, error) {
	vals := h.Values(name)
	switch {
	case len(vals) == 0 || (len(vals) == 1 && vals[0] == ""):
		return "", fmt.Errorf("%w: %s is missing", ErrMissingSignature, name)
	case len(vals) > 1:
		return "", fmt.Errorf("%w: %s is sent %d times", ErrMalformedSignature, name, len(vals))
	case len(vals[0]) > MaxHeaderLen:
		return "", fmt.Errorf("%w: %s is longer than %d bytes", ErrMalformedSignature, name, MaxHeaderLen)
	}
	return vals[0], nil
}

// idHeader reads a delivery id. When the id is part of the signed content
// (signed), it may not contain '.', the separator of that content.
func idHeader(h http.Header, name string, signed bool) (string, error) {
	s, err := required(h, name)
	if err != nil {
		return "", err
	}
	if err := checkID(s, signed); err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrMalformedSignature, name, err)
	}
	return s, nil
}

// timestampHeader reads a Unix timestamp into d.
func timestampHeader(h http.Header, name string, d *delivery) error {
	s, err := required(h, name)
	if err != nil {
		return err
	}
	ts, err := parseTimestamp(s)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformedSignature, name, err)
	}
	d.ts, d.tsText, d.hasTS = ts, s, true
	return nil
}
