package registry

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"sync"
	"time"

	"github.com/pave-dev/pave/internal/observe"
	"github.com/pave-dev/pave/internal/store"
)

// Usage remembers, for each function, when it was last invoked, how many
// invocations it had on each of the last days, and when it last used each
// capability it is granted: what an inventory and the posture report of
// unused functions and grants need. Invocations only touch memory; Flush
// writes what changed, so the request path never waits for an fsync.
// Losing the last seconds of it in a crash costs nothing but precision.
//
// Several nodes write the same records: a node merges what it reads from
// another by keeping the later time and the larger day count, so counts
// are exact on one node and a lower bound across several.
type Usage struct {
	records Records
	now     func() time.Time

	mu    sync.Mutex
	use   map[string]*FunctionUse
	dirty map[string]bool
	// today is the key of the day of the last invocation Observe counted,
	// kept so that the key is not formatted for every invocation.
	today struct {
		y   int
		m   time.Month
		d   int
		key string
	}
}

// FunctionUse is what Usage knows of one function.
type FunctionUse struct {
	// LastInvoked is when the function last ran.
	LastInvoked time.Time `json:"last_invoked"`
	// Days counts the invocations that ran the function per UTC day
	// ("2006-01-02"), for the last UsageDays days.
	Days map[string]int64 `json:"days,omitempty"`
	// Grants is when each capability was last used, granted.
	Grants map[string]time.Time `json:"grants,omitempty"`
}

// UsageDays is how many days of invocation counts are kept.
const UsageDays = 31

// NewUsage loads the stored usage records.
func NewUsage(ctx context.Context, records Records) (*Usage, error) {
	u := &Usage{records: records, now: time.Now, use: make(map[string]*FunctionUse), dirty: make(map[string]bool)}
	err := records.Watch(ctx, func(e store.Entry) {
		if e.Deleted {
			return
		}
		in, ok := decodeUse(e.Value)
		if !ok {
			return
		}
		u.mu.Lock()
		u.merge(e.Key, in)
		u.mu.Unlock()
	}, func() {})
	return u, err
}

// decodeUse reads a stored record: JSON, or the bare time of earlier
// versions.
func decodeUse(b []byte) (*FunctionUse, bool) {
	var f FunctionUse
	if json.Unmarshal(b, &f) == nil {
		return &f, true
	}
	if f.LastInvoked.UnmarshalText(b) == nil {
		return &f, true
	}
	return nil, false
}

// merge folds in into name's record. The caller holds u.mu.
func (u *Usage) merge(name string, in *FunctionUse) {
	f := u.get(name)
	if in.LastInvoked.After(f.LastInvoked) {
		f.LastInvoked = in.LastInvoked
	}
	for d, n := range in.Days {
		if n > f.Days[d] {
			f.Days[d] = n
		}
	}
	for c, t := range in.Grants {
		if t.After(f.Grants[c]) {
			f.Grants[c] = t
		}
	}
}

func (u *Usage) get(name string) *FunctionUse {
	f := u.use[name]
	if f == nil {
		f = &FunctionUse{Days: map[string]int64{}, Grants: map[string]time.Time{}}
		u.use[name] = f
	}
	return f
}

// Mark records an invocation of name at t.
func (u *Usage) Mark(name string, t time.Time) {
	u.mu.Lock()
	if f := u.get(name); t.After(f.LastInvoked) {
		f.LastInvoked = t
		u.dirty[name] = true
	}
	u.mu.Unlock()
}

var _ interface{ Observe(observe.Record) } = (*Usage)(nil)

// Observe counts an invocation that ran its function, and the granted
// capability calls it made.
func (u *Usage) Observe(r observe.Record) {
	if !observe.Ran(r) {
		return
	}
	t := r.Time.UTC()
	y, m, d := t.Date()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.today.key == "" || u.today.y != y || u.today.m != m || u.today.d != d {
		u.today.y, u.today.m, u.today.d, u.today.key = y, m, d, t.Format(time.DateOnly)
	}
	f := u.get(r.Function)
	f.Days[u.today.key]++
	for c, n := range r.Capabilities {
		if n.Calls > n.Denials && r.Time.After(f.Grants[c]) {
			f.Grants[c] = r.Time
		}
	}
	u.dirty[r.Function] = true
}

// LastInvoked returns when name was last invoked; ok is false if never.
func (u *Usage) LastInvoked(name string) (t time.Time, ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	f, ok := u.use[name]
	if !ok || f.LastInvoked.IsZero() {
		return time.Time{}, false
	}
	return f.LastInvoked, true
}

// Of returns a copy of what is known of name.
func (u *Usage) Of(name string) FunctionUse {
	u.mu.Lock()
	defer u.mu.Unlock()
	f, ok := u.use[name]
	if !ok {
		return FunctionUse{}
	}
	return FunctionUse{LastInvoked: f.LastInvoked, Days: maps.Clone(f.Days), Grants: maps.Clone(f.Grants)}
}

// Invocations sums name's invocations over the last days days, today
// included.
func (u *Usage) Invocations(name string, days int) int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	f, ok := u.use[name]
	if !ok {
		return 0
	}
	var n int64
	today := u.now().UTC()
	for i := 0; i < days; i++ {
		n += f.Days[today.AddDate(0, 0, -i).Format(time.DateOnly)]
	}
	return n
}

// Flush stores every record changed since the last flush, dropping day
// counts older than UsageDays.
func (u *Usage) Flush(ctx context.Context) error {
	oldest := u.now().UTC().AddDate(0, 0, -UsageDays).Format(time.DateOnly)
	u.mu.Lock()
	pending := make(map[string][]byte, len(u.dirty))
	for name := range u.dirty {
		f := u.use[name]
		for d := range f.Days {
			if d < oldest {
				delete(f.Days, d)
			}
		}
		b, err := json.Marshal(f)
		if err == nil {
			pending[name] = b
		}
	}
	clear(u.dirty)
	u.mu.Unlock()
	var errs []error
	for name, b := range pending {
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
	delete(u.use, name)
	delete(u.dirty, name)
	u.mu.Unlock()
	if e, err := u.records.Get(ctx, name); err == nil {
		_ = u.records.Delete(ctx, name, e.Revision)
	}
}
