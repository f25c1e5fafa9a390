package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/async"
	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/identity"
	"github.com/pave-dev/pave/internal/registry"
)

// fakeUsers are console users with their passwords in clear, for tests.
type fakeUsers struct {
	mu    sync.Mutex
	users map[string]identity.User
	pw    map[string]string
}

func (u *fakeUsers) add(name, role, password string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.users[name] = identity.User{Name: name, Role: role, CreatedAt: time.Now()}
	u.pw[name] = password
}

func (u *fakeUsers) remove(name string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.users, name)
}

func (u *fakeUsers) Check(name, password string) (string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	us, ok := u.users[name]
	if !ok || password == "" || u.pw[name] != password {
		return "", false
	}
	return us.Role, true
}

func (u *fakeUsers) User(name string) (identity.User, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	us, ok := u.users[name]
	return us, ok
}

// fakeControl quarantines and rolls back the fixture's functions.
type fakeControl struct {
	mu  sync.Mutex
	fns func() []*registry.Function
}

func (c *fakeControl) find(name string) *registry.Function {
	for _, f := range c.fns() {
		if f.Name == name {
			return f
		}
	}
	return nil
}

func (c *fakeControl) SetQuarantine(_ context.Context, name string, q *registry.Quarantine) (*registry.Function, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.find(name)
	if f == nil {
		return nil, registry.ErrNotFound
	}
	f.Quarantine = q
	return f, nil
}

func (c *fakeControl) Rollback(_ context.Context, name string, version int) (*registry.Function, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.find(name)
	if f == nil {
		return nil, registry.ErrNotFound
	}
	if f.Version(version) == nil {
		return nil, registry.ErrVersion
	}
	f.Active = version
	return f, nil
}

// fakeAsync holds dead letters and calls.
type fakeAsync struct {
	mu       sync.Mutex
	dead     map[string][]async.DeadJob
	redriven []uint64
}

func (a *fakeAsync) Get(_ context.Context, id string) (async.Call, error) {
	if id == "call-1" {
		return async.Call{ID: id, Function: "hello", Route: "POST /orders", State: async.Dead, Attempts: 3,
			Error: &async.Failure{Code: "function_failed", Message: "<b>boom</b>"}}, nil
	}
	return async.Call{}, async.ErrNotFound
}

func (a *fakeAsync) Recent(ctx context.Context, _, _ int) ([]async.Call, bool, error) {
	c, _ := a.Get(ctx, "call-1")
	return []async.Call{c}, false, nil
}

func (a *fakeAsync) Dead(_ context.Context, fn string, _ int) ([]async.DeadJob, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]async.DeadJob(nil), a.dead[fn]...), nil
}

func (a *fakeAsync) Redrive(_ context.Context, fn string, seqs []uint64) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, s := range seqs {
		k := -1
		for j, d := range a.dead[fn] {
			if d.Sequence == s {
				k = j
			}
		}
		if k < 0 {
			return i, async.ErrNotDead
		}
		a.dead[fn] = append(a.dead[fn][:k], a.dead[fn][k+1:]...)
		a.redriven = append(a.redriven, s)
	}
	return len(seqs), nil
}

type roleFixture struct {
	*fixture
	users *fakeUsers
	fns   []*registry.Function
	async *fakeAsync
}

func newRoleFixture(t *testing.T) *roleFixture {
	rf := &roleFixture{users: &fakeUsers{users: map[string]identity.User{}, pw: map[string]string{}},
		async: &fakeAsync{dead: map[string][]async.DeadJob{"hello": {
			{Sequence: 7, At: time.Now(), Attempts: 3, Error: async.Failure{Code: "function_failed", Message: "<script>x</script>"},
				Job: async.Job{ID: "call-1", Function: "hello", Route: "POST /orders", Caller: "key:ci"}},
		}}}}
	rf.fixture = newFixture(t, false, func(d *Deps) {
		fns := d.Functions.(fakeFunctions)
		rf.fns = fns
		d.Users = rf.users
		d.Control = &fakeControl{fns: func() []*registry.Function { return rf.fns }}
		d.Async = rf.async
	})
	rf.users.add("vera", identity.RoleViewer, "viewer-password")
	rf.users.add("otto", identity.RoleOperator, "operator-password")
	return rf
}

