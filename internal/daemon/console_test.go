package daemon_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/testguests"
)

// consoleBrowser is a browser on the console of n's admin listener: its
// own cookies, redirects not followed.
type consoleBrowser struct {
	t    testing.TB
	base string
	c    *http.Client
}

func (n *node) consoleBrowser(t testing.TB) *consoleBrowser {
	jar, _ := cookiejar.New(nil)
	return &consoleBrowser{t: t, base: n.d.AdminURL(), c: &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *consoleBrowser) do(method, path string, form url.Values, header map[string]string) response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

var (
	consoleLoginCSRF = regexp.MustCompile(`name="login_csrf" value="([^"]+)"`)
	consoleCSRF      = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

func (b *consoleBrowser) login(token string) response {
	b.t.Helper()
	form := b.do("GET", "/ui/login", nil, nil)
	m := consoleLoginCSRF.FindSubmatch(form.body)
	if m == nil {
		b.t.Fatalf("no login form: %d %s", form.status, form.body)
	}
	return b.do("POST", "/ui/login", url.Values{"login_csrf": {string(m[1])}, "token": {token}}, nil)
}

// TestConsole attacks the web console through the daemon: pages without a
// session, a wrong admin token, forged and cross-site actions, a login
// flood; then signs in, sees a deployed function and its calls, revokes a
// key and finds the gateway refusing it and the audit log naming who.
func TestConsole(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(manifestFor("hello", route("GET", "/hello"), ""), testguests.Example(t, "hello"))
	key := n.key("ci", "hello")
	ok := n.call("GET", "/hello", key, nil)
	if ok.status != 200 {
		t.Fatalf("GET /hello = %d", ok.status)
	}
	if r := n.call("GET", "/hello", "", nil); r.status != 401 {
		t.Fatalf("GET /hello without a key = %d", r.status)
	}
	tokenBytes, err := os.ReadFile(n.cfg.AdminTokenFile())
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(tokenBytes))
	b := n.consoleBrowser(t)

	// No session: pages redirect to the login, actions are refused.
	if r := b.do("GET", "/ui/", nil, nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/ui/login" {
		t.Fatalf("GET /ui/ without a session = %d %q", r.status, r.header.Get("Location"))
	}
	if r := b.do("POST", "/ui/keys/ci/revoke", url.Values{}, nil); r.status != http.StatusUnauthorized {
		t.Errorf("a revoke without a session = %d", r.status)
	}
	// The admin API beside it is unchanged, and the token alone is no
	// way into the console.
	if r := b.do("GET", "/v1/health", nil, nil); r.status != 200 {
		t.Errorf("the admin API's health = %d", r.status)
	}
	if r := b.do("GET", "/ui/keys", nil, map[string]string{"Authorization": "Bearer " + token}); r.status != http.StatusSeeOther {
		t.Errorf("the console with a bearer token and no session = %d", r.status)
	}

	login := b.do("GET", "/ui/login", nil, nil)
	for k, v := range map[string]string{
		"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
	} {
		if got := login.header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if csp := login.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}

	if r := b.login("pave_wrong_token"); r.status != http.StatusUnauthorized {
		t.Fatalf("a wrong admin token = %d", r.status)
	}
	r := b.login(token)
	if r.status != http.StatusSeeOther {
		t.Fatalf("login = %d %s", r.status, r.body)
	}
	var setCookie string
	for _, c := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "pave_session=") {
			setCookie = c
		}
	}
	for _, want := range []string{"pave_session=", "HttpOnly", "SameSite=Strict", "Path=/ui/"} {
		if !strings.Contains(setCookie, want) {
			t.Errorf("Set-Cookie %q lacks %s", setCookie, want)
		}
	}
	if strings.Contains(setCookie, "Secure") {
		t.Errorf("Set-Cookie %q is Secure on a listener without TLS: the browser would not send it back", setCookie)
	}

	// The function, its route and its call, from the invocation history
	// (written in batches: wait for it).
	requestID := ok.header.Get("X-Request-Id")
	deadline := time.Now().Add(15 * time.Second)
	var fn response
	for {
		fn = b.do("GET", "/ui/functions/hello", nil, nil)
		if fn.status == 200 && strings.Contains(string(fn.body), requestID) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if fn.status != 200 || !strings.Contains(string(fn.body), requestID) || !strings.Contains(string(fn.body), "/hello") {
		t.Errorf("the function page = %d, without the call %s: %s", fn.status, requestID, fn.body)
	}
	overview := b.do("GET", "/ui/", nil, nil)
	for _, want := range []string{"<svg", `href="/ui/functions/hello"`, ">auth<"} {
		if !strings.Contains(string(overview.body), want) {
			t.Errorf("the overview does not show %q", want)
		}
	}
	pages := map[string]response{"overview": overview, "function": fn}
	for _, p := range []string{"/ui/functions", "/ui/posture", "/ui/audit", "/ui/keys"} {
		pages[p] = b.do("GET", p, nil, nil)
		if pages[p].status != 200 {
			t.Errorf("%s = %d %s", p, pages[p].status, pages[p].body)
		}
	}
	for name, p := range pages {
		if strings.Contains(string(p.body), token) || strings.Contains(string(p.body), key) {
			t.Errorf("%s shows the admin token or an API key", name)
		}
	}

	// Revoking: refused without the CSRF token and from another origin,
	// done with them.
	csrf := consoleCSRF.FindSubmatch(pages["/ui/keys"].body)
	if csrf == nil {
		t.Fatal("no CSRF token on the keys page")
	}
	for _, attack := range []struct {
		name   string
		form   url.Values
		header map[string]string
	}{
		{"no CSRF token", url.Values{}, nil},
		{"a wrong CSRF token", url.Values{"csrf": {"forged"}}, nil},
		{"another origin", url.Values{"csrf": {string(csrf[1])}}, map[string]string{"Origin": "http://attacker.example"}},
	} {
		if r := b.do("POST", "/ui/keys/ci/revoke", attack.form, attack.header); r.status != http.StatusForbidden {
			t.Errorf("a revoke with %s = %d", attack.name, r.status)
		}
	}
	if r := n.call("GET", "/hello", key, nil); r.status != 200 {
		t.Fatalf("the key stopped working after refused revokes: %d", r.status)
	}
	if r := b.do("POST", "/ui/keys/ci/revoke", url.Values{"csrf": {string(csrf[1])}}, nil); r.status != http.StatusSeeOther {
		t.Fatalf("revoke = %d %s", r.status, r.body)
	}
	if r := n.call("GET", "/hello", key, nil); r.status != 401 && r.status != 403 {
		t.Errorf("the revoked key = %d, want a refusal", r.status)
	}

	if r := b.do("POST", "/ui/logout", url.Values{"csrf": {string(csrf[1])}}, nil); r.status != http.StatusSeeOther {
		t.Errorf("logout = %d", r.status)
	}
	if r := b.do("GET", "/ui/keys", nil, nil); r.status != http.StatusSeeOther {
		t.Errorf("a page after logout = %d", r.status)
	}

	// A flood of logins from one address is cut off, even with the right
	// token once it is.
	flood := n.consoleBrowser(t)
	limited := false
	for range 10 {
		if r := flood.login("pave_guess"); r.status == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("10 wrong logins were not rate limited")
	}
	if r := flood.login(token); r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Errorf("the right token during the lockout = %d", r.status)
	}

	var logins, failures, limitedEvents, revokes int
	for _, e := range n.auditEvents(t) {
		switch {
		case e.Action == "console.login" && e.Outcome == "ok":
			logins++
			checkConsoleActor(t, e)
		case e.Action == "console.login" && e.Details["reason"] == "wrong admin token":
			failures++
			if e.Source != "127.0.0.1" {
				t.Errorf("a failed login from %q", e.Source)
			}
		case e.Action == "console.login" && e.Details["reason"] == "rate_limited":
			limitedEvents++
		case e.Action == "key.revoke" && e.Target == "key:ci":
			revokes++
			checkConsoleActor(t, e)
		}
		for _, v := range e.Details {
			if strings.Contains(v, token) {
				t.Errorf("an audit event holds the admin token: %+v", e)
			}
		}
	}
	if logins != 1 || failures < 2 || limitedEvents < 1 || revokes != 1 {
		t.Errorf("audited: %d logins, %d failures, %d rate limited, %d revokes", logins, failures, limitedEvents, revokes)
	}
}

func checkConsoleActor(t *testing.T, e client.AuditEvent) {
	t.Helper()
	if e.Actor != "admin" || e.Details["via"] != "console" || e.Details["session"] == "" || e.Source != "127.0.0.1" {
		t.Errorf("%s by %q via %q session %q from %q", e.Action, e.Actor, e.Details["via"], e.Details["session"], e.Source)
	}
}
