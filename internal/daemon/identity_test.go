package daemon_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/pave-dev/pave/internal/testguests"
)

// TestJWTSubjectsAreDistinctCallers sends tokens whose subjects differ only
// by characters a careless identity would drop (zero-width, NUL, bidi
// override) or only after their first 128 bytes, as CI subjects do. Each
// subject must be its own caller: its own async calls under the same
// Idempotency-Key, its own rate-limit bucket, and no reading of another's
// call.
func TestJWTSubjectsAreDistinctCallers(t *testing.T) {
	t.Parallel()
	key, issuer, trust := testIssuer(t)
	n := startWith(t, trust)
	n.deploy(`name: me
owner: team-id
routes:
  - method: POST
    path: /me
    auth: jwt
rate_limit:
  caller: {rate: 1/h, burst: 2}
`, testguests.Example(t, "echo"))

	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k"))
	mint := func(sub string) map[string]string {
		tok, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: issuer, Subject: sub, Audience: jwt.Audience{"pave"},
			Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour)), IssuedAt: jwt.NewNumericDate(time.Now())}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
	}
	long := "repo:acme/" + strings.Repeat("a-very-long-repository-name-", 5) + ":ref:refs/heads/"
	subjects := []string{"alice", "alice\u200b", "ali\x00ce", "\u202ealice", long + "main", long + "attacker"}

	ids := map[string]string{}     // call id -> subject
	callers := map[string]string{} // caller -> subject
	var aliceCall string
	for _, sub := range subjects {
		h := mint(sub)
		h["Idempotency-Key"] = "deploy-1"
		id, r := n.submit("/me", h, `{}`)
		if prev, dup := ids[id]; dup || r.header.Get("Idempotent-Replayed") != "" {
			t.Errorf("subject %q got the async call of subject %q (replayed %q)", sub, prev, r.header.Get("Idempotent-Replayed"))
		}
		ids[id] = sub
		if sub == "alice" {
			aliceCall = id
		}
	}
	for _, sub := range subjects {
		r := n.send("POST", "/me", mint(sub), []byte(`{}`))
		if r.status != 200 {
			t.Errorf("subject %q, second request of its bucket: %d %s", sub, r.status, r.body)
			continue
		}
		caller, _ := r.json(t)["caller"].(string)
		if prev, dup := callers[caller]; dup {
			t.Errorf("subjects %q and %q are both caller %q", prev, sub, caller)
		}
		callers[caller] = sub
		if len(caller) > 300 || strings.IndexFunc(caller, func(r rune) bool { return !unicode.IsPrint(r) || r == ' ' }) >= 0 {
			t.Errorf("caller %q is not safe to log", caller)
		}
	}
	if _, ok := callers["jwt:"+issuer+"#alice%E2%80%8B"]; !ok {
		t.Errorf("callers %q, want alice\\u200b shown as alice%%E2%%80%%8B", callers)
	}

	// Each bucket is real: a third request of one subject is refused.
	if r := n.send("POST", "/me", mint("alice"), []byte(`{}`)); r.status != 429 || r.errorCode(t) != "rate_limited" {
		t.Errorf("alice's third request: %d %s", r.status, r.body)
	}
	// Only alice reads alice's call.
	for _, sub := range subjects {
		want := 404
		if sub == "alice" {
			want = 200
		}
		if r := n.send("GET", "/async/calls/"+aliceCall, mint(sub), nil); r.status != want {
			t.Errorf("subject %q reads alice's call: %d %s, want %d", sub, r.status, r.body, want)
		}
	}
}

// TestRepeatedAuthorizationRefused sends two Authorization headers, the
// same credential twice or a valid one beside another, to every place that
// reads a credential: an API key route, a JWT route, an asynchronous call
// and its status, publishing an event, and the admin API. Each is refused
// with 400 before the credential is read.
func TestRepeatedAuthorizationRefused(t *testing.T) {
	t.Parallel()
	key, issuer, trust := testIssuer(t)
	n := startWith(t, trust)
	n.deploy(`name: both
owner: team-auth
routes:
  - method: POST
    path: /key
  - method: POST
    path: /jwt
    auth: jwt
`, testguests.Example(t, "echo"))
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k"))
	tok, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: issuer, Subject: "ada", Audience: jwt.Audience{"pave"},
		Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour)), IssuedAt: jwt.NewNumericDate(time.Now())}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	apiKey := n.key("ci", "both")
	adminToken, err := os.ReadFile(n.cfg.AdminTokenFile())
	if err != nil {
		t.Fatal(err)
	}
	id, _ := n.submit("/key", auth(apiKey), "{}")

	do := func(method, url string, values ...string) (int, string) {
		req, err := http.NewRequest(method, url, bytes.NewReader([]byte("{}")))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			req.Header.Add("Authorization", v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	gw, admin := n.d.GatewayURL(), n.d.AdminURL()
	for _, tc := range []struct {
		name, method, url, credential string
		ok                            int
	}{
		{"API key route", "POST", gw + "/key", apiKey, 200},
		{"JWT route", "POST", gw + "/jwt", tok, 200},
		{"asynchronous call", "POST", gw + "/async/key", apiKey, 202},
		{"asynchronous call status", "GET", gw + "/async/calls/" + id, apiKey, 200},
		{"publishing an event", "POST", gw + "/events/orders.created", apiKey, 403}, // the key has no publish scope
		{"admin API", "GET", admin + "/v1/functions", strings.TrimSpace(string(adminToken)), 200},
	} {
		one := "Bearer " + tc.credential
		if status, body := do(tc.method, tc.url, one); status != tc.ok {
			t.Errorf("%s with one Authorization header: %d %s, want %d", tc.name, status, body, tc.ok)
		}
		for _, two := range [][]string{{one, one}, {one, "Bearer pave_k_other"}, {"Basic eDp5", one}} {
			status, body := do(tc.method, tc.url, two...)
			if status != 400 || !strings.Contains(body, `"bad_request"`) || strings.Contains(body, tc.credential) {
				t.Errorf("%s with Authorization headers %d: %d %s, want 400 bad_request", tc.name, len(two), status, body)
			}
		}
	}
}
