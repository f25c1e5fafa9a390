package console

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/observe"
)

// TestSecurityHeaders checks the headers of every kind of response: pages,
// the login form, errors, redirects and assets.
func TestSecurityHeaders(t *testing.T) {
	fx := newFixture(t, false)
	signed := fx.browser()
	csrf := signed.signIn()
	anon := fx.browser()
	for _, tc := range []struct {
		name    string
		b       *browser
		method  string
		path    string
		form    url.Values
		status  int
		noStore bool
	}{
		{"login page", anon, "GET", "/ui/login", nil, 200, true},
		{"redirect to login", anon, "GET", "/ui/functions", nil, 303, true},
		{"overview", signed, "GET", "/ui/", nil, 200, true},
		{"functions", signed, "GET", "/ui/functions", nil, 200, true},
		{"function", signed, "GET", "/ui/functions/hello", nil, 200, true},
		{"unknown function", signed, "GET", "/ui/functions/nope", nil, 404, true},
		{"posture", signed, "GET", "/ui/posture", nil, 200, true},
		{"sarif", signed, "GET", "/ui/posture/sarif", nil, 200, true},
		{"audit", signed, "GET", "/ui/audit?q=login", nil, 200, true},
		{"keys", signed, "GET", "/ui/keys", nil, 200, true},
		{"map", signed, "GET", "/ui/map", nil, 200, true},
		{"live", signed, "GET", "/ui/live", nil, 200, true},
		{"live events without a session", anon, "GET", "/ui/live/events", nil, 303, true},
		{"no such page", signed, "GET", "/ui/nope", nil, 404, true},
		{"action without CSRF", signed, "POST", "/ui/keys/ci/revoke", url.Values{}, 403, true},
		{"confirm page", signed, "GET", "/ui/keys/ci/revoke", nil, 200, true},
		{"stylesheet", anon, "GET", "/ui/static/console.css", nil, 200, false},
		{"script", anon, "GET", "/ui/static/console.js", nil, 200, false},
		{"no such asset", anon, "GET", "/ui/static/nope.js", nil, 404, false},
		{"logout", signed, "POST", "/ui/logout", url.Values{"csrf": {csrf}}, 303, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.b.do(tc.method, tc.path, tc.form, nil)
			if p.status != tc.status {
				t.Fatalf("%s %s = %d, want %d: %s", tc.method, tc.path, p.status, tc.status, p.body)
			}
			want := map[string]string{
				"Content-Security-Policy": contentSecurityPolicy,
				"X-Frame-Options":         "DENY",
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "same-origin",
			}
			if tc.noStore {
				want["Cache-Control"] = "no-store"
			}
			for k, v := range want {
				if got := p.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			csp := p.header.Get("Content-Security-Policy")
			for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:"} {
				if strings.Contains(csp, bad) {
					t.Errorf("the CSP allows %s: %s", bad, csp)
				}
			}
		})
	}
}

// TestNoInlineScriptOrStyle renders every page and finds nothing the CSP
// would block: no inline script or style, no other origin.
func TestNoInlineScriptOrStyle(t *testing.T) {
	fx := newFixture(t, false)
	b := fx.browser()
	b.signIn()
	for _, path := range []string{"/ui/", "/ui/functions", "/ui/functions/hello", "/ui/posture", "/ui/audit", "/ui/keys", "/ui/keys/ci/revoke", "/ui/nope",
		"/ui/map", "/ui/live"} {
		p := b.get(path)
		for _, bad := range []string{"<script>", "style=", "<style", " on", "javascript:", "http://", "https://"} {
			body := strings.ReplaceAll(p.body, `xmlns="http://www.w3.org/2000/svg"`, "")
			if bad == " on" {
				for _, attr := range []string{" onclick=", " onload=", " onsubmit=", " onerror="} {
					if strings.Contains(body, attr) {
						t.Errorf("%s has an inline handler %s", path, attr)
					}
				}
				continue
			}
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q", path, bad)
			}
		}
	}
}

