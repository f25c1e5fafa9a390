package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/pave-dev/pave/internal/apikey"
	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/store"
)

// UserPrefix starts a console user's generated password.
const UserPrefix = "pave_u_"

// Roles of console users. The admin token is the administrator, above
// both.
const (
	// RoleViewer sees every page of the console and can do nothing.
	RoleViewer = "viewer"
	// RoleOperator may also quarantine, restore, roll back, revoke keys
	// and retry dead letters.
	RoleOperator = "operator"
)

// Errors of console user management.
var (
	ErrUserExists   = errors.New("a console user with this name exists")
	ErrUserNotFound = errors.New("no console user with this name")
	ErrInvalidUser  = errors.New("invalid console user request")
	ErrUserChanged  = errors.New("console user changed meanwhile")
)

// User is a console user's stored record: its password only as an
// argon2id hash with its salt and parameters.
type User struct {
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	Hash      PassHash  `json:"password"`
	// PasswordSetAt is when the password was last reset; zero for the
	// password the user was created with.
	PasswordSetAt time.Time `json:"password_set_at,omitzero"`
}

// PassHash is an argon2id hash of a password.
type PassHash struct {
	Salt    string `json:"salt"` // base64
	Hash    string `json:"argon2id"`
	Time    uint32 `json:"t"`
	Memory  uint32 `json:"m"` // KiB
	Threads uint8  `json:"p"`
}

// Argon2id parameters of new hashes: the first of RFC 9106's
// recommendations for memory-constrained settings (2 passes, 19 MiB), which
// is also OWASP's minimum.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonLen     = 32
)

func hashPassword(password string) PassHash {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt) // never fails (crypto/rand panics rather)
	sum := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonLen)
	return PassHash{
		Salt: base64.RawStdEncoding.EncodeToString(salt), Hash: base64.RawStdEncoding.EncodeToString(sum),
		Time: argonTime, Memory: argonMemory, Threads: argonThreads,
	}
}

// dummyHash returns a hash with the parameters of new ones that no
// password matches: a random salt and random bytes for the sum. Checking
// a password against it costs what checking against a real hash does, and
// making it costs nothing, where hashing a password would cost every
// daemon's start tens of milliseconds of processor time.
func dummyHash() PassHash {
	b := make([]byte, 16+argonLen)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather)
	return PassHash{
		Salt: base64.RawStdEncoding.EncodeToString(b[:16]), Hash: base64.RawStdEncoding.EncodeToString(b[16:]),
		Time: argonTime, Memory: argonMemory, Threads: argonThreads,
	}
}

