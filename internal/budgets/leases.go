package budgets

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/store"
)

// LeaseRecords is the key-value storage of the shared budget counters;
// *store.KV provides it.
type LeaseRecords interface {
	Get(ctx context.Context, key string) (store.Entry, error)
	Create(ctx context.Context, key string, value []byte) (uint64, error)
	Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error)
}

var _ LeaseRecords = (*store.KV)(nil)

// Leases is the budget counter the nodes sharing a store lease from
// (limits.Leaser): one entry per subject and window kind, holding what
// has been leased in the current window, changed by compare-and-set.
type Leases struct {
	records LeaseRecords
	// timeout bounds one Lease or Return, store round trips included.
	timeout time.Duration
}

// NewLeases returns the shared counters kept in records.
func NewLeases(records LeaseRecords) *Leases {
	return &Leases{records: records, timeout: 2 * time.Second}
}

var _ limits.Leaser = (*Leases)(nil)

// lease is the value of a counter.
type lease struct {
	WindowStart time.Time      `json:"window_start"`
	Granted     limits.Amounts `json:"granted"`
}

func leaseKey(subject string, w limits.Window) string {
	return "lease." + hex.EncodeToString([]byte(subject)) + "." + string(w)
}

// Lease grants up to want, within limit in total for the window.
func (s *Leases) Lease(subject string, w limits.Window, start time.Time, limit, want limits.Amounts) (limits.Amounts, error) {
	var got limits.Amounts
	err := s.change(subject, w, start, func(l *lease) bool {
		got = limits.Amounts{}
		for m := range got {
			got[m] = min(max(want[m], 0), max(limit[m]-l.Granted[m], 0))
			l.Granted[m] += got[m]
		}
		return got != limits.Amounts{}
	})
	if err != nil {
		return limits.Amounts{}, err
	}
	return got, nil
}

// Return gives back amount leased in the window starting at start; a
// return for a window that has ended is dropped.
func (s *Leases) Return(subject string, w limits.Window, start time.Time, amount limits.Amounts) error {
	return s.change(subject, w, start, func(l *lease) bool {
		for m := range amount {
			l.Granted[m] = max(l.Granted[m]-max(amount[m], 0), 0)
		}
		return amount != limits.Amounts{}
	})
}

// change applies fn to the counter of subject in the window starting at
// start (a counter of an earlier window counts as empty) and stores it if
// fn reports a change, retrying when another node wrote first.
func (s *Leases) change(subject string, w limits.Window, start time.Time, fn func(*lease) bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	key := leaseKey(subject, w)
	for attempt := 0; attempt < 50; attempt++ {
		var l lease
		var rev uint64
		e, err := s.records.Get(ctx, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		default:
			if err := json.Unmarshal(e.Value, &l); err != nil {
				return fmt.Errorf("budget lease %s: %w", key, err)
			}
			rev = e.Revision
		}
		switch {
		case l.WindowStart.After(start):
			return nil // a later window: this one is over
		case l.WindowStart.Before(start):
			l = lease{WindowStart: start}
		}
		if !fn(&l) {
			return nil
		}
		val, err := json.Marshal(l)
		if err != nil {
			return err
		}
		if rev == 0 {
			_, err = s.records.Create(ctx, key, val)
		} else {
			_, err = s.records.Update(ctx, key, val, rev)
		}
		if errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrConflict) {
			continue
		}
		return err
	}
	return fmt.Errorf("budget lease %s: changed concurrently too often", key)
}