// TestAccess tries every page and action without a session, with another
// origin, and without a CSRF token.
func TestAccess(t *testing.T) {
	fx := newFixture(t, false)
	signed := fx.browser()
	csrf := signed.signIn()
	anon := fx.browser()
	for _, tc := range []struct {
		name   string
		b      *browser
		method string
		path   string
		form   url.Values
		header map[string]string
		status int
	}{
		{"a page without a session", anon, "GET", "/ui/keys", nil, nil, 303},
		{"an asset without a session", anon, "GET", "/ui/static/console.css", nil, nil, 200},
		{"an action without a session", anon, "POST", "/ui/keys/ci/revoke", url.Values{"csrf": {csrf}}, nil, 401},
		{"an action without a CSRF token", signed, "POST", "/ui/keys/ci/revoke", url.Values{}, nil, 403},
		{"an action with a wrong CSRF token", signed, "POST", "/ui/keys/ci/revoke", url.Values{"csrf": {csrf + "x"}}, nil, 403},
		{"an action from another origin", signed, "POST", "/ui/keys/ci/revoke", url.Values{"csrf": {csrf}}, map[string]string{"Origin": "http://evil.example"}, 403},
		{"an action from an origin that is not a URL", signed, "POST", "/ui/keys/ci/revoke", url.Values{"csrf": {csrf}}, map[string]string{"Origin": "null"}, 403},
		{"a login from another origin", anon, "POST", "/ui/login", url.Values{}, map[string]string{"Origin": "http://evil.example"}, 403},
		{"a logout without a CSRF token", signed, "POST", "/ui/logout", url.Values{}, nil, 403},
		{"an action by GET", signed, "GET", "/ui/logout", nil, nil, 404},
		{"a forged session", anon, "GET", "/ui/", nil, map[string]string{"Cookie": sessionCookie + "=" + strings.Repeat("A", 43)}, 303},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.b.do(tc.method, tc.path, tc.form, tc.header)
			if p.status != tc.status {
				t.Fatalf("%s %s = %d, want %d: %s", tc.method, tc.path, p.status, tc.status, p.body)
			}
		})
	}
	if k := fx.keys.List()[0]; k.RevokedAt != nil {
		t.Error("a refused action revoked the key")
	}
	if p := signed.get("/ui/keys"); p.status != 200 {
		t.Errorf("the session did not survive the refusals: %d", p.status)
	}
}

func TestLogin(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tls    bool
		secure bool
	}{{"plain HTTP", false, false}, {"TLS", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, tc.tls)
			b := fx.browser()
			if p := b.login("not-the-token"); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "not the admin token") {
				t.Fatalf("a wrong token = %d %s", p.status, p.body)
			}
			if p := b.get("/ui/"); p.status != http.StatusSeeOther {
				t.Fatalf("a wrong token signed in: %d", p.status)
			}
			p := b.login(fx.token)
			if p.status != http.StatusSeeOther || p.header.Get("Location") != "/ui/" {
				t.Fatalf("login = %d %s", p.status, p.header.Get("Location"))
			}
			var cookie *http.Cookie
			for _, c := range (&http.Response{Header: p.header}).Cookies() {
				if c.Name == sessionCookie {
					cookie = c
				}
			}
			if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Secure != tc.secure || cookie.Path != "/ui/" {
				t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Strict, Secure %v", cookie, tc.secure)
			}
			if len(cookie.Value) < 40 {
				t.Errorf("session id %d characters long, want 256 random bits", len(cookie.Value))
			}
			page := b.get("/ui/")
			if page.status != 200 || strings.Contains(page.body, fx.token) || strings.Contains(page.body, cookie.Value) {
				t.Fatalf("overview = %d, or it shows the token or the session id", page.status)
			}
			if ok := fx.audit.find(ActionLogin, "ok"); len(ok) != 1 || ok[0].Actor != audit.ActorAdmin || ok[0].Details["session"] == "" || ok[0].Details["via"] != "console" {
				t.Errorf("audited logins = %+v", ok)
			}
			if denied := fx.audit.find(ActionLogin, "denied"); len(denied) != 1 || denied[0].Source != "127.0.0.1" {
				t.Errorf("audited failures = %+v", denied)
			}
			for _, e := range fx.audit.all() {
				for _, v := range e.Details {
					if strings.Contains(v, fx.token) || strings.Contains(v, cookie.Value) {
						t.Errorf("an audit event holds a credential: %+v", e)
					}
				}
			}

			csrf := b.csrf()
			if p := b.post("/ui/logout", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
				t.Fatalf("logout = %d", p.status)
			}
			if p := b.get("/ui/"); p.status != http.StatusSeeOther {
				t.Errorf("after logout = %d, want a redirect to the login", p.status)
			}
			// The old cookie no longer opens a session, even if kept.
			replay := fx.browser()
			if p := replay.do("GET", "/ui/", nil, map[string]string{"Cookie": sessionCookie + "=" + cookie.Value}); p.status != http.StatusSeeOther {
				t.Errorf("the session id after logout = %d", p.status)
			}
			if len(fx.audit.find(ActionLogout, "ok")) != 1 {
				t.Error("the logout was not audited")
			}
		})
	}
}