// signInAs logs in as a console user and returns the session's CSRF
// token.
func (b *browser) signInAs(user, password string) string {
	b.fx.t.Helper()
	p := b.get("/ui/login")
	m := loginCSRFRE.FindStringSubmatch(p.body)
	if m == nil {
		b.fx.t.Fatalf("no login form: %d", p.status)
	}
	if p := b.post("/ui/login", url.Values{"login_csrf": {m[1]}, "user": {user}, "token": {password}}); p.status != http.StatusSeeOther {
		b.fx.t.Fatalf("login as %s = %d %s", user, p.status, p.body)
	}
	return b.csrf()
}

func TestUserLogin(t *testing.T) {
	rf := newRoleFixture(t)
	for _, tc := range []struct{ user, pw string }{
		{"vera", "operator-password"}, {"vera", ""}, {"nobody", "viewer-password"}, {"vera", rf.token},
	} {
		b := rf.browser()
		p := b.get("/ui/login")
		m := loginCSRFRE.FindStringSubmatch(p.body)
		if p := b.post("/ui/login", url.Values{"login_csrf": {m[1]}, "user": {tc.user}, "token": {tc.pw}}); p.status != http.StatusUnauthorized {
			t.Errorf("login %s with a wrong password = %d", tc.user, p.status)
		}
	}
	if ev := rf.audit.find(ActionLogin, "denied"); len(ev) != 4 || ev[0].Actor != "user:vera" || ev[0].Details["user"] != "vera" {
		t.Errorf("failed logins audited = %+v", ev)
	}
	b := rf.browser()
	b.signInAs("vera", "viewer-password")
	if ev := rf.audit.find(ActionLogin, "ok"); len(ev) != 1 || ev[0].Actor != "user:vera" {
		t.Errorf("login audited = %+v", ev)
	}
	if p := b.get("/ui/"); !strings.Contains(p.body, "vera (viewer)") {
		t.Error("the page does not say who is signed in")
	}
}

// TestViewerCannotAct: a viewer sees the pages without their actions, and
// a forged action (with the session's own CSRF token) is refused with 403
// and audited, on every action's page and POST.
func TestViewerCannotAct(t *testing.T) {
	rf := newRoleFixture(t)
	b := rf.browser()
	csrf := b.signInAs("vera", "viewer-password")
	for path, hidden := range map[string]string{
		"/ui/keys":             "/ui/keys/ci/revoke",
		"/ui/functions/hello":  "/ui/functions/hello/quarantine",
		"/ui/async/dead/hello": "/ui/async/dead/hello/7/retry",
	} {
		p := b.get(path)
		if p.status != 200 || strings.Contains(p.body, hidden) {
			t.Errorf("%s = %d, or offers a viewer %s", path, p.status, hidden)
		}
	}
	if p := b.get("/ui/functions/hello"); strings.Contains(p.body, "/rollback/") {
		t.Error("the function's page offers a viewer a rollback")
	}
	actions := []struct{ path string }{
		{"/ui/keys/ci/revoke"},
		{"/ui/functions/hello/quarantine"},
		{"/ui/functions/hello/restore"},
		{"/ui/functions/hello/rollback/1"},
		{"/ui/async/dead/hello/7/retry"},
	}
	for _, a := range actions {
		if p := b.get(a.path); p.status != http.StatusForbidden {
			t.Errorf("GET %s as a viewer = %d", a.path, p.status)
		}
		if p := b.do("POST", a.path, url.Values{"csrf": {csrf}, "reason": {"forged"}}, map[string]string{"Origin": rf.srv.URL}); p.status != http.StatusForbidden {
			t.Errorf("POST %s as a viewer = %d", a.path, p.status)
		}
	}
	if ev := rf.audit.find(ActionForbidden, "denied"); len(ev) != 2*len(actions) || ev[0].Actor != "user:vera" || ev[0].Details["path"] == "" {
		t.Errorf("refusals audited = %d: %+v", len(ev), ev)
	}
	if rf.keys.List()[0].RevokedAt != nil || rf.fns[0].Quarantine != nil || rf.fns[0].Active != 2 || len(rf.async.redriven) != 0 {
		t.Error("a viewer's forged action took effect")
	}
}

