// Package budgets keeps what the denial-of-wallet budgets need to outlive
// the process: the budgets operators set by hand, and the spending of the
// current windows.
//
// The spending itself is counted in memory by a limits.Ledger, because
// admission must not wait for storage. This package restores the ledger at
// start and writes it back periodically and at shutdown, so a restart does
// not hand every function a fresh budget. Losing the last seconds of
// spending in a crash is the accepted cost; it is bounded by the flush
// interval.
//
// Overrides win over manifests and the daemon's defaults. They are keyed by
// subject, "function:NAME" or "owner:NAME"; an owner's budget exists only as
// an override, because no single manifest speaks for an owner.
package budgets

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/store"
)

// Records is the key-value storage budgets need; *store.KV provides it.
type Records interface {
	Get(ctx context.Context, key string) (store.Entry, error)
	Put(ctx context.Context, key string, value []byte) (uint64, error)
	Delete(ctx context.Context, key string, rev uint64) error
	Watch(ctx context.Context, fn func(store.Entry), ready func()) error
}

var _ Records = (*store.KV)(nil)

// ErrInvalid reports a subject or budget that cannot be set.
var ErrInvalid = errors.New("invalid budget")

const (
	overridePrefix = "override."
	spendingKey    = "spending"
)

var subjectPattern = regexp.MustCompile(`^(function:[a-z][a-z0-9-]{0,62}|owner:[A-Za-z0-9][A-Za-z0-9._@-]{0,127})$`)

// Store holds the overrides, kept current by watching the bucket, and
// persists a ledger's spending.
type Store struct {
	records Records
	ledger  *limits.Ledger

	mu        sync.RWMutex
	overrides map[string]limits.Budget
}

// Open loads the overrides and the stored spending into ledger, and
// follows changes of the overrides until ctx is done.
func Open(ctx context.Context, records Records, ledger *limits.Ledger) (*Store, error) {
	s := &Store{records: records, ledger: ledger, overrides: map[string]limits.Budget{}}
	err := records.Watch(ctx, s.apply, func() {})
	if err != nil {
		return nil, err
	}
	e, err := records.Get(ctx, spendingKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("read spending: %w", err)
	default:
		var usage map[string]limits.Usage
		if err := json.Unmarshal(e.Value, &usage); err != nil {
			return nil, fmt.Errorf("read spending: %w", err)
		}
		ledger.Restore(usage)
	}
	return s, nil
}

func (s *Store) apply(e store.Entry) {
	name, ok := strings.CutPrefix(e.Key, overridePrefix)
	if !ok {
		return
	}
	raw, err := hex.DecodeString(name)
	if err != nil {
		return
	}
	subject := string(raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.Deleted {
		delete(s.overrides, subject)
		return
	}
	var b limits.Budget
	if json.Unmarshal(e.Value, &b) == nil {
		s.overrides[subject] = b
	}
}

// Budget returns the override of subject, if any.
func (s *Store) Budget(subject string) (limits.Budget, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.overrides[subject]
	return b, ok
}

// CheckSubject reports whether subject names a function or an owner.
func CheckSubject(subject string) error {
	if !subjectPattern.MatchString(subject) {
		return fmt.Errorf("%w: subject %q: want function:NAME or owner:NAME", ErrInvalid, subject)
	}
	return nil
}

// Check reports whether b is a budget that can be set.
func Check(b limits.Budget) error {
	if _, err := limits.ParseWindow(string(b.Window)); err != nil {
		return fmt.Errorf("%w: window %q: %w", ErrInvalid, b.Window, err)
	}
	switch {
	case b.Invocations < 0 || b.ComputeGBs < 0 || b.RequestBytes < 0:
		return fmt.Errorf("%w: limits must not be negative", ErrInvalid)
	case b.Invocations == 0 && b.ComputeGBs == 0 && b.RequestBytes == 0:
		return fmt.Errorf("%w: set at least one of invocations, compute or request bytes", ErrInvalid)
	}
	return nil
}

// Set stores b as subject's budget. It takes effect at once on this node
// and as soon as the change reaches others.
func (s *Store) Set(ctx context.Context, subject string, b limits.Budget) error {
	if err := CheckSubject(subject); err != nil {
		return err
	}
	if err := Check(b); err != nil {
		return err
	}
	val, err := json.Marshal(b)
	if err != nil {
		return err
	}
	if _, err := s.records.Put(ctx, overridePrefix+hex.EncodeToString([]byte(subject)), val); err != nil {
		return err
	}
	s.mu.Lock()
	s.overrides[subject] = b
	s.mu.Unlock()
	return nil
}

// Clear removes subject's override; the manifest's budget or the default
// applies again.
func (s *Store) Clear(ctx context.Context, subject string) error {
	if err := CheckSubject(subject); err != nil {
		return err
	}
	key := overridePrefix + hex.EncodeToString([]byte(subject))
	e, err := s.records.Get(ctx, key)
	if err == nil {
		err = s.records.Delete(ctx, key, e.Revision)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	s.mu.Lock()
	delete(s.overrides, subject)
	s.mu.Unlock()
	return nil
}

// Forget drops everything kept about subject: its override and its
// spending. A removed function's budget must not carry over to a later
// function that takes its name.
func (s *Store) Forget(ctx context.Context, subject string) error {
	s.ledger.Forget(subject)
	return s.Clear(ctx, subject)
}

// Overrides returns every override, by subject, in subject order.
func (s *Store) Overrides() []Override {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Override, 0, len(s.overrides))
	for subject, b := range s.overrides {
		out = append(out, Override{Subject: subject, Budget: b})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Subject < out[j].Subject })
	return out
}

// Override is one operator-set budget.
type Override struct {
	Subject string
	Budget  limits.Budget
}

// Usage is the spending of subject in its current window.
func (s *Store) Usage(subject string) (limits.Usage, bool) { return s.ledger.Usage(subject) }

// Flush writes the ledger's spending.
func (s *Store) Flush(ctx context.Context) error {
	val, err := json.Marshal(s.ledger.Snapshot())
	if err != nil {
		return err
	}
	_, err = s.records.Put(ctx, spendingKey, val)
	return err
}
