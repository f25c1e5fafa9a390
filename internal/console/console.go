// Package console is the operators' web console: pages rendered by the
// server from html/template, charts drawn by the server as SVG, and a
// little plain JavaScript, all embedded. The daemon serves it on the admin
// listener at /ui/, next to the admin API.
//
// It reads what it shows through the same subsystems the admin API uses,
// behind small interfaces of its own, never through the admin API's HTTP.
//
// # Who gets in
//
// The holder of the admin token, and console users (identity.Users), each
// a viewer, who sees, or an operator, who may also act on functions, keys
// and dead letters. A login compares the token in constant time
// (identity.Admin), or checks a user's password against its argon2id
// hash, and opens a session: a random id in a cookie
// (HttpOnly, SameSite=Strict, Secure under TLS), held in memory with an
// absolute and an idle expiry, so a restart logs everyone out. Every
// state-changing request is a POST carrying the session's CSRF token, and
// a POST whose Origin is another site is refused. Logins are rate limited
// per client address and audited, failures included; every action is
// audited with who did it. Roles are checked by the server on every
// action, and a user's session ends when the user is removed. Every
// response carries a strict Content-Security-Policy (no inline script or
// style), and pages are never cached. No page shows a secret value: the
// console reads none.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/budgets"
	"github.com/pave-dev/pave/internal/identity"
	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/observe"
	"github.com/pave-dev/pave/internal/posture"
	"github.com/pave-dev/pave/internal/registry"
)

// Functions are the deployed functions.
type Functions interface {
	Get(name string) (*registry.Function, bool)
	List() []*registry.Function
}

// Usage reports when functions were last invoked and how often.
type Usage interface {
	LastInvoked(name string) (time.Time, bool)
	Invocations(name string, days int) int64
}

// Keys lists and revokes API keys.
type Keys interface {
	List() []identity.Key
	Revoke(ctx context.Context, name string) error
}

// History reads invocation records; *observe.History provides it.
type History interface {
	Read(ctx context.Context, q observe.Query, fn func(observe.Record) error) error
}

// AuditLog reads and verifies the audit log.
type AuditLog interface {
	Events(ctx context.Context, since time.Time, fn func(audit.Event) error) error
	Verify(ctx context.Context) (audit.VerifyReport, error)
}

// Auditor records the console's actions and logins.
type Auditor interface {
	Audit(ctx context.Context, actor, action, target, outcome, source string, details map[string]string)
}

// Posture reports the posture findings of everything deployed.
type Posture interface {
	Report(ctx context.Context) (*posture.Report, error)
}

// Budgets are the operator's budgets and the spending against them.
type Budgets interface {
	Overrides() []budgets.Override
	Usage(subject string) (limits.Usage, bool)
}

// AdminAuth checks the admin token.
type AdminAuth interface {
	Check(token string) bool
}

// Users are the console's users; *identity.Users provides them.
type Users interface {
	// Check returns the role of user name if password is theirs.
	Check(name, password string) (role string, ok bool)
	// User returns user name as stored now, if there is one.
	User(name string) (identity.User, bool)
}

var (
	_ Functions = (*registry.Registry)(nil)
	_ Usage     = (*registry.Usage)(nil)
	_ Keys      = (*identity.Keys)(nil)
	_ History   = (*observe.History)(nil)
	_ Budgets   = (*budgets.Store)(nil)
	_ AdminAuth = (*identity.Admin)(nil)
	_ Users     = (*identity.Users)(nil)
)

// Deps are what the console reads and drives. Functions, Usage, Keys and
// Auth are required; a nil optional one leaves its part of a page saying
// it is not available.
type Deps struct {
	Functions Functions
	Usage     Usage
	Keys      Keys
	Auth      AdminAuth
	Users     Users // nil: only the admin token signs in
	History   History
	AuditLog  AuditLog
	Auditor   Auditor // nil: actions are logged only
	Control   Control // nil: functions cannot be quarantined, restored or rolled back here
	Async     Async   // nil: no asynchronous calls or dead letters to show
	Posture   Posture
	Budgets   Budgets
	Live      Live // nil: no live tail
	// Version is pave's version, named in SARIF reports.
	Version string
	// LoginRate bounds login attempts per client address; zero means
	// DefaultLoginRate.
	LoginRate limits.Rate
	// SessionTTL and SessionIdle end a session that long after it began
	// or was last used; zero means DefaultSessionTTL and
	// DefaultSessionIdle.
	SessionTTL, SessionIdle time.Duration
	Now                     func() time.Time // nil: time.Now
	Log                     *slog.Logger
}

// Defaults of Deps.
var (
	// DefaultLoginRate allows five attempts at once from one address,
	// then one a minute.
	DefaultLoginRate   = limits.Rate{PerSecond: 1.0 / 60, Burst: 5}
	DefaultSessionTTL  = 12 * time.Hour
	DefaultSessionIdle = time.Hour
)