// TestOperatorActs: an operator quarantines, restores, rolls back and
// retries a dead letter, each after a page that asks, each audited with
// the user's name.
func TestOperatorActs(t *testing.T) {
	rf := newRoleFixture(t)
	b := rf.browser()
	csrf := b.signInAs("otto", "operator-password")
	post := func(path string, form url.Values) page {
		t.Helper()
		if form == nil {
			form = url.Values{}
		}
		form.Set("csrf", csrf)
		return b.do("POST", path, form, map[string]string{"Origin": rf.srv.URL})
	}
	if p := b.get("/ui/functions/hello"); !strings.Contains(p.body, `href="/ui/functions/hello/quarantine"`) || !strings.Contains(p.body, `href="/ui/functions/hello/rollback/1"`) {
		t.Fatalf("the function's page offers no actions to an operator: %s", p.body)
	}
	if p := b.get("/ui/functions/hello/quarantine"); p.status != 200 || !strings.Contains(p.body, `name="reason"`) || rf.fns[0].Quarantine != nil {
		t.Fatalf("the quarantine page = %d, or it acted", p.status)
	}
	if p := post("/ui/functions/hello/quarantine", url.Values{"reason": {""}}); p.status != http.StatusBadRequest {
		t.Errorf("a quarantine without a reason = %d", p.status)
	}
	if p := post("/ui/functions/hello/quarantine", url.Values{"reason": {"leaking data"}}); p.status != http.StatusSeeOther {
		t.Fatalf("quarantine = %d %s", p.status, p.body)
	}
	if q := rf.fns[0].Quarantine; q == nil || q.By != "user:otto" || q.Reason != "leaking data" {
		t.Fatalf("quarantine = %+v", q)
	}
	if p := b.get("/ui/functions/hello/quarantine"); p.status != http.StatusConflict {
		t.Errorf("quarantining twice = %d", p.status)
	}
	if p := b.get("/ui/functions/hello/restore"); p.status != 200 || !strings.Contains(p.body, "leaking data") {
		t.Errorf("the restore page = %d", p.status)
	}
	if p := post("/ui/functions/hello/restore", nil); p.status != http.StatusSeeOther || rf.fns[0].Quarantine != nil {
		t.Errorf("restore = %d", p.status)
	}
	if p := b.get("/ui/functions/hello/rollback/2"); p.status != http.StatusConflict {
		t.Errorf("rolling back to the active version = %d", p.status)
	}
	if p := b.get("/ui/functions/hello/rollback/9"); p.status != http.StatusBadRequest {
		t.Errorf("rolling back to a version not kept = %d", p.status)
	}
	if p := b.get("/ui/functions/hello/rollback/1"); p.status != 200 || rf.fns[0].Active != 2 {
		t.Errorf("the rollback page = %d, or it acted", p.status)
	}
	if p := post("/ui/functions/hello/rollback/1", nil); p.status != http.StatusSeeOther || rf.fns[0].Active != 1 {
		t.Errorf("rollback = %d, active %d", p.status, rf.fns[0].Active)
	}
	if p := b.get("/ui/async/dead/hello/7/retry"); p.status != 200 || len(rf.async.redriven) != 0 || strings.Contains(p.body, "<script>x") {
		t.Errorf("the retry page = %d, or it acted, or it did not escape", p.status)
	}
	if p := post("/ui/async/dead/hello/7/retry", nil); p.status != http.StatusSeeOther || len(rf.async.redriven) != 1 {
		t.Errorf("retry = %d", p.status)
	}
	if p := post("/ui/async/dead/hello/7/retry", nil); p.status != http.StatusNotFound {
		t.Errorf("retrying twice = %d", p.status)
	}
	for _, want := range []struct{ action, outcome string }{
		{audit.ActionQuarantine, "ok"}, {audit.ActionRestore, "ok"}, {audit.ActionRollback, "ok"},
		{ActionDeadLetterRetry, "ok"}, {ActionDeadLetterRetry, "denied"},
	} {
		ev := rf.audit.find(want.action, want.outcome)
		if len(ev) != 1 || ev[0].Actor != "user:otto" || ev[0].Details["via"] != "console" {
			t.Errorf("%s %s audited = %+v", want.action, want.outcome, ev)
		}
	}
	// Without the session's CSRF token, nothing happens.
	if p := b.do("POST", "/ui/functions/hello/quarantine", url.Values{"reason": {"x"}}, nil); p.status != http.StatusForbidden || rf.fns[0].Quarantine != nil {
		t.Errorf("a quarantine without CSRF = %d", p.status)
	}
}

