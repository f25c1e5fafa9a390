package gateway

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
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/contract"
	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/oidc"
	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/secret"
)

// defended builds a gateway over fns with keys and the given dependencies
// filled in around the fixture's fakes.
type defended struct {
	fixture
	deps Deps
}

func newDefended(t testing.TB, fns *fakeFunctions, keys fakeKeys, edit func(*Deps)) *defended {
	t.Helper()
	f := &defended{fixture: fixture{fns: fns, eng: &fakeEngine{}, usage: &fakeUsage{}, logs: &bytes.Buffer{}}}
	f.deps = Deps{
		Functions: fns, Keys: keys, Engine: f.eng, Usage: f.usage,
		Log:      slog.New(slog.NewJSONHandler(f.logs, nil)),
		Defenses: config.DefaultDefenses(),
	}
	if edit != nil {
		edit(&f.deps)
	}
	f.g = New(f.deps)
	return f
}

func oneFunction(fn *registry.Function) *fakeFunctions {
	fns := &fakeFunctions{fns: map[string]*registry.Function{}}
	fns.put(fn)
	return fns
}

func TestKeyScopesAndSources(t *testing.T) {
	rt := apiKey("POST", "/orders")
	rt.Scopes = []string{"orders:write"}
	fns := oneFunction(testFunction("orders", manifest.DefaultLimits(), rt))
	keys := fakeKeys{
		"pave_k_writer": {Name: "writer", Functions: []string{"orders"}, Scopes: []string{"orders:write"}},
		"pave_k_reader": {Name: "reader", Functions: []string{"orders"}, Scopes: []string{"orders:read"}},
		"pave_k_office": {Name: "office", Functions: []string{"orders"}, Scopes: []string{"orders:write"}, CIDRs: []string{"10.0.0.0/8"}},
	}
	f := newDefended(t, fns, keys, nil)
	tests := []struct {
		token, remote string
		status        int
		code          apierror.Code
	}{
		{"pave_k_writer", "192.0.2.1:1000", 200, ""},
		{"pave_k_reader", "192.0.2.1:1000", 403, apierror.InsufficientScope},
		{"pave_k_office", "192.0.2.1:1000", 403, apierror.SourceNotAllowed},
		{"pave_k_office", "10.1.2.3:1000", 200, ""},
		{"pave_k_office", "[::ffff:10.1.2.3]:1000", 200, ""},
	}
	for _, tt := range tests {
		r := request("POST", "/orders", tt.token, []byte("{}"))
		r.RemoteAddr = tt.remote
		rec := f.serve(r)
		if rec.Code != tt.status {
			t.Errorf("%s from %s: %d %s", tt.token, tt.remote, rec.Code, rec.Body)
			continue
		}
		if tt.code != "" {
			d := errorDetail(t, rec, tt.code)
			if strings.Contains(rec.Body.String(), tt.token) {
				t.Errorf("the refusal echoes the key: %s", rec.Body)
			}
			if tt.code == apierror.InsufficientScope && !strings.Contains(d.Message, "orders:write") {
				t.Errorf("the refusal does not name the required scope: %q", d.Message)
			}
		}
	}
}

func TestCallDepth(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		header string
		status int
		seen   string
	}{
		{"", 200, "1"},
		{"3", 200, "4"},
		{"7", 200, "8"},
		{"8", 508, ""},
		{"1000000", 508, ""},
		{"-1", 400, ""},
		{"two", 400, ""},
	}
	for _, tt := range tests {
		r := request("GET", "/hello", tokGood, nil)
		if tt.header != "" {
			r.Header.Set(limits.HeaderCallDepth, tt.header)
		}
		rec := f.serve(r)
		if rec.Code != tt.status {
			t.Errorf("depth %q: %d %s", tt.header, rec.Code, rec.Body)
			continue
		}
		if tt.status == 508 {
			errorDetail(t, rec, apierror.CallDepthExceeded)
		}
		if tt.seen != "" {
			got := headerMap(f.eng.lastRequest(t).Headers)[limits.HeaderCallDepth]
			if len(got) != 1 || got[0] != tt.seen {
				t.Errorf("depth %q: the function saw %v, want [%s]", tt.header, got, tt.seen)
			}
		}
	}
}

