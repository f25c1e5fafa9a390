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

// TestLeasesOnTheStore is three ledgers leasing one budget of 100
// invocations from counters in one JetStream bucket, each through its own
// Leases, as three nodes do: 600 concurrent calls admit exactly 100. A new
// window starts from an empty counter.
func TestLeasesOnTheStore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := store.Open(ctx, store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	day := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := day
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	var ledgers []*limits.Ledger
	for range 3 {
		kv, err := n.KV(ctx, "leases")
		if err != nil {
			t.Fatal(err)
		}
		l := limits.NewLedger(now, nil)
		l.ShareWith(NewLeases(kv))
		ledgers = append(ledgers, l)
	}
	subjects := []limits.Subject{{Name: "function:f", Budget: limits.Budget{Invocations: 100}}}
	round := func() int {
		var wg sync.WaitGroup
		var admitted sync.Map
		for i := range 600 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := ledgers[i%3].Reserve(subjects, 0, 0, 0)
				switch {
				case err == nil:
					r.Settle(0)
					admitted.Store(i, true)
				case !errors.Is(err, limits.ErrBudgetExhausted):
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		n := 0
		admitted.Range(func(any, any) bool { n++; return true })
		return n
	}
	if got := round(); got != 100 {
		t.Errorf("%d calls admitted through three ledgers, want 100", got)
	}
	mu.Lock()
	clock = day.Add(24 * time.Hour)
	mu.Unlock()
	if got := round(); got != 100 {
		t.Errorf("the next day: %d calls admitted, want 100", got)
	}
}
