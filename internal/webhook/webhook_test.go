package webhook

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/webhook/scheme"
)

// step is one delivery in a scenario.
type step struct {
	wrongKey bool                // sign with a secret the verifier does not have
	variant  string              // appended to the body before signing, to make a distinct delivery
	tamper   func(string) string // changes the body after signing
	ts       time.Duration       // timestamp, relative to testNow
	at       time.Duration       // arrival, relative to testNow
	id       string              // delivery id; default "d1"
	want     error
}

// TestVerifyScenarios runs every scenario against every scheme.
func TestVerifyScenarios(t *testing.T) {
	type scenario struct {
		name    string
		timed   bool // only for schemes with a timestamp
		untimed bool // only for schemes without one
		steps   func(tol time.Duration) []step
	}
	one := func(s step) func(time.Duration) []step {
		return func(time.Duration) []step { return []step{s} }
	}
	scenarios := []scenario{
		{name: "valid", steps: one(step{})},
		{name: "tampered body, one byte changed", steps: one(step{
			tamper: func(b string) string { return b[:len(b)-1] + string(b[len(b)-1]^1) }, want: ErrBadSignature})},
		{name: "tampered body, byte appended", steps: one(step{
			tamper: func(b string) string { return b + "\n" }, want: ErrBadSignature})},
		{name: "tampered body, truncated", steps: one(step{
			tamper: func(b string) string { return b[:len(b)-1] }, want: ErrBadSignature})},
		{name: "tampered body, emptied", steps: one(step{
			tamper: func(string) string { return "" }, want: ErrBadSignature})},
		{name: "wrong secret", steps: one(step{wrongKey: true, want: ErrBadSignature})},
		{name: "stale timestamp", timed: true, steps: func(tol time.Duration) []step {
			return []step{{ts: -tol - time.Second, want: ErrStale}}
		}},
		{name: "future timestamp", timed: true, steps: func(tol time.Duration) []step {
			return []step{{ts: tol + time.Second, want: ErrStale}}
		}},
		{name: "oldest timestamp accepted", timed: true, steps: func(tol time.Duration) []step {
			return []step{{ts: -tol}}
		}},
		{name: "newest timestamp accepted", timed: true, steps: func(tol time.Duration) []step {
			return []step{{ts: tol}}
		}},
		{name: "replay", steps: func(time.Duration) []step {
			return []step{{}, {at: time.Second, want: ErrReplay}}
		}},
		{name: "replay at the same instant", steps: func(time.Duration) []step {
			return []step{{}, {want: ErrReplay}}
		}},
		{
			// The cache must remember a delivery until its timestamp
			// goes stale, not for a tolerance counted from its arrival.
			name: "replay of a delivery stamped in the future", timed: true,
			steps: func(tol time.Duration) []step {
				return []step{{ts: tol - time.Second}, {ts: tol - time.Second, at: tol + tol/2, want: ErrReplay}}
			},
		},
		{name: "replay after the window is stale", timed: true, steps: func(tol time.Duration) []step {
			return []step{{}, {at: tol + time.Second, want: ErrStale}}
		}},
		{name: "replay within a day", untimed: true, steps: func(time.Duration) []step {
			return []step{{}, {at: UntimedReplayWindow, want: ErrReplay}}
		}},
		{name: "accepted again after a day", untimed: true, steps: func(time.Duration) []step {
			return []step{{}, {at: UntimedReplayWindow + time.Second}}
		}},
		{name: "distinct deliveries", steps: func(time.Duration) []step {
			return []step{{id: "d1", variant: "a"}, {id: "d2", variant: "b", at: time.Second}}
		}},
		{
			// A forgery carrying the id of a delivery to come must not
			// burn that id.
			name: "forged delivery does not poison its id",
			steps: func(time.Duration) []step {
				return []step{{id: "d-next", wrongKey: true, want: ErrBadSignature}, {id: "d-next", at: time.Second}}
			},
		},
		{name: "forged with a tampered body does not poison", steps: func(time.Duration) []step {
			return []step{{tamper: func(b string) string { return b + "x" }, want: ErrBadSignature}, {at: time.Second}}
		}},
	}
	for _, s := range senders {
		for _, sc := range scenarios {
			if (sc.timed && !s.timed) || (sc.untimed && s.timed) {
				continue
			}
			t.Run(s.name+"/"+sc.name, func(t *testing.T) {
				good, wrong := newKey(t), newKey(t)
				v := s.verifier(t, NewReplayCache(time.Hour, 100), good)
				base := "payload-" + hex.EncodeToString(randomKey(t, 8))
				for i, st := range sc.steps(s.tolerance()) {
					key := good
					if st.wrongKey {
						key = wrong
					}
					id := st.id
					if id == "" {
						id = "d1"
					}
					body := base + st.variant
					ts := testNow.Add(st.ts).Unix()
					h := s.sign(key, body, ts, id)
					genuine := mac(good, s.signed(body, ts, id))
					if st.tamper != nil {
						body = st.tamper(body)
					}
					got, err := v.Verify(h, []byte(body), testNow.Add(st.at))
					if !errors.Is(err, st.want) || (st.want == nil && err != nil) {
						t.Fatalf("step %d: Verify = %q, %v; want %v", i, got, err, st.want)
					}
					if err != nil {
						if got != "" {
							t.Errorf("step %d: refused delivery returned id %q", i, got)
						}
						assertNoLeak(t, err, good, wrong, genuine, body, h.Get(s.sigHeader))
						continue
					}
					switch {
					case s.senderID && got != id:
						t.Errorf("step %d: delivery id %q, want %q", i, got, id)
					case !s.senderID && (got == "" || strings.Contains(got, hex.EncodeToString(genuine))):
						t.Errorf("step %d: delivery id %q: want a fingerprint, never the signature", i, got)
					}
				}
			})
		}
	}
}

