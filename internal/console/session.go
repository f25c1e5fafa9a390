package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/identity"
)

// Cookies and form fields of the console.
const (
	sessionCookie = "pave_session"
	// loginCookie holds the login form's CSRF token (a double-submit
	// token: a page of another site can neither read nor set it).
	loginCookie = "pave_login"
	csrfField   = "csrf"
)

// maxSessions bounds the sessions held; a new one beyond it ends the
// oldest.
const maxSessions = 1000

// session is one signed-in browser. Its id is the cookie's value and is
// held only as a hash; handle names it in audit events and logs, where
// the id itself must never go.
type session struct {
	csrf    string
	handle  string
	created time.Time
	seen    time.Time
	// user is the console user signed in, with their role and when the
	// user was created; "" is the holder of the admin token.
	user      string
	role      string
	userSince time.Time
	// passwordSince is when the user's password was set, so that a reset
	// ends the sessions signed in with the old one.
	passwordSince time.Time
}

// canAct reports whether the session may act: the admin and operators
// may, viewers may not.
func (s *session) canAct() bool { return s.user == "" || s.role == identity.RoleOperator }

// who names the session's principal on pages.
func (s *session) who() string {
	if s.user == "" {
		return "admin"
	}
	return s.user + " (" + s.role + ")"
}

// sessions are the console's sessions, in memory: a restart ends them.
type sessions struct {
	now       func() time.Time
	ttl, idle time.Duration

	mu   sync.Mutex
	byID map[string]*session // by the hash of the id
}

func newSessions(now func() time.Time, ttl, idle time.Duration) *sessions {
	return &sessions{now: now, ttl: ttl, idle: idle, byID: map[string]*session{}}
}

// randomToken returns n random bytes, base64url encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// create opens a session of user (nil: the admin) and returns its id,
// for the cookie.
func (ss *sessions) create(user *identity.User) (string, *session) {
	id := randomToken(32)
	now := ss.now()
	s := &session{csrf: randomToken(32), handle: randomToken(6), created: now, seen: now}
	if user != nil {
		s.user, s.role, s.userSince, s.passwordSince = user.Name, user.Role, user.CreatedAt, user.PasswordSetAt
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.sweepLocked(now)
	if len(ss.byID) >= maxSessions {
		ss.dropOldestLocked()
	}
	ss.byID[hashID(id)] = s
	return id, s
}

// get returns the live session of id and marks it used.
func (ss *sessions) get(id string) (*session, bool) {
	if id == "" {
		return nil, false
	}
	now := ss.now()
	key := hashID(id)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byID[key]
	if !ok {
		return nil, false
	}
	if ss.expired(s, now) {
		delete(ss.byID, key)
		return nil, false
	}
	s.seen = now
	return s, true
}

// drop ends the session of id.
func (ss *sessions) drop(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byID, hashID(id))
}

func (ss *sessions) expired(s *session, now time.Time) bool {
	return now.Sub(s.created) >= ss.ttl || now.Sub(s.seen) >= ss.idle
}

// sweep drops expired sessions.
func (ss *sessions) sweep() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.sweepLocked(ss.now())
}

func (ss *sessions) sweepLocked(now time.Time) {
	for k, s := range ss.byID {
		if ss.expired(s, now) {
			delete(ss.byID, k)
		}
	}
}

func (ss *sessions) dropOldestLocked() {
	keys := make([]string, 0, len(ss.byID))
	for k := range ss.byID {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return ss.byID[keys[i]].created.Before(ss.byID[keys[j]].created) })
	delete(ss.byID, keys[0])
}

// checkCSRF refuses a form that does not carry the session's CSRF token.
func (s *session) checkCSRF(r *http.Request) error {
	r.Body = http.MaxBytesReader(nil, r.Body, maxForm)
	if !sameToken(r.PostFormValue(csrfField), s.csrf) {
		return apierror.New(apierror.Forbidden, "this form has expired or did not come from the console: reload the page and try again")
	}
	return nil
}

// maxForm bounds a form's body.
const maxForm = 64 << 10

// sameToken compares two tokens in constant time; empty never matches.
func sameToken(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// setCookie sets a cookie of the console: HttpOnly, SameSite=Strict,
// Secure when the request came over TLS; maxAge < 0 deletes it.
func setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}