// TestLoginNeedsItsForm refuses a login that does not come from the login
// page (login CSRF).
func TestLoginNeedsItsForm(t *testing.T) {
	fx := newFixture(t, false)
	b := fx.browser()
	if p := b.post("/ui/login", url.Values{"token": {fx.token}}); p.status != http.StatusForbidden {
		t.Fatalf("a login without the form's token = %d", p.status)
	}
	if p := b.get("/ui/"); p.status != http.StatusSeeOther {
		t.Errorf("it signed in: %d", p.status)
	}
}

func TestLoginRateLimited(t *testing.T) {
	fx := newFixture(t, false)
	b := fx.browser()
	for i := range DefaultLoginRate.Burst {
		if p := b.login("wrong"); p.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d = %d", i+1, p.status)
		}
	}
	p := b.login(fx.token)
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
		t.Fatalf("the right token after %d failures = %d (Retry-After %q), want 429", DefaultLoginRate.Burst, p.status, p.header.Get("Retry-After"))
	}
	if denied := fx.audit.find(ActionLogin, "denied"); len(denied) != DefaultLoginRate.Burst+1 || denied[len(denied)-1].Details["reason"] != "rate_limited" {
		t.Errorf("audited = %+v", denied)
	}
	fx.clock.add(time.Minute)
	if p := b.login(fx.token); p.status != http.StatusSeeOther {
		t.Errorf("a minute later = %d", p.status)
	}
}

func TestSessionExpires(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []time.Duration // idle gaps between requests
		alive bool
	}{
		{"used within the idle time", []time.Duration{50 * time.Minute, 50 * time.Minute}, true},
		{"idle too long", []time.Duration{DefaultSessionIdle}, false},
		{"older than its lifetime", []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute,
			50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, false)
			b := fx.browser()
			b.signIn()
			var p page
			for _, d := range tc.steps {
				fx.clock.add(d)
				p = b.get("/ui/keys")
			}
			if alive := p.status == 200; alive != tc.alive {
				t.Errorf("status %d, alive %v, want %v", p.status, alive, tc.alive)
			}
		})
	}
}

func TestRevokeKey(t *testing.T) {
	fx := newFixture(t, false)
	b := fx.browser()
	csrf := b.signIn()
	keys := b.get("/ui/keys")
	if !strings.Contains(keys.body, "ci") || strings.Contains(keys.body, "sha256-of-the-secret") {
		t.Fatalf("keys page: %s", keys.body)
	}
	confirm := b.get("/ui/keys/ci/revoke")
	if confirm.status != 200 || !strings.Contains(confirm.body, `action="/ui/keys/ci/revoke"`) || fx.keys.List()[0].RevokedAt != nil {
		t.Fatalf("the confirm page = %d, or it revoked", confirm.status)
	}
	// As a browser sends it: with the console's own origin.
	if p := b.do("POST", "/ui/keys/ci/revoke", url.Values{"csrf": {csrf}}, map[string]string{"Origin": fx.srv.URL}); p.status != http.StatusSeeOther {
		t.Fatalf("revoke = %d %s", p.status, p.body)
	}
	if fx.keys.List()[0].RevokedAt == nil {
		t.Fatal("not revoked")
	}
	ev := fx.audit.find(audit.ActionKeyRevoke, "ok")
	if len(ev) != 1 || ev[0].Actor != audit.ActorAdmin || ev[0].Target != "key:ci" || ev[0].Details["via"] != "console" || ev[0].Details["session"] == "" {
		t.Errorf("audited = %+v", ev)
	}
	if p := b.post("/ui/keys/nope/revoke", url.Values{"csrf": {csrf}}); p.status != http.StatusNotFound {
		t.Errorf("an unknown key = %d", p.status)
	}
	if len(fx.audit.find(audit.ActionKeyRevoke, "denied")) != 1 {
		t.Error("the refused revoke was not audited")
	}
}