func TestRateLimits(t *testing.T) {
	fn := testFunction("hello", manifest.DefaultLimits(), apiKey("GET", "/hello"))
	fn.Versions[0].RateLimit = manifest.RateLimits{
		Caller:   &limits.Rate{PerSecond: 0.001, Burst: 3},
		Function: &limits.Rate{PerSecond: 0.001, Burst: 5},
	}
	keys := fakeKeys{
		"pave_k_a": {Name: "a", Functions: []string{"hello"}},
		"pave_k_b": {Name: "b", Functions: []string{"hello"}},
	}
	f := newDefended(t, oneFunction(fn), keys, nil)
	for i := range 3 {
		rec := f.serve(request("GET", "/hello", "pave_k_a", nil))
		if rec.Code != 200 {
			t.Fatalf("call %d: %d %s", i, rec.Code, rec.Body)
		}
		if got, want := rec.Header().Get("RateLimit"), fmt.Sprintf(`"caller";r=%d;`, 2-i); !strings.HasPrefix(got, want) {
			t.Errorf("call %d: RateLimit = %q, want prefix %q", i, got, want)
		}
		if got := rec.Header().Get("RateLimit-Policy"); !strings.HasPrefix(got, `"caller";q=3;`) {
			t.Errorf("RateLimit-Policy = %q", got)
		}
	}
	rec := f.serve(request("GET", "/hello", "pave_k_a", nil))
	errorDetail(t, rec, apierror.RateLimited)
	if ra, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After = %q", rec.Header().Get("Retry-After"))
	}
	// Another caller has its own bucket, until the function's runs dry.
	for i := range 2 {
		if rec := f.serve(request("GET", "/hello", "pave_k_b", nil)); rec.Code != 200 {
			t.Fatalf("caller b, call %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	rec = f.serve(request("GET", "/hello", "pave_k_b", nil))
	errorDetail(t, rec, apierror.RateLimited)
	if !strings.HasPrefix(rec.Header().Get("RateLimit-Policy"), `"function";q=5;`) {
		t.Errorf("function refusal policy = %q", rec.Header().Get("RateLimit-Policy"))
	}
	if n := len(f.eng.requests()); n != 5 {
		t.Errorf("the function ran %d times, want 5", n)
	}
	if got := f.g.Refusals()[apierror.RateLimited]; got != 2 {
		t.Errorf("rate refusals counted = %d, want 2", got)
	}
}

// TestRateLimitBurstAccuracy sends a concurrent burst ten times the bucket
// and checks that exactly the bucket gets through.
func TestRateLimitBurstAccuracy(t *testing.T) {
	fn := testFunction("hello", manifest.DefaultLimits(), public("GET", "/hello"))
	fn.Versions[0].Limits.Concurrency = 1000
	fn.Versions[0].RateLimit.Function = &limits.Rate{PerSecond: 0.001, Burst: 50}
	f := newDefended(t, oneFunction(fn), fakeKeys{}, nil)
	ok := parallelCalls(f, 500, func(i int) *http.Request {
		r := request("GET", "/hello", "", nil)
		r.RemoteAddr = fmt.Sprintf("192.0.2.%d:1000", i%250)
		return r
	})
	if ok != 50 {
		t.Errorf("%d calls admitted, want exactly 50", ok)
	}
}

// parallelCalls serves n requests from 32 goroutines and counts the 200s.
func parallelCalls(f *defended, n int, req func(i int) *http.Request) int {
	var ok atomic.Int64
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if rec := f.serve(req(i)); rec.Code == 200 {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return int(ok.Load())
}

func TestOwnerConcurrency(t *testing.T) {
	fns := &fakeFunctions{fns: map[string]*registry.Function{}}
	for _, fn := range []struct{ name, owner string }{{"a1", "team-a"}, {"a2", "team-a"}, {"b1", "team-b"}} {
		f := testFunction(fn.name, manifest.DefaultLimits(), public("GET", "/"+fn.name))
		f.Owner, f.Versions[0].Owner = fn.owner, fn.owner
		fns.put(f)
	}
	f := newDefended(t, fns, fakeKeys{}, func(d *Deps) { d.Defenses.OwnerConcurrency = 2 })
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	f.eng.handle = func(ctx context.Context, req *abi.Request) (*runtime.Result, error) {
		if req.Route == "/a1" {
			started <- struct{}{}
			<-release
		}
		return okResult("ok"), nil
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.serve(request("GET", "/a1", "", nil))
		}()
	}
	<-started
	<-started
	// team-a is saturated: its other function is refused, team-b is not.
	errorDetail(t, f.serve(request("GET", "/a2", "", nil)), apierror.OwnerBusy)
	for range 20 {
		if rec := f.serve(request("GET", "/b1", "", nil)); rec.Code != 200 {
			t.Fatalf("team-b refused while team-a is saturated: %d %s", rec.Code, rec.Body)
		}
	}
	close(release)
	wg.Wait()
	if rec := f.serve(request("GET", "/a2", "", nil)); rec.Code != 200 {
		t.Errorf("team-a still refused after its calls ended: %d", rec.Code)
	}
}

type fakeOverrides map[string]limits.Budget

func (o fakeOverrides) Budget(subject string) (limits.Budget, bool) {
	b, ok := o[subject]
	return b, ok
}

func TestBudgets(t *testing.T) {
	fn := testFunction("hello", manifest.DefaultLimits(), public("GET", "/hello"))
	fn.Versions[0].Limits.Concurrency = 1000
	fn.Versions[0].Budget = &limits.Budget{Window: "day", Invocations: 40}
	var alerts []limits.Alert
	var mu sync.Mutex
	overrides := fakeOverrides{}
	f := newDefended(t, oneFunction(fn), fakeKeys{}, func(d *Deps) {
		d.Ledger = limits.NewLedger(time.Now, func(a limits.Alert) { mu.Lock(); alerts = append(alerts, a); mu.Unlock() })
		d.Budgets = overrides
	})
	call := func(i int) *http.Request {
		r := request("GET", "/hello", "", nil)
		r.RemoteAddr = fmt.Sprintf("198.51.100.%d:1", i%200)
		return r
	}
	// A 10x concurrent burst: exactly the budget gets through.
	if ok := parallelCalls(f, 400, call); ok != 40 {
		t.Errorf("%d calls admitted, want exactly 40", ok)
	}
	rec := f.serve(call(0))
	d := errorDetail(t, rec, apierror.BudgetExhausted)
	if !strings.Contains(d.Message, "invocations") || rec.Header().Get("Retry-After") == "" {
		t.Errorf("refusal = %q, Retry-After %q", d.Message, rec.Header().Get("Retry-After"))
	}
	mu.Lock()
	levels := []int{}
	for _, a := range alerts {
		levels = append(levels, a.Level)
	}
	mu.Unlock()
	if fmt.Sprint(levels) != "[80 100]" {
		t.Errorf("alerts at %v, want one at 80 and one at 100", levels)
	}
	// An operator raising the budget reopens the function at once.
	overrides["function:hello"] = limits.Budget{Window: "day", Invocations: 45}
	if ok := parallelCalls(f, 20, call); ok != 5 {
		t.Errorf("%d calls admitted after raising the budget by 5", ok)
	}
	// An owner budget stops all of the owner's functions.
	overrides["function:hello"] = limits.Budget{Window: "day", Invocations: 1000}
	overrides["owner:team-test"] = limits.Budget{Window: "day", Invocations: 1}
	if rec := f.serve(call(0)); rec.Code != 200 {
		t.Fatalf("first call against the owner budget: %d %s", rec.Code, rec.Body)
	}
	d = errorDetail(t, f.serve(call(0)), apierror.BudgetExhausted)
	if !strings.Contains(d.Message, "owner") {
		t.Errorf("owner refusal = %q", d.Message)
	}
}

func TestComputeBudget(t *testing.T) {
	fn := testFunction("hello", manifest.DefaultLimits(), public("GET", "/hello"))
	v := &fn.Versions[0]
	v.Limits.Memory = 1 << 30
	v.Limits.Timeout = time.Second
	v.Limits.Concurrency = 100
	// Room for ten worst-case calls of 1 GB for 1 s.
	v.Budget = &limits.Budget{Window: "day", ComputeGBs: 10}
	f := newDefended(t, oneFunction(fn), fakeKeys{}, nil)
	if ok := parallelCalls(f, 100, func(int) *http.Request { return request("GET", "/hello", "", nil) }); ok < 10 {
		t.Errorf("%d calls admitted; the fast calls settle far below their worst case, so at least 10 fit", ok)
	}
	u, _ := f.g.deps.Ledger.Usage("function:hello")
	if u.ComputeGBs > 10 {
		t.Errorf("compute spent %.3f GB-s, over the budget of 10", u.ComputeGBs)
	}
}

func TestInputContracts(t *testing.T) {
	fns := &fakeFunctions{fns: map[string]*registry.Function{}}
	body := fns.putBlob([]byte(`{"type":"object","required":["id"],"additionalProperties":false,
		"properties":{"id":{"type":"integer","minimum":1},"note":{"type":"string","maxLength":8}}}`))
	query := fns.putBlob([]byte(`{"type":"object","properties":{"limit":{"type":"string","pattern":"^[0-9]{1,3}$"}},"additionalProperties":false}`))
	rt := public("POST", "/orders")
	rt.Schema = &manifest.Schemas{Body: &manifest.SchemaRef{Digest: body}, Query: &manifest.SchemaRef{Digest: query}}
	fns.put(testFunction("orders", manifest.DefaultLimits(), rt, public("POST", "/free")))
	f := newDefended(t, fns, fakeKeys{}, nil)

	secret := make([]byte, 12)
	_, _ = rand.Read(secret)
	marker := "MARK" + hex.EncodeToString(secret)
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	tests := []struct {
		name, path, ctype, body string
		status                  int
		code                    apierror.Code
		pointer                 string
	}{
		{"valid", "/orders?limit=10", "application/json", `{"id":3,"note":"hi"}`, 200, "", ""},
		{"json with charset", "/orders", "application/json; charset=utf-8", `{"id":3}`, 200, "", ""},
		{"not json", "/orders", "text/plain", `{"id":3}`, 415, apierror.UnsupportedMediaType, ""},
		{"no content type", "/orders", "", `{"id":3}`, 415, apierror.UnsupportedMediaType, ""},
		{"wrong type", "/orders", "application/json", `{"id":"` + marker + `"}`, 400, apierror.InvalidInput, "/id"},
		{"too long", "/orders", "application/json", `{"id":1,"note":"` + marker + `"}`, 400, apierror.InvalidInput, "/note"},
		{"extra property", "/orders", "application/json", `{"id":1,"colour":1}`, 400, apierror.InvalidInput, "/colour"},
		// A name that is not short and plain is only counted.
		{"extra property with markup", "/orders", "application/json", `{"id":1,"<` + marker + `>":1}`, 400, apierror.InvalidInput, ""},
		{"extra property with a space", "/orders", "application/json", `{"id":1,"` + marker + ` ":1}`, 400, apierror.InvalidInput, ""},
		{"long extra property", "/orders", "application/json", `{"id":1,"` + marker + strings.Repeat("x", contract.MaxNamedProperty) + `":1}`, 400, apierror.InvalidInput, ""},
		{"missing required", "/orders", "application/json", `{}`, 400, apierror.InvalidInput, ""},
		{"duplicate key", "/orders", "application/json", `{"id":1,"id":2}`, 400, apierror.InvalidInput, ""},
		{"lone surrogate", "/orders", "application/json", `{"id":1,"note":"\ud800"}`, 400, apierror.InvalidInput, ""},
		{"huge number", "/orders", "application/json", `{"id":1e400}`, 400, apierror.InvalidInput, ""},
		{"invalid utf-8", "/orders", "application/json", "{\"id\":1,\"note\":\"\xff\"}", 400, apierror.InvalidInput, ""},
		{"trailing data", "/orders", "application/json", `{"id":1} {}`, 400, apierror.InvalidInput, ""},
		{"bad query", "/orders?limit=" + marker, "application/json", `{"id":1}`, 400, apierror.InvalidInput, "/limit"},
		// Queries that net/url reads differently from other parsers: the
		// pair Go drops would reach the function unchecked.
		{"query with ';'", "/orders?limit=" + marker + ";x=1", "application/json", `{"id":1}`, 400, apierror.BadRequest, ""},
		{"query with a bad escape", "/orders?limit=" + marker + "%ZZ", "application/json", `{"id":1}`, 400, apierror.BadRequest, ""},
		{"query ending in '%'", "/orders?limit=" + marker + "%", "application/json", `{"id":1}`, 400, apierror.BadRequest, ""},
		{"query not utf-8", "/orders?limit=1&" + marker + "=%FF", "application/json", `{"id":1}`, 400, apierror.BadRequest, ""},
		{"query with NUL", "/orders?limit=1%00" + marker, "application/json", `{"id":1}`, 400, apierror.BadRequest, ""},
		{"query too long for net/url", "/orders?" + strings.Repeat("&", 10000) + "limit=" + marker, "application/json", `{"id":1}`, 400, apierror.BadRequest, ""},
		{"ambiguous query without a contract", "/free?limit=" + marker + ";x=1", "text/plain", "", 400, apierror.BadRequest, ""},
		{"deep json without schema", "/free", "application/json", deep, 400, apierror.InvalidInput, ""},
		{"deep text without schema", "/free", "text/plain", deep, 200, "", ""},
		{"shallow json without schema", "/free", "application/json", `{"a":[1,{"b":2}]}`, 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request("POST", tt.path, "", []byte(tt.body))
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			before := len(f.eng.requests())
			rec := f.serve(r)
			if rec.Code != tt.status {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if tt.code == "" {
				return
			}
			if len(f.eng.requests()) != before {
				t.Error("a refused request reached the function")
			}
			d := errorDetail(t, rec, tt.code)
			if strings.Contains(rec.Body.String(), marker) {
				t.Errorf("the refusal echoes the input: %s", rec.Body)
			}
			if tt.code == apierror.InvalidInput && len(d.Violations) == 0 {
				t.Errorf("no violations listed: %s", rec.Body)
			}
			if tt.pointer != "" && (len(d.Violations) == 0 || d.Violations[0].Pointer != tt.pointer) {
				t.Errorf("violations = %+v, want pointer %s", d.Violations, tt.pointer)
			}
		})
	}
}

func TestBrokenPolicyFailsClosed(t *testing.T) {
	fns := &fakeFunctions{fns: map[string]*registry.Function{}}
	bad := fns.putBlob([]byte(`{"type": 12}`))
	rt := public("POST", "/orders")
	rt.Schema = &manifest.Schemas{Body: &manifest.SchemaRef{Digest: bad}}
	wh := public("POST", "/hook")
	wh.Public, wh.Auth = false, manifest.AuthWebhook
	wh.Webhook = &manifest.Webhook{Scheme: "github", SecretFile: "/nonexistent"}
	fns.put(testFunction("orders", manifest.DefaultLimits(), rt, wh))
	f := newDefended(t, fns, fakeKeys{}, func(d *Deps) { d.WebhookSecrets = fakeSecrets{} })
	for _, path := range []string{"/orders", "/hook"} {
		r := request("POST", path, "", []byte(`{"id":1}`))
		r.Header.Set("Content-Type", "application/json")
		errorDetail(t, f.serve(r), apierror.IdentityUnavailable)
	}
	if n := len(f.eng.requests()); n != 0 {
		t.Errorf("the function ran %d times behind a broken policy", n)
	}
}

// fakeSecrets serves webhook secrets from memory.
type fakeSecrets map[string][]secret.Value

func (s fakeSecrets) WebhookSecrets(file string) ([]secret.Value, error) {
	if v, ok := s[file]; ok {
		return v, nil
	}
	return nil, errors.New("no such secret file")
}

func TestWebhookRoute(t *testing.T) {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	whsec := hex.EncodeToString(raw)
	rt := manifest.Route{Method: "POST", Path: "/hooks/github", Auth: manifest.AuthWebhook,
		Webhook: &manifest.Webhook{Scheme: "github", SecretFile: "/etc/pave/gh"}}
	f := newDefended(t, oneFunction(testFunction("hooks", manifest.DefaultLimits(), rt)), fakeKeys{}, func(d *Deps) {
		d.WebhookSecrets = fakeSecrets{"/etc/pave/gh": {secret.Value(whsec)}}
	})
	sign := func(key string, body []byte) string {
		m := hmac.New(sha256.New, []byte(key))
		m.Write(body)
		return "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	delivery := func(id, sig string, body []byte) *http.Request {
		r := request("POST", "/hooks/github", "", body)
		r.Header.Set("X-GitHub-Delivery", id)
		r.Header.Set("X-Hub-Signature-256", sig)
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	body := []byte(`{"action":"opened"}`)
	rec := f.serve(delivery("d-1", sign(whsec, body), body))
	if rec.Code != 200 {
		t.Fatalf("valid delivery: %d %s", rec.Code, rec.Body)
	}
	if got := f.eng.lastRequest(t).Caller; got != "webhook:github#d-1" {
		t.Errorf("caller = %q", got)
	}
	errorDetail(t, f.serve(delivery("d-1", sign(whsec, body), body)), apierror.Replayed)
	errorDetail(t, f.serve(delivery("d-2", sign(whsec, body), []byte(`{"action":"closed"}`))), apierror.InvalidSignature)
	errorDetail(t, f.serve(delivery("d-3", sign("wrong", body), body)), apierror.InvalidSignature)
	errorDetail(t, f.serve(delivery("d-4", "", body)), apierror.InvalidSignature)
	// A forged delivery did not burn its id.
	closed := []byte(`{"action":"closed"}`)
	if rec := f.serve(delivery("d-2", sign(whsec, closed), closed)); rec.Code != 200 {
		t.Errorf("genuine delivery after a forgery with its id: %d %s", rec.Code, rec.Body)
	}
	if n := len(f.eng.requests()); n != 2 {
		t.Errorf("the function ran %d times, want 2", n)
	}
}

// jwtIssuer is a test issuer with a freshly generated key.
type jwtIssuer struct {
	url string
	key *ecdsa.PrivateKey
	kid string
}

func newJWTIssuer(t testing.TB) (*jwtIssuer, *oidc.Verifier) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss := &jwtIssuer{url: "https://login.test.invalid/", key: key, kid: "k1"}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: iss.kid, Algorithm: "ES256", Use: "sig"}}}
	jwks, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	v, err := oidc.New([]oidc.IssuerConfig{{Issuer: iss.url, Audiences: []string{"pave"}, JWKS: jwks, Algorithms: []string{"ES256"}}}, oidc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return iss, v
}

