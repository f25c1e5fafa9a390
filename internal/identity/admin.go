package identity

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/store"
)

const adminHashKey = "admin_token_sha256"

// MaxAdminGrace bounds how long the previous admin token keeps working
// after a rotation.
const MaxAdminGrace = 7 * 24 * time.Hour

// Admin verifies the admin token: the current one and, for the grace
// period a rotation gave it, the one before. The stored record holds only
// their hashes; every daemon sharing the store follows it (Follow), so a
// rotation through one node reaches all.
type Admin struct {
	settings  Records
	tokenFile string
	now       func() time.Time
	state     atomic.Pointer[adminState]
}

// adminState is the stored record: the current token's hash and, during a
// grace period, the previous token's. A record written before rotations
// existed is the current hash alone, as text.
type adminState struct {
	Current       string    `json:"current"`
	Previous      string    `json:"previous,omitempty"`
	PreviousUntil time.Time `json:"previous_until,omitzero"`

	revision uint64
}

func parseAdminState(e store.Entry) (*adminState, error) {
	st := &adminState{revision: e.Revision}
	if !bytes.HasPrefix(e.Value, []byte("{")) {
		st.Current = string(e.Value)
	} else if err := json.Unmarshal(e.Value, st); err != nil {
		return nil, fmt.Errorf("admin token record: %w", err)
	}
	if st.Current == "" {
		return nil, errors.New("admin token record: no current token")
	}
	return st, nil
}

// EnsureAdmin loads the admin token's hash from settings. On first start
// (no hash stored) it creates a token, writes it to tokenFile with mode 0600
// and stores only its hash. It returns whether a new token was made.
func EnsureAdmin(ctx context.Context, settings Records, tokenFile string) (*Admin, bool, error) {
	a := &Admin{settings: settings, tokenFile: tokenFile, now: time.Now}
	e, err := settings.Get(ctx, adminHashKey)
	if err == nil {
		st, err := parseAdminState(e)
		if err != nil {
			return nil, false, err
		}
		a.state.Store(st)
		return a, false, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, false, err
	}
	token := newSecret(AdminPrefix)
	// Write the file before storing the hash: if we stop in between, the
	// next start finds no hash and makes a new token, replacing the file.
	if err := writePrivate(tokenFile, token.Reveal()+"\n"); err != nil {
		return nil, false, fmt.Errorf("write admin token: %w", err)
	}
	h := hashOf(token.Reveal())
	rev, err := settings.Create(ctx, adminHashKey, []byte(h))
	if err != nil {
		if errors.Is(err, store.ErrExists) {
			// Another node won the race; its token is the one.
			_ = os.Remove(tokenFile)
			return EnsureAdmin(ctx, settings, tokenFile)
		}
		return nil, false, err
	}
	a.state.Store(&adminState{Current: h, revision: rev})
	return a, true, nil
}

// Check reports whether token is the admin token, or the previous one
// within its grace period, in constant time.
func (a *Admin) Check(token string) bool {
	if token == "" {
		return false
	}
	st := a.state.Load()
	h := []byte(hashOf(token))
	ok := subtle.ConstantTimeCompare(h, []byte(st.Current)) == 1
	previous := st.Previous != "" && a.now().Before(st.PreviousUntil)
	if subtle.ConstantTimeCompare(h, []byte(st.Previous)) == 1 && previous {
		ok = true
	}
	return ok
}

// Rotate makes a new admin token and stores its hash; the token it
// replaces keeps working for grace (0: not at all), so that clients can
// move to the new one without an outage. A token file this daemon wrote is
// rewritten with the new token. It returns the token, shown this once, and
// when the previous one stops working.
func (a *Admin) Rotate(ctx context.Context, grace time.Duration) (secret.Value, time.Time, error) {
	if grace < 0 || grace > MaxAdminGrace {
		return "", time.Time{}, fmt.Errorf("%w: grace %s: want 0 to %s", ErrInvalidGrace, grace, MaxAdminGrace)
	}
	for range 5 {
		e, err := a.settings.Get(ctx, adminHashKey)
		if err != nil {
			return "", time.Time{}, err
		}
		cur, err := parseAdminState(e)
		if err != nil {
			return "", time.Time{}, err
		}
		token := newSecret(AdminPrefix)
		next := &adminState{Current: hashOf(token.Reveal())}
		if grace > 0 {
			next.Previous, next.PreviousUntil = cur.Current, a.now().Add(grace).UTC()
		}
		b, err := json.Marshal(next)
		if err != nil {
			return "", time.Time{}, err
		}
		rev, err := a.settings.Update(ctx, adminHashKey, b, e.Revision)
		if errors.Is(err, store.ErrConflict) {
			continue // rotated elsewhere meanwhile: rotate what is there now
		}
		if err != nil {
			return "", time.Time{}, err
		}
		next.revision = rev
		a.apply(next)
		if _, err := os.Stat(a.tokenFile); err == nil {
			if err := writePrivate(a.tokenFile, token.Reveal()+"\n"); err != nil {
				return "", time.Time{}, fmt.Errorf("rotated, but the token file was not rewritten: %w", err)
			}
		}
		return token, next.PreviousUntil, nil
	}
	return "", time.Time{}, fmt.Errorf("rotating the admin token: %w", store.ErrConflict)
}

// ErrInvalidGrace refuses a grace period out of bounds.
var ErrInvalidGrace = errors.New("invalid grace period")

// apply installs st unless a newer record is in place.
func (a *Admin) apply(st *adminState) {
	for {
		cur := a.state.Load()
		if cur != nil && cur.revision >= st.revision {
			return
		}
		if a.state.CompareAndSwap(cur, st) {
			return
		}
	}
}

// Follow keeps a current with settings, where other daemons sharing the
// store rotate the token, until ctx ends. It returns once the watch has
// replayed the bucket.
func (a *Admin) Follow(ctx context.Context, settings Records) error {
	follow := func(e store.Entry) {
		if e.Key != adminHashKey || e.Deleted {
			return // a deleted record keeps the token in use: never none
		}
		if st, err := parseAdminState(e); err == nil {
			a.apply(st)
		}
	}
	return settings.Watch(ctx, follow, func() {})
}

// writePrivate writes data to path with mode 0600 through a temporary file
// and a rename, so a reader never sees a half-written file.
func writePrivate(path, data string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