// Prefix is where the console is served.
const Prefix = "/ui/"

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Console is the web console, an http.Handler for Prefix.
type Console struct {
	d        Deps
	now      func() time.Time
	log      *slog.Logger
	sessions *sessions
	logins   *limits.Limiter
	pages    map[string]*template.Template
	static   http.Handler
	mux      *http.ServeMux
	streams  *liveStreams
}

// New returns the console.
func New(d Deps) *Console {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.LoginRate == (limits.Rate{}) {
		d.LoginRate = DefaultLoginRate
	}
	if d.SessionTTL <= 0 {
		d.SessionTTL = DefaultSessionTTL
	}
	if d.SessionIdle <= 0 {
		d.SessionIdle = DefaultSessionIdle
	}
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embedded directory exists
	}
	c := &Console{
		d: d, now: d.Now, log: d.Log,
		sessions: newSessions(d.Now, d.SessionTTL, d.SessionIdle),
		logins:   limits.NewLimiter(d.Now),
		pages:    pages(),
		static:   http.StripPrefix(Prefix+"static/", http.FileServerFS(sub)),
		mux:      http.NewServeMux(),
		streams:  newLiveStreams(),
	}
	c.routes()
	return c
}

func (c *Console) routes() {
	c.mux.HandleFunc("GET "+Prefix+"static/{file}", c.serveStatic)
	c.handle("GET "+Prefix+"login", anyone, c.loginPage)
	c.handle("POST "+Prefix+"login", anyone, c.login)
	c.handle("POST "+Prefix+"logout", signedIn, c.logout)
	c.handle("GET "+Prefix+"{$}", signedIn, c.overview)
	c.handle("GET "+Prefix+"functions", signedIn, c.functions)
	c.handle("GET "+Prefix+"functions/{name}", signedIn, c.function)
	c.handle("GET "+Prefix+"posture", signedIn, c.posture)
	c.handle("GET "+Prefix+"posture/sarif", signedIn, c.sarif)
	c.handle("GET "+Prefix+"audit", signedIn, c.auditPage)
	c.handle("GET "+Prefix+"keys", signedIn, c.keys)
	c.handle("GET "+Prefix+"keys/{name}/revoke", operatorOnly, c.confirmRevoke)
	c.handle("POST "+Prefix+"keys/{name}/revoke", operatorOnly, c.revoke)
	c.actionRoutes()
	c.asyncRoutes()
	c.handle("GET "+Prefix+"map", signedIn, c.surfaceMap)
	c.handle("GET "+Prefix+"live", signedIn, c.live)
	c.handle("GET "+Prefix+"live/events", signedIn, c.liveEvents)
	c.handle(Prefix, anyone, func(http.ResponseWriter, *http.Request, *session) error {
		return apierror.New(apierror.NotFound, "no such page")
	})
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.mux.ServeHTTP(w, r) }

// Sweep drops expired sessions and idle login buckets; the daemon calls
// it periodically.
func (c *Console) Sweep() {
	c.sessions.sweep()
	c.logins.Sweep()
}

// Warm reads the last day of every function's history once, as the
// overview does, so that the history keeps the decoded records and the
// first overview after a start answers as fast as later ones (with 100,000
// records of the day, about 650 ms of decoding, spent here in the
// background instead). The daemon calls it once at start.
func (c *Console) Warm(ctx context.Context) {
	if c.d.History == nil {
		return
	}
	since := c.d.Now().Add(-daySpan)
	err := c.d.History.Read(ctx, observe.Query{AllFunctions: true, Brief: true, Since: since}, func(observe.Record) error { return nil })
	if err != nil && ctx.Err() == nil {
		c.d.Log.Debug("console: the history was not read ahead", "err", err)
	}
}

type access int

const (
	anyone access = iota
	signedIn
	// operatorOnly is an action, or the page that confirms it, that an
	// operator or the admin may do and a viewer may not.
	operatorOnly
)

// handlerFunc is a page or an action; s is nil for pages open to anyone.
type handlerFunc func(w http.ResponseWriter, r *http.Request, s *session) error

// contentSecurityPolicy allows the console's own script, styles and
// images, and nothing else: no inline script or style, no other origin,
// no framing, forms posting only here.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// setSecurityHeaders sets the headers every response of the console
// carries.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: under no-referrer a browser sends
	// "Origin: null" with a form's POST, which checkOrigin must refuse
	// (TestConsoleInBrowser signs in through a real one). Other sites
	// still get no referrer.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

