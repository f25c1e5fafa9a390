package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/secret"
)

// This file plays the senders: for each scheme it signs deliveries the way
// the sender does, computing the HMAC here, independently of the code
// under test.

// testNow is the arrival time in the tests, a whole second.
var testNow = time.Unix(1_900_000_000, 0)

// randomKey returns n random bytes.
func randomKey(tb testing.TB, n int) []byte {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return b
}

// newKey returns a random key that is also a plausible secret string:
// senders hand out printable secrets.
func newKey(tb testing.TB) []byte {
	return []byte(hex.EncodeToString(randomKey(tb, 20)))
}

// mac is HMAC-SHA256 of the concatenated parts.
func mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// sender describes one scheme from the sender's side.
type sender struct {
	name   string
	config Config // without secrets
	// timed: the signature covers a timestamp.
	timed bool
	// senderID: deliveries carry an id that Verify returns.
	senderID bool
	// sigHeader holds the signature; required lists every header whose
	// absence must give ErrMissingSignature.
	sigHeader string
	required  []string
	// tsHeader holds a timestamp that can be tampered with on its own; ""
	// for Stripe, whose timestamp is inside the signature header.
	tsHeader string
	idHeader string
	// secret writes a key as the configuration gives it.
	secret func(key []byte) secret.Value
	// sigs returns the signature header value carrying sigs.
	sigs func(ts int64, sigs ...[]byte) string
	// signed returns the content the sender signs.
	signed func(body string, ts int64, id string) string
}

func rawSecret(key []byte) secret.Value { return secret.Value(key) }

func unix(ts int64) string { return strconv.FormatInt(ts, 10) }

// sign returns the headers of a delivery of body at ts with id, signed
// with key.
func (s *sender) sign(key []byte, body string, ts int64, id string) http.Header {
	h := http.Header{}
	h.Set(s.sigHeader, s.sigs(ts, mac(key, s.signed(body, ts, id))))
	if s.tsHeader != "" {
		h.Set(s.tsHeader, unix(ts))
	}
	if s.idHeader != "" {
		h.Set(s.idHeader, id)
	}
	return h
}

// verifier returns a verifier of s with the given keys and cache.
func (s *sender) verifier(tb testing.TB, replay *ReplayCache, keys ...[]byte) *Verifier {
	tb.Helper()
	cfg := s.config
	cfg.Namespace = "fn POST /hook"
	for _, k := range keys {
		cfg.Secrets = append(cfg.Secrets, s.secret(k))
	}
	v, err := New(cfg, replay)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return v
}

func hexSigs(prefix, sep string) func(int64, ...[]byte) string {
	return func(_ int64, sigs ...[]byte) string {
		parts := make([]string, len(sigs))
		for i, s := range sigs {
			parts[i] = prefix + hex.EncodeToString(s)
		}
		return strings.Join(parts, sep)
	}
}

func stripeSigs(ts int64, sigs ...[]byte) string {
	return "t=" + unix(ts) + "," + hexSigs("v1=", ",")(ts, sigs...)
}

func standardSigs(_ int64, sigs ...[]byte) string {
	parts := make([]string, len(sigs))
	for i, s := range sigs {
		parts[i] = "v1," + base64.StdEncoding.EncodeToString(s)
	}
	return strings.Join(parts, " ")
}

func whsecSecret(key []byte) secret.Value {
	return secret.Value("whsec_" + base64.StdEncoding.EncodeToString(key))
}

func bodyOnly(body string, _ int64, _ string) string { return body }
func tsDotBody(body string, ts int64, _ string) string {
	return unix(ts) + "." + body
}

// senders covers every scheme, and the generic one in each of its forms.
var senders = []*sender{
	{
		name: "github", config: Config{Scheme: GitHub}, senderID: true,
		sigHeader: "X-Hub-Signature-256", idHeader: "X-GitHub-Delivery",
		required: []string{"X-Hub-Signature-256", "X-GitHub-Delivery"},
		secret:   rawSecret, sigs: hexSigs("sha256=", ","), signed: bodyOnly,
	},
	{
		name: "stripe", config: Config{Scheme: Stripe}, timed: true,
		sigHeader: "Stripe-Signature", required: []string{"Stripe-Signature"},
		secret: rawSecret, sigs: stripeSigs, signed: tsDotBody,
	},
	{
		name: "slack", config: Config{Scheme: Slack}, timed: true,
		sigHeader: "X-Slack-Signature", tsHeader: "X-Slack-Request-Timestamp",
		required: []string{"X-Slack-Signature", "X-Slack-Request-Timestamp"},
		secret:   rawSecret, sigs: hexSigs("v0=", ","),
		signed: func(body string, ts int64, _ string) string { return "v0:" + unix(ts) + ":" + body },
	},
	{
		name: "standard-webhooks", config: Config{Scheme: StandardWebhooks, Tolerance: 2 * time.Minute},
		timed: true, senderID: true,
		sigHeader: "Webhook-Signature", tsHeader: "Webhook-Timestamp", idHeader: "Webhook-Id",
		required: []string{"Webhook-Signature", "Webhook-Timestamp", "Webhook-Id"},
		secret:   whsecSecret, sigs: standardSigs,
		signed: func(body string, ts int64, id string) string { return id + "." + unix(ts) + "." + body },
	},
	{
		name: "hmac", config: Config{Scheme: HMAC},
		sigHeader: "X-Signature", required: []string{"X-Signature"},
		secret: rawSecret, sigs: hexSigs("", ","), signed: bodyOnly,
	},
	{
		name: "hmac-timestamp", config: Config{Scheme: HMAC, Header: "x-hook-sig", TimestampHeader: "X-Hook-Time"}, timed: true,
		sigHeader: "X-Hook-Sig", tsHeader: "X-Hook-Time", required: []string{"X-Hook-Sig", "X-Hook-Time"},
		secret: rawSecret, sigs: hexSigs("sha256=", ","), signed: tsDotBody,
	},
	{
		name: "hmac-id", config: Config{Scheme: HMAC, IDHeader: "X-Hook-Id"}, senderID: true,
		sigHeader: "X-Signature", idHeader: "X-Hook-Id", required: []string{"X-Signature", "X-Hook-Id"},
		secret: rawSecret, sigs: hexSigs("sha256=", ","), signed: bodyOnly,
	},
	{
		name: "hmac-timestamp-id", config: Config{Scheme: HMAC, TimestampHeader: "X-Hook-Time", IDHeader: "X-Hook-Id", Tolerance: 30 * time.Second},
		timed: true, senderID: true,
		sigHeader: "X-Signature", tsHeader: "X-Hook-Time", idHeader: "X-Hook-Id",
		required: []string{"X-Signature", "X-Hook-Time", "X-Hook-Id"},
		secret:   rawSecret, sigs: hexSigs("", ","), signed: tsDotBody,
	},
}

// tolerance is the sender's configured tolerance or the default.
func (s *sender) tolerance() time.Duration {
	if s.config.Tolerance != 0 {
		return s.config.Tolerance
	}
	return DefaultTolerance
}