// TestPages checks what each page shows, and that the function's log
// line is escaped.
func TestPages(t *testing.T) {
	fx := newFixture(t, false)
	b := fx.browser()
	b.signIn()
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/ui/", []string{"<svg", "Calls, last hour", "Refusals by reason", ">auth<", "85% (85 of 100)", `href="/ui/functions/hello"`,
			"Top callers by calls, last day", ">key:ci<", "Top callers by refusals, last day", ">address 203.0.113.9<"}},
		{"/ui/functions", []string{"team-a", "GET /hello", "public", "secrets: DB_URL", "unused grant", "capabilities.http", `scope="col"`}},
		{"/ui/functions/hello", []string{"POST", "/orders", "orders:write", "sha256:bbbb", "(active)", "req-ok", "said hello to &lt;script&gt;", "PAVE-PUBLIC-ROUTE", "Duration p50 and p99 of hello, last day", "<svg",
			"Errors by kind", "order &lt;n&gt; not found", "order 4242 not found", "req-fail-2"}},
		{"/ui/posture", []string{"high (1)", "medium (1)", "Require a key.", `href="/ui/posture/sarif"`}},
		{"/ui/audit?q=console.login&since=", []string{"The chain and its seals verify", "console.login"}},
	} {
		p := b.get(tc.path)
		if p.status != 200 {
			t.Errorf("%s = %d %s", tc.path, p.status, p.body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(p.body, w) {
				t.Errorf("%s does not show %q", tc.path, w)
			}
		}
		if strings.Contains(p.body, fx.token) {
			t.Errorf("%s shows the admin token", tc.path)
		}
	}
	sarif := b.get("/ui/posture/sarif")
	if sarif.header.Get("Content-Type") != "application/sarif+json" || !strings.Contains(sarif.header.Get("Content-Disposition"), "attachment") || !strings.Contains(sarif.body, `"version": "2.1.0"`) {
		t.Errorf("sarif: %v %.200s", sarif.header, sarif.body)
	}
	if p := b.get("/ui/audit?since=forever"); p.status != http.StatusBadRequest {
		t.Errorf("a bad since = %d", p.status)
	}
}

func TestSeries(t *testing.T) {
	end := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s := newSeries(end, hourSpan, hourStep)
	for _, r := range []observe.Record{
		{Time: end.Add(-time.Minute), Status: 200, DurationMS: 1, Function: "f", Digest: "d"},
		{Time: end.Add(-time.Minute), Status: 500, Code: "function_failed", DurationMS: 100, Function: "f", Digest: "d"},
		{Time: end.Add(-6 * time.Minute), Status: 429, Code: "rate_limited", Function: "f"},
		{Time: end.Add(-time.Hour), Status: 200, Function: "f", Digest: "d"},  // just outside
		{Time: end.Add(time.Second), Status: 200, Function: "f", Digest: "d"}, // in the future
	} {
		s.add(r)
	}
	last, prev := s.buckets[11], s.buckets[10]
	if last.Calls != 2 || last.Errors != 1 || last.Refused != 0 || prev.Calls != 1 || prev.Refused != 1 {
		t.Errorf("last = %+v, previous = %+v", last, prev)
	}
	if tot := s.total(); tot.Calls != 3 || tot.P50() != 1 || tot.P99() != 100 {
		t.Errorf("total = %+v p50 %v p99 %v", tot, tot.P50(), tot.P99())
	}
}

func TestPercentile(t *testing.T) {
	for _, tc := range []struct {
		v    []float64
		p    float64
		want float64
	}{
		{[]float64{5}, 0.5, 5},
		{[]float64{3, 1, 2}, 0.5, 2},
		{[]float64{1, 2, 3, 4}, 0.5, 2},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.99, 10},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9, 9},
	} {
		if got := percentile(append([]float64(nil), tc.v...), tc.p); got != tc.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.v, tc.p, got, tc.want)
		}
	}
	if !math.IsNaN(percentile(nil, 0.5)) {
		t.Error("the percentile of nothing is a number")
	}
}