func (c *Console) handle(pattern string, a access, fn handlerFunc) {
	c.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := apierror.NewRequestID()
		h := w.Header()
		h.Set("X-Request-Id", id)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		setSecurityHeaders(h)
		h.Set("Cache-Control", "no-store")
		var s *session
		err := c.checkOrigin(r)
		if err == nil && a != anyone {
			s, err = c.signedIn(r)
		}
		if err == nil && a != anyone && r.Method == http.MethodPost {
			err = s.checkCSRF(r)
		}
		if err == nil && a == operatorOnly && !s.canAct() {
			c.audit(r, s, ActionForbidden, "", string(audit.Denied), map[string]string{"reason": "role " + s.role, "path": r.URL.Path})
			err = apierror.New(apierror.Forbidden, "a %s can look but not act: ask an operator or the administrator", s.role)
		}
		if err == nil {
			err = fn(w, r, s)
		}
		c.finish(w, r, id, s, err)
	}))
}

// requestIDKey carries the request id to the audit events of actions.
type requestIDKey struct{}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey{}).(string)
	return id
}

// errSignIn sends a browser without a session to the login page.
var errSignIn = errors.New("not signed in")

// signedIn returns the request's session. A page asked for without one
// redirects to the login page; an action is refused.
func (c *Console) signedIn(r *http.Request) (*session, error) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if s, ok := c.sessions.get(ck.Value); ok && c.current(s) {
			return s, nil
		} else if ok {
			c.sessions.drop(ck.Value)
		}
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil, errSignIn
	}
	return nil, apierror.New(apierror.Unauthenticated, "your session has ended: sign in again")
}

// current reports whether the user of session s still exists as it was
// when the session began: removing a user ends their sessions, on every
// node, at their next request.
func (c *Console) current(s *session) bool {
	if s.user == "" {
		return true // the admin token
	}
	if c.d.Users == nil {
		return false
	}
	u, ok := c.d.Users.User(s.user)
	return ok && u.Role == s.role && u.CreatedAt.Equal(s.userSince) && u.PasswordSetAt.Equal(s.passwordSince)
}

// checkOrigin refuses a POST sent by a page of another origin. Browsers
// send Origin with every POST; a request without one (a script, curl)
// still needs the session's CSRF token.
func (c *Console) checkOrigin(r *http.Request) error {
	if r.Method != http.MethodPost {
		return nil
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	// The host, not the scheme: behind a proxy that ends TLS, the page
	// is https and the request it sends here is not.
	if u, err := url.Parse(origin); err != nil || !strings.EqualFold(u.Host, r.Host) {
		return apierror.New(apierror.Forbidden, "this form was sent from another site (%.100s)", origin)
	}
	return nil
}

// finish writes err as an error page, and logs the request.
func (c *Console) finish(w http.ResponseWriter, r *http.Request, id string, s *session, err error) {
	attrs := []slog.Attr{slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path)}
	if err == nil {
		c.log.LogAttrs(r.Context(), slog.LevelDebug, "console request", attrs...)
		return
	}
	if errors.Is(err, errSignIn) {
		http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
		return
	}
	e := apierror.From(err)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(e.RetryAfter))
	}
	c.render(w, e.Code.Status(), "error", s, errorPage{Status: e.Code.Status(), Code: string(e.Code), Message: e.Message, RequestID: id})
	attrs = append(attrs, slog.String("code", string(e.Code)), slog.Int("status", e.Code.Status()))
	if e.Cause != nil {
		attrs = append(attrs, slog.String("cause", e.Cause.Error()))
	}
	level := slog.LevelInfo
	if e.Code.Status() >= 500 {
		level = slog.LevelError
	}
	c.log.LogAttrs(r.Context(), level, "console request failed", attrs...)
}

type errorPage struct {
	Status    int
	Code      string
	Message   string
	RequestID string
}

func (c *Console) serveStatic(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	w.Header().Set("Cache-Control", "no-cache")
	c.static.ServeHTTP(w, r)
}

// clientAddr is the address a request came from, without its port.
func clientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// audit records an action of the admin or a console user, done through
// the console in session s, in the log and, when there is one, the audit
// log.
func (c *Console) audit(r *http.Request, s *session, action, target, outcome string, details map[string]string) {
	if details == nil {
		details = map[string]string{}
	}
	details["via"] = "console"
	if s != nil {
		details["session"] = s.handle
	}
	details["request_id"] = requestID(r)
	source := clientAddr(r)
	actor := audit.ActorAdmin
	if s != nil && s.user != "" {
		actor = audit.Ref("user", s.user)
	} else if s == nil && details["user"] != "" {
		actor = audit.Ref("user", details["user"])
	}
	attrs := []any{"audit", true, "actor", actor, "action", action, "target", target, "outcome", outcome, "source", source}
	for k, v := range details {
		if v != "" {
			attrs = append(attrs, k, v)
		}
	}
	c.log.Log(r.Context(), slog.LevelInfo, "console action", attrs...)
	if c.d.Auditor != nil {
		c.d.Auditor.Audit(r.Context(), actor, action, target, outcome, source, details)
	}
}