// matches reports whether password is the one hashed, comparing in
// constant time.
func (h PassHash) matches(password string) bool {
	salt, err1 := base64.RawStdEncoding.DecodeString(h.Salt)
	want, err2 := base64.RawStdEncoding.DecodeString(h.Hash)
	if err1 != nil || err2 != nil || len(want) == 0 || h.Time == 0 || h.Memory == 0 || h.Threads == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, h.Time, h.Memory, h.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// UserRecords is the storage of console users; *store.KV provides it.
type UserRecords interface {
	Records
	Delete(ctx context.Context, key string, rev uint64) error
}

// Users are the console's users, cached in memory and kept current by
// watching their bucket, so that a user removed on one node is signed out
// on all of them.
type Users struct {
	records UserRecords
	now     func() time.Time

	mu     sync.RWMutex
	byName map[string]*User
	revs   map[string]uint64

	dummy PassHash      // checked against when the name is unknown
	slots chan struct{} // bounds the hashes computed at once
}

// maxHashing bounds the password hashes computed at once: each takes
// argonMemory, and a flood of logins from many addresses must not take
// the daemon's memory with it. A login beyond it waits its turn.
const maxHashing = 2

// NewUsers loads every console user and follows changes until ctx is done.
func NewUsers(ctx context.Context, records UserRecords) (*Users, error) {
	u := &Users{records: records, now: time.Now, byName: map[string]*User{}, revs: map[string]uint64{},
		dummy: dummyHash(), slots: make(chan struct{}, maxHashing)}
	if err := records.Watch(ctx, u.apply, func() {}); err != nil {
		return nil, err
	}
	return u, nil
}

func (u *Users) apply(e store.Entry) {
	var user *User
	if !e.Deleted {
		user = new(User)
		if err := json.Unmarshal(e.Value, user); err != nil {
			user = nil // a record this version cannot read signs nobody in
		}
	}
	u.set(e.Key, user, e.Revision)
}

func (u *Users) set(name string, user *User, rev uint64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if rev <= u.revs[name] {
		return
	}
	u.revs[name] = rev
	if user == nil {
		delete(u.byName, name)
		return
	}
	u.byName[name] = user
}

// ValidRole reports whether role is a console user's role.
func ValidRole(role string) bool { return role == RoleViewer || role == RoleOperator }

// Add creates a console user with role and returns its generated
// password, which is stored only as an argon2id hash and cannot be shown
// again.
func (u *Users) Add(ctx context.Context, name, role string) (secret.Value, *User, error) {
	if !apikey.ValidName(name) || name == "admin" {
		return "", nil, fmt.Errorf("%w: name %q must be 1-63 characters of a-z, 0-9, '.', '_', '-', and not admin", ErrInvalidUser, name)
	}
	if !ValidRole(role) {
		return "", nil, fmt.Errorf("%w: role %q: want %s or %s", ErrInvalidUser, role, RoleViewer, RoleOperator)
	}
	password := newSecret(UserPrefix)
	user := &User{Name: name, Role: role, CreatedAt: u.now().UTC(), Hash: hashPassword(password.Reveal())}
	val, err := json.Marshal(user)
	if err != nil {
		return "", nil, err
	}
	rev, err := u.records.Create(ctx, name, val)
	if errors.Is(err, store.ErrExists) {
		return "", nil, fmt.Errorf("%w: %q (remove it first)", ErrUserExists, name)
	}
	if err != nil {
		return "", nil, err
	}
	u.set(name, user, rev)
	return password, user, nil
}

// SetRole changes console user name's role, keeping their password. Their
// sessions end at their next request: the console signs out a session
// whose user's stored role is not the one it signed in with.
func (u *Users) SetRole(ctx context.Context, name, role string) (*User, error) {
	if !ValidRole(role) {
		return nil, fmt.Errorf("%w: role %q: want %s or %s", ErrInvalidUser, role, RoleViewer, RoleOperator)
	}
	return u.update(ctx, name, func(user *User) { user.Role = role })
}

// ResetPassword gives console user name a new generated password, stored
// only as an argon2id hash, and returns it. Their sessions end at their
// next request, as for a new role.
func (u *Users) ResetPassword(ctx context.Context, name string) (secret.Value, *User, error) {
	password := newSecret(UserPrefix)
	hash := hashPassword(password.Reveal())
	user, err := u.update(ctx, name, func(user *User) {
		user.Hash, user.PasswordSetAt = hash, u.now().UTC()
	})
	if err != nil {
		return "", nil, err
	}
	return password, user, nil
}

// update applies change to the stored user name, if no one changed it
// meanwhile, and returns the user without their hash.
func (u *Users) update(ctx context.Context, name string, change func(*User)) (*User, error) {
	e, err := u.records.Get(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %q", ErrUserNotFound, name)
	}
	if err != nil {
		return nil, err
	}
	var user User
	if err := json.Unmarshal(e.Value, &user); err != nil {
		return nil, fmt.Errorf("console user %q: %w", name, err)
	}
	change(&user)
	val, err := json.Marshal(&user)
	if err != nil {
		return nil, err
	}
	rev, err := u.records.Update(ctx, name, val, e.Revision)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %q; try again", ErrUserChanged, name)
	}
	if err != nil {
		return nil, err
	}
	u.set(name, &user, rev)
	c := user
	c.Hash = PassHash{}
	return &c, nil
}

// Remove deletes console user name.
func (u *Users) Remove(ctx context.Context, name string) error {
	e, err := u.records.Get(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %q", ErrUserNotFound, name)
	}
	if err != nil {
		return err
	}
	if err := u.records.Delete(ctx, name, e.Revision); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: %q", ErrUserNotFound, name)
		}
		return err
	}
	u.set(name, nil, e.Revision+1)
	return nil
}

// List returns every console user, by name, without their hashes.
func (u *Users) List() []User {
	u.mu.RLock()
	defer u.mu.RUnlock()
	out := make([]User, 0, len(u.byName))
	for _, user := range u.byName {
		c := *user
		c.Hash = PassHash{}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// User returns console user name, without its hash, if there is one.
func (u *Users) User(name string) (User, bool) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	if user := u.byName[name]; user != nil {
		c := *user
		c.Hash = PassHash{}
		return c, true
	}
	return User{}, false
}

// Check returns the role of console user name if password is theirs. An
// unknown name costs the same hash as a known one.
func (u *Users) Check(name, password string) (role string, ok bool) {
	u.mu.RLock()
	user := u.byName[name]
	u.mu.RUnlock()
	u.slots <- struct{}{}
	defer func() { <-u.slots }()
	if user == nil || password == "" {
		u.dummy.matches(password)
		return "", false
	}
	if !user.Hash.matches(password) {
		return "", false
	}
	return user.Role, true
}
