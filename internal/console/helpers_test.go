package console

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/budgets"
	"github.com/pave-dev/pave/internal/identity"
	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/observe"
	"github.com/pave-dev/pave/internal/posture"
	"github.com/pave-dev/pave/internal/registry"
)

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fakeFunctions []*registry.Function

func (f fakeFunctions) Get(name string) (*registry.Function, bool) {
	for _, fn := range f {
		if fn.Name == name {
			return fn, true
		}
	}
	return nil, false
}
func (f fakeFunctions) List() []*registry.Function { return append([]*registry.Function(nil), f...) }

type fakeUsage struct{ last time.Time }

func (u fakeUsage) LastInvoked(string) (time.Time, bool) { return u.last, !u.last.IsZero() }
func (u fakeUsage) Invocations(_ string, days int) int64 { return int64(days) }

type fakeKeys struct {
	mu   sync.Mutex
	keys []identity.Key
}

func (k *fakeKeys) List() []identity.Key {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]identity.Key(nil), k.keys...)
}

func (k *fakeKeys) Revoke(_ context.Context, name string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := range k.keys {
		if k.keys[i].Name == name {
			t := time.Now()
			k.keys[i].RevokedAt = &t
			return nil
		}
	}
	return identity.ErrKeyNotFound
}

type fakeHistory map[string][]observe.Record