func TestNiceCeil(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{{0, 1}, {1, 1}, {3, 5}, {7, 10}, {12, 20}, {101, 200}, {0.4, 1}, {50, 50}} {
		if got := niceCeil(tc.in); got != tc.want {
			t.Errorf("niceCeil(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestSessionsBounded(t *testing.T) {
	c := &clock{t: time.Now()}
	ss := newSessions(c.now, time.Hour, time.Hour)
	first, _ := ss.create(nil)
	for range maxSessions {
		c.add(time.Millisecond)
		ss.create(nil)
	}
	if len(ss.byID) != maxSessions {
		t.Errorf("%d sessions held, want %d", len(ss.byID), maxSessions)
	}
	if _, ok := ss.get(first); ok {
		t.Error("the oldest session survived")
	}
}

// TestContrast checks that the stylesheet's text colours keep a contrast
// of at least 4.5:1 (WCAG AA) on the backgrounds they are used on, and the
// focus outline 3:1.
func TestContrast(t *testing.T) {
	css, err := staticFiles.ReadFile("static/console.css")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z0-9]+):\s*(#[0-9a-f]{6})`).FindAllStringSubmatch(string(css), -1) {
		vars[m[1]] = m[2]
	}
	for _, tc := range []struct {
		fg, bg string
		min    float64
	}{
		{"fg", "bg", 4.5}, {"muted", "bg", 4.5}, {"muted", "alt", 4.5}, {"link", "bg", 4.5}, {"link", "alt", 4.5},
		{"errors", "bg", 4.5}, {"refused", "bg", 4.5}, {"ok", "bg", 4.5}, {"focus", "bg", 3}, {"calls", "bg", 3},
	} {
		fg, bg := vars[tc.fg], vars[tc.bg]
		if fg == "" || bg == "" {
			t.Fatalf("--%s or --%s is not a colour of the stylesheet", tc.fg, tc.bg)
		}
		if r := contrast(fg, bg); r < tc.min {
			t.Errorf("--%s on --%s: contrast %.2f, want at least %.1f", tc.fg, tc.bg, r, tc.min)
		}
	}
}

// contrast is the WCAG contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	lum := func(hex string) float64 {
		var c [3]float64
		for i := range c {
			var v int
			fmt.Sscanf(hex[1+2*i:3+2*i], "%02x", &v)
			x := float64(v) / 255
			if x <= 0.03928 {
				c[i] = x / 12.92
			} else {
				c[i] = math.Pow((x+0.055)/1.055, 2.4)
			}
		}
		return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
	}
	la, lb := lum(a), lum(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

// recordingHistory records the queries it is asked.
type recordingHistory struct{ queries []observe.Query }

func (h *recordingHistory) Read(_ context.Context, q observe.Query, _ func(observe.Record) error) error {
	h.queries = append(h.queries, q)
	return nil
}

// TestWarmReadsTheOverviewsDay: Warm asks the history for what the
// overview will, the last day of every function in brief, so that the
// history keeps those records decoded before the first view.
func TestWarmReadsTheOverviewsDay(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	h := &recordingHistory{}
	c := New(Deps{Functions: fakeFunctions{}, Usage: fakeUsage{}, Keys: &fakeKeys{}, Auth: tokenAuth("x"), History: h,
		Budgets: fakeBudgets{}, Now: func() time.Time { return now }})
	c.Warm(context.Background())
	if len(h.queries) != 1 {
		t.Fatalf("Warm asked %d queries, want 1", len(h.queries))
	}
	if q := h.queries[0]; !q.AllFunctions || !q.Brief || !q.Since.Equal(now.Add(-24*time.Hour)) {
		t.Errorf("Warm asked %+v, want every function's last day, brief", q)
	}
	New(Deps{Functions: fakeFunctions{}, Usage: fakeUsage{}, Keys: &fakeKeys{}, Auth: tokenAuth("x")}).Warm(context.Background())
}
