package budgets

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/store"
)

// memRecords is an in-memory Records; the daemon's tests run the real
// JetStream bucket.
type memRecords struct {
	mu   sync.Mutex
	rev  uint64
	data map[string]store.Entry
}

func (m *memRecords) Get(_ context.Context, key string) (store.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.data[key]
	if !ok {
		return store.Entry{}, store.ErrNotFound
	}
	return e, nil
}

func (m *memRecords) Put(_ context.Context, key string, v []byte) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rev++
	m.data[key] = store.Entry{Key: key, Value: v, Revision: m.rev}
	return m.rev, nil
}

func (m *memRecords) Delete(_ context.Context, key string, rev uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.data[key]; !ok || e.Revision != rev {
		return store.ErrConflict
	}
	delete(m.data, key)
	return nil
}

func (m *memRecords) Watch(_ context.Context, fn func(store.Entry), ready func()) error {
	m.mu.Lock()
	entries := make([]store.Entry, 0, len(m.data))
	for _, e := range m.data {
		entries = append(entries, e)
	}
	m.mu.Unlock()
	for _, e := range entries {
		fn(e)
	}
	ready()
	return nil
}

func TestOverridesAndSpendingSurviveReopen(t *testing.T) {
	ctx := context.Background()
	records := &memRecords{data: map[string]store.Entry{}}
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ledger := limits.NewLedger(clock, nil)
	s, err := Open(ctx, records, ledger)
	if err != nil {
		t.Fatal(err)
	}
	b := limits.Budget{Window: "day", Invocations: 10}
	for _, subject := range []string{"function:orders", "owner:team@example.com"} {
		if err := s.Set(ctx, subject, b); err != nil {
			t.Fatalf("Set(%s): %v", subject, err)
		}
	}
	if got, ok := s.Budget("owner:team@example.com"); !ok || got != b {
		t.Errorf("Budget = %+v, %v", got, ok)
	}
	subjects := []limits.Subject{{Name: "function:orders", Budget: limits.Budget{Window: limits.Day, Invocations: 10}}}
	for range 4 {
		r, err := ledger.Reserve(subjects, 100, 1<<20, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		r.Settle(time.Millisecond)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	// A new process: a fresh ledger restored from the bucket.
	ledger2 := limits.NewLedger(clock, nil)
	s2, err := Open(ctx, records, ledger2)
	if err != nil {
		t.Fatal(err)
	}
	if got := s2.Overrides(); len(got) != 2 || got[0].Subject != "function:orders" || got[1].Subject != "owner:team@example.com" {
		t.Errorf("Overrides after reopen = %+v", got)
	}
	u, ok := s2.Usage("function:orders")
	if !ok || u.Invocations != 4 || u.RequestBytes != 400 {
		t.Errorf("Usage after reopen = %+v, %v", u, ok)
	}
	if err := s2.Clear(ctx, "function:orders"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s2.Budget("function:orders"); ok {
		t.Error("a cleared override is still in force")
	}
	if err := s2.Clear(ctx, "function:never-set"); err != nil {
		t.Errorf("clearing an absent override: %v", err)
	}
}

func TestSetRefusals(t *testing.T) {
	s, err := Open(context.Background(), &memRecords{data: map[string]store.Entry{}}, limits.NewLedger(time.Now, nil))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		subject string
		b       limits.Budget
	}{
		{"orders", limits.Budget{Window: "day", Invocations: 1}},
		{"function:Orders", limits.Budget{Window: "day", Invocations: 1}},
		{"owner:", limits.Budget{Window: "day", Invocations: 1}},
		{"owner:team a", limits.Budget{Window: "day", Invocations: 1}},
		{"function:orders", limits.Budget{Window: "week", Invocations: 1}},
		{"function:orders", limits.Budget{Window: "day"}},
		{"function:orders", limits.Budget{Window: "day", Invocations: -1}},
	}
	for _, tt := range tests {
		if err := s.Set(context.Background(), tt.subject, tt.b); !errors.Is(err, ErrInvalid) {
			t.Errorf("Set(%q, %+v) = %v, want ErrInvalid", tt.subject, tt.b, err)
		}
	}
	if len(s.Overrides()) != 0 {
		t.Error("a refused budget was stored")
	}
}

func TestForget(t *testing.T) {
	ctx := context.Background()
	ledger := limits.NewLedger(time.Now, nil)
	s, err := Open(ctx, &memRecords{data: map[string]store.Entry{}}, ledger)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "function:a", limits.Budget{Window: "day", Invocations: 5}); err != nil {
		t.Fatal(err)
	}
	r, err := ledger.Reserve([]limits.Subject{{Name: "function:a", Budget: limits.Budget{Window: limits.Day, Invocations: 5}}}, 0, 1<<20, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r.Settle(time.Millisecond)
	if err := s.Forget(ctx, "function:a"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Budget("function:a"); ok {
		t.Error("override kept")
	}
	if _, ok := s.Usage("function:a"); ok {
		t.Error("spending kept")
	}
}
