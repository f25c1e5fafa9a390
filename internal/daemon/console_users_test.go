package daemon_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/testguests"
)

// loginAs signs in as a console user and returns the session's CSRF token.
func (b *consoleBrowser) loginAs(user, password string) string {
	b.t.Helper()
	form := b.do("GET", "/ui/login", nil, nil)
	m := consoleLoginCSRF.FindSubmatch(form.body)
	if m == nil {
		b.t.Fatalf("no login form: %d", form.status)
	}
	r := b.do("POST", "/ui/login", url.Values{"login_csrf": {string(m[1])}, "user": {user}, "token": {password}}, nil)
	if r.status != http.StatusSeeOther {
		b.t.Fatalf("login as %s = %d %s", user, r.status, r.body)
	}
	p := b.do("GET", "/ui/", nil, nil)
	csrf := consoleCSRF.FindSubmatch(p.body)
	if csrf == nil {
		b.t.Fatalf("no CSRF token on the overview: %d", p.status)
	}
	return string(csrf[1])
}

// TestConsoleUsers drives console users through the daemon: created by
// the admin API, a viewer who forges actions and is refused, an operator
// who quarantines (and the gateway refuses the function), restores and
// rolls back, a removed user signed out, and every step audited by name.
func TestConsoleUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := start(t, "")
	mod := testguests.Example(t, "hello")
	n.deploy(manifestFor("hello", route("GET", "/hello"), ""), mod)
	n.deploy(manifestFor("hello", route("GET", "/hello")+route("GET", "/hi"), ""), mod)
	key := n.key("ci", "hello")

	if _, err := n.admin.CreateConsoleUser(ctx, client.CreateConsoleUserRequest{Name: "vera", Role: "admin"}); err == nil {
		t.Error("a console user with role admin was created")
	}
	viewer, err := n.admin.CreateConsoleUser(ctx, client.CreateConsoleUserRequest{Name: "vera", Role: "viewer"})
	if err != nil {
		t.Fatal(err)
	}
	operator, err := n.admin.CreateConsoleUser(ctx, client.CreateConsoleUserRequest{Name: "otto", Role: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.admin.CreateConsoleUser(ctx, client.CreateConsoleUserRequest{Name: "otto", Role: "viewer"}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a second otto = %v", err)
	}
	if users, err := n.admin.ListConsoleUsers(ctx); err != nil || len(users) != 2 || users[0].Name != "otto" || users[0].Role != "operator" {
		t.Errorf("users = %+v, %v", users, err)
	}

	// The viewer sees, and every action it forges is refused.
	vb := n.consoleBrowser(t)
	if r := vb.login(viewer.Password); r.status != http.StatusUnauthorized {
		t.Errorf("a user's password as the admin token = %d", r.status)
	}
	vcsrf := vb.loginAs("vera", viewer.Password)
	if r := vb.do("GET", "/ui/keys", nil, nil); r.status != 200 || strings.Contains(string(r.body), "/ui/keys/ci/revoke") {
		t.Errorf("the viewer's keys page = %d, or offers a revoke", r.status)
	}
	for _, path := range []string{"/ui/keys/ci/revoke", "/ui/functions/hello/quarantine", "/ui/functions/hello/rollback/1"} {
		if r := vb.do("POST", path, url.Values{"csrf": {vcsrf}, "reason": {"forged"}}, nil); r.status != http.StatusForbidden {
			t.Errorf("the viewer's POST %s = %d", path, r.status)
		}
	}
	if r := n.call("GET", "/hello", key, nil); r.status != 200 {
		t.Fatalf("after the viewer's forged actions, GET /hello = %d", r.status)
	}
	// A new role ends the session signed in with the old one; the next
	// sign-in has the new role.
	if u, err := n.admin.SetConsoleUserRole(ctx, "vera", "operator"); err != nil || u.Role != "operator" {
		t.Fatalf("vera made operator: %+v, %v", u, err)
	}
	if r := vb.do("GET", "/ui/keys", nil, nil); r.status == 200 {
		t.Error("vera's viewer session survived her new role")
	}
	vb2 := n.consoleBrowser(t)
	vb2.loginAs("vera", viewer.Password)
	if r := vb2.do("GET", "/ui/keys", nil, nil); r.status != 200 || !strings.Contains(string(r.body), "/ui/keys/ci/revoke") {
		t.Errorf("vera as an operator: keys page = %d, or offers no revoke", r.status)
	}
	if _, err := n.admin.SetConsoleUserRole(ctx, "vera", "admin"); err == nil || !strings.Contains(err.Error(), "bad_request") {
		t.Errorf("vera made admin = %v", err)
	}
	if _, err := n.admin.SetConsoleUserRole(ctx, "nobody", "viewer"); err == nil || !strings.Contains(err.Error(), "user_not_found") {
		t.Errorf("an unknown user's role = %v", err)
	}
	// The operator quarantines; the gateway refuses; then restores and
	// rolls back.
	ob := n.consoleBrowser(t)
	ocsrf := ob.loginAs("otto", operator.Password)
	if r := ob.do("GET", "/ui/functions/hello/quarantine", nil, nil); r.status != 200 {
		t.Fatalf("the quarantine page = %d", r.status)
	}
	if r := ob.do("POST", "/ui/functions/hello/quarantine", url.Values{"csrf": {ocsrf}, "reason": {"suspected leak"}}, nil); r.status != http.StatusSeeOther {
		t.Fatalf("quarantine = %d %s", r.status, r.body)
	}
	if r := n.call("GET", "/hello", key, nil); r.status != http.StatusForbidden {
		t.Errorf("a quarantined function = %d", r.status)
	}
	if r := ob.do("POST", "/ui/functions/hello/restore", url.Values{"csrf": {ocsrf}}, nil); r.status != http.StatusSeeOther {
		t.Fatalf("restore = %d %s", r.status, r.body)
	}
	if r := n.call("GET", "/hello", key, nil); r.status != 200 {
		t.Errorf("a restored function = %d", r.status)
	}
	if r := ob.do("POST", "/ui/functions/hello/rollback/1", url.Values{"csrf": {ocsrf}}, nil); r.status != http.StatusSeeOther {
		t.Fatalf("rollback = %d %s", r.status, r.body)
	}
	if f, err := n.admin.GetFunction(ctx, "hello"); err != nil || f.Version != 1 {
		t.Errorf("after the rollback: %+v, %v", f, err)
	}
	if r := ob.do("GET", "/ui/async", nil, nil); r.status != 200 || !strings.Contains(string(r.body), "hello") {
		t.Errorf("the async page = %d", r.status)
	}

	// Removing the operator ends its session.
	if err := n.admin.RemoveConsoleUser(ctx, "otto"); err != nil {
		t.Fatal(err)
	}
	if r := ob.do("POST", "/ui/functions/hello/quarantine", url.Values{"csrf": {ocsrf}, "reason": {"x"}}, nil); r.status != http.StatusUnauthorized {
		t.Errorf("a removed operator's action = %d", r.status)
	}
	if err := n.admin.RemoveConsoleUser(ctx, "otto"); err == nil || !strings.Contains(err.Error(), "user_not_found") {
		t.Errorf("removing otto twice = %v", err)
	}

	counts := map[string]int{}
	for _, e := range n.auditEvents(t) {
		for _, v := range e.Details {
			if strings.Contains(v, viewer.Password) || strings.Contains(v, operator.Password) {
				t.Errorf("an audit event holds a password: %+v", e)
			}
		}
		switch {
		case e.Action == "console.forbidden" && e.Actor == "user:vera" && e.Outcome == "denied":
			counts["forbidden"]++
		case e.Actor == "user:otto" && e.Details["via"] == "console" && e.Outcome == "ok" &&
			(e.Action == "function.quarantine" || e.Action == "function.restore" || e.Action == "function.rollback"):
			counts["acted"]++
		case e.Action == "console.user_add" && e.Outcome == "ok":
			counts["added"]++
		case e.Action == "console.user_remove" && e.Target == "user:otto":
			counts["removed"]++
		}
	}
	if counts["forbidden"] != 3 || counts["acted"] != 3 || counts["added"] != 2 || counts["removed"] != 1 {
		t.Errorf("audited: %v", counts)
	}
}

// TestConsoleUserPasswordReset: a console user's new password ends the
// sessions signed in with the old one, which no longer signs in, and is
// audited without the password.
func TestConsoleUserPasswordReset(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := start(t, "")
	viewer, err := n.admin.CreateConsoleUser(ctx, client.CreateConsoleUserRequest{Name: "vera", Role: "viewer"})
	if err != nil {
		t.Fatal(err)
	}
	vb := n.consoleBrowser(t)
	vb.loginAs("vera", viewer.Password)
	if r := vb.do("GET", "/ui/keys", nil, nil); r.status != 200 {
		t.Fatalf("vera's keys page before the reset = %d", r.status)
	}
	// A new password ends the sessions of the old one, which no longer
	// signs in; the new one does.
	reset, err := n.admin.ResetConsoleUserPassword(ctx, "vera")
	if err != nil || reset.Password == "" || reset.Password == viewer.Password || reset.User.Role != "viewer" {
		t.Fatalf("vera's new password: %+v, %v", reset, err)
	}
	if r := vb.do("GET", "/ui/keys", nil, nil); r.status == 200 {
		t.Error("vera's session survived a new password")
	}
	vb3 := n.consoleBrowser(t)
	form := vb3.do("GET", "/ui/login", nil, nil)
	m := consoleLoginCSRF.FindSubmatch(form.body)
	if m == nil {
		t.Fatalf("no login form: %d", form.status)
	}
	if r := vb3.do("POST", "/ui/login", url.Values{"login_csrf": {string(m[1])}, "user": {"vera"}, "token": {viewer.Password}}, nil); r.status != http.StatusUnauthorized {
		t.Errorf("vera's old password after the reset: %d, want 401", r.status)
	}
	vb3.loginAs("vera", reset.Password)
	if _, err := n.admin.ResetConsoleUserPassword(ctx, "nobody"); err == nil || !strings.Contains(err.Error(), "user_not_found") {
		t.Errorf("an unknown user's password = %v", err)
	}

	var audited int
	for _, e := range n.auditEvents(t) {
		if e.Action == "console.user_password" && e.Target == "user:vera" && e.Outcome == "ok" {
			audited++
		}
		for _, v := range e.Details {
			if strings.Contains(v, reset.Password) {
				t.Errorf("an audit event holds the new password: %+v", e)
			}
		}
	}
	if audited != 1 {
		t.Errorf("%d password resets audited, want 1", audited)
	}
}

// TestConsoleDeadLetterRetry: a call given up shows in the console, a
// viewer's forged retry is refused, and an operator's retry runs it again.
func TestConsoleDeadLetterRetry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := start(t, "")
	n.deploy(jobsManifest("team-a", ""), testguests.Build(t, "jobs"))
	key := n.key("ci", "jobs")
	id, _ := n.submit("/work?id=f&fail=always", auth(key), "")
	if c := n.finalCall(id); c.State != "dead" {
		t.Fatalf("the failing call: %+v", c)
	}
	dead, err := n.admin.DeadLetters(ctx, "jobs", 0)
	if err != nil || len(dead) != 1 {
		t.Fatalf("dead letters %+v, %v", dead, err)
	}
	seq := fmt.Sprint(dead[0].Sequence)
	users := map[string]string{}
	for name, role := range map[string]string{"vera": "viewer", "otto": "operator"} {
		u, err := n.admin.CreateConsoleUser(ctx, client.CreateConsoleUserRequest{Name: name, Role: role})
		if err != nil {
			t.Fatal(err)
		}
		users[name] = u.Password
	}

	vb := n.consoleBrowser(t)
	vcsrf := vb.loginAs("vera", users["vera"])
	for path, want := range map[string]string{
		"/ui/async/dead/jobs":        "function_failed",
		"/ui/async/calls/" + id:      "dead",
		"/ui/async/dead/jobs/" + seq: id,
		"/ui/async":                  `href="/ui/async/calls/` + id + `"`,
	} {
		if r := vb.do("GET", path, nil, nil); r.status != 200 || !strings.Contains(string(r.body), want) {
			t.Errorf("%s = %d, without %q", path, r.status, want)
		}
	}
	if r := vb.do("POST", "/ui/async/dead/jobs/"+seq+"/retry", url.Values{"csrf": {vcsrf}}, nil); r.status != http.StatusForbidden {
		t.Errorf("the viewer's retry = %d", r.status)
	}
	if d, _ := n.admin.DeadLetters(ctx, "jobs", 0); len(d) != 1 {
		t.Fatalf("after the viewer's retry, %d dead letters", len(d))
	}

	ob := n.consoleBrowser(t)
	ocsrf := ob.loginAs("otto", users["otto"])
	if r := ob.do("GET", "/ui/async/dead/jobs/"+seq+"/retry", nil, nil); r.status != 200 {
		t.Fatalf("the retry page = %d", r.status)
	}
	if r := ob.do("POST", "/ui/async/dead/jobs/"+seq+"/retry", url.Values{"csrf": {ocsrf}}, nil); r.status != http.StatusSeeOther {
		t.Fatalf("retry = %d %s", r.status, r.body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for runs, _ := n.runs(key, "work.f"); runs < 6; runs, _ = n.runs(key, "work.f") {
		if time.Now().After(deadline) {
			t.Fatalf("after the retry work.f ran %d times in all, want 6", runs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var retried, forbidden int
	for _, e := range n.auditEvents(t) {
		if e.Action == "dlq.retry" && e.Actor == "user:otto" && e.Outcome == "ok" && e.Target == "function:jobs" {
			retried++
		}
		if e.Action == "console.forbidden" && e.Actor == "user:vera" {
			forbidden++
		}
	}
	if retried != 1 || forbidden != 1 {
		t.Errorf("audited %d retries by otto, %d refusals of vera", retried, forbidden)
	}
}