// assertNoLeak fails if err's text carries a secret, a signature or the
// body.
func assertNoLeak(t *testing.T, err error, good, wrong, sig []byte, body, sigHeader string) {
	t.Helper()
	msg := err.Error()
	for _, secret := range []string{
		string(good), string(wrong), hex.EncodeToString(sig), base64.StdEncoding.EncodeToString(sig), body, sigHeader,
	} {
		if len(secret) >= 8 && strings.Contains(msg, secret) {
			t.Fatalf("error %q leaks %q", msg, secret)
		}
	}
}

func TestMissingHeaders(t *testing.T) {
	for _, s := range senders {
		for _, name := range s.required {
			for _, empty := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/empty=%v", s.name, name, empty), func(t *testing.T) {
					key := newKey(t)
					v := s.verifier(t, NewReplayCache(time.Hour, 10), key)
					h := s.sign(key, "body", testNow.Unix(), "d1")
					h.Del(name)
					if empty {
						h.Set(name, "")
					}
					if _, err := v.Verify(h, []byte("body"), testNow); !errors.Is(err, ErrMissingSignature) {
						t.Fatalf("Verify = %v, want ErrMissingSignature", err)
					}
					// The genuine delivery is still accepted: nothing was
					// recorded.
					if _, err := v.Verify(s.sign(key, "body", testNow.Unix(), "d1"), []byte("body"), testNow); err != nil {
						t.Fatalf("genuine delivery after the refusal: %v", err)
					}
				})
			}
		}
	}
}

