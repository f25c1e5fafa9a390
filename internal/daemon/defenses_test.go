package daemon_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/testguests"
)

// send is call with headers.
func (n *node) send(method, path string, headers map[string]string, body []byte) response {
	n.t.Helper()
	req, err := http.NewRequest(method, n.d.GatewayURL()+path, bytes.NewReader(body))
	if err != nil {
		n.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: buf.Bytes()}
}

const ordersSchema = `{"type":"object","required":["id"],"additionalProperties":false,
	"properties":{"id":{"type":"integer","minimum":1},"note":{"type":"string","maxLength":20}}}`

// TestDefensesEndToEnd deploys a function whose routes use every kind of
// identity and an input contract from a file, and attacks each through the
// real gateway.
func TestDefensesEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "github.secret")
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	secret := hex.EncodeToString(raw)
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, issuer, trust := testIssuer(t)
	n := startWith(t, trust)
	echo := testguests.Example(t, "echo")
	manifest := `name: orders
owner: team-shop
routes:
  - method: POST
    path: /orders
    scopes: [orders:write]
    schema:
      body: schemas/order.json
  - method: POST
    path: /me
    auth: jwt
    scopes: [profile]
  - method: POST
    path: /hooks/github
    auth: webhook
    webhook: {scheme: github, secret_file: ` + secretFile + `}
`
	ctx := context.Background()
	digest, err := n.admin.PutBlob(ctx, echo)
	if err != nil {
		t.Fatal(err)
	}
	deploy := func(text string, files map[string]string) error {
		_, err := n.admin.Deploy(ctx, client.DeployRequest{Manifest: text, ManifestFile: "pave.yaml", Digest: digest, Files: files})
		return err
	}
	// Deploys that must fail, each saying where.
	for _, tt := range []struct {
		name, text string
		files      map[string]string
		want       string
	}{
		{"schema file missing", manifest, nil, `pave.yaml:8:13: routes[0].schema.body: schema file "schemas/order.json" was not sent`},
		{"schema invalid", manifest, map[string]string{"schemas/order.json": `{"type": 7}`}, "routes[0].schema.body: invalid schema"},
		{"schema with remote ref", manifest, map[string]string{"schemas/order.json": `{"$ref": "https://example.com/s.json"}`}, "routes[0].schema.body: invalid schema"},
		{"secret file open to others", strings.Replace(manifest, secretFile, filepath.Join(dir, "open.secret"), 1), map[string]string{"schemas/order.json": ordersSchema}, "chmod 600"},
		{"secret file a link", strings.Replace(manifest, secretFile, filepath.Join(dir, "link.secret"), 1), map[string]string{"schemas/order.json": ordersSchema}, "symbolic link"},
	} {
		switch tt.name {
		case "secret file open to others":
			if err := os.WriteFile(filepath.Join(dir, "open.secret"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Join(dir, "open.secret"), 0o644); err != nil { // past the umask
				t.Fatal(err)
			}
		case "secret file a link":
			// A link, even to a good file, is refused: whoever can swap
			// it chooses the secret.
			if err := os.Symlink(secretFile, filepath.Join(dir, "link.secret")); err != nil {
				t.Fatal(err)
			}
		}
		err := deploy(tt.text, tt.files)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Code != "invalid_manifest" || !strings.Contains(ce.Message, tt.want) {
			t.Errorf("%s: deploy error = %v, want invalid_manifest mentioning %q", tt.name, err, tt.want)
		}
	}
	if err := deploy(manifest, map[string]string{"schemas/order.json": ordersSchema}); err != nil {
		t.Fatal(err)
	}

	writer, err := n.admin.CreateKey(ctx, client.CreateKeyRequest{Name: "writer", Functions: []string{"orders"}, Scopes: []string{"orders:write"}})
	if err != nil {
		t.Fatal(err)
	}
	reader := n.key("reader", "orders")
	jsonHeaders := func(key string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}
	}

	// API key with scopes, and the input contract.
	if r := n.send("POST", "/orders", jsonHeaders(reader), []byte(`{"id":1}`)); r.status != 403 || r.errorCode(t) != "insufficient_scope" {
		t.Errorf("key without the scope: %d %s", r.status, r.body)
	}
	r := n.send("POST", "/orders", jsonHeaders(writer.Secret), []byte(`{"id":1,"note":"hi"}`))
	if r.status != 200 || !strings.Contains(string(r.body), `"caller":"key:writer"`) {
		t.Errorf("valid order: %d %s", r.status, r.body)
	}
	r = n.send("POST", "/orders", jsonHeaders(writer.Secret), []byte(`{"id":"one-hundred"}`))
	if r.status != 400 || r.errorCode(t) != "invalid_input" || strings.Contains(string(r.body), "one-hundred") {
		t.Errorf("invalid order: %d %s", r.status, r.body)
	}
	var eb client.ErrorBody
	_ = json.Unmarshal(r.body, &eb)
	if len(eb.Error.Violations) != 1 || eb.Error.Violations[0].Pointer != "/id" {
		t.Errorf("violations = %+v", eb.Error.Violations)
	}
	plain := jsonHeaders(writer.Secret)
	plain["Content-Type"] = "text/plain"
	if r := n.send("POST", "/orders", plain, []byte(`{"id":1}`)); r.status != 415 {
		t.Errorf("text/plain order: %d %s", r.status, r.body)
	}

	// JWT.
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k"))
	mint := func(scope string, exp time.Time) string {
		tok, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: issuer, Subject: "ada", Audience: jwt.Audience{"pave"},
			Expiry: jwt.NewNumericDate(exp), IssuedAt: jwt.NewNumericDate(time.Now())}).Claims(map[string]any{"scope": scope}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	r = n.send("POST", "/me", jsonHeaders(mint("profile", time.Now().Add(time.Hour))), []byte(`{}`))
	if r.status != 200 || !strings.Contains(string(r.body), `"caller":"jwt:`+issuer+`#ada"`) {
		t.Errorf("valid JWT: %d %s", r.status, r.body)
	}
	if r := n.send("POST", "/me", jsonHeaders(mint("email", time.Now().Add(time.Hour))), []byte(`{}`)); r.status != 403 {
		t.Errorf("JWT without the scope: %d %s", r.status, r.body)
	}
	if r := n.send("POST", "/me", jsonHeaders(writer.Secret), []byte(`{}`)); r.status != 401 || r.errorCode(t) != "invalid_token" {
		t.Errorf("API key on a JWT route: %d %s", r.status, r.body)
	}

	// Webhook.
	body := []byte(`{"action":"opened"}`)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	hook := map[string]string{"X-GitHub-Delivery": "delivery-1", "X-Hub-Signature-256": "sha256=" + hex.EncodeToString(mac.Sum(nil)), "Content-Type": "application/json"}
	if r := n.send("POST", "/hooks/github", hook, body); r.status != 200 || !strings.Contains(string(r.body), `"caller":"webhook:github#delivery-1"`) {
		t.Errorf("signed delivery: %d %s", r.status, r.body)
	}
	if r := n.send("POST", "/hooks/github", hook, body); r.status != 401 || r.errorCode(t) != "replayed" {
		t.Errorf("replayed delivery: %d %s", r.status, r.body)
	}
	hook["X-GitHub-Delivery"] = "delivery-2"
	if r := n.send("POST", "/hooks/github", hook, []byte(`{"action":"deleted"}`)); r.status != 401 || r.errorCode(t) != "invalid_signature" {
		t.Errorf("tampered delivery: %d %s", r.status, r.body)
	}

	// Nothing secret reached the log.
	logs := n.logs.String()
	for _, s := range []string{secret, writer.Secret, reader} {
		if strings.Contains(logs, s) {
			t.Error("a secret or key reached the daemon's log")
		}
	}
}