func (i *jwtIssuer) token(t testing.TB, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: i.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", i.kid))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	std := jwt.Claims{Issuer: i.url, Subject: "user-7", Audience: jwt.Audience{"pave"},
		Expiry: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now)}
	tok, err := jwt.Signed(signer).Claims(std).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestJWTRoute(t *testing.T) {
	iss, verifier := newJWTIssuer(t)
	rt := manifest.Route{Method: "GET", Path: "/me", Auth: manifest.AuthJWT, Scopes: []string{"profile:read"},
		JWT: &manifest.JWTRequirement{Claims: []manifest.ClaimRequirement{{Name: "tenant", Equals: manifest.ClaimValue{Kind: manifest.ClaimString, Text: "acme"}}}}}
	fns := oneFunction(testFunction("me", manifest.DefaultLimits(), rt))
	f := newDefended(t, fns, fakeKeys{}, func(d *Deps) { d.Tokens = verifier })

	good := iss.token(t, map[string]any{"scope": "profile:read email", "tenant": "acme"})
	rec := f.serve(request("GET", "/me", good, nil))
	if rec.Code != 200 {
		t.Fatalf("valid token: %d %s", rec.Code, rec.Body)
	}
	req := f.eng.lastRequest(t)
	if want := "jwt:" + iss.url + "#user-7"; req.Caller != want {
		t.Errorf("caller = %q, want %q", req.Caller, want)
	}
	for _, h := range req.Headers {
		if strings.Contains(h.Value, good) {
			t.Errorf("the token reached the function in %s", h.Name)
		}
	}

	expired := func() string {
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: iss.key}, (&jose.SignerOptions{}).WithHeader("kid", iss.kid))
		past := time.Now().Add(-2 * time.Hour)
		tok, _ := jwt.Signed(signer).Claims(jwt.Claims{Issuer: iss.url, Subject: "u", Audience: jwt.Audience{"pave"},
			Expiry: jwt.NewNumericDate(past), IssuedAt: jwt.NewNumericDate(past.Add(-time.Minute))}).Claims(map[string]any{"scope": "profile:read", "tenant": "acme"}).Serialize()
		return tok
	}()
	tests := []struct {
		name, token string
		code        apierror.Code
	}{
		{"no token", "", apierror.Unauthenticated},
		{"garbage", "not.a.token", apierror.InvalidToken},
		{"expired", expired, apierror.InvalidToken},
		{"missing scope", iss.token(t, map[string]any{"scope": "email", "tenant": "acme"}), apierror.InsufficientScope},
		{"wrong tenant", iss.token(t, map[string]any{"scope": "profile:read", "tenant": "other-corp"}), apierror.InsufficientScope},
		{"api key on a jwt route", tokGood, apierror.InvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := f.serve(request("GET", "/me", tt.token, nil))
			errorDetail(t, rec, tt.code)
			if strings.Contains(rec.Body.String(), "other-corp") {
				t.Errorf("the refusal echoes a claim value: %s", rec.Body)
			}
		})
	}

	// A daemon that trusts no issuer refuses every token.
	g := newDefended(t, fns, fakeKeys{}, nil)
	errorDetail(t, g.serve(request("GET", "/me", good, nil)), apierror.InvalidToken)
}