func TestMalformedHeaders(t *testing.T) {
	sig := randomKey(t, 32)
	hx := hex.EncodeToString(sig)
	b64 := base64.StdEncoding.EncodeToString(sig)
	ts := unix(testNow.Unix())
	long := strings.Repeat("a", MaxHeaderLen+1)
	perScheme := map[string][]string{
		"github": {
			hx, "sha256=" + hx[:63], "sha256=" + hx + "0", "sha256=" + hx[:62] + "zz", "sha1=" + hx[:40],
			"SHA256=" + hx, "sha256= " + hx, "sha256=" + hx + ",sha256=" + hx, "sha512=" + hx + hx, long,
		},
		"stripe": {
			"v1=" + hx, "t=" + ts + ",v1=" + hx[:63], "t=" + ts + ",v1=" + hx[:62] + "zz",
			"t=" + ts + ",v1", "t=" + ts + ",,v1=" + hx, "t=" + ts + ",v1=" + hx + ",", "t=,v1=" + hx,
			"t=-1,v1=" + hx, "t=+1,v1=" + hx, "t=1.5,v1=" + hx, "t=" + ts + ",t=" + ts + ",v1=" + hx,
			"t=" + ts + ",v1=" + hx + strings.Repeat(",v1="+hx, MaxSignatures),
			"t=" + ts + ",v1=" + hx + strings.Repeat(",v0="+hx, MaxSignatures),
			"t=" + ts + "; v1=" + hx, "t=" + ts + ", v1=" + hx, long,
		},
		"slack": {hx, "v0:" + hx, "v1=" + hx, "v0=" + hx[:63], "v0=" + hx + hx, "v0=" + hx[:62] + "gg", long},
		"standard-webhooks": {
			b64, "v1," + b64[:40], "v1,!!" + b64[2:], "v1," + hx, "v1=" + b64, "v1, " + b64, "v1," + b64 + "  v1," + b64,
			"v1," + b64 + " ", "v1," + base64.RawStdEncoding.EncodeToString(sig),
			"v1," + base64.URLEncoding.EncodeToString(append([]byte{0xfb, 0xff}, sig[2:]...)),
			"v1," + b64[:42] + "B=", // padding bits set: not the canonical encoding
			"v1," + base64.StdEncoding.EncodeToString(append(sig, 0)),
			strings.TrimSpace(strings.Repeat("v1,"+b64+" ", MaxSignatures+1)), long,
		},
		"hmac": {"sha1=" + hx[:40], "sha256=" + hx[:63], hx + "00", hx[:62] + "xx", "md5=" + hx, "=" + hx, long},
	}
	badTimestamps := []string{"abc", "-1", "+1", "1.5", " 1", "1e9", "0x10", "１２３", strings.Repeat("1", 16), long}
	badIDs := []string{"has space", "tab\t", "new\nline", "nul\x00", "é", strings.Repeat("i", MaxIDLen+1)}

	for _, s := range senders {
		type tc struct {
			name   string
			header string
			value  string
		}
		var cases []tc
		values := perScheme[s.name]
		if values == nil {
			values = perScheme["hmac"]
		}
		for i, val := range values {
			cases = append(cases, tc{fmt.Sprintf("signature %d", i), s.sigHeader, val})
		}
		if s.tsHeader != "" {
			for i, val := range badTimestamps {
				cases = append(cases, tc{fmt.Sprintf("timestamp %d", i), s.tsHeader, val})
			}
		}
		if s.idHeader != "" {
			for i, val := range badIDs {
				cases = append(cases, tc{fmt.Sprintf("id %d", i), s.idHeader, val})
			}
		}
		for _, c := range cases {
			t.Run(s.name+"/"+c.name, func(t *testing.T) {
				key := newKey(t)
				v := s.verifier(t, NewReplayCache(time.Hour, 10), key)
				h := s.sign(key, "body", testNow.Unix(), "d1")
				h.Set(c.header, c.value)
				_, err := v.Verify(h, []byte("body"), testNow)
				if !errors.Is(err, ErrMalformedSignature) {
					t.Fatalf("Verify with %s: %.80q = %v, want ErrMalformedSignature", c.header, c.value, err)
				}
				if len(c.value) >= 8 && strings.Contains(err.Error(), c.value) {
					t.Fatalf("error %q echoes the header", err)
				}
			})
		}
		// Every header sent twice, even with the same value: which one
		// counts would be a guess.
		for _, name := range s.required {
			t.Run(s.name+"/repeated "+name, func(t *testing.T) {
				key := newKey(t)
				v := s.verifier(t, nil, key)
				h := s.sign(key, "body", testNow.Unix(), "d1")
				h.Add(name, h.Get(name))
				if _, err := v.Verify(h, []byte("body"), testNow); !errors.Is(err, ErrMalformedSignature) {
					t.Fatalf("Verify = %v, want ErrMalformedSignature", err)
				}
			})
		}
	}
}