// TestBudgetsEndToEnd exhausts a function's budget, raises it through the
// admin API, and checks that the spending survives a restart.
func TestBudgetsEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := start(t, dir)
	n.deploy("name: hello\nowner: team-test\nroutes:\n  - method: GET\n    path: /hello\nbudget:\n  invocations: 3\n", testguests.Example(t, "hello"))
	key := n.key("ci", "hello")
	for i := range 3 {
		if r := n.call("GET", "/hello", key, nil); r.status != 200 {
			t.Fatalf("call %d: %d %s", i, r.status, r.body)
		}
	}
	r := n.call("GET", "/hello", key, nil)
	if r.status != 429 || r.errorCode(t) != "budget_exhausted" || r.header.Get("Retry-After") == "" {
		t.Fatalf("over budget: %d %s", r.status, r.body)
	}
	if lines := n.logs.lines(map[string]any{"msg": "budget alert"}); len(lines) != 2 {
		t.Errorf("%d budget alerts logged, want one at 80%% and one at 100%%", len(lines))
	}
	ctx := context.Background()
	if _, err := n.admin.SetBudget(ctx, "function:hello", client.Budget{Window: "day", Invocations: 5}); err != nil {
		t.Fatal(err)
	}
	if r := n.call("GET", "/hello", key, nil); r.status != 200 {
		t.Fatalf("after raising the budget: %d %s", r.status, r.body)
	}
	list, err := n.admin.ListBudgets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, b := range list {
		if b.Subject == "function:hello" {
			found = true
			if b.Source != "override" || b.Spent == nil || b.Spent.Invocations != 4 {
				t.Errorf("budget status = %+v (spent %+v)", b, b.Spent)
			}
		}
	}
	if !found {
		t.Errorf("function:hello missing from %+v", list)
	}
	if _, err := n.admin.SetBudget(ctx, "owner:team test", client.Budget{Invocations: 1}); err == nil {
		t.Error("an invalid subject was accepted")
	}

	// After a restart, the window's spending is still counted: one call
	// left of five.
	n.stop()
	n = start(t, dir)
	if r := n.call("GET", "/hello", key, nil); r.status != 200 {
		t.Fatalf("first call after restart: %d %s", r.status, r.body)
	}
	if r := n.call("GET", "/hello", key, nil); r.status != 429 {
		t.Errorf("second call after restart: %d %s (spending was forgotten)", r.status, r.body)
	}
}

// testIssuer makes an OIDC issuer for a test: an ES256 key generated for
// it, the issuer's name, and the change to a daemon's configuration that
// trusts it (audience "pave", the key under kid "k").
func testIssuer(t testing.TB) (key *ecdsa.PrivateKey, issuer string, trust func(*config.Config)) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k", Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	issuer = "https://login.test.invalid/"
	return key, issuer, func(c *config.Config) {
		c.Defenses.Issuers = []config.Issuer{{Issuer: issuer, Audiences: []string{"pave"}, JWKS: jwks, Algorithms: []string{"ES256"}}}
	}
}