// TestRemovedUserSignedOut: removing a user ends their sessions at their
// next request, and re-creating the name does not revive them.
func TestRemovedUserSignedOut(t *testing.T) {
	rf := newRoleFixture(t)
	b := rf.browser()
	csrf := b.signInAs("otto", "operator-password")
	rf.users.remove("otto")
	if p := b.get("/ui/"); p.status != http.StatusSeeOther {
		t.Errorf("a removed user's page = %d", p.status)
	}
	rf.users.add("otto", identity.RoleOperator, "new-password")
	if p := b.do("POST", "/ui/functions/hello/quarantine", url.Values{"csrf": {csrf}, "reason": {"x"}}, nil); p.status != http.StatusUnauthorized {
		t.Errorf("a removed user's action = %d", p.status)
	}
	if rf.fns[0].Quarantine != nil {
		t.Error("a removed user acted")
	}
}

func TestAsyncPages(t *testing.T) {
	rf := newRoleFixture(t)
	b := rf.browser()
	b.signInAs("vera", "viewer-password")
	for _, tc := range []struct {
		path   string
		status int
		want   []string
	}{
		{"/ui/async", 200, []string{`href="/ui/async/dead/hello"`, "Call id"}},
		{"/ui/async?call=call-1", 303, nil},
		{"/ui/async/calls/call-1", 200, []string{"POST /orders", "dead", "&lt;b&gt;boom&lt;/b&gt;"}},
		{"/ui/async/calls/nope", 404, nil},
		{"/ui/async/dead/hello", 200, []string{"function_failed", "&lt;script&gt;x&lt;/script&gt;", `href="/ui/async/dead/hello/7"`}},
		{"/ui/async/dead/nope", 404, nil},
		{"/ui/async/dead/hello/7", 200, []string{"call-1", "key:ci"}},
		{"/ui/async/dead/hello/8", 404, nil},
	} {
		p := b.get(tc.path)
		if p.status != tc.status {
			t.Errorf("%s = %d %s", tc.path, p.status, p.body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(p.body, w) {
				t.Errorf("%s does not show %q", tc.path, w)
			}
		}
	}
}

// TestActionPagesHeaders renders the pages of actions and asynchronous
// calls with the security headers, and nothing the CSP would block.
func TestActionPagesHeaders(t *testing.T) {
	rf := newRoleFixture(t)
	b := rf.browser()
	b.signInAs("otto", "operator-password")
	for _, path := range []string{
		"/ui/functions/hello/quarantine", "/ui/functions/hello/rollback/1", "/ui/async", "/ui/async/calls/call-1",
		"/ui/async/dead/hello", "/ui/async/dead/hello/7", "/ui/async/dead/hello/7/retry",
	} {
		p := b.get(path)
		if p.status != 200 {
			t.Errorf("%s = %d", path, p.status)
			continue
		}
		if got := p.header.Get("Content-Security-Policy"); got != contentSecurityPolicy || p.header.Get("X-Frame-Options") != "DENY" || p.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: headers %v", path, p.header)
		}
		for _, bad := range []string{"<script>", "style=", "<style", " onclick=", " onsubmit=", "javascript:", "http://", "https://"} {
			if strings.Contains(p.body, bad) {
				t.Errorf("%s contains %q", path, bad)
			}
		}
	}
	// An operator revokes keys too, audited with their name.
	csrf := b.csrf()
	if p := b.do("POST", "/ui/keys/ci/revoke", url.Values{"csrf": {csrf}}, map[string]string{"Origin": rf.srv.URL}); p.status != http.StatusSeeOther {
		t.Fatalf("an operator's revoke = %d", p.status)
	}
	if ev := rf.audit.find(audit.ActionKeyRevoke, "ok"); len(ev) != 1 || ev[0].Actor != "user:otto" {
		t.Errorf("revoke audited = %+v", ev)
	}
}