// TestReplayUnderFreshID replays a captured delivery with a new delivery
// id. Where the signature does not cover the id (GitHub, hmac with an id
// header), the body's fingerprint still identifies it; where it does
// (Standard Webhooks), the signature no longer matches.
func TestReplayUnderFreshID(t *testing.T) {
	for _, s := range senders {
		if !s.senderID {
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			key := newKey(t)
			v := s.verifier(t, NewReplayCache(time.Hour, 10), key)
			h := s.sign(key, "body", testNow.Unix(), "d1")
			if _, err := v.Verify(h, []byte("body"), testNow); err != nil {
				t.Fatal(err)
			}
			h.Set(s.idHeader, "d2")
			want := ErrReplay
			if s.name == "standard-webhooks" {
				want = ErrBadSignature
			}
			if id, err := v.Verify(h, []byte("body"), testNow.Add(time.Second)); !errors.Is(err, want) {
				t.Fatalf("replay under a fresh id = %q, %v; want %v", id, err, want)
			}
		})
	}
}

func TestGitHub(t *testing.T) {
	gh := senders[0]
	key := newKey(t)
	body := `{"zen":"Keep it logically awesome."}`
	t.Run("sha1 only", func(t *testing.T) {
		v := gh.verifier(t, nil, key)
		h := http.Header{}
		h.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(mac(key, body)[:20]))
		h.Set("X-GitHub-Delivery", "d1")
		_, err := v.Verify(h, []byte(body), testNow)
		if !errors.Is(err, ErrMissingSignature) || !strings.Contains(err.Error(), "SHA-1") {
			t.Fatalf("Verify = %v, want ErrMissingSignature naming SHA-1", err)
		}
	})
	t.Run("sha1 beside sha256", func(t *testing.T) {
		v := gh.verifier(t, nil, key)
		h := gh.sign(key, body, 0, "d1")
		h.Set("X-Hub-Signature", "sha1="+strings.Repeat("0", 40))
		if _, err := v.Verify(h, []byte(body), testNow); err != nil {
			t.Fatalf("the SHA-1 header is ignored when SHA-256 is present: %v", err)
		}
	})
	t.Run("missing delivery id", func(t *testing.T) {
		v := gh.verifier(t, NewReplayCache(time.Hour, 10), key)
		h := gh.sign(key, body, 0, "d1")
		h.Del("X-GitHub-Delivery")
		_, err := v.Verify(h, []byte(body), testNow)
		if !errors.Is(err, ErrMissingSignature) || !strings.Contains(err.Error(), "X-GitHub-Delivery") {
			t.Fatalf("Verify = %v, want ErrMissingSignature naming X-GitHub-Delivery", err)
		}
	})
	t.Run("uppercase hex", func(t *testing.T) {
		v := gh.verifier(t, NewReplayCache(time.Hour, 10), key)
		h := gh.sign(key, body, 0, "d1")
		h.Set("X-Hub-Signature-256", "sha256="+strings.ToUpper(hex.EncodeToString(mac(key, body))))
		if _, err := v.Verify(h, []byte(body), testNow); err != nil {
			t.Fatal(err)
		}
		// The same delivery in lowercase is the same delivery.
		if _, err := v.Verify(gh.sign(key, body, 0, "d9"), []byte(body), testNow); !errors.Is(err, ErrReplay) {
			t.Fatalf("re-encoded replay = %v, want ErrReplay", err)
		}
	})
	t.Run("rotation", func(t *testing.T) {
		next := newKey(t)
		v := gh.verifier(t, nil, key, next)
		for _, k := range [][]byte{key, next} {
			if _, err := v.Verify(gh.sign(k, body, 0, "d1"), []byte(body), testNow); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestStripe(t *testing.T) {
	st := senders[1]
	oldKey, newK, otherKey := newKey(t), newKey(t), newKey(t)
	ts := testNow.Unix()
	sign := func(k []byte, body string) []byte { return mac(k, unix(ts)+"."+body) }
	cases := []struct {
		name   string
		header func(body string) string
		want   error
	}{
		{"old secret", func(b string) string { return stripeSigs(ts, sign(oldKey, b)) }, nil},
		{"new secret", func(b string) string { return stripeSigs(ts, sign(newK, b)) }, nil},
		{"both during rotation", func(b string) string { return stripeSigs(ts, sign(oldKey, b), sign(newK, b)) }, nil},
		{"both, new first", func(b string) string { return stripeSigs(ts, sign(newK, b), sign(oldKey, b)) }, nil},
		{"unknown secret then new", func(b string) string { return stripeSigs(ts, sign(otherKey, b), sign(newK, b)) }, nil},
		{"v0 ignored beside v1", func(b string) string {
			return "t=" + unix(ts) + ",v0=" + hex.EncodeToString(sign(otherKey, b)) + ",v1=" + hex.EncodeToString(sign(oldKey, b))
		}, nil},
		{"unknown secret only", func(b string) string { return stripeSigs(ts, sign(otherKey, b)) }, ErrBadSignature},
		{"only v0, genuine", func(b string) string { return "t=" + unix(ts) + ",v0=" + hex.EncodeToString(sign(oldKey, b)) }, ErrMissingSignature},
		{"t last", func(b string) string { return "v1=" + hex.EncodeToString(sign(oldKey, b)) + ",t=" + unix(ts) }, nil},
		{"sixteen signatures", func(b string) string {
			return stripeSigs(ts, append(repeat(sign(otherKey, b), MaxSignatures-1), sign(oldKey, b))...)
		}, nil},
		{"seventeen signatures", func(b string) string {
			return stripeSigs(ts, append(repeat(sign(otherKey, b), MaxSignatures), sign(oldKey, b))...)
		}, ErrMalformedSignature},
		{"signature for another timestamp", func(b string) string {
			return "t=" + unix(ts) + ",v1=" + hex.EncodeToString(mac(oldKey, unix(ts-1)+"."+b))
		}, ErrBadSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := st.verifier(t, NewReplayCache(time.Hour, 10), oldKey, newK)
			body := "evt-" + hex.EncodeToString(randomKey(t, 8))
			h := http.Header{"Stripe-Signature": {c.header(body)}}
			if _, err := v.Verify(h, []byte(body), testNow); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}

	// A captured delivery signed for both secrets, replayed with its
	// signatures trimmed, reordered or re-encoded, is still a replay.
	t.Run("replay in another form", func(t *testing.T) {
		v := st.verifier(t, NewReplayCache(time.Hour, 10), oldKey, newK)
		body := "evt"
		a, b := sign(oldKey, body), sign(newK, body)
		if _, err := v.Verify(http.Header{"Stripe-Signature": {stripeSigs(ts, a, b)}}, []byte(body), testNow); err != nil {
			t.Fatal(err)
		}
		for _, hv := range []string{
			stripeSigs(ts, b), stripeSigs(ts, a), stripeSigs(ts, b, a),
			"v1=" + strings.ToUpper(hex.EncodeToString(b)) + ",t=" + unix(ts),
			stripeSigs(ts, sign(otherKey, body), a), "t=0" + unix(ts) + ",v1=" + hex.EncodeToString(a),
		} {
			_, err := v.Verify(http.Header{"Stripe-Signature": {hv}}, []byte(body), testNow.Add(time.Second))
			if hv[:3] == "t=0" {
				// A zero-padded t changes the signed text, so the old
				// signature no longer matches.
				if !errors.Is(err, ErrBadSignature) {
					t.Errorf("%s: %v, want ErrBadSignature", hv, err)
				}
				continue
			}
			if !errors.Is(err, ErrReplay) {
				t.Errorf("replay as %.40s...: %v, want ErrReplay", hv, err)
			}
		}
	})
}

func repeat(b []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

func TestStandardWebhooks(t *testing.T) {
	key := randomKey(t, 24)
	other := randomKey(t, 24)
	ts := testNow.Unix()
	body := `{"type":"invoice.paid"}`
	sig := func(k []byte, id string) []byte { return mac(k, id+"."+unix(ts)+"."+body) }
	headers := func(id, sigs string) http.Header {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", unix(ts))
		h.Set("webhook-signature", sigs)
		return h
	}
	cases := []struct {
		name   string
		secret secret.Value
		id     string
		sigs   func(id string) string
		want   error
	}{
		{"whsec secret", whsecSecret(key), "msg_1", func(id string) string { return standardSigs(0, sig(key, id)) }, nil},
		{"whsec secret, unpadded", secret.Value("whsec_" + base64.RawStdEncoding.EncodeToString(key[:23])), "msg_1",
			func(id string) string { return standardSigs(0, sig(key[:23], id)) }, nil},
		{"raw secret", secret.Value(key), "msg_1", func(id string) string { return standardSigs(0, sig(key, id)) }, nil},
		{"whsec secret used as raw bytes is wrong", whsecSecret(key), "msg_1", func(id string) string {
			return standardSigs(0, sig([]byte(whsecSecret(key).Reveal()), id))
		}, ErrBadSignature},
		{"several, one valid", whsecSecret(key), "msg_1", func(id string) string {
			return standardSigs(0, sig(other, id), sig(key, id), sig(other, "x"))
		}, nil},
		{"asymmetric entries ignored", whsecSecret(key), "msg_1", func(id string) string {
			return "v1a," + base64.StdEncoding.EncodeToString(randomKey(t, 64)) + " " + standardSigs(0, sig(key, id))
		}, nil},
		{"asymmetric only", whsecSecret(key), "msg_1", func(id string) string {
			return "v1a," + base64.StdEncoding.EncodeToString(randomKey(t, 64))
		}, ErrMissingSignature},
		{"none valid", whsecSecret(key), "msg_1", func(id string) string { return standardSigs(0, sig(other, id), sig(other, id)) }, ErrBadSignature},
		{"signature of another id", whsecSecret(key), "msg_1", func(string) string { return standardSigs(0, sig(key, "msg_2")) }, ErrBadSignature},
		// "a.1" + "." + ts could be re-read as id "a", timestamp "1" and
		// a body that starts with the real timestamp.
		{"dot in id", whsecSecret(key), "msg.1", func(id string) string { return standardSigs(0, sig(key, id)) }, ErrMalformedSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := New(Config{Scheme: StandardWebhooks, Secrets: []secret.Value{c.secret}, Namespace: "ns"}, NewReplayCache(time.Hour, 10))
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(headers(c.id, c.sigs(c.id)), []byte(body), testNow)
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
			if err == nil && got != c.id {
				t.Fatalf("delivery id %q, want %q", got, c.id)
			}
		})
	}
}

func TestHMACForms(t *testing.T) {
	key := newKey(t)
	body := "ping"
	sum := hex.EncodeToString(mac(key, body))
	for _, c := range []struct {
		value string
		want  error
	}{
		{sum, nil},
		{"sha256=" + sum, nil},
		{strings.ToUpper(sum), nil},
		{"sha1=" + sum[:40], ErrMalformedSignature},
		{"sha256=" + hex.EncodeToString(mac(key, body+" ")), ErrBadSignature},
	} {
		v, err := New(Config{Scheme: HMAC, Secrets: []secret.Value{secret.Value(key)}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(http.Header{"X-Signature": {c.value}}, []byte(body), testNow); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("%.20s...: %v, want %v", c.value, err, c.want)
		}
	}
}

// TestNamespaces: one cache serves many routes without collisions, and
// without a cache a replay goes through (the documented test-only mode).
func TestNamespaces(t *testing.T) {
	gh := senders[0]
	key := newKey(t)
	cache := NewReplayCache(time.Hour, 10)
	mk := func(ns string) *Verifier {
		v, err := New(Config{Scheme: GitHub, Secrets: []secret.Value{secret.Value(key)}, Namespace: ns}, cache)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	a, b, a2 := mk("fn-a POST /hook"), mk("fn-b POST /hook"), mk("fn-a POST /hook")
	h := gh.sign(key, "body", 0, "d1")
	for i, c := range []struct {
		v    *Verifier
		want error
	}{{a, nil}, {b, nil}, {a2, ErrReplay}, {b, ErrReplay}} {
		if _, err := c.v.Verify(h, []byte("body"), testNow); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Fatalf("delivery %d: %v, want %v", i, err, c.want)
		}
	}

	noCache, err := New(Config{Scheme: GitHub, Secrets: []secret.Value{secret.Value(key)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := noCache.Verify(h, []byte("body"), testNow); err != nil {
			t.Fatalf("without a cache: %v", err)
		}
	}
}

func TestVerifyCacheFull(t *testing.T) {
	st := senders[1]
	key := newKey(t)
	v := st.verifier(t, NewReplayCache(time.Hour, 1), key)
	ts := testNow.Unix()
	if _, err := v.Verify(st.sign(key, "one", ts, ""), []byte("one"), testNow); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(st.sign(key, "two", ts, ""), []byte("two"), testNow); !errors.Is(err, ErrReplayCacheFull) {
		t.Fatalf("second delivery into a full cache: %v, want ErrReplayCacheFull", err)
	}
	if _, err := v.Verify(st.sign(key, "one", ts, ""), []byte("one"), testNow); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay with a full cache: %v, want ErrReplay", err)
	}
	// Once the first delivery is stale, its entry leaves and room returns.
	later := testNow.Add(DefaultTolerance + time.Second)
	if _, err := v.Verify(st.sign(key, "two", later.Unix(), ""), []byte("two"), later); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	// A forged delivery never reaches the cache, full or not.
	if _, err := v.Verify(st.sign(newKey(t), "three", later.Unix(), ""), []byte("three"), later); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("forgery into a full cache: %v, want ErrBadSignature", err)
	}
}

func TestNewConfigErrors(t *testing.T) {
	s := secret.Value("s3")
	cases := []struct {
		name  string
		cfg   Config
		cache bool
	}{
		{"no scheme", Config{Secrets: []secret.Value{s}}, false},
		{"unknown scheme", Config{Scheme: "GitHub", Secrets: []secret.Value{s}}, false},
		{"no secret", Config{Scheme: GitHub}, false},
		{"empty secret", Config{Scheme: GitHub, Secrets: []secret.Value{s, ""}}, false},
		{"too many secrets", Config{Scheme: GitHub, Secrets: repeatSecret(s, MaxSecrets+1)}, false},
		{"negative tolerance", Config{Scheme: Stripe, Secrets: []secret.Value{s}, Tolerance: -time.Second}, false},
		{"tolerance above an hour", Config{Scheme: Stripe, Secrets: []secret.Value{s}, Tolerance: MaxTolerance + time.Second}, false},
		{"header on github", Config{Scheme: GitHub, Secrets: []secret.Value{s}, Header: "X-Sig"}, false},
		{"timestamp header on slack", Config{Scheme: Slack, Secrets: []secret.Value{s}, TimestampHeader: "X-Ts"}, false},
		{"id header on stripe", Config{Scheme: Stripe, Secrets: []secret.Value{s}, IDHeader: "X-Id"}, false},
		{"invalid header name", Config{Scheme: HMAC, Secrets: []secret.Value{s}, Header: "X Sig"}, false},
		{"invalid timestamp header name", Config{Scheme: HMAC, Secrets: []secret.Value{s}, TimestampHeader: "X-Ts:"}, false},
		{"invalid id header name", Config{Scheme: HMAC, Secrets: []secret.Value{s}, IDHeader: strings.Repeat("x", 65)}, false},
		{"same header twice", Config{Scheme: HMAC, Secrets: []secret.Value{s}, TimestampHeader: "x-signature"}, false},
		{"id header is the timestamp header", Config{Scheme: HMAC, Secrets: []secret.Value{s}, TimestampHeader: "X-T", IDHeader: "x-t"}, false},
		{"whsec not base64", Config{Scheme: StandardWebhooks, Secrets: []secret.Value{"whsec_!!!!"}}, false},
		{"whsec empty", Config{Scheme: StandardWebhooks, Secrets: []secret.Value{"whsec_"}}, false},
		{"cache without namespace", Config{Scheme: GitHub, Secrets: []secret.Value{s}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cache *ReplayCache
			if c.cache {
				cache = NewReplayCache(time.Hour, 1)
			}
			v, err := New(c.cfg, cache)
			if !errors.Is(err, ErrConfig) || v != nil {
				t.Fatalf("New = %v, %v; want ErrConfig", v, err)
			}
		})
	}

	valid := []Config{
		{Scheme: GitHub, Secrets: []secret.Value{s}},
		{Scheme: Stripe, Secrets: repeatSecret(s, MaxSecrets), Tolerance: MaxTolerance},
		{Scheme: Slack, Secrets: []secret.Value{s}, Tolerance: time.Second},
		{Scheme: StandardWebhooks, Secrets: []secret.Value{"not-whsec"}},
		{Scheme: HMAC, Secrets: []secret.Value{s}, Header: "x-my-sig", TimestampHeader: "X-My-Time", IDHeader: "X-My-Id"},
	}
	for _, cfg := range valid {
		if _, err := New(cfg, nil); err != nil {
			t.Errorf("New(%s) = %v", cfg.Scheme, err)
		}
	}

	// A rejected secret is never quoted.
	whsec := "whsec_" + hex.EncodeToString(randomKey(t, 16)) + "!"
	_, err := New(Config{Scheme: StandardWebhooks, Secrets: []secret.Value{secret.Value(whsec)}}, nil)
	if err == nil || strings.Contains(err.Error(), whsec[6:]) {
		t.Fatalf("New = %v", err)
	}
}

func repeatSecret(s secret.Value, n int) []secret.Value {
	out := make([]secret.Value, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestParseScheme(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Scheme
		err  bool
	}{
		{"github", GitHub, false},
		{"stripe", Stripe, false},
		{"slack", Slack, false},
		{"standard-webhooks", StandardWebhooks, false},
		{"hmac", HMAC, false},
		{"GitHub", "", true},
		{"standard_webhooks", "", true},
		{"", "", true},
		{" hmac", "", true},
	} {
		got, err := ParseScheme(c.in)
		if got != c.want || (err != nil) != c.err || (err != nil && !errors.Is(err, ErrConfig)) {
			t.Errorf("ParseScheme(%q) = %q, %v", c.in, got, err)
		}
	}
}

// TestVerifierFormatting: no verb prints a key.
func TestVerifierFormatting(t *testing.T) {
	key := newKey(t)
	std := randomKey(t, 24)
	for _, cfg := range []Config{
		{Scheme: HMAC, Secrets: []secret.Value{secret.Value(key)}},
		{Scheme: StandardWebhooks, Secrets: []secret.Value{whsecSecret(std)}},
	} {
		v, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
			for _, x := range []any{v, *v, []*Verifier{v}, struct{ V Verifier }{*v}} {
				out := fmt.Sprintf(verb, x)
				for _, leak := range []string{string(key), hex.EncodeToString(key), fmt.Sprint([]byte(key)), hex.EncodeToString(std), fmt.Sprint(std)} {
					if strings.Contains(out, leak) || strings.Contains(strings.ToLower(out), leak) {
						t.Fatalf("%s of %T prints the key: %s", verb, x, out)
					}
				}
			}
		}
	}
}

// TestEverySchemeIsImplemented checks that the verifier accepts every
// scheme a manifest may name, from package scheme's one list.
func TestEverySchemeIsImplemented(t *testing.T) {
	for _, s := range scheme.All {
		if got, err := ParseScheme(string(s)); err != nil || got != s {
			t.Errorf("ParseScheme(%q) = %q, %v", s, got, err)
		}
		if _, err := New(Config{Scheme: s, Secrets: []secret.Value{"k"}}, nil); err != nil {
			t.Errorf("New(%q): %v", s, err)
		}
	}
}
