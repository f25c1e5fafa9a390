package console

import (
	"net/http"
	"time"

	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/identity"
)

// Audited actions of the console; an action on an object uses the admin
// API's (audit.ActionKeyRevoke).
const (
	ActionLogin  = "console.login"
	ActionLogout = "console.logout"
	// ActionForbidden is an action a viewer tried: the console offers
	// viewers none, so the request was forged or replayed.
	ActionForbidden = "console.forbidden"
)

type loginData struct {
	LoginCSRF string
	Failed    string
	Users     bool // the form asks for a user name
}

// loginPage shows the login form, with a fresh login CSRF token in a
// cookie and the form.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request, _ *session) error {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if s, ok := c.sessions.get(ck.Value); ok && c.current(s) {
			http.Redirect(w, r, Prefix, http.StatusSeeOther)
			return nil
		}
	}
	c.showLogin(w, r, http.StatusOK, "")
	return nil
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, status int, failed string) {
	token := randomToken(32)
	setCookie(w, r, loginCookie, token, Prefix+"login", int((10 * time.Minute).Seconds()))
	c.render(w, status, "login", nil, loginData{LoginCSRF: token, Failed: failed, Users: c.d.Users != nil})
}

// login checks the admin token and opens a session. Attempts are rate
// limited per client address, and audited whichever way they end; the
// token is compared in constant time by Auth.
func (c *Console) login(w http.ResponseWriter, r *http.Request, _ *session) error {
	addr := clientAddr(r)
	if d := c.logins.Allow("login:"+addr, c.d.LoginRate); !d.Allowed {
		c.audit(r, nil, ActionLogin, "", "denied", map[string]string{"reason": string(apierror.RateLimited)})
		e := apierror.New(apierror.RateLimited, "too many login attempts from %s: wait and try again", addr)
		e.RetryAfter = max(1, int(d.RetryAfter.Round(time.Second)/time.Second))
		return e
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	ck, err := r.Cookie(loginCookie)
	if err != nil || !sameToken(r.PostFormValue("login_csrf"), ck.Value) {
		c.audit(r, nil, ActionLogin, "", "denied", map[string]string{"reason": "csrf"})
		return apierror.New(apierror.Forbidden, "this login form has expired or did not come from the console: reload the page and try again")
	}
	var user *identity.User
	if name := r.PostFormValue("user"); name != "" && c.d.Users != nil {
		name = truncate(name, 64)
		if _, ok := c.d.Users.Check(name, r.PostFormValue("token")); !ok {
			c.audit(r, nil, ActionLogin, "", "denied", map[string]string{"reason": "wrong user or password", "user": name})
			c.showLogin(w, r, http.StatusUnauthorized, "That user name and password do not match.")
			return nil
		}
		u, ok := c.d.Users.User(name)
		if !ok { // removed meanwhile
			c.audit(r, nil, ActionLogin, "", "denied", map[string]string{"reason": "wrong user or password", "user": name})
			c.showLogin(w, r, http.StatusUnauthorized, "That user name and password do not match.")
			return nil
		}
		user = &u
	} else if !c.d.Auth.Check(r.PostFormValue("token")) {
		c.audit(r, nil, ActionLogin, "", "denied", map[string]string{"reason": "wrong admin token"})
		c.showLogin(w, r, http.StatusUnauthorized, "That is not the admin token. It is in the daemon's data directory, in admin.token.")
		return nil
	}
	id, s := c.sessions.create(user)
	setCookie(w, r, loginCookie, "", Prefix+"login", -1)
	setCookie(w, r, sessionCookie, id, Prefix, 0)
	c.audit(r, s, ActionLogin, "", "ok", nil)
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
	return nil
}

// truncate cuts s to at most n bytes, for what a form sends to the logs.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// logout ends the session.
func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) error {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		c.sessions.drop(ck.Value)
	}
	setCookie(w, r, sessionCookie, "", Prefix, -1)
	c.audit(r, s, ActionLogout, "", "ok", nil)
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
	return nil
}