func (h fakeHistory) Read(_ context.Context, q observe.Query, fn func(observe.Record) error) error {
	recs := h[q.Function]
	if q.AllFunctions {
		recs = nil
		for _, rs := range h {
			recs = append(recs, rs...)
		}
	}
	for _, r := range recs {
		if r.Time.Before(q.Since) {
			continue
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// fakeAudit is the audit log and the auditor.
type fakeAudit struct {
	mu     sync.Mutex
	events []audit.Event
}

func (a *fakeAudit) Audit(_ context.Context, actor, action, target, outcome, source string, details map[string]string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, audit.Event{Seq: uint64(len(a.events) + 1), Actor: actor, Action: action, Target: target,
		Outcome: audit.Outcome(outcome), Source: source, Details: details})
}

func (a *fakeAudit) Events(_ context.Context, _ time.Time, fn func(audit.Event) error) error {
	for _, e := range a.all() {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (a *fakeAudit) Verify(context.Context) (audit.VerifyReport, error) {
	return audit.VerifyReport{Events: len(a.all()), Seals: 1, LastSeal: 1}, nil
}

func (a *fakeAudit) all() []audit.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]audit.Event(nil), a.events...)
}

// find returns the events of action with outcome.
func (a *fakeAudit) find(action, outcome string) []audit.Event {
	var out []audit.Event
	for _, e := range a.all() {
		if e.Action == action && string(e.Outcome) == outcome {
			out = append(out, e)
		}
	}
	return out
}

type fakePosture struct{ rep posture.Report }

func (p fakePosture) Report(context.Context) (*posture.Report, error) { return &p.rep, nil }

type fakeBudgets struct{}

func (fakeBudgets) Overrides() []budgets.Override {
	return []budgets.Override{{Subject: "owner:team-a", Budget: limits.Budget{Window: "day", Invocations: 100}}}
}
func (fakeBudgets) Usage(subject string) (limits.Usage, bool) {
	return limits.Usage{Invocations: 85}, subject == "owner:team-a"
}

type tokenAuth string

func (a tokenAuth) Check(token string) bool { return token == string(a) }

// fixture is a console over fakes, served by an httptest server.
type fixture struct {
	t     *testing.T
	token string
	clock *clock
	keys  *fakeKeys
	audit *fakeAudit
	live  *fakeLive
	cons  *Console
	srv   *httptest.Server
}

func newFixture(t *testing.T, tls bool, opts ...func(*Deps)) *fixture {
	t.Helper()
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	fx := &fixture{t: t, token: hex.EncodeToString(b), clock: &clock{t: now}, audit: &fakeAudit{}, live: newFakeLive(),
		keys: &fakeKeys{keys: []identity.Key{{Name: "ci", Functions: []string{"hello"}, Hash: "sha256-of-the-secret", CreatedAt: now}}}}
	fns := fakeFunctions{{
		Name: "hello", Owner: "team-a", Active: 2, Versions: []registry.Version{
			{Number: 1, Digest: "sha256:aaaa", Isolation: "pooled", DeployedAt: now.Add(-48 * time.Hour)},
			{Number: 2, Digest: "sha256:bbbb", Isolation: "pooled", DeployedAt: now.Add(-time.Hour),
				Routes:       []manifest.Route{{Method: "GET", Path: "/hello", Public: true}, {Method: "POST", Path: "/orders", Auth: manifest.AuthAPIKey, Scopes: []string{"orders:write"}}},
				Capabilities: manifest.Capabilities{Secrets: []string{"DB_URL"}, HTTP: []string{"api.example.com"}},
				Limits:       manifest.Limits{Timeout: 10 * time.Second, Memory: 64 << 20, Concurrency: 32, MaxBody: 1 << 20}},
		},
	}}
	hist := fakeHistory{"hello": {
		{Time: now.Add(-3 * time.Minute), Function: "hello", Route: "GET /hello", Status: 200, DurationMS: 2, Digest: "sha256:bbbb",
			RequestID: "req-ok", Logs: []observe.LogLine{{Level: "info", Msg: "said hello to <script>"}}},
		{Time: now.Add(-2 * time.Minute), Function: "hello", Route: "POST /orders", Status: 401, Code: "unauthenticated", Source: "203.0.113.9"},
		{Time: now.Add(-100 * time.Minute), Function: "hello", Route: "GET /hello", Caller: "key:ci", Status: 500, Code: "function_failed", Digest: "sha256:bbbb",
			RequestID: "req-fail-1", Logs: []observe.LogLine{{Level: "error", Msg: "order 17 not found"}}},
		{Time: now.Add(-80 * time.Minute), Function: "hello", Route: "GET /hello", Caller: "key:ci", Status: 500, Code: "function_failed", Digest: "sha256:bbbb",
			RequestID: "req-fail-2", Logs: []observe.LogLine{{Level: "error", Msg: "order 4242 not found"}}},
		{Time: now.Add(-90 * time.Minute), Function: "hello", Route: "GET /hello", Status: 500, Code: "function_failed", DurationMS: 40, Digest: "sha256:bbbb"},
	}}
	rep := posture.Report{Generated: now, Functions: 1, Findings: []posture.Finding{
		{Rule: posture.RuleUnusedGrant, Severity: posture.SeverityMedium, Function: "hello", Subject: "capabilities.http", Evidence: "never used", Fix: "Remove the unused grant."},
		{Rule: "PAVE-PUBLIC-ROUTE", Severity: posture.SeverityHigh, Function: "hello", Subject: "GET /hello", Evidence: "public", Fix: "Require a key."},
	}}
	d := Deps{
		Functions: fns, Usage: fakeUsage{last: now.Add(-3 * time.Minute)}, Keys: fx.keys, Auth: tokenAuth(fx.token),
		History: hist, AuditLog: fx.audit, Auditor: fx.audit, Posture: fakePosture{rep}, Budgets: fakeBudgets{},
		Live: fx.live, Version: "test", Now: fx.clock.now,
	}
	for _, o := range opts {
		o(&d)
	}
	c := New(d)
	fx.cons = c
	if tls {
		fx.srv = httptest.NewTLSServer(c)
	} else {
		fx.srv = httptest.NewServer(c)
	}
	t.Cleanup(fx.srv.Close)
	return fx
}

// browser is a client with its own cookies that does not follow
// redirects.
type browser struct {
	fx *fixture
	c  *http.Client
}

func (fx *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := *fx.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{fx: fx, c: &c}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values, header map[string]string) page {
	b.fx.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.fx.srv.URL+path, body)
	if err != nil {
		b.fx.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.fx.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

func (b *browser) get(path string) page { return b.do("GET", path, nil, nil) }

func (b *browser) post(path string, form url.Values) page { return b.do("POST", path, form, nil) }

var (
	loginCSRFRE = regexp.MustCompile(`name="login_csrf" value="([^"]+)"`)
	csrfRE      = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// login signs in with token and returns the answer to the POST.
func (b *browser) login(token string) page {
	b.fx.t.Helper()
	p := b.get("/ui/login")
	m := loginCSRFRE.FindStringSubmatch(p.body)
	if m == nil {
		b.fx.t.Fatalf("no login CSRF token in the login page: %d %s", p.status, p.body)
	}
	return b.post("/ui/login", url.Values{"login_csrf": {m[1]}, "token": {token}})
}

// signIn logs in with the right token and returns the session's CSRF
// token.
func (b *browser) signIn() string {
	b.fx.t.Helper()
	if p := b.login(b.fx.token); p.status != http.StatusSeeOther {
		b.fx.t.Fatalf("login = %d %s", p.status, p.body)
	}
	return b.csrf()
}

func (b *browser) csrf() string {
	b.fx.t.Helper()
	p := b.get("/ui/")
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		b.fx.t.Fatalf("no CSRF token in the overview: %d %s", p.status, p.body)
	}
	return m[1]
}
