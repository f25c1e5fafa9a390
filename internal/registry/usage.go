package registry

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/pave-dev/pave/internal/store"
)

// Usage remembers when each function was last invoked. Invocations only
// touch memory; Flush writes what changed, so the request path never waits
// for an fsync. Losing the last seconds of it in a crash costs nothing but
// precision.
type Usage struct {
	records Records

	mu    sync.Mutex
	last  map[string]time.Time
	dirty map[string]bool
}

// NewUsage loads the stored last-invocation times.
func NewUsage(ctx context.Context, records Records) (*Usage, error) {
	u := &Usage{records: records, last: make(map[string]time.Time), dirty: make(map[string]bool)}
	err := records.Watch(ctx, func(e store.Entry) {
		var t time.Time
		if e.Deleted || t.UnmarshalText(e.Value) != nil {
			return
		}
		u.mu.Lock()
		if t.After(u.last[e.Key]) {
			u.last[e.Key] = t
		}
		u.mu.Unlock()
	}, func() {})
	return u, err
}

// Mark records an invocation of name at t.
func (u *Usage) Mark(name string, t time.Time) {
	u.mu.Lock()
	if t.After(u.last[name]) {
		u.last[name] = t
		u.dirty[name] = true
	}
	u.mu.Unlock()
}

// LastInvoked returns when name was last invoked; ok is false if never.
func (u *Usage) LastInvoked(name string) (t time.Time, ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	t, ok = u.last[name]
	return t, ok
}

// Flush stores every time marked since the last flush.
func (u *Usage) Flush(ctx context.Context) error {
	u.mu.Lock()
	pending := make(map[string]time.Time, len(u.dirty))
	for name := range u.dirty {
		pending[name] = u.last[name]
	}
	clear(u.dirty)
	u.mu.Unlock()
	var errs []error
	for name, t := range pending {
		b, _ := t.UTC().MarshalText()
		if _, err := u.records.Put(ctx, name, b); err != nil {
			errs = append(errs, err)
			u.mu.Lock()
			u.dirty[name] = true // try again next time
			u.mu.Unlock()
		}
	}
	return errors.Join(errs...)
}

// Forget drops the record of a removed function.
func (u *Usage) Forget(ctx context.Context, name string) {
	u.mu.Lock()
	delete(u.last, name)
	delete(u.dirty, name)
	u.mu.Unlock()
	if e, err := u.records.Get(ctx, name); err == nil {
		_ = u.records.Delete(ctx, name, e.Revision)
	}
}
